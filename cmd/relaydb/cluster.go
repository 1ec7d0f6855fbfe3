package main

// Cluster membership for `relaydb server` (with --cluster-* options) and `relaydb arbiter`.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/clusternode"
	"github.com/relaydb/relaydb/internal/config"
	"github.com/relaydb/relaydb/internal/server"
)

// parsePeers reads --cluster-peers: "id=host:port,…".
func parsePeers(s string) (map[string]string, error) {
	peers := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" {
			return nil, fmt.Errorf("--cluster-peers: %q is not ID=HOST:PORT", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--cluster-peers: %q: %v", part, err)
		}
		peers[id] = addr
	}
	return peers, nil
}

func clusterSettings(opts config.Options) cluster.Settings {
	s := cluster.DefaultSettings()
	s.Mode = cluster.Mode(opts.ClusterMode)
	s.Acks = int(opts.ClusterAcks)
	s.Lease, s.LeaseMargin, s.Cooldown = opts.ClusterLease, opts.ClusterLeaseMargin, opts.ClusterCooldown
	s.MinFreeDisk = uint64(opts.ClusterMinFreeDisk)
	s.PriorityTrigger = opts.ClusterPriorityTrigger
	return s
}

func clusterDialer(opts config.Options) (clusternode.Dialer, error) {
	m, err := clusternode.ParseOverrides(opts.DialOverride)
	if err != nil {
		return clusternode.Dialer{}, fmt.Errorf("--dial-override: %v", err)
	}
	return clusternode.Dialer{Override: m}, nil
}

// clusterConfig builds a member's control-plane configuration from the options.
func clusterConfig(opts config.Options, log *slog.Logger) (clusternode.Config, error) {
	peers, err := parsePeers(opts.ClusterPeers)
	if err != nil {
		return clusternode.Config{}, err
	}
	if len(peers) == 0 {
		peers = map[string]string{opts.ClusterID: opts.ClusterAddr}
	}
	if addr, ok := peers[opts.ClusterID]; !ok || addr != opts.ClusterAddr {
		return clusternode.Config{}, fmt.Errorf("--cluster-peers must list this member as %s=%s", opts.ClusterID, opts.ClusterAddr)
	}
	d, err := clusterDialer(opts)
	if err != nil {
		return clusternode.Config{}, err
	}
	return clusternode.Config{
		ID: opts.ClusterID, Addr: opts.ClusterAddr, Peers: peers, Bootstrap: opts.ClusterBootstrap, Join: opts.ClusterJoin,
		Dir:      filepath.Join(opts.DataDir, "cluster"),
		Settings: clusterSettings(opts), Dialer: d,
		ReplUser: opts.ClusterReplUser, ReplPassword: opts.ClusterReplPassword,
		Member: cluster.Member{Priority: int(opts.ClusterPriority), NeverPromote: opts.ClusterNeverPromote},
		Logger: log,
	}, nil
}

// startClusterMember joins the control plane with node as its data node.
func startClusterMember(opts config.Options, node *server.Node, log *slog.Logger) (*clusternode.Node, error) {
	cfg, err := clusterConfig(opts, log)
	if err != nil {
		return nil, err
	}
	if err := node.EnsureReplicationUser(opts.ClusterReplUser, opts.ClusterReplPassword); err != nil {
		return nil, err
	}
	host := opts.ReportHost
	if host == "" {
		host = opts.Host
	}
	_, port, _ := net.SplitHostPort(node.Addr().String())
	cfg.Member.SQLAddr = net.JoinHostPort(host, port)
	cfg.Local = node.ClusterMember()
	m, err := clusternode.Start(cfg)
	if err != nil {
		return nil, err
	}
	node.SetClusterStatus(func(ctx context.Context) server.ClusterStatus { return clusterStatusRows(m.Status(ctx)) })
	node.SetClusterSwitchover(m.Switchover)
	log.Info("cluster member started", "id", cfg.ID, "cluster_addr", cfg.Addr, "sql_addr", cfg.Member.SQLAddr,
		"peers", len(cfg.Peers), "bootstrap", cfg.Bootstrap)
	return m, nil
}

// runArbiter runs a data-less voter: it takes part in Raft (and may be the controller) so that
// two data nodes and an arbiter keep a quorum when one data node is lost.
func runArbiter(args []string, stdout, stderr io.Writer) int {
	// An arbiter holds no data and never connects to a primary: the replication password the
	// options require of a member is not its concern.
	opts, log, code := loadOptions("relaydb arbiter", append([]string{"--cluster-repl-password", "-"}, args...), stdout, stderr)
	if code >= 0 {
		return code
	}
	if !opts.InCluster() {
		fmt.Fprintln(stderr, "relaydb arbiter: --cluster-id and --cluster-addr are required")
		return 2
	}
	cfg, err := clusterConfig(opts, log)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb arbiter: %v\n", err)
		return 2
	}
	cfg.Member.Arbiter = true
	cfg.Member.NeverPromote = true
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		fmt.Fprintf(stderr, "relaydb arbiter: %v\n", err)
		return 1
	}
	m, err := clusternode.Start(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	log.Info("arbiter ready", "id", cfg.ID, "cluster_addr", cfg.Addr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down", "reason", "signal")
	m.Close()
	return 0
}

// clusterStatusRows turns a member's status into SHOW CLUSTER STATUS rows.
func clusterStatusRows(st clusternode.Status) server.ClusterStatus {
	var out server.ClusterStatus
	s := st.State
	ids := make([]string, 0, len(s.Members))
	for id := range s.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m := s.Members[id]
		row := server.ClusterMemberRow{Member: id, SQLAddr: m.SQLAddr, ClusterAddr: m.RaftAddr, Epoch: s.Epoch,
			Controller: id == st.Leader, Priority: m.Priority, NeverPromote: m.NeverPromote}
		switch {
		case m.Arbiter:
			row.Role = "arbiter"
		case id == s.Primary:
			row.Role = "primary"
		default:
			row.Role = "replica"
		}
		if r, ok := st.Reports[id]; ok && time.Since(r.At) <= 2*s.Settings.ReportTTL {
			row.Reported = true
			row.State, row.Lease, row.Executed, row.Received = r.Role, r.LeaseValid, r.Executed, r.Received
			row.IORunning, row.SQLRunning, row.LastError = r.IORunning, r.SQLRunning, r.LastError
			row.FreeDisk, row.ReportAge = r.FreeDisk, r.SentAt
			row.LagSeconds, row.StreamAge = r.LagSeconds, r.StreamAge
		}
		out.Members = append(out.Members, row)
	}
	for i := len(s.Journal) - 1; i >= 0 && len(out.Journal) < 20; i-- {
		e := s.Journal[i]
		out.Journal = append(out.Journal, server.ClusterJournalRow{Time: e.Time, Epoch: e.Epoch, Kind: e.Kind, Node: e.Node, Reason: e.Reason})
	}
	if s.Election != nil {
		out.Election = fmt.Sprintf("open since %s: %s", s.Election.Started.Format("15:04:05.000"), s.Election.Reason)
	}
	if sw := s.Switchover; sw != nil {
		out.Election = fmt.Sprintf("%s-first switchover %s from %s to %s in phase %s since %s", sw.Mode, sw.ID, sw.From, sw.To, sw.Phase, sw.Started.Format("15:04:05.000"))
	}
	out.Primary, out.Epoch, out.Mode = s.Primary, s.Epoch, string(s.Settings.Mode)
	out.Acks = s.AcksRequired()
	return out
}

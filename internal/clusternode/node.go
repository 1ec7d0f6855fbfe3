package clusternode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/relaydb/relaydb/internal/cluster"
)

// Config is what a member needs to join the control plane.
type Config struct {
	// ID names the member (unique in the cluster); Addr is its cluster port, where Raft and the
	// control API listen (host:port, also the address peers dial).
	ID   string
	Addr string
	// Peers are every voter's ID and cluster address, this member included. Used only to
	// bootstrap a new cluster; afterwards the Raft configuration is the truth.
	Peers map[string]string
	// Bootstrap lets this member create the cluster from Peers if it has no Raft state yet.
	// Every member may be given it with the same Peers: Raft accepts identical bootstraps.
	Bootstrap bool
	// Join has a member that is not yet a voter ask the members in Peers (whichever is the
	// leader) to add it; its data must already be seeded (a clone of the primary).
	Join bool
	// Dir holds the Raft log, stable store and snapshots (created if missing).
	Dir string
	// Member is what this member registers (SQL address, rules); Arbiter for a data-less one.
	Member cluster.Member
	// Settings are proposed to a cluster that has none yet (the first leader's win).
	Settings cluster.Settings
	Dialer   Dialer
	// Local is the data node this member controls; nil for an arbiter.
	Local Local
	// ReplUser and ReplPassword are the account replicas use to reach the primary.
	ReplUser, ReplPassword string
	Logger                 *slog.Logger
}

// Node is one running member of the control plane.
type Node struct {
	cfg    Config
	log    *slog.Logger
	raft   *raft.Raft
	fsm    *fsm
	ln     net.Listener
	mux    *mux
	http   *http.Server
	client *http.Client
	store  *raftboltdb.BoltStore

	reportsMu sync.Mutex
	reports   map[string]cluster.Received // guarded by reportsMu; the controller's view

	agent *agent // nil for an arbiter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Timing of the Raft layer: elections well under a second on a LAN, so that a lost Raft leader
// does not hold up a failover for long.
const (
	raftHeartbeat  = 400 * time.Millisecond
	raftLeaderLase = 200 * time.Millisecond
	proposeTimeout = 2 * time.Second
	controllerTick = 50 * time.Millisecond
	reportEvery    = 100 * time.Millisecond
)

// Start opens the member's Raft state and starts its loops.
func Start(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ID == "" || cfg.Addr == "" {
		return nil, errors.New("cluster: a member needs an ID and a cluster address")
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cluster: create %s: %w", cfg.Dir, err)
	}
	cfg.Member.ID, cfg.Member.RaftAddr = cfg.ID, cfg.Addr
	log := cfg.Logger.With("component", "cluster")
	n := &Node{cfg: cfg, log: log, reports: map[string]cluster.Received{}}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.client = &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: cfg.Dialer.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}

	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	var err error
	n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("cluster: open raft store: %w", err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: slogWriter{log}})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("cluster: open snapshots: %w", err)
	}
	n.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", cfg.Addr, err)
	}
	n.mux = newMux(n.ln)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &streamLayer{chanListener: n.mux.raft, dialer: cfg.Dialer}, MaxPool: 3,
		Timeout: 2 * time.Second, Logger: hlog})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = raftHeartbeat
	rc.ElectionTimeout = raftHeartbeat
	rc.LeaderLeaseTimeout = raftLeaderLase
	rc.CommitTimeout = 5 * time.Millisecond
	rc.SnapshotThreshold = 2048
	rc.TrailingLogs = 2048
	rc.Logger = hlog
	n.fsm = newFSM(cluster.Settings{})

	has, err := raft.HasExistingState(n.store, n.store, snaps)
	if err != nil {
		return nil, fmt.Errorf("cluster: read raft state: %w", err)
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, n.store, n.store, snaps, trans)
	if err != nil {
		return nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	if !has && cfg.Bootstrap {
		var servers []raft.Server
		for id, addr := range cfg.Peers {
			servers = append(servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
		}
		sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("cluster: bootstrap: %w", err)
		}
		log.Info("bootstrapped a new cluster", "members", len(servers))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/join", n.handleJoin)
	mux.HandleFunc("/v1/report", n.handleReport)
	mux.HandleFunc("/v1/propose", n.handlePropose)
	mux.HandleFunc("/v1/status", n.handleStatus)
	mux.HandleFunc("/v1/switchover", n.handleSwitchover)
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go n.http.Serve(n.mux.http)

	if cfg.Local != nil {
		n.agent = newAgent(n)
	}
	if cfg.Join && !has {
		n.wg.Add(1)
		go n.joinLoop()
	}
	n.wg.Add(2)
	go n.controllerLoop()
	go n.registerLoop()
	if n.agent != nil {
		n.agent.start()
	}
	ok = true
	return n, nil
}

// Close stops the member's loops and Raft. It does not change the cluster state: to the others,
// a member that closes is one that stopped reporting.
func (n *Node) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.agent != nil {
		n.agent.wait()
	}
	if n.http != nil {
		n.http.Close()
	}
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			n.log.Warn("raft shutdown", "err", err)
		}
	}
	if n.ln != nil {
		n.ln.Close()
	}
	if n.store != nil {
		n.store.Close()
	}
	return nil
}

// State returns a copy of the replicated state as this member has applied it.
func (n *Node) State() *cluster.State {
	st, _, _, _ := n.fsm.view()
	return st
}

// Leader returns the Raft leader's ID and cluster address ("" if none is known).
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

func (n *Node) isLeader() bool { return n.raft.State() == raft.Leader }

// Propose runs a command through Raft, on the leader (forwarded there if this member is not it).
func (n *Node) Propose(ctx context.Context, c cluster.Command) (cluster.Result, error) {
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	if n.isLeader() {
		return n.apply(c)
	}
	_, addr := n.Leader()
	if addr == "" {
		return cluster.Result{}, errors.New("no cluster leader")
	}
	var res cluster.Result
	err := n.post(ctx, addr, "/v1/propose", c, &res)
	return res, err
}

func (n *Node) apply(c cluster.Command) (cluster.Result, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return cluster.Result{}, err
	}
	f := n.raft.Apply(b, proposeTimeout)
	if err := f.Error(); err != nil {
		return cluster.Result{}, fmt.Errorf("raft apply: %w", err)
	}
	res, _ := f.Response().(cluster.Result)
	return res, nil
}

// post sends body to a member's control API and decodes the JSON answer into out.
func (n *Node) post(ctx context.Context, addr, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s: %s: %s", addr, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

const maxBody = 1 << 20

func (n *Node) handleReport(w http.ResponseWriter, r *http.Request) {
	var rep cluster.Report
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&rep); err != nil || rep.Node == "" {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	if !n.isLeader() {
		http.Error(w, "not the leader", http.StatusMisdirectedRequest)
		return
	}
	n.reportsMu.Lock()
	n.reports[rep.Node] = cluster.Received{Report: rep, At: time.Now()}
	n.reportsMu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// joinRequest asks the leader to add a member to the Raft configuration as a voter.
type joinRequest struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// handleJoin adds a new member as a voter (on the leader only). Adding a voter that is already
// one with the same address changes nothing, so a member may ask again.
func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || req.ID == "" || req.Addr == "" {
		http.Error(w, "bad join request", http.StatusBadRequest)
		return
	}
	if !n.isLeader() {
		http.Error(w, "not the leader", http.StatusMisdirectedRequest)
		return
	}
	if err := n.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.Addr), 0, proposeTimeout).Error(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	n.log.Info("added a member to the cluster", "member", req.ID, "addr", req.Addr)
	go n.Propose(context.Background(), cluster.Command{Op: cluster.OpJournal, Node: req.ID, Kind: "member_added",
		Reason: fmt.Sprintf("%s (%s) joined the cluster as a voter", req.ID, req.Addr)})
	w.WriteHeader(http.StatusOK)
}

// joinLoop asks every peer, until one (the leader) accepts, to add this member as a voter; it
// stops once the Raft configuration holds this member.
func (n *Node) joinLoop() {
	defer n.wg.Done()
	req := joinRequest{ID: n.cfg.ID, Addr: n.cfg.Addr}
	for {
		if f := n.raft.GetConfiguration(); f.Error() == nil {
			for _, s := range f.Configuration().Servers {
				if string(s.ID) == n.cfg.ID {
					n.log.Info("joined the cluster as a voter")
					return
				}
			}
		}
		for id, addr := range n.cfg.Peers {
			if id == n.cfg.ID {
				continue
			}
			ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
			err := n.post(ctx, addr, "/v1/join", req, nil)
			cancel()
			if err == nil {
				break
			}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (n *Node) handlePropose(w http.ResponseWriter, r *http.Request) {
	var c cluster.Command
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&c); err != nil {
		http.Error(w, "bad command", http.StatusBadRequest)
		return
	}
	if !n.isLeader() {
		http.Error(w, "not the leader", http.StatusMisdirectedRequest)
		return
	}
	res, err := n.apply(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	json.NewEncoder(w).Encode(res)
}

// Status is what `relaydb status` and SHOW CLUSTER STATUS show.
type Status struct {
	Self     string                      `json:"self"`
	Leader   string                      `json:"leader"`
	State    *cluster.State              `json:"state"`
	Reports  map[string]cluster.Received `json:"reports,omitempty"` // the leader's
	ReportOf string                      `json:"reports_from,omitempty"`
}

// Status returns this member's view, with the leader's health reports when they can be had.
func (n *Node) Status(ctx context.Context) Status {
	st := Status{Self: n.cfg.ID, State: n.State()}
	st.Leader, _ = n.Leader()
	if n.isLeader() {
		st.Reports, st.ReportOf = n.snapshotReports(), n.cfg.ID
		return st
	}
	if _, addr := n.Leader(); addr != "" {
		var remote Status
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status?local=1", nil)
		if err == nil {
			if resp, err := n.client.Do(req); err == nil {
				if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&remote) == nil {
					st.Reports, st.ReportOf = remote.Reports, remote.Self
				}
				resp.Body.Close()
			}
		}
	}
	return st
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	var st Status
	if r.URL.Query().Get("local") != "" {
		st = Status{Self: n.cfg.ID, State: n.State()}
		st.Leader, _ = n.Leader()
		if n.isLeader() {
			st.Reports, st.ReportOf = n.snapshotReports(), n.cfg.ID
		}
	} else {
		st = n.Status(r.Context())
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (n *Node) snapshotReports() map[string]cluster.Received {
	n.reportsMu.Lock()
	defer n.reportsMu.Unlock()
	out := make(map[string]cluster.Received, len(n.reports))
	for k, v := range n.reports {
		out[k] = v
	}
	return out
}

// report delivers a member's report to the leader (locally when this member leads).
func (n *Node) report(ctx context.Context, rep cluster.Report) error {
	if n.isLeader() {
		n.reportsMu.Lock()
		n.reports[rep.Node] = cluster.Received{Report: rep, At: time.Now()}
		n.reportsMu.Unlock()
		return nil
	}
	_, addr := n.Leader()
	if addr == "" {
		return errors.New("no cluster leader")
	}
	return n.post(ctx, addr, "/v1/report", rep, nil)
}

// controllerLoop runs the decision function while this member leads.
func (n *Node) controllerLoop() {
	defer n.wg.Done()
	t := time.NewTicker(controllerTick)
	defer t.Stop()
	wasLeader := false
	var lastRefusal string
	var lastRefusalAt, lastTransfer time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		leader := n.isLeader()
		if leader != wasLeader {
			wasLeader = leader
			if leader {
				n.log.Info("this member is now the cluster controller (Raft leader)")
				// Reports a former leader gathered are not ours; ours arrive within a tick.
				n.reportsMu.Lock()
				clear(n.reports)
				n.reportsMu.Unlock()
			}
		}
		if !leader {
			continue
		}
		st, leaseSeen, electionSeen, _ := n.fsm.view()
		if st.Primary == n.cfg.ID && st.Election == nil && len(st.Members) > 1 && time.Since(lastTransfer) > 5*time.Second {
			// The controller should not be the primary: losing both at once adds a Raft election
			// to every failover. Hand the leadership to another voter.
			lastTransfer = time.Now()
			if err := n.raft.LeadershipTransfer().Error(); err != nil {
				n.log.Warn("could not hand the controller role to another member", "err", err)
			} else {
				n.log.Info("handed the controller role (Raft leadership) to another member: this member is the primary")
			}
			continue
		}
		if st.Settings.Lease == 0 {
			s := n.cfg.Settings
			n.apply(cluster.Command{Op: cluster.OpSettings, Time: time.Now(), Settings: &s})
			continue
		}
		obs := cluster.Observed{Now: time.Now(), Wall: time.Now(), LeaseSeenAt: leaseSeen, ElectionSeenAt: electionSeen,
			SwitchoverSeenAt: n.fsm.switchoverSeen(), Reports: n.snapshotReports(), Voters: n.voters()}
		for _, c := range cluster.Decide(st, obs) {
			if c.Op == cluster.OpRefuse {
				// A refusal is journaled when it changes, or every few seconds while it lasts.
				if c.Reason == lastRefusal && time.Since(lastRefusalAt) < 5*time.Second {
					continue
				}
				if time.Since(lastRefusalAt) < time.Second {
					continue
				}
				lastRefusal, lastRefusalAt = c.Reason, time.Now()
				n.log.Warn("cluster controller refused to decide", "reason", c.Reason)
			} else {
				n.log.Info("cluster controller decided", "op", c.Op, "node", c.Node, "epoch", c.Epoch, "reason", c.Reason)
			}
			res, err := n.apply(c)
			if err != nil {
				n.log.Warn("cluster decision not applied", "op", c.Op, "err", err)
			} else if !res.OK {
				n.log.Warn("cluster decision refused by the state", "op", c.Op, "err", res.Error)
			}
		}
	}
}

// registerLoop keeps this member's entry in the state up to date.
func (n *Node) registerLoop() {
	defer n.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		st := n.State()
		want := n.cfg.Member
		if cur := st.Members[n.cfg.ID]; cur == nil || *cur != want {
			ctx, cancel := context.WithTimeout(n.ctx, proposeTimeout)
			if _, err := n.Propose(ctx, cluster.Command{Op: cluster.OpRegister, Member: &want}); err == nil {
				n.log.Info("registered with the cluster", "member", want.ID, "sql_addr", want.SQLAddr, "arbiter", want.Arbiter)
			}
			cancel()
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// slogWriter turns hclog's lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	lvl := slog.LevelInfo
	switch {
	case strings.Contains(line, "[ERROR]"):
		lvl = slog.LevelError
	case strings.Contains(line, "[WARN]"):
		lvl = slog.LevelWarn
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		lvl = slog.LevelDebug
	}
	w.log.Log(context.Background(), lvl, "raft: "+line)
	return len(p), nil
}

// voters returns the IDs of the Raft configuration's voters.
func (n *Node) voters() []string {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var ids []string
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			ids = append(ids, string(srv.ID))
		}
	}
	return ids
}

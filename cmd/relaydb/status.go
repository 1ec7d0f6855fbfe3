package main

// relaydb status: a cluster's members, roles, epoch, leases, health and recent journal, read
// from any member's control API.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/clusternode"
	"github.com/relaydb/relaydb/internal/rewind"
)

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relaydb status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("cluster-addr", "", "any member's cluster port, HOST:PORT (default: the members of the `relaydb up` cluster in --datadir)")
	dataDir := fs.String("datadir", "./relaydb-data", "a `relaydb up` cluster's directory, used when --cluster-addr is not given")
	asJSON := fs.Bool("json", false, "print the raw status as JSON")
	allow := fs.Bool("allow-failover", false, "let the next automatic failover skip the cooldown (journaled), then print the status")
	var sets listFlag
	fs.Var(&sets, "set", "change a cluster setting at runtime (journaled), then print the status: `NAME=VALUE`, repeatable; "+
		"min-free-disk=SIZE (the disk trigger, 0 off), switchover-max-lag=DURATION, switchover-timeout=DURATION, priority-trigger=on|off")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	addrs, err := memberAddrs(*addr, *dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb status: %v\n", err)
		return 2
	}
	client := &http.Client{Timeout: 3 * time.Second}
	var lastErr error
	for _, a := range addrs {
		resp, err := client.Get("http://" + a + "/v1/status")
		if err != nil {
			lastErr = err
			continue
		}
		var st clusternode.Status
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if len(sets) > 0 {
			t, err := tuning(sets)
			if err != nil {
				fmt.Fprintf(stderr, "relaydb status: %v\n", err)
				return 2
			}
			if err := proposeToLeader(client, st, cluster.Command{Op: cluster.OpTune, Node: "operator", Tuning: t}); err != nil {
				fmt.Fprintf(stderr, "relaydb status: --set: %v\n", err)
				return 1
			}
			fmt.Fprintln(stdout, "cluster settings changed")
			// Show the new settings.
			if r2, err := client.Get("http://" + a + "/v1/status"); err == nil {
				json.NewDecoder(r2.Body).Decode(&st)
				r2.Body.Close()
			}
		}
		if *allow {
			if err := allowFailover(client, st); err != nil {
				fmt.Fprintf(stderr, "relaydb status: --allow-failover: %v\n", err)
				return 1
			}
			fmt.Fprintln(stdout, "the next automatic failover may skip the cooldown")
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(st)
			return 0
		}
		printStatus(stdout, st)
		if *addr == "" {
			printLostAndFound(stdout, *dataDir)
		}
		return 0
	}
	fmt.Fprintf(stderr, "relaydb status: no member answered: %v\n", lastErr)
	return 1
}

func readClusterFile(path string) (*clusterFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cl clusterFile
	if err := json.Unmarshal(data, &cl); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &cl, nil
}

func printStatus(w io.Writer, st clusternode.Status) {
	rows := clusterStatusRows(st)
	fmt.Fprintf(w, "cluster: primary %s, epoch %d, mode %s", orNone(rows.Primary), rows.Epoch, rows.Mode)
	if rows.Mode == "lossless" {
		fmt.Fprintf(w, " (AFTER_SYNC, %d acks)", rows.Acks)
	}
	fmt.Fprintf(w, ", controller %s (reports from %s)\n", orNone(st.Leader), orNone(st.ReportOf))
	if rows.Election != "" {
		fmt.Fprintf(w, "election: %s\n", rows.Election)
	}
	if s := st.State; s != nil {
		if s.Settings.MinFreeDisk > 0 {
			fmt.Fprintf(w, "disk trigger: a primary with less than %d MiB free is switched over\n", s.Settings.MinFreeDisk>>20)
		}
		if s.Settings.PriorityTrigger {
			fmt.Fprintln(w, "priority trigger: on (a member of higher priority that can take over is switched to)")
		}
		if l := s.LastSwitchover; l != nil {
			outcome := fmt.Sprintf("done, %s primary in epoch %d", l.To, l.Epoch)
			if !l.OK {
				outcome = "aborted: " + l.Error
			}
			fmt.Fprintf(w, "last switchover: %s (%s-first, %s → %s) %s", l.ID, l.Mode, l.From, l.To, outcome)
			if l.Lacked != "" {
				fmt.Fprintf(w, "; the new primary lacked %s", l.Lacked)
			}
			fmt.Fprintln(w)
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tSTATE\tLEASE\tSQL\tIO/SQL\tLAG\tEXECUTED\tREPORT\tLAST ERROR")
	for _, m := range rows.Members {
		state, age, lease, threads, lag := "unreachable", "-", "-", "-", "-"
		if m.Reported && m.LagSeconds >= 0 {
			lag = fmt.Sprintf("%ds", m.LagSeconds)
		}
		if m.Reported {
			state = m.State
			age = time.Since(m.ReportAge).Round(time.Millisecond).String() + " ago"
			lease = map[bool]string{true: "valid", false: "-"}[m.Lease]
			threads = fmt.Sprintf("%s/%s", yes(m.IORunning), yes(m.SQLRunning))
		}
		if m.Role == "arbiter" {
			state, lease, threads = "voter", "-", "-"
			if !m.Reported {
				age = "-"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Member, m.Role, state, lease, orNone(m.SQLAddr), threads,
			lag, orNone(m.Executed), age, m.LastError)
	}
	tw.Flush()
	if len(rows.Journal) > 0 {
		fmt.Fprintln(w, "\njournal (newest first):")
		for i, e := range rows.Journal {
			if i == 10 {
				break
			}
			fmt.Fprintf(w, "  %s  epoch %d  %-14s %-6s %s\n", e.Time.Local().Format("15:04:05.000"), e.Epoch, e.Kind, e.Node, strings.TrimSpace(e.Reason))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// allowFailover proposes the operator's permission to the controller (the Raft leader).
func allowFailover(client *http.Client, st clusternode.Status) error {
	return proposeToLeader(client, st, cluster.Command{Op: cluster.OpAllowFailover, Node: "operator"})
}

// proposeToLeader proposes an operator's command to the controller (the Raft leader).
func proposeToLeader(client *http.Client, st clusternode.Status, c cluster.Command) error {
	if st.State == nil || st.Leader == "" || st.State.Members[st.Leader] == nil {
		return fmt.Errorf("the cluster has no controller now")
	}
	c.Time = time.Now()
	b, _ := json.Marshal(c)
	resp, err := client.Post("http://"+st.State.Members[st.Leader].RaftAddr+"/v1/propose", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res cluster.Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || !res.OK {
		return fmt.Errorf("refused (%s): %v %s", resp.Status, err, res.Error)
	}
	return nil
}

// printLostAndFound lists, for a `relaydb up` cluster's directory, the transactions each node
// undid when it rejoined (its lost-and-found): what the cluster lost, for the operator to
// review and replay.
func printLostAndFound(w io.Writer, dataDir string) {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "node*"))
	printed := false
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		entries, err := rewind.List(d)
		if err != nil {
			fmt.Fprintf(w, "\nlost-and-found of %s: %v\n", filepath.Base(d), err)
			continue
		}
		for _, e := range entries {
			if !printed {
				fmt.Fprintln(w, "\nlost-and-found (transactions undone when a node rejoined; replay with: mariadb < DIR/transactions.sql):")
				printed = true
			}
			state := e.Resolution
			if !e.Done {
				state = "interrupted, finishes at the next rejoin"
			}
			fmt.Fprintf(w, "  %s  %-6s %d transaction(s) %s the primary %s lacked (%s)\n    %s\n",
				e.Started.Local().Format("2006-01-02 15:04:05"), filepath.Base(d), len(e.Transactions), e.Undone, e.Primary, state, e.Dir)
		}
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

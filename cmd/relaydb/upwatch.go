package main

// Supervision for `relaydb up`: a child that exits on its own is restarted (with a backoff,
// and not forever), and for an HA cluster `up` follows the failover through the cluster's
// status and says what happened: who was lost, who is the primary now, and whether the lost
// node came back as a replica. `up` itself never decides anything about the cluster: the
// control plane does; `up` only runs the processes and reports.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/clusternode"
	"github.com/relaydb/relaydb/internal/server"
)

const (
	// upPollEvery is how often the supervisor looks at the processes and the cluster status.
	upPollEvery = 250 * time.Millisecond
	// upRestartDelay is the wait before a dead node is restarted; it doubles with every quick
	// death in a row, up to upMaxRestartDelay.
	upRestartDelay    = time.Second
	upMaxRestartDelay = 30 * time.Second
	// upQuickDeath: a run shorter than this counts as a quick death; after upMaxQuickDeaths of
	// them in a row the node is left stopped.
	upQuickDeath     = 30 * time.Second
	upMaxQuickDeaths = 5
	// upNoPrimaryNote is how long after the primary was lost `up` says why there is no new one.
	upNoPrimaryNote = 5 * time.Second
	// upRejoinNote is how long after its restart `up` says that a node has not rejoined.
	upRejoinNote = 60 * time.Second
)

// supervisor is the watch loop's memory. Only the goroutine running upCluster.watch uses it
// (bringUp fills it in before).
type supervisor struct {
	slots  []*upSlot // per child, as upCluster.nodes
	rows   map[string]server.ClusterMemberRow
	client *http.Client
	from   int // the child whose cluster port answered last: asked first next time

	// primary and epoch are the writable primary last announced.
	primary string
	epoch   uint64
	// lost is the primary whose process exited, until a new writable primary is seen.
	lost      string
	lostAt    time.Time
	lostNoted bool

	restart chan int      // receives K when nodeK's restart delay is over
	done    chan struct{} // closed when watch returns
}

// upSlot is what the supervisor knows about one child across its restarts.
type upSlot struct {
	quickDeaths int  // quick deaths in a row
	gaveUp      bool // left stopped after too many quick deaths
	pending     bool // a restart is scheduled
	readySeen   bool // the current run printed its ready line (and that was noted)
	// restartedAt is when the current run was started by the supervisor (zero for the first
	// run); back is set once its return was reported.
	restartedAt time.Time
	back        bool
	slowNoted   bool
	rewindNoted string // the last rewind reported for this node
}

func (s *supervisor) init(n int) {
	for range n {
		s.slots = append(s.slots, &upSlot{})
	}
	s.client = &http.Client{Timeout: 2 * time.Second}
	s.restart = make(chan int)
	s.done = make(chan struct{})
}

// event prints one supervision line, with the time, on stdout.
func (c *upCluster) event(format string, args ...any) {
	fmt.Fprintf(c.stdout, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// watch supervises the children until a signal (nil), or until every node is left stopped
// (an error).
func (c *upCluster) watch(ctx context.Context) error {
	defer close(c.sup.done)
	tick := time.NewTicker(upPollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-c.exits:
			if c.nodes[n.num-1] == n && ctx.Err() == nil {
				c.nodeExited(n)
			}
		case k := <-c.sup.restart:
			if ctx.Err() == nil {
				c.restartNode(k)
			}
		case <-tick.C:
			c.poll(ctx)
		}
		if c.allGivenUp() {
			return fmt.Errorf("every node has stopped for good; see the logs in %s", c.opts.dataDir)
		}
	}
}

func (c *upCluster) allGivenUp() bool {
	for i, n := range c.nodes {
		if n != nil && !n.arbiter && (n.running() || !c.sup.slots[i].gaveUp) {
			return false
		}
	}
	return true
}

// roleOf is a child's role as last seen: for a cluster member, from the cluster status.
func (c *upCluster) roleOf(n *upNode) string {
	if !n.member || n.arbiter {
		return n.role()
	}
	if r, ok := c.sup.rows[n.name()]; ok {
		if r.Role == "replica" && r.Reported && r.State == "diverged" {
			return "diverged replica"
		}
		return r.Role
	}
	return "member"
}

// nodeExited reports a child's unexpected exit and schedules its restart.
func (c *upCluster) nodeExited(n *upNode) {
	s := c.sup.slots[n.num-1]
	role := c.roleOf(n)
	what := fmt.Sprintf("%s (%s) exited: %s", n.name(), role, exitText(n.waitErr))
	if n.member && role == "primary" {
		what += "; the cluster is failing over"
		c.sup.lost, c.sup.lostAt, c.sup.lostNoted = n.name(), time.Now(), false
	}
	if time.Since(n.started) < upQuickDeath {
		s.quickDeaths++
	} else {
		s.quickDeaths = 1
	}
	if s.quickDeaths >= upMaxQuickDeaths {
		s.gaveUp = true
		c.event("%s\n    it exited %d times in a row within %s of starting, so it is not restarted again; last lines of %s:\n%s",
			what, s.quickDeaths, upQuickDeath, n.logPath, n.out.tailText())
		return
	}
	delay := min(upRestartDelay<<(s.quickDeaths-1), upMaxRestartDelay)
	c.event("%s; restarting it in %s", what, delay)
	s.pending = true
	go func(k int) {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.sup.done:
			return
		}
		select {
		case c.sup.restart <- k:
		case <-c.sup.done:
		}
	}(n.num)
}

func (c *upCluster) restartNode(k int) {
	s := c.sup.slots[k-1]
	s.pending = false
	n, err := c.startNode(k)
	if err != nil {
		s.gaveUp = true
		c.event("cannot restart node %d: %v", k, err)
		return
	}
	s.restartedAt, s.readySeen, s.back, s.slowNoted = n.started, false, false, false
	c.event("%s restarted (pid %d)", n.name(), n.cmd.Process.Pid)
}

// poll notes restarted children that are ready and, for an HA cluster, reads its status to
// report a new primary and the return of restarted members.
func (c *upCluster) poll(ctx context.Context) {
	for i, n := range c.nodes {
		s := c.sup.slots[i]
		if n == nil || !n.running() || s.readySeen || !n.isReady() {
			continue
		}
		s.readySeen = true
		if !s.restartedAt.IsZero() && (!n.member || n.arbiter) {
			s.back = true
			what := "is back"
			switch {
			case n.arbiter:
				what = "is back and votes again"
			case n.source != 0 || n.dual:
				what = "is back; its replication resumes where it stopped"
			}
			c.event("%s %s (ready %.1f s after its restart)", n.name(), what, time.Since(s.restartedAt).Seconds())
		}
	}
	if !c.cl.Cluster {
		return
	}
	_, st, err := c.fetchStatus(ctx)
	if err != nil {
		return
	}
	c.sup.note(st)
	if p, ok := writablePrimary(st); ok && (p != c.sup.primary || st.Epoch != c.sup.epoch) {
		msg := fmt.Sprintf("%s is the primary now (epoch %d)", p, st.Epoch)
		if c.sup.lost != "" {
			msg += fmt.Sprintf(", %.1f s after %s was lost", time.Since(c.sup.lostAt).Seconds(), c.sup.lost)
		}
		c.event("%s", msg)
		c.sup.primary, c.sup.epoch, c.sup.lost = p, st.Epoch, ""
	}
	if c.sup.lost != "" && !c.sup.lostNoted && time.Since(c.sup.lostAt) > upNoPrimaryNote {
		c.sup.lostNoted = true
		c.event("no writable primary %s after %s was lost: %s", time.Since(c.sup.lostAt).Round(time.Second), c.sup.lost, whyNoPrimary(st))
	}
	for i, n := range c.nodes {
		s := c.sup.slots[i]
		if n == nil || n.arbiter || !n.running() || s.restartedAt.IsZero() || s.back || !s.readySeen {
			continue
		}
		c.checkRejoin(n, s, st)
	}
}

// checkRejoin reports, once, how a restarted member came back.
func (c *upCluster) checkRejoin(n *upNode, s *upSlot, st server.ClusterStatus) {
	r, ok := c.sup.rows[n.name()]
	fresh := ok && r.Reported && r.ReportAge.After(s.restartedAt)
	switch {
	case fresh && r.State == "diverged", n.out.rejoinRefused() != "":
		why := r.LastError
		if !fresh || !strings.Contains(why, "rejoin refused") {
			why = n.out.rejoinRefused()
		}
		s.back = true
		c.event("%s could not rejoin: %s\n    it stays read-only (super_read_only); rebuild it (stop up, remove %s, run up again)",
			n.name(), why, n.dir)
	case fresh && r.Role == "primary" && r.State == "primary" && r.Lease:
		s.back = true
		c.event("%s is back and is the primary (epoch %d)", n.name(), st.Epoch)
	case fresh && r.Role == "replica" && r.State == "replica" && r.IORunning && r.SQLRunning:
		s.back = true
		c.event("%s rejoined as a replica (%.1f s after its restart)", n.name(), time.Since(s.restartedAt).Seconds())
		if what := n.out.lastRewind(); what != "" && what != s.rewindNoted {
			s.rewindNoted = what
			c.event("%s rewound before it rejoined: %s", n.name(), what)
		}
	case !s.slowNoted && time.Since(s.restartedAt) > upRejoinNote:
		s.slowNoted = true
		state, last := "unreported", ""
		if fresh {
			state, last = r.State, r.LastError
		}
		c.event("%s has not rejoined %s after its restart (state %s%s); see 'relaydb status --datadir %s'",
			n.name(), upRejoinNote, state, orEmpty("; last error: ", last), c.opts.dataDir)
	}
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func (s *supervisor) note(st server.ClusterStatus) {
	s.rows = map[string]server.ClusterMemberRow{}
	for _, r := range st.Members {
		s.rows[r.Member] = r
	}
}

// writablePrimary returns the primary if it reports itself writable under a valid lease.
func writablePrimary(st server.ClusterStatus) (string, bool) {
	for _, r := range st.Members {
		if r.Role == "primary" && r.Member == st.Primary && r.Reported && r.State == "primary" && r.Lease {
			return r.Member, true
		}
	}
	return "", false
}

// whyNoPrimary says what the cluster is waiting for: the open election and the newest refusal.
func whyNoPrimary(st server.ClusterStatus) string {
	var parts []string
	if st.Election != "" {
		parts = append(parts, "election "+st.Election)
	}
	for _, e := range st.Journal {
		if e.Kind == "refuse" {
			parts = append(parts, e.Reason)
			break
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("primary %q in epoch %d has no valid lease yet", st.Primary, st.Epoch)
	}
	return strings.Join(parts, "; ")
}

// fetchStatus reads the cluster status from a running member's control API, preferring one
// that knows the controller (only the controller has the members' health reports).
func (c *upCluster) fetchStatus(ctx context.Context) (clusternode.Status, server.ClusterStatus, error) {
	var fallback *clusternode.Status
	err := errors.New("no member is running")
	for i := range c.nodes {
		n := c.nodes[(c.sup.from+i)%len(c.nodes)]
		if n == nil || !n.member || !n.running() {
			continue
		}
		var st clusternode.Status
		if st, err = getStatus(ctx, c.sup.client, n.clusterAddr); err != nil {
			continue
		}
		if st.Leader != "" && st.ReportOf != "" {
			c.sup.from = n.num - 1
			return st, clusterStatusRows(st), nil
		}
		if fallback == nil {
			fallback = &st
		}
	}
	if fallback != nil {
		return *fallback, clusterStatusRows(*fallback), nil
	}
	return clusternode.Status{}, server.ClusterStatus{}, err
}

func getStatus(ctx context.Context, client *http.Client, addr string) (clusternode.Status, error) {
	var st clusternode.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("%s: %v", addr, err)
	}
	if st.State == nil {
		return st, fmt.Errorf("%s: no cluster state", addr)
	}
	return st, nil
}

// settled reports whether the cluster has a writable primary and every other data node,
// registered and reporting, either replicates from it or has refused to (diverged).
func settled(st server.ClusterStatus, nodes int) bool {
	if _, ok := writablePrimary(st); !ok {
		return false
	}
	data := 0
	for _, r := range st.Members {
		if r.Role == "arbiter" {
			continue
		}
		data++
		if r.Role == "primary" {
			continue
		}
		if !r.Reported || !(r.State == "diverged" || r.State == "replica" && r.IORunning && r.SQLRunning) {
			return false
		}
	}
	return data == nodes
}

// waitClusterSettled waits, within upClusterTimeout, until the cluster has settled.
func (c *upCluster) waitClusterSettled(ctx context.Context, nodes int) error {
	deadline := time.Now().Add(upClusterTimeout)
	for {
		raw, st, err := c.fetchStatus(ctx)
		if err == nil {
			c.sup.note(st)
			if settled(st, nodes) {
				c.sup.primary, c.sup.epoch = st.Primary, st.Epoch
				return nil
			}
		}
		for _, n := range c.nodes {
			if n != nil && !n.running() {
				return n.exitError("while the cluster was starting")
			}
		}
		if time.Now().After(deadline) {
			var b bytes.Buffer
			if err != nil {
				fmt.Fprintf(&b, "    (no status: %v)\n", err)
			} else {
				printStatus(&b, raw)
			}
			return fmt.Errorf("the cluster did not settle within %s (a writable primary, every other node replicating from it); its status:\n%s"+
				"the nodes' logs are in %s", upClusterTimeout, b.String(), c.opts.dataDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *upCluster) printClusterSummary(w io.Writer) {
	arb := ""
	if c.cl.Arbiter {
		arb = " and an arbiter"
	}
	fmt.Fprintf(w, "\nrelaydb cluster is up: %d nodes%s, highly available (epoch %d), data in %s\n\n",
		c.opts.nodes, arb, c.sup.epoch, c.opts.dataDir)
	var diverged []string
	for _, n := range c.nodes {
		if n.arbiter {
			fmt.Fprintf(w, "  %-6s %-8s %-16s pid %-8d (votes only: no data, no SQL port)\n",
				n.name(), "voter", n.addr(), n.cmd.Process.Pid)
			continue
		}
		role := "replica"
		if r := c.sup.rows[n.name()]; r.Role == "primary" {
			role = "primary"
		} else if r.State == "diverged" {
			role = "diverged"
			diverged = append(diverged, fmt.Sprintf("%s: %s", n.name(), r.LastError))
		}
		fmt.Fprintf(w, "  %-6s %-8s %-16s pid %-8d mariadb -h%s -P%d -uroot\n",
			n.name(), role, n.addr(), n.cmd.Process.Pid, upHost, n.port)
	}
	fmt.Fprintln(w)
	last := c.opts.nodes
	if c.cl.Arbiter {
		last++
	}
	fmt.Fprintf(w, "The nodes elected %s primary: only it takes writes, under a lease renewed through the cluster\n"+
		"(Raft on ports %d-%d). The replicas follow it as user %s (password in %s)\n"+
		"and are super_read_only. When the primary is lost, another node is promoted in about a second;\n"+
		"up restarts a node that dies and it rejoins as a replica. 'relaydb status --datadir %s' (or\n"+
		"SHOW CLUSTER STATUS on any node) shows the cluster.\n",
		c.sup.primary, c.opts.port+10000, c.opts.port+10000+last-1, c.cl.ReplUser,
		filepath.Join(c.opts.dataDir, clusterFileName), c.opts.dataDir)
	if c.opts.nodes == 2 {
		fmt.Fprintf(w, "With two data nodes a commit waits for the other one's acknowledgement (lossless mode):\n"+
			"while one is down, writes wait until up has restarted it.\n")
	}
	for _, d := range diverged {
		fmt.Fprintf(w, "Refused to rejoin, stays read-only: %s\n", d)
	}
	fmt.Fprintf(w, "Logs: %s. Ctrl-C stops all nodes.\n", filepath.Join(c.opts.dataDir, "nodeK.log"))
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/clone"
	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/replica"
	"github.com/relaydb/relaydb/internal/rewind"
	"github.com/relaydb/relaydb/internal/source"
)

// clusterEpochVariable is @@relaydb_cluster_epoch: the cluster epoch the node acts in (0
// outside a cluster). Read-only for clients.
const clusterEpochVariable = "relaydb_cluster_epoch"

// clusterManaged are the variables a cluster member's control plane owns: a client changing them
// could make a replica writable or let a primary acknowledge without its replicas.
var clusterManaged = map[string]bool{
	"read_only": true, "super_read_only": true,
	"rpl_semi_sync_source_enabled": true, "rpl_semi_sync_master_enabled": true,
	"rpl_semi_sync_source_wait_for_replica_count": true, "rpl_semi_sync_master_wait_for_slave_count": true,
	"rpl_semi_sync_source_wait_point": true, "rpl_semi_sync_master_wait_point": true,
	"rpl_semi_sync_source_fallback": true,
	"rpl_semi_sync_replica_enabled": true, "rpl_semi_sync_slave_enabled": true,
}

// clusterRole is the write permission of a node that is a cluster member: the commit path asks
// it before a group is logged and again before commits are acknowledged (storage's commit
// fence), and a watchdog keeps super_read_only in line with it.
//
// Invariants: a node is writable only while it is the primary and its lease, measured on this
// process's monotonic clock from when the renewal was asked for, has not run out. A replica lets
// only its applier write (super_read_only, which clients cannot turn off here).
type clusterRole struct {
	n          *Node
	base       time.Time    // monotonic origin of leaseUntil
	primary    atomic.Bool  // the node is (or was, until told otherwise) the primary
	leaseUntil atomic.Int64 // ns after base; 0: no lease
	epoch      atomic.Uint64
	acks       atomic.Int64 // -1 until the primary's semi-sync settings were applied
	// handingOver (ns after base; 0: none) is when the hold of a planned switchover on this
	// primary's commits ends at the latest (see ClusterMember.HoldCommits). super_read_only
	// stays off until then, so that clients' writes reach the hold and wait there instead of
	// failing at their first statement; the hold and the commit fence still keep anything from
	// being logged or acknowledged without a lease.
	handingOver atomic.Int64

	mu       sync.Mutex
	writable bool // guarded by mu; what super_read_only was last set to (inverted)
	// promoting is closed when a promotion in progress ends; nil when none is (guarded by mu).
	promoting chan struct{}

	reserverMu sync.Mutex
}

func newClusterRole(n *Node) *clusterRole {
	c := &clusterRole{n: n, base: time.Now()}
	c.acks.Store(-1)
	return c
}

func (c *clusterRole) holdingForHandover() bool {
	until := c.handingOver.Load()
	return until > 0 && int64(time.Since(c.base)) < until
}

func (c *clusterRole) leaseValid() bool {
	until := c.leaseUntil.Load()
	return until > 0 && int64(time.Since(c.base)) < until
}

// promotionWait bounds how long a statement waits for a promotion in progress.
const promotionWait = 10 * time.Second

// waitPromotion holds a client's statement while the node is being promoted (it is applying the
// rest of its relay log), so that nothing reads a state older than what the primary
// acknowledged, as Group Replication's BEFORE_ON_PRIMARY_FAILOVER does.
func (c *clusterRole) waitPromotion(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	ch := c.promoting
	c.mu.Unlock()
	if ch == nil {
		return nil
	}
	t := time.NewTimer(promotionWait)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return mysql.NewSQLError(1290, "HY000", "this cluster member is being promoted to primary and is still applying its relay log; try again")
	}
}

func (c *clusterRole) setPromoting(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case on && c.promoting == nil:
		c.promoting = make(chan struct{})
	case !on && c.promoting != nil:
		close(c.promoting)
		c.promoting = nil
	}
}

// commitCheck is the storage commit fence.
func (c *clusterRole) commitCheck() error {
	if c.n.cfg.UnsafeNoFence || !c.primary.Load() || c.leaseValid() {
		return nil
	}
	return mysql.NewSQLError(1290, "HY000",
		"The MySQL server is running with the --super-read-only option so it cannot execute this statement (this cluster member holds no primary lease in epoch %d; the transaction is not acknowledged)", c.epoch.Load())
}

// watch keeps super_read_only and the semi-sync fence equal to the write permission.
func (c *clusterRole) watch(stop <-chan struct{}) {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		c.sync()
	}
}

func (c *clusterRole) sync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Decided under mu: a decision taken before another sync (a demotion) ran and applied after
	// it would turn super_read_only off on a node that is no longer the primary.
	want := c.primary.Load() && (c.leaseValid() || c.holdingForHandover())
	if want == c.writable {
		return
	}
	c.writable = want
	ctx := sql.NewEmptyContext()
	reg, _ := sql.SystemVariables.(*coupledRegistry)
	if want {
		if semi := c.semi(); semi != nil {
			semi.Fence(nil)
		}
		if reg != nil {
			reg.setInternal(ctx, "read_only", int8(0))
		}
		c.n.log.Info("cluster: writable: this node holds the primary lease", "epoch", c.epoch.Load())
		return
	}
	if reg != nil {
		reg.setInternal(ctx, "super_read_only", int8(1))
	}
	if c.primary.Load() {
		if semi := c.semi(); semi != nil {
			semi.Fence(c.commitCheck())
		}
		c.n.log.Warn("cluster: fenced: super_read_only ON, commits are refused and none is acknowledged (no valid primary lease)", "epoch", c.epoch.Load())
	}
}

func (c *clusterRole) semi() interface{ Fence(error) } {
	if c.n.binlog == nil || c.n.binlog.Semi() == nil {
		return nil
	}
	return c.n.binlog.Semi()
}

// checkDump refuses a replica that acts in a newer epoch than this node, or any cluster replica
// while this node is not a writable primary: an old primary must not feed anyone.
func (c *clusterRole) checkDump(sess sql.Session) error {
	var theirs uint64
	if sess != nil {
		if _, v, err := sess.GetUserVariable(sql.NewEmptyContext(), clusterEpochVariable); err == nil && v != nil {
			if n, ok := toInt64(v); ok && n > 0 {
				theirs = uint64(n)
			}
		}
	}
	mine := c.epoch.Load()
	if theirs > mine {
		return source.Error1236("this source acts in cluster epoch %d, older than the replica's epoch %d: it is not the primary", mine, theirs)
	}
	if theirs > 0 && !(c.primary.Load() && c.leaseValid()) {
		// Not fatal for the receiver (unlike 1236): it retries, and this node may hold its lease
		// again in a moment.
		return mysql.NewSQLError(1290, "HY000", "this cluster member is not the writable primary of epoch %d", mine)
	}
	return nil
}

// --- clusternode.Local -------------------------------------------------------------------------

// ClusterMember is the node as the control plane drives it (clusternode.Local); nil unless
// the node was opened with Config.Cluster.
func (n *Node) ClusterMember() *ClusterMember {
	if n.cluster == nil {
		return nil
	}
	return &ClusterMember{n: n, c: n.cluster}
}

// ClusterMember implements clusternode.Local for a node.
type ClusterMember struct {
	n *Node
	c *clusterRole
}

type commitWatcher interface {
	CommitStalled(d time.Duration) bool
}

// Health fills a report's data fields.
func (m *ClusterMember) Health(stall time.Duration) cluster.Report {
	n := m.n
	var r cluster.Report
	executed := n.binlog.Executed()
	received := executed.Clone()
	r.StreamAge, r.LagSeconds = -1, -1
	if ch := n.replicas.Default(); ch != nil {
		p := ch.Progress()
		received.AddSet(p.Retrieved)
		r.IORunning, r.SQLRunning = p.IORunning, p.SQLRunning
		r.StreamAge, r.LagSeconds = p.StreamAge, p.LagSeconds
		if !m.c.primary.Load() {
			r.LastError = p.LastError // a primary's old channel errors are history
		}
	}
	r.Executed, r.Received = executed.String(), received.String()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(n.dataDir, &fs); err == nil {
		r.FreeDisk = fs.Bavail * uint64(fs.Bsize)
	}
	if w, ok := n.storage.(commitWatcher); ok {
		r.CommitStalled = w.CommitStalled(stall)
	}
	r.LeaseValid = m.c.primary.Load() && m.c.leaseValid()
	r.Healthy = r.FreeDisk == 0 || r.FreeDisk > 64<<20
	if !r.Healthy {
		r.LastError = fmt.Sprintf("disk nearly full (%d bytes free)", r.FreeDisk)
	}
	return r
}

// SetEpoch records the epoch the node acts in.
func (m *ClusterMember) SetEpoch(epoch uint64) {
	m.c.epoch.Store(epoch)
	if reg, ok := sql.SystemVariables.(*coupledRegistry); ok {
		reg.SystemVariableRegistry.AssignValues(map[string]any{clusterEpochVariable: int64(epoch)})
	}
}

// BeginPromotion holds clients' statements until the promotion ends (SetPrimary with a lease,
// or SetReplica).
func (m *ClusterMember) BeginPromotion() { m.c.setPromoting(true) }

// SetPrimary makes the node the primary with a lease until leaseUntil (zero: fenced).
func (m *ClusterMember) SetPrimary(leaseUntil time.Time, acks int) {
	c := m.c
	if !leaseUntil.IsZero() {
		defer c.setPromoting(false)
	}
	if acks >= 0 && c.acks.Load() != int64(acks) && !leaseUntil.IsZero() {
		m.configureSemiSync(acks)
		c.acks.Store(int64(acks))
	}
	var until int64
	if !leaseUntil.IsZero() {
		until = max(int64(leaseUntil.Sub(c.base)), 1)
	}
	c.leaseUntil.Store(until)
	c.primary.Store(true)
	c.sync()
}

// configureSemiSync sets the primary's semi-sync source settings for the cluster's mode: AFTER_SYNC
// with acks acknowledgements and never a fallback to asynchronous (0: asynchronous).
func (m *ClusterMember) configureSemiSync(acks int) {
	reg, ok := sql.SystemVariables.(*coupledRegistry)
	if !ok {
		return
	}
	ctx := sql.NewEmptyContext()
	if acks == 0 {
		reg.setInternal(ctx, "rpl_semi_sync_source_enabled", int8(0))
		return
	}
	reg.setInternal(ctx, "rpl_semi_sync_source_wait_point", "AFTER_SYNC")
	reg.setInternal(ctx, "rpl_semi_sync_source_fallback", int8(0))
	reg.setInternal(ctx, "rpl_semi_sync_source_wait_for_replica_count", int64(acks))
	reg.setInternal(ctx, "rpl_semi_sync_source_enabled", int8(1))
}

// SetReplica makes the node a replica: super_read_only, no lease.
func (m *ClusterMember) SetReplica() {
	c := m.c
	defer c.setPromoting(false)
	c.leaseUntil.Store(0)
	c.sync()
	c.primary.Store(false)
	c.acks.Store(-1)
	if reg, ok := sql.SystemVariables.(*coupledRegistry); ok {
		reg.setInternal(sql.NewEmptyContext(), "rpl_semi_sync_source_enabled", int8(0))
	}
	if semi := c.semi(); semi != nil {
		semi.Fence(nil)
	}
}

// StopReceiving stops the default channel's receiver.
func (m *ClusterMember) StopReceiving() error {
	ch := m.n.replicas.Default()
	if ch == nil || !ch.Progress().IORunning {
		return nil
	}
	return ignoreNotRunning(ch.Stop(true, false))
}

// StopReplication stops both threads of the default channel.
func (m *ClusterMember) StopReplication() error {
	ch := m.n.replicas.Default()
	if ch == nil {
		return nil
	}
	p := ch.Progress()
	if !p.IORunning && !p.SQLRunning {
		return nil
	}
	return ignoreNotRunning(ch.Stop(true, true))
}

func ignoreNotRunning(err error) error {
	var se *mysql.SQLError
	if errors.As(err, &se) && (se.Num == 3084 || se.Num == 1199 || se.Num == 3085) {
		return nil
	}
	return err
}

// WaitRelayApplied waits until everything received into the relay log is applied.
func (m *ClusterMember) WaitRelayApplied(ctx context.Context) error {
	ch := m.n.replicas.Default()
	if ch == nil {
		return nil
	}
	for {
		p := ch.Progress()
		if m.n.binlog.Executed().ContainsSet(p.Retrieved) {
			return nil
		}
		if !p.SQLRunning {
			if p.LastError != "" {
				return fmt.Errorf("the applier stopped: %s", p.LastError)
			}
			if err := ch.Start(false, true, nil); err != nil {
				return fmt.Errorf("start the applier: %w", err)
			}
		}
		if m.n.binlog.WaitExecuted(p.Retrieved, 50*time.Millisecond, ctx.Done()) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Follow points the default channel at addr (auto-position, semi-sync) and starts it.
func (m *ClusterMember) Follow(addr, user, password string) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("primary address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("primary address %q: %w", addr, err)
	}
	ch, err := m.n.replicas.Get("", true)
	if err != nil {
		return err
	}
	p := ch.Progress()
	if p.SourceHost == host && p.SourcePort == port && p.IORunning && p.SQLRunning && SemiSyncReplicaEnabled() {
		return nil
	}
	if err := ignoreNotRunning(ch.Stop(true, true)); err != nil && (p.IORunning || p.SQLRunning) {
		return fmt.Errorf("stop replication: %w", err)
	}
	if reg, ok := sql.SystemVariables.(*coupledRegistry); ok {
		reg.setInternal(sql.NewEmptyContext(), "rpl_semi_sync_replica_enabled", int8(1))
	}
	if err := ch.Change(map[string]string{
		"SOURCE_HOST": host, "SOURCE_PORT": portStr, "SOURCE_USER": user, "SOURCE_PASSWORD": password,
		"SOURCE_AUTO_POSITION": "1", "SOURCE_CONNECT_RETRY": "1", "SOURCE_HEARTBEAT_PERIOD": "1",
		"SOURCE_LOG_FILE": "", "SOURCE_LOG_POS": "0",
	}); err != nil {
		return fmt.Errorf("change replication source: %w", err)
	}
	if err := ch.Start(true, true, nil); err != nil {
		return fmt.Errorf("start replication: %w", err)
	}
	return nil
}

// autoIncReserverSetter is the storage side of cluster auto-increment reservations.
type autoIncReserverSetter interface {
	SetAutoIncrementReserver(r func(ctx context.Context, table string, from, count uint64) (lo, hi uint64, err error))
}

// SetAutoIncrementReserver installs (nil: removes) the reservation of auto-increment ranges.
func (m *ClusterMember) SetAutoIncrementReserver(r func(ctx context.Context, table string, from, count uint64) (uint64, uint64, error)) {
	if s, ok := m.n.storage.(autoIncReserverSetter); ok {
		s.SetAutoIncrementReserver(r)
	}
}

// Executed is gtid_executed.
func (m *ClusterMember) Executed() gtid.Set { return m.n.binlog.Executed() }

// Rewind undoes errant, transactions this node executed that the cluster's primary lacks, into
// the lost-and-found (package rewind), and describes what it did. The caller has stopped the
// node's replication; the node is a read-only replica.
// needsClone is set when the rewind cannot undo the transactions from the binlog (DDL or
// statement-format events, purged files, a store that does not match): the node must be
// replaced by a clone (ReplaceByClone).
func (m *ClusterMember) Rewind(ctx context.Context, errant gtid.Set, primary string) (what string, needsClone bool, err error) {
	res, err := rewind.Run(ctx, m.rewindConfig(), errant, primary)
	if err != nil {
		return "", errors.Is(err, rewind.ErrNeedsClone), err
	}
	return fmt.Sprintf("undid %d transaction(s) %s that the primary %s lacks; they are in the lost-and-found %s (binlog cut at %s)",
		res.Transactions, res.Undone, primary, res.Dir, res.Cut), false, nil
}

func (m *ClusterMember) rewindConfig() rewind.Config {
	n := m.n
	return rewind.Config{
		DataDir: n.dataDir, BinlogDir: n.dataDir, Prefix: n.cfg.BinlogPrefix,
		Log: n.binlog, Engine: n.engine, Logger: n.log, Failpoint: rewind.FailpointFromEnv(),
		NewSession: func(id uint32) sql.Session {
			return n.storage.NewSession(sql.NewBaseSessionWithClientServer("rewind", sql.Client{User: "root", Address: "localhost"}, id))
		},
	}
}

// ReplaceByClone replaces the node's data with a clone of the primary at addr, for errant
// transactions a rewind cannot undo: they are first written to the lost-and-found (their
// statements and row images), the clone is staged and verified, and the node then closes and
// asks to be restarted (RestartRequested); the next start sets the old data aside (clone-old-*)
// and installs the clone, and the node rejoins with the primary's data. Until the restart the
// node stays a read-only replica that replicates nothing.
func (m *ClusterMember) ReplaceByClone(ctx context.Context, errant gtid.Set, primary, addr, user, password string) (string, error) {
	n := m.n
	dir, err := rewind.Record(ctx, m.rewindConfig(), errant, primary)
	if err != nil {
		// The old data is set aside whole by the install anyway: nothing is lost, only the
		// operator's summary is missing.
		n.log.Error("lost-and-found: could not record the transactions the clone discards", "gtids", errant.String(), "err", err)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("primary address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", fmt.Errorf("primary address %q: %w", addr, err)
	}
	src := clone.Source{User: user, Password: password, Host: host, Port: port}
	if err := n.clone.tracker.Start(src.String(), "LOCAL INSTANCE"); err != nil {
		return "", errors.New("a clone is already running")
	}
	man, err := clone.Fetch(ctx, clone.Options{Source: src, Dir: n.dataDir, MaxBandwidth: cloneMaxBandwidth,
		Tracker: n.clone.tracker, Logger: n.log, RefuseUUID: n.serverUUID})
	if err != nil {
		n.clone.tracker.Finish(errorCode(err), err)
		return "", fmt.Errorf("clone from %s: %w", addr, err)
	}
	n.clone.tracker.BeginStage(clone.StageRestart, 0)
	what := fmt.Sprintf("replaced by a clone of the primary %s (gtid_executed %s); the %d errant transaction(s) %s are in the lost-and-found %s; restarting to install it",
		primary, man.GTIDExecuted, errant.Count(), errant, dir)
	n.restartRequested.Store(true)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the caller journal it first
		_ = n.Close()
	}()
	return what, nil
}

// commitHolder is the storage side of a switchover's commit hold.
type commitHolder interface {
	HoldCommits(max time.Duration, expired error) (release func(error))
	DrainCommits(done <-chan struct{}) bool
}

// HoldCommits makes new commits wait, unlogged, for at most bound (a planned switchover hands
// this primary's role over meanwhile). release("") lets them go on (the switchover was
// aborted); release(newPrimary) fails them with a retryable 1290 naming the new primary:
// they were never logged, so nothing acknowledged is lost by failing them.
func (m *ClusterMember) HoldCommits(bound time.Duration) (release func(newPrimary string)) {
	h, ok := m.n.storage.(commitHolder)
	if !ok {
		// The commit fence alone still keeps anything from being acknowledged: commits then
		// fail during the handover instead of waiting.
		m.n.log.Error("cluster: this storage cannot hold commits; a switchover fails the commits it would hold")
		return func(string) {}
	}
	m.c.handingOver.Store(max(int64(time.Since(m.c.base)+bound), 1))
	rel := h.HoldCommits(bound, mysql.NewSQLError(1290, "HY000",
		"The MySQL server is running with the --super-read-only option so it cannot execute this statement (a primary switchover is in progress and took longer than %s; this transaction was not committed: retry it)", bound))
	return func(newPrimary string) {
		// Read-only again first (unless the lease is back), then the held commits go on or fail.
		m.c.handingOver.Store(0)
		m.c.sync()
		if newPrimary == "" {
			rel(nil)
			return
		}
		rel(mysql.NewSQLError(1290, "HY000",
			"The MySQL server is running with the --super-read-only option so it cannot execute this statement (the primary switched to %s; this transaction was not committed: retry it there)", newPrimary))
	}
}

// DrainCommits waits until every commit logged so far has finished (acknowledged or failed).
func (m *ClusterMember) DrainCommits(ctx context.Context) error {
	h, ok := m.n.storage.(commitHolder)
	if !ok {
		return errors.New("this storage cannot drain its commits")
	}
	if !h.DrainCommits(ctx.Done()) {
		return fmt.Errorf("logged commits did not finish: %w", ctx.Err())
	}
	return nil
}

// DiscardRelayLog stops the default channel and forgets its relay log and received set.
func (m *ClusterMember) DiscardRelayLog() error {
	ch := m.n.replicas.Default()
	if ch == nil {
		return nil
	}
	if err := ignoreNotRunning(ch.Stop(true, true)); err != nil {
		return err
	}
	return ch.Reset(false)
}

// WaitReceived waits until the node holds set: executed, or received into its relay log.
func (m *ClusterMember) WaitReceived(ctx context.Context, set gtid.Set) error {
	for {
		have := m.n.binlog.Executed()
		if ch := m.n.replicas.Default(); ch != nil {
			have.AddSet(ch.Progress().Retrieved)
		}
		if have.ContainsSet(set) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still lacks %s: %w", gtid.Subtract(set, have).String(), ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// setupCluster prepares a node that is a cluster member, before clients connect: read-only
// until the control plane makes it primary, the managed variables guarded, the epoch visible.
func (n *Node) setupCluster() error {
	if n.binlog == nil {
		return errors.New("a cluster member needs its binary log (do not combine cluster options with --skip-log-bin)")
	}
	n.cluster = newClusterRole(n)
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&sql.MysqlSystemVariable{
		Name:    clusterEpochVariable,
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
		Dynamic: false,
		Type:    types.NewSystemIntType(clusterEpochVariable, 0, 1<<62, false),
		Default: int64(0),
	}})
	reg, ok := sql.SystemVariables.(*coupledRegistry)
	if !ok {
		return errors.New("system variables are not installed")
	}
	reg.setInternal(sql.NewEmptyContext(), "super_read_only", int8(1))
	reg.guard = func(name string) error {
		if clusterManaged[strings.ToLower(name)] {
			return mysql.NewSQLError(1228, "HY000", "Variable '%s' is managed by the RelayDB cluster (primary lease and epoch) and cannot be set by hand", name)
		}
		return nil
	}
	if f, ok := n.storage.(interface{ SetCommitFence(func() error) }); ok {
		f.SetCommitFence(n.cluster.commitCheck)
	} else {
		return errors.New("the storage backend cannot fence commits, so it cannot be a cluster member")
	}
	go n.cluster.watch(n.closed)
	return nil
}

// checkClusterDump is called by the dump service before it streams to a replica.
func (h *nodeHandler) checkClusterDump(c *mysql.Conn) error {
	if h.cluster == nil {
		return nil
	}
	var sess sql.Session
	if h.admin != nil {
		sess = h.admin.sessions.get(c.ConnectionID)
	}
	return h.cluster.checkDump(sess)
}

// replicaClusterOptions wires a cluster member's replication channels to its epoch.
func (n *Node) replicaClusterOptions(o *replica.Options) {
	if n.cfg.Redirect != nil {
		o.Redirect = n.cfg.Redirect
	}
	if n.cfg.Cluster {
		// Members replicate by GTID auto-position only, which never sends a transaction the
		// replica has; a member rebuilt empty must take back the transactions it once wrote
		// under its server_id, so the server_id loop filter (rings) is off.
		o.ReplicateSameServerID = true
		o.ClusterEpoch = func() uint64 {
			if n.cluster == nil {
				return 0
			}
			return n.cluster.epoch.Load()
		}
	}
}

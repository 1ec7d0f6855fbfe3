package clusternode

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/gtid"
)

// Local is the data node a member controls: the server implements it (internal/server).
// Every method is safe to call from the agent's goroutines.
type Local interface {
	// Health fills a report's data fields (GTID sets, threads, stream age, disk, errors,
	// CommitStalled when commits waited longer than stall without progress).
	Health(stall time.Duration) cluster.Report
	// SetEpoch is the epoch the node acts in: @@relaydb_cluster_epoch, sent by its receiver to
	// its source, and checked by its dump service against its replicas' epochs.
	SetEpoch(epoch uint64)
	// SetPrimary makes the node its cluster's primary for the epoch: it acknowledges commits
	// only until leaseUntil (monotonic), and is writable (not super_read_only) only then.
	// A zero leaseUntil fences it: no commit is accepted or acknowledged.
	SetPrimary(leaseUntil time.Time, acks int)
	// BeginPromotion holds clients' statements until the node is primary with a lease (or a
	// replica again): reads must not see less than the old primary acknowledged.
	BeginPromotion()
	// SetReplica makes the node a replica: super_read_only, no lease, only the applier writes.
	SetReplica()
	// StopReceiving stops the default channel's receiver (the applier goes on).
	StopReceiving() error
	// StopReplication stops both threads of the default channel.
	StopReplication() error
	// WaitRelayApplied waits until everything the relay log holds is applied.
	WaitRelayApplied(ctx context.Context) error
	// Follow points the default channel at addr with auto-position and starts it, as a
	// semi-sync replica; a no-op if it already follows addr with both threads running.
	Follow(addr, user, password string) error
	// SetAutoIncrementReserver installs (or, given nil, removes) the reservation of
	// auto-increment ranges through the cluster state.
	SetAutoIncrementReserver(r func(ctx context.Context, table string, from, count uint64) (lo, hi uint64, err error))
	Executed() gtid.Set
	// Rewind undoes errant (executed here, lacking on the primary) into the lost-and-found,
	// with replication stopped, and describes what it did; an error leaves the node as it was.
	// needsClone says the binlog cannot undo them (DDL, statement events, purged files).
	Rewind(ctx context.Context, errant gtid.Set, primary string) (what string, needsClone bool, err error)
	// ReplaceByClone records errant in the lost-and-found, stages a verified clone of the
	// primary at addr and restarts the node to install it (the old data is set aside).
	ReplaceByClone(ctx context.Context, errant gtid.Set, primary, addr, user, password string) (string, error)

	// HoldCommits makes new commits wait, unlogged, for at most max; when it returns, nothing
	// is being logged. release("") lets them go on; release(newPrimary) fails them with a
	// retryable error naming the new primary.
	HoldCommits(max time.Duration) (release func(newPrimary string))
	// DrainCommits waits until every commit logged so far has finished.
	DrainCommits(ctx context.Context) error
	// WaitReceived waits until the node holds set (executed or in its relay log).
	WaitReceived(ctx context.Context, set gtid.Set) error
	// DiscardRelayLog stops the default channel and forgets its relay log and received set
	// (RESET REPLICA, keeping the connection settings); the caller has applied it first.
	DiscardRelayLog() error
}

// agent acts on the cluster state for the local data node: it fences, promotes, re-points and
// renews the lease, and reports the node's health to the controller.
type agent struct {
	n   *Node
	loc Local

	mu          sync.Mutex
	role        string    // guarded by mu; see cluster.Report.Role
	epoch       uint64    // guarded by mu; the newest epoch acted on
	stoppedFor  uint64    // guarded by mu; the election epoch the receiver was stopped for
	promotedFor uint64    // guarded by mu; the epoch this node finished promotion in
	following   string    // guarded by mu; "primary@epoch" this node replicates from
	lastErr     string    // guarded by mu
	journaled   string    // guarded by mu; the last own event journaled (once per epoch and kind)
	restarting  bool      // guarded by mu; a clone is staged and the node is closing to install it
	lastFollow  time.Time // reconcile goroutine only
	// ho is this node's part, as the old primary, in the switchover in progress (guarded by
	// mu); tookOver is the switchover whose handover this node proposed as its target.
	ho       *handover
	tookOver string
	// cutFor is the epoch of the last switchover for which this replica stopped receiving from
	// the old primary (guarded by mu).
	cutFor uint64
	// leaseMu orders the lease loop's SetPrimary with a lease against a switchover's fence: a
	// renewal asked for before the fence must not reopen the lease after it, even once the
	// switchover is over (the new primary may hold a lease by then). leaseGen (guarded by
	// leaseMu) grows with every fence; a renewal counts only if it was asked for in the
	// generation it is granted in.
	leaseMu  sync.Mutex
	leaseGen uint64
	// kick asks the lease loop to renew now (a promotion just finished).
	kick chan struct{}
	// soon asks the reconcile loop to try again shortly (a new primary is not serving yet).
	soon chan struct{}

	wg sync.WaitGroup
}

func newAgent(n *Node) *agent {
	return &agent{n: n, loc: n.cfg.Local, role: "starting", kick: make(chan struct{}, 1), soon: make(chan struct{}, 1)}
}

func (a *agent) start() {
	a.wg.Add(3)
	go a.reconcileLoop()
	go a.leaseLoop()
	go a.reportLoop()
}

func (a *agent) wait() { a.wg.Wait() }

func (a *agent) set(fn func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn()
}

func (a *agent) reconcileLoop() {
	defer a.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		_, _, _, changed := a.n.fsm.view()
		a.reconcile()
		var retry <-chan time.Time
		select {
		case <-a.soon:
			retry = time.After(20 * time.Millisecond)
		default:
		}
		select {
		case <-a.n.ctx.Done():
			return
		case <-changed:
		case <-t.C:
		case <-retry:
		}
	}
}

// reconcile brings the local node in line with the state: one step at a time, repeated.
func (a *agent) reconcile() {
	st := a.n.State()
	me := a.n.cfg.ID
	if st.Settings.Lease == 0 {
		return // the cluster is not configured yet
	}
	a.mu.Lock()
	if st.Epoch > a.epoch {
		a.epoch = st.Epoch
		a.loc.SetEpoch(st.Epoch)
	}
	role, stoppedFor, promotedFor, following := a.role, a.stoppedFor, a.promotedFor, a.following
	a.mu.Unlock()
	log := a.n.log
	if a.switchoverStep(st) {
		return
	}

	switch {
	case st.Election != nil:
		// A member still promoting holds no lease: it is either still a replica applying its
		// relay log (fencing it would refuse its applier's commits) or already fenced.
		if role == "primary" {
			a.loc.SetPrimary(time.Time{}, 0) // fenced; its lease had expired for the election to open
			log.Warn("fenced: an election is open; this node acknowledges nothing more", "epoch", st.Epoch)
			a.set(func() { a.role = "fenced" })
		}
		if stoppedFor != st.Epoch {
			// No more acknowledgements to the old primary: the received set is final.
			if err := a.loc.StopReceiving(); err != nil {
				log.Warn("stop receiving for the election", "err", err)
				return
			}
			a.set(func() { a.stoppedFor = st.Epoch; a.following = "" })
			log.Info("election open: receiver stopped", "epoch", st.Epoch, "reason", st.Election.Reason)
		}
	case st.Primary == me:
		if promotedFor == st.Epoch {
			return
		}
		if role != "promoting" {
			log.Info("promoting this node to primary", "epoch", st.Epoch)
			a.loc.BeginPromotion()
		}
		a.set(func() { a.role = "promoting" })
		if role == "primary" || role == "fenced" {
			a.loc.SetPrimary(time.Time{}, 0) // it stays fenced: no lease yet, nothing is acknowledged
		}
		// A replica stays one (super_read_only: clients cannot write) until its relay log is
		// applied: the primary's commit fence would refuse its applier's commits too, stop the
		// applier and leave the promotion stuck until the next election.
		if err := a.loc.StopReceiving(); err != nil {
			log.Warn("promotion: stop receiving", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(a.n.ctx, 5*time.Second)
		err := a.loc.WaitRelayApplied(ctx)
		cancel()
		if err != nil {
			a.set(func() { a.lastErr = "promotion: applying the relay log: " + err.Error() })
			return // tried again at the next tick
		}
		if err := a.loc.StopReplication(); err != nil {
			log.Warn("promotion: stop replication", "err", err)
		}
		a.loc.SetPrimary(time.Time{}, 0) // no lease yet: nothing is acknowledged
		a.loc.SetAutoIncrementReserver(a.reserve)
		a.set(func() { a.promotedFor = st.Epoch; a.role = "primary"; a.following = ""; a.lastErr = "" })
		select { // ask for the first lease now rather than at the lease loop's next tick
		case a.kick <- struct{}{}:
		default:
		}
		log.Info("promotion done: the relay log is applied; writable once the lease is granted", "epoch", st.Epoch,
			"gtid_executed", a.loc.Executed().String())
	case st.Primary != "":
		if role == "primary" || role == "promoting" || role == "fenced" || role == "starting" {
			a.loc.SetReplica()
			a.loc.SetAutoIncrementReserver(nil)
			a.set(func() { a.role = "replica" })
		}
		want := fmt.Sprintf("%s@%d", st.Primary, st.Epoch)
		if following == want {
			// A receiver that gave up (an error it does not retry) is started again.
			if time.Since(a.lastFollow) > 2*time.Second && !a.loc.Health(time.Hour).IORunning {
				a.lastFollow = time.Now()
				if pm := st.Members[st.Primary]; pm != nil {
					if err := a.loc.Follow(pm.SQLAddr, a.n.cfg.ReplUser, a.n.cfg.ReplPassword); err != nil {
						log.Warn("restart replication", "err", err)
					}
				}
			}
			return
		}
		pm := st.Members[st.Primary]
		if pm == nil || pm.SQLAddr == "" {
			return
		}
		if err := a.join(st, pm); err != nil {
			a.set(func() { a.lastErr = err.Error() })
			if time.Since(a.n.fsm.primaryChanged()) < 5*time.Second {
				// The primary just changed and is likely still promoting: try again soon, since
				// in lossless mode its first commits wait for a replica to follow it.
				select {
				case a.soon <- struct{}{}:
				default:
				}
			}
			return
		}
		a.set(func() { a.following = want; a.lastErr = ""; a.role = "replica" })
		a.lastFollow = time.Now()
		log.Info("replicating from the primary", "primary", st.Primary, "addr", pm.SQLAddr, "epoch", st.Epoch)
	}
}

// join checks that the primary serves the current epoch and holds everything this node has,
// then follows it. A node with transactions the primary lacks refuses: it must never serve them.
func (a *agent) join(st *cluster.State, pm *cluster.Member) error {
	a.mu.Lock()
	restarting := a.restarting
	a.mu.Unlock()
	if restarting {
		return errRestarting
	}
	ctx, cancel := context.WithTimeout(a.n.ctx, 2*time.Second)
	defer cancel()
	epoch, executed, writable, err := a.peerState(ctx, pm.SQLAddr)
	if err != nil {
		return fmt.Errorf("waiting for primary %s: %v", pm.ID, err)
	}
	if epoch < st.Epoch || !writable {
		return fmt.Errorf("waiting for primary %s to take epoch %d (it is at %d, writable %v)", pm.ID, st.Epoch, epoch, writable)
	}
	mine := a.loc.Health(time.Hour)
	has, err := gtid.Parse(mine.Received)
	if err != nil {
		return err
	}
	if errant := gtid.Subtract(has, executed); !errant.IsEmpty() {
		if err := a.rewind(pm, executed); err != nil {
			return err
		}
	}
	return a.loc.Follow(pm.SQLAddr, a.n.cfg.ReplUser, a.n.cfg.ReplPassword)
}

// rewindTimeout bounds one rewind (reading the errant tail, undoing it, cutting the binlog).
const rewindTimeout = 5 * time.Minute

// rewind undoes the transactions this node holds that the primary lacks (an old primary's
// unacknowledged or, in async mode, lost commits), before it applies anything of the primary's:
// the receiver is stopped and the relay log applied first, so the undo cannot interleave with
// the primary's transactions. A node whose errant transactions cannot be undone stays
// read-only ("rejoin refused").
func (a *agent) rewind(pm *cluster.Member, primaryExecuted gtid.Set) error {
	ctx, cancel := context.WithTimeout(a.n.ctx, rewindTimeout)
	defer cancel()
	a.set(func() { a.role = "rewinding" })
	if err := a.loc.StopReceiving(); err != nil {
		return fmt.Errorf("rewind: stop receiving: %w", err)
	}
	if err := a.loc.WaitRelayApplied(ctx); err != nil {
		return fmt.Errorf("rewind: apply the relay log first: %w", err)
	}
	// Forget the relay log once applied: after the undo, its errant transactions are no longer
	// in gtid_executed, and an applier reading it again would redo them.
	if err := a.loc.DiscardRelayLog(); err != nil {
		return fmt.Errorf("rewind: discard the relay log: %w", err)
	}
	errant := gtid.Subtract(a.loc.Executed(), primaryExecuted)
	if errant.IsEmpty() {
		return nil
	}
	a.n.log.Warn("rewinding: this node holds transactions the primary lacks", "primary", pm.ID, "errant", errant.String())
	what, needsClone, err := a.loc.Rewind(ctx, errant, pm.ID)
	switch {
	case err != nil && needsClone:
		// The binlog cannot undo them: the node takes a clone of the primary instead, and
		// restarts to install it. Its transactions are kept in the lost-and-found and its old
		// data set aside; it never serves them.
		a.n.log.Warn("rewind impossible; replacing this node by a clone of the primary", "why", err.Error())
		a.set(func() { a.role = "cloning" })
		what, cerr := a.loc.ReplaceByClone(ctx, errant, pm.ID, pm.SQLAddr, a.n.cfg.ReplUser, a.n.cfg.ReplPassword)
		if cerr != nil {
			msg := fmt.Sprintf("rejoin refused: this node holds transactions the primary %s lacks (%s) that it cannot rewind (%v), and cloning the primary failed: %v; it stays read-only", pm.ID, errant.String(), err, cerr)
			a.set(func() { a.role = "diverged" })
			a.journalOnce("rejoin_refused", msg)
			return errors.New(msg)
		}
		a.set(func() { a.restarting = true })
		a.journal("cloned", fmt.Sprintf("rewind impossible (%v): %s", err, what))
		return errRestarting
	case err != nil:
		msg := fmt.Sprintf("rejoin refused: this node holds transactions the primary %s lacks (%s) and cannot rewind them: %v; it stays read-only and must be rebuilt (cloned)", pm.ID, errant.String(), err)
		a.set(func() { a.role = "diverged" })
		a.journalOnce("rejoin_refused", msg)
		return errors.New(msg)
	}
	a.n.log.Warn("rewound: " + what)
	a.journal("rewound", what)
	return nil
}

// errRestarting is join's answer while the node restarts to install a clone.
var errRestarting = errors.New("restarting to install a clone of the primary")

// journal records one of this member's own events in the cluster journal (best effort).
func (a *agent) journal(kind, reason string) {
	ctx, cancel := context.WithTimeout(a.n.ctx, proposeTimeout)
	defer cancel()
	a.n.Propose(ctx, cluster.Command{Op: cluster.OpJournal, Node: a.n.cfg.ID, Kind: kind, Reason: reason})
}

func (a *agent) journalOnce(kind, reason string) {
	key := fmt.Sprintf("%d/%s", a.n.State().Epoch, kind)
	a.mu.Lock()
	if a.journaled == key {
		a.mu.Unlock()
		return
	}
	a.journaled = key
	a.mu.Unlock()
	a.n.log.Error(reason)
	ctx, cancel := context.WithTimeout(a.n.ctx, proposeTimeout)
	defer cancel()
	a.n.Propose(ctx, cluster.Command{Op: cluster.OpJournal, Node: a.n.cfg.ID, Kind: kind, Reason: reason})
}

// peerState reads a node's epoch, gtid_executed and whether it accepts writes.
func (a *agent) peerState(ctx context.Context, addr string) (uint64, gtid.Set, bool, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = a.n.cfg.ReplUser, a.n.cfg.ReplPassword, "tcp", addr
	cfg.Timeout, cfg.ReadTimeout = time.Second, 2*time.Second
	cfg.AllowNativePasswords = true
	cfg.DialFunc = a.n.cfg.Dialer.DialContext
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return 0, gtid.Set{}, false, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var epoch uint64
	var executed string
	var superRO int
	if err := db.QueryRowContext(ctx, "SELECT @@global.relaydb_cluster_epoch, @@global.gtid_executed, @@global.super_read_only").
		Scan(&epoch, &executed, &superRO); err != nil {
		return 0, gtid.Set{}, false, err
	}
	set, err := gtid.Parse(executed)
	return epoch, set, superRO == 0, err
}

// reserve asks the cluster for an auto-increment range (the server calls it while inserting).
func (a *agent) reserve(ctx context.Context, table string, from, count uint64) (uint64, uint64, error) {
	a.mu.Lock()
	epoch := a.promotedFor
	a.mu.Unlock()
	res, err := a.n.Propose(ctx, cluster.Command{Op: cluster.OpReserve, Node: a.n.cfg.ID, Epoch: epoch, Table: table, From: from, Count: count})
	if err != nil {
		return 0, 0, err
	}
	if !res.OK {
		return 0, 0, errors.New(res.Error)
	}
	return res.Lo, res.Hi, nil
}

// leaseLoop renews the primary's lease while this node is the promoted primary and its commit
// path makes progress. The lease runs from when the renewal was asked for, on this node's
// monotonic clock, so it always ends before the controller's view of it.
func (a *agent) leaseLoop() {
	defer a.wg.Done()
	for {
		st := a.n.State()
		every := min(max(st.Settings.Lease/5, 20*time.Millisecond), 100*time.Millisecond)
		if st.Settings.Lease == 0 {
			every = 100 * time.Millisecond
		}
		select {
		case <-a.n.ctx.Done():
			return
		case <-time.After(every):
		case <-a.kick:
			st = a.n.State()
		}
		a.mu.Lock()
		mine := st.Primary == a.n.cfg.ID && st.Election == nil && a.promotedFor == st.Epoch && st.Epoch > 0 &&
			(a.ho == nil || !a.ho.fenced)
		a.mu.Unlock()
		if !mine {
			continue
		}
		if h := a.loc.Health(stallLimit(st.Settings.Lease)); h.CommitStalled {
			a.n.log.Warn("lease not renewed: the commit path is stalled", "stalled_for_more_than", stallLimit(st.Settings.Lease))
			continue
		}
		gen := a.leaseGeneration()
		sent := time.Now()
		ctx, cancel := context.WithTimeout(a.n.ctx, st.Settings.Lease/2)
		res, err := a.n.Propose(ctx, cluster.Command{Op: cluster.OpRenew, Node: a.n.cfg.ID, Epoch: st.Epoch})
		cancel()
		if err != nil || !res.OK || res.Epoch != st.Epoch {
			continue
		}
		a.grantLease(sent.Add(st.Settings.Lease), st.AcksRequired(), gen)
	}
}

// reportLoop sends the node's health to the controller several times a second.
func (a *agent) reportLoop() {
	defer a.wg.Done()
	t := time.NewTicker(reportEvery)
	defer t.Stop()
	for {
		select {
		case <-a.n.ctx.Done():
			return
		case <-t.C:
		}
		st := a.n.State()
		rep := a.loc.Health(max(st.Settings.Lease, 100*time.Millisecond))
		a.mu.Lock()
		rep.Node, rep.Epoch, rep.Role = a.n.cfg.ID, a.epoch, a.role
		rep.ReceiverStopped = a.stoppedFor == a.epoch || a.promotedFor == a.epoch || (st.Primary == a.n.cfg.ID && a.role == "promoting")
		if a.lastErr != "" && rep.LastError == "" {
			rep.LastError = a.lastErr
		}
		a.mu.Unlock()
		rep.SentAt = time.Now()
		ctx, cancel := context.WithTimeout(a.n.ctx, 300*time.Millisecond)
		a.n.report(ctx, rep)
		cancel()
	}
}

// stallLimit is how long commits may wait with none finishing before the primary stops renewing
// its lease: twice the lease, at least a second, so that a loaded primary whose semi-sync acks
// are slow is not taken for a hung one.
func stallLimit(lease time.Duration) time.Duration { return max(2*lease, time.Second) }

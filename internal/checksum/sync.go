package checksum

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/sqlrows"
)

// checker is one run's state.
type checker struct {
	opts        Options
	pools       []*sql.DB
	primary     *endpoint
	primaryUUID string
	replicas    []*endpoint
	sp          *syncPoint // the current sync point, nil before the first
	syncPoints  int
	notes       map[string]bool
	noteList    []string
}

func (c *checker) close() {
	if c.sp != nil {
		c.sp.close()
		c.sp = nil
	}
	for _, db := range c.pools {
		db.Close()
	}
}

func (c *checker) note(s string) {
	if !c.notes[s] {
		c.notes[s] = true
		c.noteList = append(c.noteList, s)
	}
}

// syncPoint is one connection to the primary and one to each replica, each in a transaction
// whose snapshot holds exactly the transactions of the GTID set at (plus, on a replica, any the
// primary never had). Reads through these connections see the same data on every server
// unless a replica has drifted.
type syncPoint struct {
	at       gtid.Set
	taken    time.Time
	primary  *sql.Conn
	replicas []*sql.Conn
}

func (sp *syncPoint) close() {
	for _, c := range append([]*sql.Conn{sp.primary}, sp.replicas...) {
		if c != nil {
			discard(c)
		}
	}
}

// discard closes a session rather than return it to the pool, so that no transaction or
// global read lock of a sync point can outlive it, whatever failed.
func discard(c *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = c.ExecContext(ctx, "ROLLBACK")
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	c.Close()
}

// ensureSync makes sure a sync point young enough serves the next chunk.
func (c *checker) ensureSync(ctx context.Context) error {
	if c.sp != nil && c.opts.SyncAge > 0 && time.Since(c.sp.taken) < c.opts.SyncAge {
		return nil
	}
	if c.sp != nil {
		c.sp.close()
		c.sp = nil
	}
	var err error
	for attempt := 1; ; attempt++ {
		var retry bool
		c.sp, retry, err = c.trySyncPoint(ctx)
		if err == nil {
			c.syncPoints++
			return nil
		}
		if !retry || attempt == 3 {
			return err
		}
	}
}

// errPastSyncPoint: a replica's snapshot holds a transaction of the primary's newer than the
// sync point. The sequence below excludes it; it would take someone else starting the applier
// meanwhile. The sync point is then taken again.
var errPastSyncPoint = errors.New("applied transactions past the sync point")

// trySyncPoint brings the primary and every replica to one point of the primary's history and
// takes a snapshot on each there:
//
//  0. Wait until each replica has executed the primary's gtid_executed of the moment, its
//     applier running normally (this bounds what step 4 has to apply at a slower pace).
//  1. On the primary, under FLUSH TABLES WITH READ LOCK (every commit waits at the gate and the
//     binlog stands still): START TRANSACTION WITH CONSISTENT SNAPSHOT, then read gtid_executed,
//     the set `at` that snapshot holds exactly.
//  2. Still under the lock, STOP REPLICA SQL_THREAD on every replica. Nothing the primary
//     commits after `at` exists yet, so no replica can have applied any of it.
//  3. UNLOCK TABLES: the primary's writers go on. Its commits waited for steps 1 and 2 only.
//  4. On each replica, START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS = at (unless it already
//     holds all of `at`) and wait for the applier to stop there: it applies one transaction at
//     a time under an UNTIL condition and stops right after the transaction that completes
//     `at`, so it has applied exactly `at`.
//  5. On the replica, under its own FLUSH TABLES WITH READ LOCK (so that every commit in its
//     gtid_executed is visible): START TRANSACTION WITH CONSISTENT SNAPSHOT and read its
//     gtid_executed; then START REPLICA SQL_THREAD at once. The applier is held only between
//     steps 2 and 5, and runs (one transaction at a time) during step 4.
//  6. Check each replica's set: it must hold `at` and none of the primary's transactions
//     beyond it.
//
// Stopping the appliers in step 2 rather than before step 1 matters with synchronous replication
// (AFTER_APPLY): a commit in flight when the lock is asked for may wait for a replica's applier
// to acknowledge it, so the appliers must still run until the lock is held.
func (c *checker) trySyncPoint(ctx context.Context) (sp *syncPoint, retry bool, err error) {
	for _, r := range c.replicas {
		st, err := c.replicaState(ctx, r)
		if err != nil {
			return nil, false, err
		}
		if !st.applying() {
			return nil, false, fmt.Errorf("replica %s: its applier is not running (%s)", r.addr, st.describe())
		}
	}
	begin := time.Now()
	rounds, err := c.catchUp(ctx)
	if err != nil {
		return nil, false, err
	}
	caughtUp := time.Now()
	pt := &syncPoint{taken: time.Now(), replicas: make([]*sql.Conn, len(c.replicas))}
	// held marks the replicas whose applier this sync point has stopped and not started again
	// (only ever on a failure: success starts them all). Their sessions are closed first (one
	// may hold a global read lock the applier would wait for), then their appliers started.
	held := make([]bool, len(c.replicas))
	defer func() {
		if err == nil {
			return
		}
		pt.close()
		for i, h := range held {
			if h {
				if rerr := c.restoreApplier(c.replicas[i]); rerr != nil {
					err = errors.Join(err, rerr)
				}
			}
		}
	}()
	lctx, cancel := context.WithTimeout(ctx, c.opts.WaitTimeout)
	defer cancel()
	if pt.primary, err = c.primary.db.Conn(lctx); err != nil {
		return nil, false, fmt.Errorf("primary %s: %w", c.primary.addr, err)
	}
	if _, err := pt.primary.ExecContext(lctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return nil, false, fmt.Errorf("primary %s: %w", c.primary.addr, err)
	}
	if _, err := pt.primary.ExecContext(lctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return nil, false, fmt.Errorf("primary %s: FLUSH TABLES WITH READ LOCK: %w", c.primary.addr, err)
	}
	locked := true
	unlock := func() error {
		if !locked {
			return nil
		}
		locked = false
		_, err := pt.primary.ExecContext(context.Background(), "UNLOCK TABLES")
		return err
	}
	defer unlock()
	if _, err := pt.primary.ExecContext(lctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return nil, false, fmt.Errorf("primary %s: %w", c.primary.addr, err)
	}
	at, err := readExecuted(lctx, pt.primary)
	if err != nil {
		return nil, false, fmt.Errorf("primary %s: %w", c.primary.addr, err)
	}
	pt.at = at

	g, gctx := errgroup.WithContext(lctx)
	for i, r := range c.replicas {
		held[i] = true
		g.Go(func() error {
			if _, err := r.db.ExecContext(gctx, "STOP REPLICA SQL_THREAD"); err != nil {
				return fmt.Errorf("replica %s: STOP REPLICA SQL_THREAD: %w", r.addr, err)
			}
			return nil
		})
	}
	err = g.Wait()
	if uerr := unlock(); uerr != nil && err == nil {
		err = fmt.Errorf("primary %s: UNLOCK TABLES: %w", c.primary.addr, uerr)
	}
	if err != nil {
		return nil, false, err
	}
	unlocked := time.Now()

	executed := make([]gtid.Set, len(c.replicas))
	g, gctx = errgroup.WithContext(ctx)
	for i, r := range c.replicas {
		g.Go(func() error {
			conn, set, err := c.bringReplica(gctx, r, at)
			if conn != nil {
				pt.replicas[i] = conn
			}
			if err != nil {
				return err
			}
			held[i] = false
			executed[i] = set
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}

	reached := time.Now()
	var now gtid.Set
	if len(c.replicas) > 0 {
		if now, err = readExecuted(ctx, c.primary.db); err != nil {
			return nil, false, fmt.Errorf("primary %s: %w", c.primary.addr, err)
		}
	}
	for i, r := range c.replicas {
		if !executed[i].ContainsSet(at) {
			return nil, false, fmt.Errorf("replica %s: its snapshot lacks %s of the sync point", r.addr, gtid.Subtract(at, executed[i]))
		}
		extra := gtid.Subtract(executed[i], at)
		if past := gtid.Intersect(extra, now); !past.IsEmpty() {
			return nil, true, fmt.Errorf("replica %s: %w (%s)", r.addr, errPastSyncPoint, past)
		}
		if errant := gtid.Subtract(extra, now); !errant.IsEmpty() {
			c.note(fmt.Sprintf("replica %s has executed transactions the primary has not (errant GTIDs): %s", r.addr, errant))
		}
	}
	c.opts.Log.Debug("sync point", "at", at.String(), "catch_up", caughtUp.Sub(begin), "catch_up_rounds", rounds,
		"primary_locked", unlocked.Sub(caughtUp), "replicas_reached", reached.Sub(unlocked))
	return pt, false, nil
}

// catchUp is step 0: replicas catch up with the primary's present position while their
// appliers run at full speed (in parallel), so that what they apply under the UNTIL condition,
// one transaction at a time and slower, is only what the primary commits during the last round
// of waiting. Without it, a replica with a backlog would cover all of it at that pace, at every
// sync point, and under a write load faster than one applier thread its lag would grow from one
// sync point to the next. Each round waits for the position of its start. Rounds repeat (five
// at most) while they shrink fast — a backlog draining — and stop once one is short or no
// shorter than half the one before, which is then just the replicas' steady lag.
func (c *checker) catchUp(ctx context.Context) (rounds int, err error) {
	if len(c.replicas) == 0 {
		return 0, nil
	}
	var last time.Duration
	for rounds < 5 {
		rounds++
		start := time.Now()
		now, err := readExecuted(ctx, c.primary.db)
		if err != nil {
			return rounds, fmt.Errorf("primary %s: %w", c.primary.addr, err)
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, r := range c.replicas {
			g.Go(func() error { return c.waitReplica(gctx, r, now, false) })
		}
		if err := g.Wait(); err != nil {
			return rounds, err
		}
		took := time.Since(start)
		if took < 20*time.Millisecond || (rounds > 1 && took > last/2) {
			break
		}
		last = took
	}
	return rounds, nil
}

// bringReplica takes r to the sync point at (steps 4 and 5 above) and returns a connection in
// a snapshot there, with the replica's gtid_executed in that snapshot. On success the applier
// runs again.
func (c *checker) bringReplica(ctx context.Context, r *endpoint, at gtid.Set) (*sql.Conn, gtid.Set, error) {
	st, err := c.replicaState(ctx, r)
	if err != nil {
		return nil, gtid.Set{}, err
	}
	if st.sqlErrno != 0 {
		return nil, gtid.Set{}, fmt.Errorf("replica %s: its applier stopped with an error (%s)", r.addr, st.describe())
	}
	have, err := parseSet(st.executed)
	if err != nil {
		return nil, gtid.Set{}, fmt.Errorf("replica %s: Executed_Gtid_Set: %w", r.addr, err)
	}
	if !have.ContainsSet(at) {
		// at is built from the server's own text, parsed and printed again: no quote can be
		// in it.
		if _, err := r.db.ExecContext(ctx, "START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS = '"+at.String()+"'"); err != nil {
			return nil, gtid.Set{}, fmt.Errorf("replica %s: START REPLICA UNTIL: %w", r.addr, err)
		}
		if err := c.waitReplica(ctx, r, at, true); err != nil {
			return nil, gtid.Set{}, err
		}
	}
	// The snapshot and gtid_executed are read under the replica's own global read lock, as on
	// the primary: every commit whose GTID is in the set is then visible in the snapshot, and
	// no local writer can commit in between.
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, gtid.Set{}, fmt.Errorf("replica %s: %w", r.addr, err)
	}
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "FLUSH TABLES WITH READ LOCK", "START TRANSACTION WITH CONSISTENT SNAPSHOT"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return conn, gtid.Set{}, fmt.Errorf("replica %s: %s: %w", r.addr, q, err)
		}
	}
	set, err := readExecuted(ctx, conn)
	if err != nil {
		return conn, gtid.Set{}, fmt.Errorf("replica %s: %w", r.addr, err)
	}
	if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return conn, gtid.Set{}, fmt.Errorf("replica %s: UNLOCK TABLES: %w", r.addr, err)
	}
	if _, err := r.db.ExecContext(ctx, "START REPLICA SQL_THREAD"); err != nil {
		return conn, gtid.Set{}, fmt.Errorf("replica %s: START REPLICA SQL_THREAD: %w", r.addr, err)
	}
	return conn, set, nil
}

// waitReplica polls r's status, up to WaitTimeout, until its applier has stopped at its UNTIL
// condition (untilStop) or, still running, has executed every transaction of at.
func (c *checker) waitReplica(ctx context.Context, r *endpoint, at gtid.Set, untilStop bool) error {
	deadline := time.Now().Add(c.opts.WaitTimeout)
	pause := 2 * time.Millisecond
	for {
		st, err := c.replicaState(ctx, r)
		if err != nil {
			return err
		}
		if !st.sqlRunning() {
			if st.sqlErrno != 0 {
				return fmt.Errorf("replica %s: its applier stopped with an error (%s)", r.addr, st.describe())
			}
			if untilStop {
				return nil // the caller checks that the set is reached
			}
			return fmt.Errorf("replica %s: its applier stopped (%s)", r.addr, st.describe())
		}
		if !untilStop {
			if have, err := parseSet(st.executed); err == nil && have.ContainsSet(at) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s did not reach the primary's position %s within %s (%s)", r.addr, at, c.opts.WaitTimeout, st.describe())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, 50*time.Millisecond)
	}
}

// restoreApplier starts r's applier again after this run stopped it, unless it has stopped with
// an error (which it keeps for the administrator to see). A pending UNTIL condition is dropped
// by stopping the applier first.
func (c *checker) restoreApplier(r *endpoint) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.replicaState(ctx, r)
	if err != nil {
		return err
	}
	if !st.sqlRunning() && st.sqlErrno != 0 {
		return fmt.Errorf("replica %s: its applier stopped with an error (%s)", r.addr, st.describe())
	}
	if st.sqlRunning() {
		if _, err := r.db.ExecContext(ctx, "STOP REPLICA SQL_THREAD"); err != nil {
			return fmt.Errorf("replica %s: STOP REPLICA SQL_THREAD: %w", r.addr, err)
		}
	}
	if _, err := r.db.ExecContext(ctx, "START REPLICA SQL_THREAD"); err != nil {
		return fmt.Errorf("replica %s: START REPLICA SQL_THREAD: %w", r.addr, err)
	}
	return nil
}

// replicaStatus is what this package reads of SHOW REPLICA STATUS.
type replicaStatus struct {
	ioRunning, sqlRun string
	ioErrno, sqlErrno int
	ioError, sqlError string
	sourceUUID        string
	executed          string
	secondsBehind     string
}

func (s replicaStatus) sqlRunning() bool { return strings.EqualFold(s.sqlRun, "Yes") }

// applying: the applier runs, without error.
func (s replicaStatus) applying() bool { return s.sqlRunning() && s.sqlErrno == 0 }

func (s replicaStatus) describe() string {
	parts := []string{"Replica_IO_Running=" + s.ioRunning, "Replica_SQL_Running=" + s.sqlRun}
	if s.ioErrno != 0 {
		parts = append(parts, fmt.Sprintf("Last_IO_Errno=%d, Last_IO_Error=%q", s.ioErrno, s.ioError))
	}
	if s.sqlErrno != 0 {
		parts = append(parts, fmt.Sprintf("Last_SQL_Errno=%d, Last_SQL_Error=%q", s.sqlErrno, s.sqlError))
	}
	if s.secondsBehind != "" {
		parts = append(parts, "Seconds_Behind_Source="+s.secondsBehind)
	}
	parts = append(parts, "Executed_Gtid_Set="+s.executed)
	return strings.Join(parts, ", ")
}

// replicaState reads r's SHOW REPLICA STATUS and checks that r replicates from the primary.
func (c *checker) replicaState(ctx context.Context, r *endpoint) (replicaStatus, error) {
	rows, err := r.db.QueryContext(ctx, "SHOW REPLICA STATUS")
	if err != nil {
		return replicaStatus{}, fmt.Errorf("replica %s: SHOW REPLICA STATUS: %w", r.addr, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return replicaStatus{}, fmt.Errorf("replica %s: SHOW REPLICA STATUS: %w", r.addr, err)
		}
		return replicaStatus{}, fmt.Errorf("%s is not a replica (SHOW REPLICA STATUS is empty)", r.addr)
	}
	m, err := sqlrows.Map(rows)
	if err != nil {
		return replicaStatus{}, fmt.Errorf("replica %s: SHOW REPLICA STATUS: %w", r.addr, err)
	}
	if rows.Next() {
		return replicaStatus{}, fmt.Errorf("replica %s has several replication channels; only one is supported", r.addr)
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := m[n]; ok {
				return v
			}
		}
		return ""
	}
	num := func(names ...string) int {
		n, _ := strconv.Atoi(get(names...))
		return n
	}
	st := replicaStatus{
		ioRunning:     get("Replica_IO_Running", "Slave_IO_Running"),
		sqlRun:        get("Replica_SQL_Running", "Slave_SQL_Running"),
		ioErrno:       num("Last_IO_Errno"),
		ioError:       get("Last_IO_Error"),
		sqlErrno:      num("Last_SQL_Errno"),
		sqlError:      get("Last_SQL_Error"),
		sourceUUID:    get("Source_UUID", "Master_UUID"),
		executed:      strings.Join(strings.Fields(get("Executed_Gtid_Set")), ""),
		secondsBehind: get("Seconds_Behind_Source", "Seconds_Behind_Master"),
	}
	if st.sourceUUID != "" && !strings.EqualFold(st.sourceUUID, c.primaryUUID) {
		return st, fmt.Errorf("replica %s replicates from the server %s, not from the primary %s (%s)", r.addr, st.sourceUUID, c.primary.addr, c.primaryUUID)
	}
	return st, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readExecuted reads @@GLOBAL.gtid_executed.
func readExecuted(ctx context.Context, q queryRower) (gtid.Set, error) {
	var s string
	if err := q.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&s); err != nil {
		return gtid.Set{}, fmt.Errorf("read gtid_executed: %w", err)
	}
	return parseSet(s)
}

func parseSet(s string) (gtid.Set, error) {
	return gtid.Parse(strings.Join(strings.Fields(s), ""))
}

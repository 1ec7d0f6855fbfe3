package test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaydb/relaydb/test/cluster"
)

// semiSyncCluster starts a primary and n replicas with semi-sync on (the replicas connect to
// the primary through via(i), which returns the port to use, or 0 for the primary's own), and
// waits until the primary counts n semi-sync clients.
func semiSyncCluster(t *testing.T, n int, sourceSettings string, via func(i int, primaryPort int) int) (*node, []*node) {
	t.Helper()
	p := startNode(t, "", "--server-id", "1")
	pdb := p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = 1, GLOBAL "+sourceSettings)
	var reps []*node
	for i := 0; i < n; i++ {
		r := startNode(t, "", "--server-id", strconv.Itoa(i+2))
		rdb := r.db("")
		mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
		port := p.port
		if via != nil {
			if v := via(i, p.port); v != 0 {
				port = v
			}
		}
		mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1", port))
		mustExec(t, rdb, "START REPLICA")
		reps = append(reps, r)
	}
	waitStatus(t, pdb, "Rpl_semi_sync_source_clients", strconv.Itoa(n), 20*time.Second)
	return p, reps
}

// statusValue reads one global status variable.
func statusValue(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var k, v string
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&k, &v); err != nil {
		t.Fatalf("SHOW GLOBAL STATUS LIKE '%s': %v", name, err)
	}
	return v
}

func waitStatus(t *testing.T, db *sql.DB, name, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := statusValue(t, db, name)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s is %s after %s, want %s", name, got, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// appliedAllReceived waits until the replica's applier has applied everything its receiver got
// (the receiver may be retrying a dead source).
func appliedAllReceived(t *testing.T, db *sql.DB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := replicaStatus(t, db)
		var ok int
		if err := db.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", st["Retrieved_Gtid_Set"]).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok == 1 {
			return
		}
		if st["Last_SQL_Errno"] != "0" {
			t.Fatalf("replica applier stopped: %v", st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not apply what it received within %s: %v", within, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSemiSyncLosesNoAcknowledgedCommit is the lossless semi-sync promise: AFTER_SYNC, two
// replicas, wait_for_replica_count = 1; writers commit numbered rows while the primary is killed
// with SIGKILL at a random moment; the most advanced replica, made writable, has every row whose
// commit was acknowledged.
func TestSemiSyncLosesNoAcknowledgedCommit(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 2
	}
	totalAcked := 0
	for round := 0; round < rounds; round++ {
		p, reps := semiSyncCluster(t, 2, "rpl_semi_sync_source_timeout = 600000, GLOBAL rpl_semi_sync_source_wait_for_replica_count = 1", nil)
		pdb := p.db("")
		mustExec(t, pdb, "CREATE DATABASE d")
		mustExec(t, pdb, "CREATE TABLE d.t (id BIGINT PRIMARY KEY, w INT)")
		wdb := p.db("d")
		wdb.SetMaxOpenConns(8)
		var acked sync.Map
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for seq := 0; ; seq++ {
					id := int64(w)<<32 | int64(seq)
					if _, err := wdb.Exec("INSERT INTO t VALUES (?, ?)", id, w); err != nil {
						return // the primary died
					}
					acked.Store(id, true)
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rand.Intn(1200)) * time.Millisecond)
		p.kill()
		wg.Wait()

		// The most advanced replica: after applying what it received, its gtid_executed
		// contains the other's.
		var best *sql.DB
		var bestSet string
		for _, r := range reps {
			rdb := r.db("d")
			appliedAllReceived(t, rdb, 30*time.Second)
			set := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed")
			if best == nil {
				best, bestSet = rdb, set
				continue
			}
			var sub int
			if err := rdb.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", bestSet).Scan(&sub); err != nil {
				t.Fatal(err)
			}
			if sub == 1 {
				best, bestSet = rdb, set
			}
		}
		mustExec(t, best, "STOP REPLICA")
		mustExec(t, best, "SET GLOBAL super_read_only = 0, GLOBAL read_only = 0")
		present := map[int64]bool{}
		rows, err := best.Query("SELECT id FROM t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			present[id] = true
		}
		rows.Close()
		n, lost := 0, 0
		acked.Range(func(k, _ any) bool {
			n++
			if !present[k.(int64)] {
				lost++
				if lost <= 5 {
					t.Errorf("round %d: acknowledged row %x is not on the promoted replica", round, k)
				}
			}
			return true
		})
		if lost > 0 {
			t.Fatalf("round %d: %d of %d acknowledged commits lost", round, lost, n)
		}
		mustExec(t, best, "INSERT INTO t VALUES (-1, -1)") // writable
		totalAcked += n
		t.Logf("round %d: primary killed after %d acknowledged commits; the promoted replica (gtid_executed %s) has all of them and %d rows in all; 0 lost",
			round, n, bestSet, len(present))
		for _, r := range reps {
			r.kill()
		}
	}
	t.Logf("%d rounds, %d acknowledged commits, 0 lost", rounds, totalAcked)
}

// TestSemiSyncWaitPoints shows the difference between the two wait points with a replica cut
// off: under AFTER_COMMIT another session reads a row whose commit is still waiting for its
// acknowledgement, and that row is gone after the primary dies and the replica takes over; under
// AFTER_SYNC the waiting row is invisible, so nobody can have read what failover then loses.
func TestSemiSyncWaitPoints(t *testing.T) {
	for _, wp := range []string{"AFTER_COMMIT", "AFTER_SYNC"} {
		// The replica reaches the primary through a proxy of the fault harness.
		links := cluster.NewNet(t)
		p, reps := semiSyncCluster(t, 1, "rpl_semi_sync_source_timeout = 600000, GLOBAL rpl_semi_sync_source_wait_point = '"+wp+"'",
			func(_ int, primaryPort int) int {
				addr := links.Link("replica", "primary", fmt.Sprintf("127.0.0.1:%d", primaryPort))
				_, port, _ := net.SplitHostPort(addr)
				n, _ := strconv.Atoi(port)
				return n
			})
		pdb := p.db("")
		mustExec(t, pdb, "CREATE DATABASE d")
		mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY)")
		mustExec(t, pdb, "INSERT INTO d.t VALUES (1)")

		// Whatever the primary sends is lost on the way (a partition): the replica never gets it.
		healCut := links.CutOneWay("primary", "replica")
		committed := make(chan error, 1)
		go func() { _, err := pdb.Exec("INSERT INTO d.t VALUES (2)"); committed <- err }()
		time.Sleep(500 * time.Millisecond)
		select {
		case err := <-committed:
			t.Fatalf("%s: the commit returned (err %v) with its only replica cut off", wp, err)
		default:
		}
		seen := queryString(t, pdb, "SELECT COUNT(*) FROM d.t WHERE id = 2")
		p.kill()
		if err := <-committed; err == nil {
			t.Fatalf("%s: the commit was acknowledged although the replica never had it", wp)
		}
		healCut()
		rdb := reps[0].db("d")
		appliedAllReceived(t, rdb, 30*time.Second)
		onReplica := queryString(t, rdb, "SELECT COUNT(*) FROM d.t WHERE id = 2")
		switch wp {
		case "AFTER_COMMIT":
			if seen != "1" || onReplica != "0" {
				t.Fatalf("AFTER_COMMIT: another session saw the waiting row: %s; on the replica after failover: %s (want 1 and 0)", seen, onReplica)
			}
			t.Logf("AFTER_COMMIT: another session read row 2 while its commit waited for the replica; after the primary died the replica has it %s times: a read row vanished", onReplica)
		case "AFTER_SYNC":
			if seen != "0" || onReplica != "0" {
				t.Fatalf("AFTER_SYNC: another session saw the waiting row %s times, replica %s (want 0 and 0)", seen, onReplica)
			}
			t.Logf("AFTER_SYNC: the waiting row was invisible to other sessions (read %s times); the client got an error, not an acknowledgement; nothing anyone saw was lost", seen)
		}
		reps[0].kill()
	}
}

// TestSemiSyncFallbackAndRecovery: with every replica stopped, a commit waits
// rpl_semi_sync_source_timeout, then the source goes asynchronous (status OFF) and later commits
// do not wait; when a replica comes back and catches up the status is ON again by itself.
func TestSemiSyncFallbackAndRecovery(t *testing.T) {
	p, reps := semiSyncCluster(t, 2, "rpl_semi_sync_source_timeout = 1000", nil)
	pdb := p.db("")
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	if got := statusValue(t, pdb, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Fatalf("status %s with two replicas", got)
	}
	for _, r := range reps {
		mustExec(t, r.db(""), "STOP REPLICA")
	}
	waitStatus(t, pdb, "Rpl_semi_sync_source_clients", "0", 10*time.Second)
	timed := func(id int) time.Duration {
		start := time.Now()
		mustExec(t, pdb, "INSERT INTO d.t VALUES (?)", id)
		return time.Since(start)
	}
	first := timed(1)
	if first < 900*time.Millisecond {
		t.Fatalf("with no replica the first commit took %s, less than the 1s timeout", first)
	}
	if got := statusValue(t, pdb, "Rpl_semi_sync_source_status"); got != "OFF" {
		t.Fatalf("status %s after the timeout", got)
	}
	second := timed(2)
	if second > 500*time.Millisecond {
		t.Fatalf("asynchronous commit took %s", second)
	}
	noTx := statusValue(t, pdb, "Rpl_semi_sync_source_no_tx")
	mustExec(t, reps[0].db(""), "START REPLICA")
	back := waitStatus(t, pdb, "Rpl_semi_sync_source_status", "ON", 30*time.Second)
	yesBefore := statusValue(t, pdb, "Rpl_semi_sync_source_yes_tx")
	third := timed(3)
	yesAfter := statusValue(t, pdb, "Rpl_semi_sync_source_yes_tx")
	if yesAfter == yesBefore {
		t.Fatalf("a commit after the switch back was not acknowledged (yes_tx %s)", yesAfter)
	}
	t.Logf("no replicas: first commit waited %s, status OFF, next commit %s (no_tx %s); a replica restarted: status ON again %s later; next commit %s, yes_tx %s → %s",
		first.Round(time.Millisecond), second.Round(time.Millisecond), noTx, back.Round(time.Millisecond), third.Round(time.Millisecond), yesBefore, yesAfter)
}

// TestSynchronousReplicationReadYourWrites: with the AFTER_APPLY wait point a read on the replica
// issued right after a commit returns always sees it; the per-session replication_durability =
// SYNC gives the same to one session while the global setting stays asynchronous.
func TestSynchronousReplicationReadYourWrites(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	p, reps := semiSyncCluster(t, 1, "rpl_semi_sync_source_wait_point = 'AFTER_APPLY', GLOBAL rpl_semi_sync_source_timeout = 600000", nil)
	pdb := p.db("")
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))")
	rdb := reps[0].db("d")
	ctx := context.Background()
	rconn, err := rdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close()
	misses := func(from, to int, db *sql.Conn) int {
		miss := 0
		for i := from; i < to; i++ {
			if _, err := db.ExecContext(ctx, "INSERT INTO d.t VALUES (?, 'x')", i); err != nil {
				t.Fatal(err)
			}
			var c int
			if err := rconn.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id = ?", i).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c != 1 {
				miss++
			}
		}
		return miss
	}
	pconn, err := pdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pconn.Close()
	start := time.Now()
	if m := misses(0, n, pconn); m != 0 {
		t.Fatalf("AFTER_APPLY: %d of %d reads on the replica right after the commit missed it", m, n)
	}
	took := time.Since(start)

	// Per session: the global default goes back to asynchronous, one session asks for SYNC.
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = 0")
	if _, err := pconn.ExecContext(ctx, "SET SESSION replication_durability = 'SYNC'"); err != nil {
		t.Fatal(err)
	}
	m := n / 10
	if miss := misses(n, n+m, pconn); miss != 0 {
		t.Fatalf("replication_durability = SYNC: %d of %d reads missed", miss, m)
	}
	var asyncMisses atomic.Int64
	if _, err := pconn.ExecContext(ctx, "SET SESSION replication_durability = 'DEFAULT'"); err != nil {
		t.Fatal(err)
	}
	asyncMisses.Store(int64(misses(n+m, n+2*m, pconn)))
	t.Logf("AFTER_APPLY: %d commits, each read on the replica right after: 0 misses (%.0f commit+read pairs/s); session replication_durability=SYNC with the global setting off: %d commits, 0 misses; the same session back on asynchronous: %d of %d reads missed",
		n, float64(n)/took.Seconds(), m, asyncMisses.Load(), m)
}

package test

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/sqlrows"
)

// createReplUser creates the replication user repl/pw on the primary.
func createReplUser(t *testing.T, pdb *sql.DB) {
	t.Helper()
	mustExec(t, pdb, "CREATE USER IF NOT EXISTS repl IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, pdb, "GRANT REPLICATION SLAVE ON *.* TO repl")
}

// replicaOf points n at the primary p with auto-positioning (and any extra options, such as
// ", SOURCE_DELAY=3") and starts replication.
func replicaOf(t *testing.T, n, p *node, extra string) {
	t.Helper()
	db := n.db("")
	defer db.Close()
	mustExec(t, db, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1%s", p.port, extra))
	mustExec(t, db, "START REPLICA")
}

// replicaStatus returns SHOW REPLICA STATUS as a map.
func replicaStatus(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	return statusRow(t, db, "SHOW REPLICA STATUS")
}

// statusRow is the first row of a SHOW … STATUS statement as column → text (NULL reads as ""),
// empty if it returns no row.
func statusRow(t *testing.T, db *sql.DB, q string) map[string]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	if rows.Next() {
		if out, err = sqlrows.Map(rows); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// bankLoadFor runs eight bank writers on p for d, recording acknowledged transfers in acked.
func bankLoadFor(t *testing.T, p *node, d time.Duration, acked *sync.Map) {
	t.Helper()
	db := p.db("bank")
	defer db.Close()
	db.SetMaxOpenConns(8)
	stop := make(chan struct{})
	wg := bankWorkload(db, 8, stop, acked, 0)
	time.Sleep(d)
	close(stop)
	wg.Wait()
}

// replicatedTable starts a primary (server_id 1) with table d.t (columns as given) and a replica
// of it (server_id 2), caught up.
func replicatedTable(t *testing.T, columns string) (p, r *node, pdb, rdb *sql.DB) {
	t.Helper()
	p = startNode(t, "", "--server-id", "1")
	r = startNode(t, "", "--server-id", "2")
	pdb = p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t ("+columns+")")
	replicaOf(t, r, p, "")
	rdb = r.db("")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	return p, r, pdb, rdb
}

// bankCluster starts a primary (server_id 1) with the bank tables and two replicas of it
// (server_ids 2 and 3) replicating with auto-position.
func bankCluster(t *testing.T) (p, r1, r2 *node) {
	t.Helper()
	p = startNode(t, "", "--server-id", "1")
	r1 = startNode(t, "", "--server-id", "2")
	r2 = startNode(t, "", "--server-id", "3")
	pdb := p.db("")
	createReplUser(t, pdb)
	createBank(t, pdb)
	replicaOf(t, r1, p, "")
	replicaOf(t, r2, p, "")
	return p, r1, r2
}

// waitCaughtUp waits until the replica has executed everything the primary has, and returns
// how long that took.
func waitCaughtUp(t *testing.T, primary, replica *sql.DB, within time.Duration) time.Duration {
	t.Helper()
	want := queryString(t, primary, "SELECT @@GLOBAL.gtid_executed")
	start := time.Now()
	for {
		var got int
		if err := replica.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", want).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == 1 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("replica did not reach %s within %s; replica status %v", want, within, replicaStatus(t, replica))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicationConvergesAndSurvivesKills runs a primary and two replicas under a write load,
// kills one replica with SIGKILL several times, and checks that both replicas end with exactly
// the primary's tables and no applier error.
func TestReplicationConvergesAndSurvivesKills(t *testing.T) {
	rounds, load := 10, 3*time.Second
	if testing.Short() {
		rounds, load = 2, time.Second
	}
	p, r1, r2 := bankCluster(t)
	pdb := p.db("")

	var acked sync.Map
	for round := 0; round < rounds; round++ {
		db := p.db("bank")
		db.SetMaxOpenConns(8)
		stop := make(chan struct{})
		wg := bankWorkload(db, 8, stop, &acked, round)
		time.Sleep(time.Duration(rand.Int63n(int64(load))))
		r1.kill()
		time.Sleep(load / 2)
		close(stop)
		wg.Wait()
		db.Close()
		r1.restart("--server-id", "2")
		r1db := r1.db("bank")
		took := waitCaughtUp(t, pdb, r1db, 60*time.Second)
		st := replicaStatus(t, r1db)
		if st["Last_SQL_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes" {
			t.Fatalf("round %d: replica applier after a kill: %v", round, st)
		}
		r1db.Close()
		t.Logf("round %d: replica killed under load, restarted, caught up %s later (%d acknowledged transactions so far)", round, took.Round(time.Millisecond), countMap(&acked))
	}
	// The primary killed under load and restarted: the replicas reconnect and follow.
	{
		db := p.db("bank")
		db.SetMaxOpenConns(8)
		stop := make(chan struct{})
		wg := bankWorkload(db, 8, stop, &acked, rounds)
		time.Sleep(load)
		p.kill()
		close(stop)
		wg.Wait()
		db.Close()
		p.restart("--server-id", "1")
		pdb = p.db("")
		db = p.db("bank")
		stop = make(chan struct{})
		wg = bankWorkload(db, 4, stop, &acked, rounds+1)
		time.Sleep(load)
		close(stop)
		wg.Wait()
		db.Close()
		t.Logf("primary killed under load and restarted; writes resumed")
	}
	pb := p.db("bank")
	want := dumpTables(t, pb, "acct", "moves")
	for i, r := range []*node{r1, r2} {
		rdb := r.db("bank")
		took := waitCaughtUp(t, pb, rdb, 60*time.Second)
		if got := dumpTables(t, rdb, "acct", "moves"); got != want {
			t.Fatalf("replica %d differs from the primary (%d vs %d bytes)", i+1, len(got), len(want))
		}
		st := replicaStatus(t, rdb)
		t.Logf("replica %d: identical to the primary (%d bytes), caught up within %s; IO %s SQL %s, Executed_Gtid_Set %s",
			i+1, len(want), took.Round(time.Millisecond), st["Replica_IO_Running"], st["Replica_SQL_Running"], st["Executed_Gtid_Set"])
		rdb.Close()
	}
}

// TestReplicaConnectionErrors: a wrong password shows as Last_IO_Errno 1045 and is retried; a
// source with the replica's own server_id is refused with 1593.
func TestReplicaConnectionErrors(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	same := startNode(t, "", "--server-id", "1")
	pdb := p.db("")
	createReplUser(t, pdb)
	rdb := r.db("")
	mustExec(t, rdb, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD='wrong', MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1", p.port))
	mustExec(t, rdb, "START SLAVE")
	deadline := time.Now().Add(20 * time.Second)
	var st map[string]string
	for time.Now().Before(deadline) {
		st = replicaStatus(t, rdb)
		if st["Last_IO_Errno"] == "1045" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["Last_IO_Errno"] != "1045" {
		t.Fatalf("wrong password: status %v", st)
	}
	t.Logf("wrong password: Last_IO_Errno %s, Replica_IO_Running %s: %s", st["Last_IO_Errno"], st["Replica_IO_Running"], st["Last_IO_Error"])
	if _, err := rdb.Exec("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='pw'"); mysqlErrno(err) != 3081 {
		t.Fatalf("CHANGE while running: %v, want 3081", err)
	}
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='pw'")
	mustExec(t, rdb, "START REPLICA")
	mustExec(t, pdb, "CREATE DATABASE ok")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if cols := columns(t, rdb, "SHOW SLAVE STATUS"); !strings.Contains(cols, "Master_Host") || !strings.Contains(cols, "Seconds_Behind_Master") {
		t.Fatalf("SHOW SLAVE STATUS columns: %s", cols)
	}
	threads := 0
	for _, row := range queryRows(t, rdb, "SHOW PROCESSLIST") {
		if row[1] == "system user" {
			threads++
		}
	}
	if threads != 2 {
		t.Fatalf("SHOW PROCESSLIST lists %d replication threads, want 2: %v", threads, queryRows(t, rdb, "SHOW PROCESSLIST"))
	}

	replicaOf(t, same, p, "")
	sdb := same.db("")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if st = replicaStatus(t, sdb); st["Last_IO_Errno"] == "1593" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["Last_IO_Errno"] != "1593" {
		t.Fatalf("same server_id: status %v", st)
	}
	t.Logf("same server_id: %s", st["Last_IO_Error"])
}

// TestDelayedReplica: with SOURCE_DELAY = 3 every transaction is applied 3 s (±1 s) after it
// committed on the source, under a stream of writes, while SQL_Remaining_Delay counts down; the
// receiver keeps up meanwhile (Retrieved_Gtid_Set runs ahead of what is applied).
func TestDelayedReplica(t *testing.T) {
	_, _, pdb, rdb := replicatedTable(t, "id INT PRIMARY KEY")
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 3")
	mustExec(t, rdb, "START REPLICA")

	writes := 40
	if testing.Short() {
		writes = 15
	}
	committed := make([]time.Time, writes+1)
	seen := make([]time.Time, writes+1)
	done := make(chan struct{})
	var sawRemaining, receivedAhead bool
	go func() {
		defer close(done)
		for last := 0; last < writes; {
			var max sql.NullInt64
			if err := rdb.QueryRow("SELECT MAX(id) FROM d.t").Scan(&max); err == nil && int(max.Int64) > last {
				now := time.Now()
				for id := last + 1; id <= int(max.Int64); id++ {
					seen[id] = now
				}
				last = int(max.Int64)
			}
			st := replicaStatus(t, rdb)
			if st["SQL_Remaining_Delay"] != "" && st["SQL_Delay"] == "3" {
				sawRemaining = true
			}
			if st["Retrieved_Gtid_Set"] != st["Executed_Gtid_Set"] {
				receivedAhead = true
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for id := 1; id <= writes; id++ {
		mustExec(t, pdb, "INSERT INTO d.t VALUES (?)", id)
		committed[id] = time.Now()
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the delayed replica did not apply every row within 30 s")
	}
	lo, hi := time.Hour, time.Duration(0)
	for id := 1; id <= writes; id++ {
		d := seen[id].Sub(committed[id])
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 2*time.Second || hi > 4*time.Second {
		t.Fatalf("rows applied between %s and %s after their commit, want 3 s ± 1 s", lo, hi)
	}
	if !sawRemaining || !receivedAhead {
		t.Fatalf("SQL_Remaining_Delay shown: %v; receiver ahead of the applier: %v", sawRemaining, receivedAhead)
	}
	t.Logf("SOURCE_DELAY=3: %d rows written over %s, each applied between %s and %s after its commit; SQL_Remaining_Delay counted down while the receiver kept up",
		writes, committed[writes].Sub(committed[1]).Round(100*time.Millisecond), lo.Round(10*time.Millisecond), hi.Round(10*time.Millisecond))
}

// TestDelayedReplicaSavesDroppedTable is the seeds' use of a delayed replica: a table dropped by
// mistake on the primary is still whole on the delayed replica, which the operator stops and
// then runs up to just before the DROP with START REPLICA UNTIL SQL_BEFORE_GTIDS.
func TestDelayedReplicaSavesDroppedTable(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	createReplUser(t, pdb)
	replicaOf(t, r, p, ", SOURCE_DELAY=3600")
	rdb := r.db("")
	mustExec(t, pdb, "CREATE DATABASE shop")
	mustExec(t, pdb, "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))")
	for i := 1; i <= 50; i++ {
		mustExec(t, pdb, "INSERT INTO shop.orders VALUES (?, ?)", i, fmt.Sprintf("item %d", i))
	}
	mustExec(t, pdb, "DROP TABLE shop.orders") // the mistake
	var dropGTID string
	for _, ev := range queryRows(t, pdb, "SHOW BINLOG EVENTS") {
		if ev[2] == "Gtid" {
			dropGTID = strings.TrimSuffix(strings.TrimPrefix(ev[5], "SET @@SESSION.GTID_NEXT= '"), "'")
		}
	}
	// Everything reached the replica's relay log, nothing is applied (an hour's delay).
	retrieved := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.HasSuffix(retrieved, ":1-53"); {
		retrieved = replicaStatus(t, rdb)["Retrieved_Gtid_Set"]
		time.Sleep(50 * time.Millisecond)
	}
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 0")
	mustExec(t, rdb, "START REPLICA UNTIL SQL_BEFORE_GTIDS = '"+dropGTID+"'")
	var st map[string]string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if st = replicaStatus(t, rdb); st["Replica_SQL_Running"] == "No" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["Replica_SQL_Running"] != "No" || st["Last_SQL_Errno"] != "0" || st["Until_Condition"] != "SQL_BEFORE_GTIDS" {
		t.Fatalf("applier did not stop cleanly at the UNTIL condition: %v", st)
	}
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM shop.orders").Scan(&n); err != nil || n != 50 {
		t.Fatalf("the dropped table on the delayed replica: %d rows, %v (want all 50)", n, err)
	}
	var dropped int
	rdb.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", dropGTID).Scan(&dropped)
	if dropped != 0 {
		t.Fatal("the DROP was applied")
	}
	t.Logf("retrieved %s; applied up to just before the DROP %s; shop.orders has all %d rows on the replica", retrieved, dropGTID, n)
}

// TestReplicaCatchUpAndPurgedBinlogs: a replica stopped for a whole load catches up once
// started; one whose needed binlogs were purged on the primary stops with error 1236.
func TestReplicaCatchUpAndPurgedBinlogs(t *testing.T) {
	load := 60 * time.Second
	if testing.Short() {
		load = time.Second
	}
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	late := startNode(t, "", "--server-id", "3")
	pdb := p.db("")
	createReplUser(t, pdb)
	createBank(t, pdb)
	replicaOf(t, r, p, "")
	rdb := r.db("")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	mustExec(t, rdb, "STOP REPLICA")

	var acked sync.Map
	bankLoadFor(t, p, load, &acked)
	// One worker this time (the other tests use the default 4).
	mustExec(t, rdb, "SET GLOBAL replica_parallel_workers = 1")
	mustExec(t, rdb, "START REPLICA")
	took := waitCaughtUp(t, pdb, rdb, 60*time.Second)
	pb, rb := p.db("bank"), r.db("bank")
	if got, want := dumpTables(t, rb, "acct", "moves"), dumpTables(t, pb, "acct", "moves"); got != want {
		t.Fatal("the replica stopped during the load differs from the primary after catching up")
	}
	t.Logf("replica stopped during %s of load (%d transactions) caught up %s after START REPLICA with replica_parallel_workers = 1", load, countMap(&acked), took.Round(time.Millisecond))

	// Purge everything the late replica would need, then point it at the primary.
	mustExec(t, pdb, "FLUSH BINARY LOGS")
	last := queryRows(t, pdb, "SHOW BINARY LOGS")
	mustExec(t, pdb, "PURGE BINARY LOGS TO '"+last[len(last)-1][0]+"'")
	replicaOf(t, late, p, "")
	ldb := late.db("")
	var st map[string]string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if st = replicaStatus(t, ldb); st["Last_IO_Errno"] == "1236" && st["Replica_IO_Running"] == "No" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["Last_IO_Errno"] != "1236" || st["Replica_IO_Running"] != "No" {
		t.Fatalf("replica needing purged binlogs: %v", st)
	}
	t.Logf("purged binlogs: Last_IO_Errno 1236: %s", st["Last_IO_Error"])
}

// corruptingProxy forwards TCP between a replica and its primary and, once, flips one byte of
// the primary's stream after skip bytes (in transit, after the checksums were computed).
type corruptingProxy struct {
	ln      net.Listener
	target  string
	skip    int64
	flipped atomic.Bool
}

func newCorruptingProxy(t *testing.T, target string, skip int64) *corruptingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &corruptingProxy{ln: ln, target: target, skip: skip}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *corruptingProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go io.Copy(s, c)
	buf := make([]byte, 32<<10)
	var seen int64
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if !p.flipped.Load() && seen+int64(n) > p.skip {
				// Flip a byte of row data (the test's rows are runs of 'x'), not of a packet
				// header: a damaged length would only make the replica wait for bytes that never
				// come, which no checksum can catch.
				from := max(p.skip-seen, 0)
				if i := bytes.Index(buf[from:n], bytes.Repeat([]byte("x"), 32)); i >= 0 {
					buf[from+int64(i)+16] ^= 0x5a
					p.flipped.Store(true)
				}
			}
			seen += int64(n)
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestReplicaSurvivesCorruptionInTransit: a byte of the replication stream damaged on the way
// makes the replica drop the transaction it was receiving and fetch it again; it ends identical
// to the primary, with nothing applied twice.
func TestReplicaSurvivesCorruptionInTransit(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(200))")
	for i := 0; i < 300; i++ {
		mustExec(t, pdb, "INSERT INTO d.t VALUES (?, REPEAT('x', 150))", i)
	}
	proxy := newCorruptingProxy(t, fmt.Sprintf("127.0.0.1:%d", p.port), 20000)
	rdb := r.db("")
	_, port, _ := net.SplitHostPort(proxy.ln.Addr().String())
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT="+port+", SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1")
	mustExec(t, rdb, "START REPLICA")
	waitCaughtUp(t, pdb, rdb, 60*time.Second)
	if !proxy.flipped.Load() {
		t.Fatal("the proxy never damaged the stream")
	}
	st := replicaStatus(t, rdb)
	if st["Last_SQL_Errno"] != "0" {
		t.Fatalf("applier error after corruption in transit: %v", st)
	}
	rd := r.db("d")
	pd := p.db("d")
	if got, want := dumpTables(t, rd, "t"), dumpTables(t, pd, "t"); got != want {
		t.Fatal("replica differs from the primary after corruption in transit")
	}
	var seen string
	for _, line := range strings.Split(r.log(), "\n") {
		if strings.Contains(line, "replication receiver") {
			seen = line
		}
	}
	if seen == "" {
		t.Fatal("the damaged stream was not noticed by the receiver (no receiver error logged)")
	}
	t.Logf("one byte damaged in transit, noticed: %s; replica identical to the primary", seen)
}

// TestReplicationConvergesUnderLoad is the convergence check: a primary and two replicas, eight
// writers for 60 s (2 s with -short); within 2 s of the load ending every replica's tables equal
// the primary's.
func TestReplicationConvergesUnderLoad(t *testing.T) {
	load := 60 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	p, r1, r2 := bankCluster(t)
	var acked sync.Map
	bankLoadFor(t, p, load, &acked)
	ended := time.Now()
	pb := p.db("bank")
	want := dumpTables(t, pb, "acct", "moves")
	for i, r := range []*node{r1, r2} {
		rdb := r.db("bank")
		for {
			if got := dumpTables(t, rdb, "acct", "moves"); got == want {
				break
			}
			if time.Since(ended) > 2*time.Second {
				t.Fatalf("replica %d differs from the primary 2s after the load ended: %v", i+1, replicaStatus(t, rdb))
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("replica %d: tables identical to the primary (%d bytes) %s after the load ended", i+1, len(want), time.Since(ended).Round(time.Millisecond))
	}
	t.Logf("%s of load by 8 writers: %d acknowledged transfers", load, countMap(&acked))
}

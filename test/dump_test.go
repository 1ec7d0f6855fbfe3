package test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// mariadbClient returns the path of the mariadb command-line client, which these tests use as
// an independent loader.
func mariadbClient(t *testing.T) string {
	t.Helper()
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal("the mariadb client is needed: apt-get install -y mariadb-client")
	}
	return client
}

// TestSeedReplicaFromLiveDump is seed 004's procedure on a primary under write load: `relaydb
// dump` (a snapshot taken under a brief FLUSH TABLES WITH READ LOCK), loaded into an empty
// server with the mariadb client, which then replicates with SOURCE_AUTO_POSITION=1 from the
// dump's gtid_executed and ends identical to the primary — no transaction applied twice (that
// would stop the applier on a duplicate key) and none missing.
func TestSeedReplicaFromLiveDump(t *testing.T) {
	client := mariadbClient(t)
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	createReplUser(t, pdb)
	createBank(t, pdb)
	mustExec(t, pdb, "CREATE TABLE bank.kinds (id INT PRIMARY KEY, b VARBINARY(8), d DECIMAL(12,3), f DOUBLE, j JSON, t DATETIME(6), e ENUM('x','y'), s VARCHAR(40), g INT AS (id * 2))")
	mustExec(t, pdb, `INSERT INTO bank.kinds (id, b, d, f, j, t, e, s) VALUES
		(1, 0x00FF275C, -12.345, 1e300, '{"k": [1, "two"]}', '2026-11-22 10:11:12.131415', 'y', 'it''s "quoted"\n\\ ✓'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	db := p.db("bank")
	mustExec(t, db, "CREATE VIEW rich AS SELECT id, balance FROM acct WHERE balance > 1000")
	db.SetMaxOpenConns(4)
	stop := make(chan struct{})
	var acked sync.Map
	wg := bankWorkload(db, 4, stop, &acked, 0)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}()
	time.Sleep(500 * time.Millisecond)

	var dumpOut, dumpErr bytes.Buffer
	cmd := exec.Command(relaydbBinary(t), "dump", "--port", fmt.Sprint(p.port))
	cmd.Stdout, cmd.Stderr = &dumpOut, &dumpErr
	if err := cmd.Run(); err != nil {
		t.Fatalf("relaydb dump: %v\n%s", err, dumpErr.String())
	}
	text := dumpOut.String()
	m := regexp.MustCompile(`SET @@GLOBAL.GTID_PURGED='([^']*)';`).FindStringSubmatch(text)
	if m == nil || !strings.Contains(text, "-- Dump completed") {
		t.Fatalf("dump lacks its gtid_purged or completion line:\n%s", text[max(0, len(text)-2000):])
	}
	dumpGTIDs := m[1]
	t.Logf("%s", strings.TrimSpace(dumpErr.String()))

	load := exec.Command(client, "-h127.0.0.1", fmt.Sprintf("-P%d", r.port), "-uroot", "--batch")
	load.Stdin = strings.NewReader(text)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("mariadb < dump: %v\n%s", err, out)
	}
	rdb := r.db("bank")
	if got := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed"); got != dumpGTIDs {
		t.Fatalf("after loading, gtid_executed is %q, want the dump's %q", got, dumpGTIDs)
	}
	// The dump was taken while money moved: it is consistent only if it is one snapshot.
	if got := queryString(t, rdb, "SELECT SUM(balance) FROM acct"); got != "200000" {
		t.Fatalf("the loaded dump holds %s in total, want 200000: not one consistent snapshot", got)
	}
	loadedMoves := queryString(t, rdb, "SELECT COUNT(*) FROM moves")

	replicaOf(t, r, p, "")
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	pb := p.db("bank")
	took := waitCaughtUp(t, pb, rdb, 60*time.Second)
	st := replicaStatus(t, rdb)
	if st["Last_SQL_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes" || st["Replica_IO_Running"] != "Yes" {
		t.Fatalf("replica seeded from the dump: %v", st)
	}
	for _, table := range []string{"acct", "moves", "kinds"} {
		want, got := dumpTables(t, pb, table), dumpTables(t, rdb, table)
		if got != want {
			t.Fatalf("table %s differs from the primary after seeding and catching up (%d vs %d bytes)", table, len(got), len(want))
		}
	}
	if got, want := queryString(t, rdb, "SELECT COUNT(*) FROM rich"), queryString(t, pb, "SELECT COUNT(*) FROM rich"); got != want {
		t.Fatalf("view rich: %s rows on the replica, %s on the primary", got, want)
	}
	t.Logf("dump at gtid_executed %s loaded (%s moves), replica caught up %s after the load ended; tables identical to the primary (%d acknowledged transfers in all); IO %s SQL %s",
		dumpGTIDs, loadedMoves, took.Round(time.Millisecond), countMap(&acked), st["Replica_IO_Running"], st["Replica_SQL_Running"])
}

// TestFlushTablesWithReadLock: while one session holds the global read lock, other sessions'
// commits and DDL wait (or time out after lock_wait_timeout with 1205), the holder's own writes
// get 1223, the binlog position stands still, and UNLOCK TABLES — or the holder disconnecting —
// lets the waiting statements finish.
func TestFlushTablesWithReadLock(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	ctx := context.Background()

	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var file, pos, do, ignore, gtids string
		if err := holder.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &do, &ignore, &gtids); err != nil {
			t.Fatal(err)
		}
		return file + ":" + pos + " " + gtids
	}
	before := status()

	blocked := func(q string) chan error {
		done := make(chan error, 1)
		go func() { _, err := db.ExecContext(ctx, q); done <- err }()
		return done
	}
	insert := blocked("INSERT INTO d.t VALUES (1)")
	ddl := blocked("CREATE TABLE d.u (id INT PRIMARY KEY)")
	select {
	case err := <-insert:
		t.Fatalf("an INSERT finished while the global read lock was held (err %v)", err)
	case err := <-ddl:
		t.Fatalf("a CREATE TABLE finished while the global read lock was held (err %v)", err)
	case <-time.After(700 * time.Millisecond):
	}

	if _, err := holder.ExecContext(ctx, "INSERT INTO d.t VALUES (2)"); mysqlErrno(err) != 1223 {
		t.Fatalf("the holder's own INSERT: got %v, want error 1223", err)
	}
	timed, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer timed.Close()
	if _, err := timed.ExecContext(ctx, "SET SESSION lock_wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := timed.ExecContext(ctx, "INSERT INTO d.t VALUES (3)"); mysqlErrno(err) != 1205 {
		t.Fatalf("INSERT with lock_wait_timeout=1 under the lock: got %v, want error 1205", err)
	}
	waited := time.Since(start)
	if after := status(); after != before {
		t.Fatalf("binlog moved under the global read lock: %s, then %s", before, after)
	}

	if _, err := holder.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"INSERT": insert, "CREATE TABLE": ddl} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s after UNLOCK TABLES: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting 10s after UNLOCK TABLES", name)
		}
	}

	// A holder that disconnects releases the lock.
	if _, err := holder.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	late := blocked("INSERT INTO d.t VALUES (4)")
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-late:
		t.Fatalf("INSERT finished under the lock (err %v)", err)
	default:
	}
	holder.Raw(func(any) error { return driver.ErrBadConn }) // the pool closes it instead of keeping it
	holder.Close()
	select {
	case err := <-late:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("INSERT still waiting 10s after the lock holder disconnected")
	}
	if got := queryString(t, db, "SELECT GROUP_CONCAT(id ORDER BY id) FROM d.t"); got != "1,4" {
		t.Fatalf("rows %s, want 1,4", got)
	}

	// RELOAD is needed.
	mustExec(t, db, "CREATE USER plain IDENTIFIED BY 'pw'")
	mustExec(t, db, "GRANT SELECT, INSERT ON *.* TO plain")
	pdb, err := sql.Open("mysql", fmt.Sprintf("plain:pw@tcp(127.0.0.1:%d)/", n.port))
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	if _, err := pdb.Exec("FLUSH TABLES WITH READ LOCK"); mysqlErrno(err) != 1227 {
		t.Fatalf("FLUSH TABLES WITH READ LOCK without RELOAD: got %v, want 1227", err)
	}
	t.Logf("under the lock: INSERT and CREATE TABLE waited, the holder's INSERT got 1223, lock_wait_timeout=1 gave 1205 after %s, binlog stayed at %s; both finished after UNLOCK TABLES; a disconnect released the lock; without RELOAD: 1227",
		waited.Round(10*time.Millisecond), before)
}

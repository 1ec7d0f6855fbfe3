package test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// addr is a node's address for --replica.
func (n *node) addr() string { return fmt.Sprintf("127.0.0.1:%d", n.port) }

// runChecksum runs `relaydb checksum` against the primary p with the given --replica addresses
// and returns its exit status, standard output and standard error.
func runChecksum(t *testing.T, p *node, replicas []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	full := []string{"checksum", "--verbose", "--host", "127.0.0.1", "--port", fmt.Sprint(p.port), "--user", "root"}
	for _, r := range replicas {
		full = append(full, "--replica", r)
	}
	cmd := exec.CommandContext(ctx, relaydbBinary(t), append(full, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("relaydb checksum did not finish within 120s; output:\n%s%s", out.String(), errOut.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// createChecksumTables creates, beside the bank tables, the tables the checksum tests need: one
// without a primary key, one with a two-column primary key and NULLs, one with many types.
func createChecksumTables(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "CREATE DATABASE ck")
	mustExec(t, db, "CREATE TABLE ck.nopk (k INT, v VARCHAR(10))")
	mustExec(t, db, "INSERT INTO ck.nopk VALUES (1, 'a'), (2, NULL), (3, ''), (3, '')")
	mustExec(t, db, "CREATE TABLE ck.multi (a INT, b VARCHAR(10), c VARCHAR(20) NULL, PRIMARY KEY (a, b))")
	var vals []string
	for i := 0; i < 150; i++ {
		c := fmt.Sprintf("'c%d'", i)
		if i%3 == 0 {
			c = "NULL"
		}
		vals = append(vals, fmt.Sprintf("(%d, 'b%d', %s)", i/10, i%10, c))
	}
	mustExec(t, db, "INSERT INTO ck.multi VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, `CREATE TABLE ck.types (id BIGINT UNSIGNED PRIMARY KEY, dc DECIMAL(10,2), dt DATETIME(3), f DOUBLE,
		j JSON, bl BLOB, e ENUM('x','y'), bi BIT(8), vb VARBINARY(8), ts TIMESTAMP NULL)`)
	mustExec(t, db, `INSERT INTO ck.types VALUES (18446744073709551615, 12.5, '2024-01-02 03:04:05.678', 0.1,
		'{"a": [1, 2]}', x'00ff', 'y', b'101', x'0001', '2024-05-05 00:00:00'),
		(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
}

// tableLines maps each table's summary line by its name ("bank.acct: …").
func tableLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, ": "); i > 0 && !strings.HasPrefix(l, "127.0.0.1:") && !strings.HasPrefix(l, "relaydb") {
			m[l[:i]] = l
		}
	}
	return m
}

var finalLineRe = regexp.MustCompile(`relaydb checksum: (\d+) tables, (\d+) chunks, (\d+) rows of \S+ compared with (?:\d+) replicas at (\d+) sync points: (.*)`)

// TestChecksumWhileWritesContinue runs `relaydb checksum` against a primary and two replicas
// while four writers move money: every run finds every table equal (exit 0); after rows
// are changed, deleted and added by hand on the replicas (sql_log_bin = 0), a run under the same
// load exits 1 and names exactly those rows; the replicas' appliers run on afterwards.
func TestChecksumWhileWritesContinue(t *testing.T) {
	runs, warmup := 6, 3*time.Second
	if testing.Short() {
		runs, warmup = 3, time.Second
	}
	p, r1, r2 := bankCluster(t)
	pdb := p.db("")
	createChecksumTables(t, pdb)
	r1db, r2db := r1.db(""), r2.db("")
	waitCaughtUp(t, pdb, r1db, 30*time.Second)
	waitCaughtUp(t, pdb, r2db, 30*time.Second)

	bank := p.db("bank")
	bank.SetMaxOpenConns(4)
	var acked sync.Map
	stop := make(chan struct{})
	wg := bankWorkload(bank, 4, stop, &acked, 0)
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	time.Sleep(warmup)

	// Reading the same table on the primary and a replica at the same moment shows why the
	// tool needs sync points: the replica is a little behind.
	naive := 0
	for i := 0; i < 10; i++ {
		if dumpTables(t, p.db("bank"), "acct") != dumpTables(t, r1.db("bank"), "acct") {
			naive++
		}
	}
	t.Logf("under load, %d of 10 direct comparisons of bank.acct on the primary and a replica differed", naive)

	replicas := []string{r1.addr(), r2.addr()}
	for i := 0; i < runs; i++ {
		// Runs take a sync point for every chunk of 200 rows, or one every 500 ms for chunks of
		// 45 rows. (A sync point for every chunk of 45 rows would walk bank.moves slower than
		// the writers add rows.)
		args := []string{"--chunk-size", "200", "--sync-age", "0"}
		if i%2 == 1 {
			args = []string{"--chunk-size", "45", "--sync-age", "500ms"}
		}
		before := countMap(&acked)
		start := time.Now()
		code, out, errOut := runChecksum(t, p, replicas, args...)
		took := time.Since(start).Round(time.Millisecond)
		during := countMap(&acked) - before
		if code != 0 {
			t.Fatalf("run %d under load: exit %d, want 0\n%s%s", i+1, code, out, errOut)
		}
		lines := tableLines(out)
		for _, tbl := range []string{"bank.acct", "bank.moves", "ck.multi", "ck.nopk", "ck.types"} {
			if !strings.Contains(lines[tbl], " 0 differing chunks") {
				t.Fatalf("run %d: %s: %q\n%s", i+1, tbl, lines[tbl], out)
			}
		}
		want := map[string]string{"bank.acct": "5 chunks, 200 rows", "ck.multi": "4 chunks, 150 rows",
			"ck.nopk": "1 chunk (no primary key: the whole table is one chunk), 4 rows", "ck.types": "1 chunk, 2 rows"}
		if i%2 == 0 {
			want["bank.acct"], want["ck.multi"] = "2 chunks, 200 rows", "1 chunk, 150 rows"
		}
		for tbl, w := range want {
			if !strings.Contains(lines[tbl], w) {
				t.Fatalf("run %d: %s: %q, want %q", i+1, tbl, lines[tbl], w)
			}
		}
		m := finalLineRe.FindStringSubmatch(out)
		if m == nil || m[5] != "no differences" {
			t.Fatalf("run %d: no final line saying no differences:\n%s", i+1, out)
		}
		if during == 0 {
			t.Fatalf("run %d: no transfer was acknowledged while the check ran (%s)", i+1, took)
		}
		t.Logf("run %d (%s) in %s while %d transfers were acknowledged: %s | %s | %s", i+1, strings.Join(args, " "), took, during, lines["bank.moves"], m[0], syncStats(errOut))
	}

	// Differences made by hand on the replicas, not logged: a changed value and a NULL turned
	// into an empty string on r1, a deleted row, an extra row and NULL turned into '' (in a
	// table with a two-column key) on r2. The rows picked are ones the workload never touches
	// again (it deletes only moves whose seq ends in 4).
	var x, y, xAmount int64
	if err := pdb.QueryRow("SELECT id, amount FROM bank.moves WHERE tag = 0 AND seq % 10 = 0 ORDER BY id LIMIT 1").Scan(&x, &xAmount); err != nil {
		t.Fatal(err)
	}
	if err := pdb.QueryRow("SELECT id FROM bank.moves WHERE tag = 0 AND seq % 10 = 1 ORDER BY id LIMIT 1").Scan(&y); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, pdb, r1db, 30*time.Second)
	waitCaughtUp(t, pdb, r2db, 30*time.Second)
	unlogged(t, r1db,
		fmt.Sprintf("UPDATE bank.moves SET amount = 999999 WHERE id = %d", x),
		"UPDATE ck.nopk SET v = '' WHERE k = 2")
	unlogged(t, r2db,
		fmt.Sprintf("DELETE FROM bank.moves WHERE id = %d", y),
		"INSERT INTO bank.moves (id, tag, w, seq, amount) VALUES (1000000000, 99, 0, 0, 1)",
		"UPDATE ck.multi SET c = '' WHERE a = 4 AND b = 'b2'")

	before := countMap(&acked)
	code, out, errOut := runChecksum(t, p, replicas, "--chunk-size", "45", "--sync-age", "500ms")
	during := countMap(&acked) - before
	if code != 1 {
		t.Fatalf("run with differences: exit %d, want 1\n%s%s", code, out, errOut)
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "127.0.0.1:") {
			got = append(got, l)
		}
	}
	want := []string{
		fmt.Sprintf("%s bank.moves id=%d: different values: amount: primary %d, replica 999999", r1.addr(), x, xAmount),
		fmt.Sprintf("%s bank.moves id=%d: only on the primary", r2.addr(), y),
		fmt.Sprintf("%s bank.moves id=1000000000: only on the replica", r2.addr()),
		fmt.Sprintf("%s ck.multi a=4, b='b2': different values: c: primary NULL, replica ''", r2.addr()),
		fmt.Sprintf("%s ck.nopk (k=2, v=NULL): only on the primary", r1.addr()),
		fmt.Sprintf("%s ck.nopk (k=2, v=''): only on the replica", r1.addr()),
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("differing rows:\n got %s\nwant %s\noutput:\n%s", strings.Join(got, "\n     "), strings.Join(want, "\n     "), out)
	}
	lines := tableLines(out)
	for tbl, w := range map[string][]string{
		"bank.acct":  {"0 differing chunks"},
		"ck.types":   {"0 differing chunks"},
		"bank.moves": {r1.addr() + ": 1", r2.addr() + ": 2"},
		"ck.multi":   {"4 chunks, 150 rows, 1 differing chunk (" + r2.addr() + ": 1)"},
		"ck.nopk":    {"4 rows, 1 differing chunk (" + r1.addr() + ": 1)"},
	} {
		for _, s := range w {
			if !strings.Contains(lines[tbl], s) {
				t.Fatalf("%s: %q lacks %q\n%s", tbl, lines[tbl], s, out)
			}
		}
	}
	if m := finalLineRe.FindStringSubmatch(out); m == nil || !strings.HasPrefix(m[5], "6 differing rows in ") {
		t.Fatalf("final line:\n%s", out)
	}
	if during == 0 {
		t.Fatal("no transfer was acknowledged while the check with differences ran")
	}
	for _, l := range got {
		t.Logf("reported: %s", l)
	}
	t.Logf("%s (%d transfers acknowledged meanwhile)", finalLineRe.FindString(out), during)

	// Replication was not disturbed: both appliers run without error and, once the load is
	// over, the replicas hold the primary's accounts.
	stopLoad()
	for i, db := range []*sql.DB{r1db, r2db} {
		st := replicaStatus(t, db)
		if st["Replica_SQL_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" || st["Until_Condition"] != "None" {
			t.Fatalf("replica %d after the checks: %v", i+1, st)
		}
		waitCaughtUp(t, pdb, db, 30*time.Second)
	}
	want1 := dumpTables(t, p.db("bank"), "acct")
	for i, r := range []*node{r1, r2} {
		if got := dumpTables(t, r.db("bank"), "acct"); got != want1 {
			t.Fatalf("replica %d's accounts differ from the primary's after the load", i+1)
		}
	}
}

var syncStepRe = regexp.MustCompile(`(catch_up|primary_locked|replicas_reached)=(\S+)`)

// syncStats sums up the --verbose sync point records: the longest time each step took.
func syncStats(log string) string {
	longest := map[string]time.Duration{}
	for _, m := range syncStepRe.FindAllStringSubmatch(log, -1) {
		if d, err := time.ParseDuration(m[2]); err == nil && d > longest[m[1]] {
			longest[m[1]] = d
		}
	}
	return fmt.Sprintf("longest catch-up %s, primary's commits held %s, replicas at the sync point after %s",
		longest["catch_up"].Round(time.Millisecond), longest["primary_locked"].Round(time.Millisecond), longest["replicas_reached"].Round(time.Millisecond))
}

// unlogged runs statements on a replica with sql_log_bin = 0, as someone fixing (or breaking)
// a replica by hand would.
func unlogged(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range append([]string{"SET sql_log_bin = 0"}, stmts...) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "SET sql_log_bin = 1"); err != nil {
		t.Fatal(err)
	}
}

// TestChecksumRefusals checks exit status 2 and its messages: a replica that cannot be reached,
// the primary named as a replica, a server that is not a replica, replicas that do not report
// their address, a replica that cannot reach the primary's position in time, a replica whose
// applier stopped with an error (left stopped, for the administrator), and a run interrupted
// while a replica's applier runs under the tool's UNTIL condition (started again without it).
func TestChecksumRefusals(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb, rdb := p.db(""), r.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE ck")
	mustExec(t, pdb, "CREATE TABLE ck.t (id INT PRIMARY KEY, v INT)")
	mustExec(t, pdb, "INSERT INTO ck.t VALUES (1, 1), (2, 2)")
	replicaOf(t, r, p, "")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)

	expect := func(what string, replicas []string, wantCode int, wantErr string, args ...string) string {
		t.Helper()
		code, out, errOut := runChecksum(t, p, replicas, args...)
		if code != wantCode || !strings.Contains(errOut+out, wantErr) {
			t.Fatalf("%s: exit %d, want %d with %q\n%s%s", what, code, wantCode, wantErr, out, errOut)
		}
		var msg []string
		for _, l := range strings.Split(errOut, "\n") {
			if l != "" && !strings.Contains(l, "level=DEBUG") {
				msg = append(msg, l)
			}
		}
		t.Logf("%s: exit %d: %s", what, code, strings.Join(append(msg, finalLineRe.FindString(out)), " "))
		return out
	}
	expect("all equal", []string{r.addr()}, 0, "no differences")
	expect("nothing listening", []string{fmt.Sprintf("127.0.0.1:%d", freePort(t))}, 2, "cannot connect")
	expect("the primary as its own replica", []string{p.addr()}, 2, "is named twice")
	lone := startNode(t, "", "--server-id", "3")
	expect("not a replica", []string{lone.addr()}, 2, "is not a replica")
	expect("no --replica: the replicas found through SHOW REPLICAS", nil, 0, "no differences")

	// The receiver is stopped, so the replica cannot reach the primary's newest transaction.
	mustExec(t, rdb, "STOP REPLICA IO_THREAD")
	mustExec(t, pdb, "INSERT INTO ck.t VALUES (3, 3)")
	expect("replica too far behind", []string{r.addr()}, 2, "did not reach the primary's position", "--wait-timeout", "1s")
	if st := replicaStatus(t, rdb); st["Replica_SQL_Running"] != "Yes" || st["Until_Condition"] != "None" {
		t.Fatalf("the applier was not started again after the timeout: %v", st)
	}
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)

	// A row added on the replica alone makes the primary's insert of the same key fail there.
	unlogged(t, rdb, "INSERT INTO ck.t VALUES (7, 0)")
	mustExec(t, pdb, "INSERT INTO ck.t VALUES (7, 1)")
	deadline := time.Now().Add(30 * time.Second)
	for replicaStatus(t, rdb)["Last_SQL_Errno"] == "0" {
		if time.Now().After(deadline) {
			t.Fatalf("the replica's applier did not fail: %v", replicaStatus(t, rdb))
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect("applier stopped with an error", []string{r.addr()}, 2, "its applier is not running")
	if st := replicaStatus(t, rdb); st["Replica_SQL_Running"] != "No" || st["Last_SQL_Errno"] == "0" {
		t.Fatalf("the failed applier was not left as it was: %v", st)
	}
	unlogged(t, rdb, "DELETE FROM ck.t WHERE id = 7")
	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	expect("repaired", []string{r.addr()}, 0, "no differences")

	// Interrupted while the replica is on its way to a sync point under its UNTIL condition
	// (a delay of 2 s and a steady writer keep it there for about 2 s): its applier runs again,
	// without the condition.
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 2")
	mustExec(t, rdb, "START REPLICA")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 100; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := pdb.Exec("INSERT INTO ck.t VALUES (?, 0)", i); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(500 * time.Millisecond) // the replica is now 2 s behind
	var errOut bytes.Buffer
	cmd := exec.Command(relaydbBinary(t), "checksum", "--port", fmt.Sprint(p.port), "--replica", r.addr())
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	deadline = time.Now().Add(30 * time.Second)
	for replicaStatus(t, rdb)["Until_Condition"] != "SQL_AFTER_GTIDS" {
		select {
		case <-exited:
			t.Fatalf("relaydb checksum ended (exit %d) before the replica was under an UNTIL condition: %s", cmd.ProcessState.ExitCode(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica was never under an UNTIL condition: %v", replicaStatus(t, rdb))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("relaydb checksum did not stop after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("interrupted run: exit %d, want 2: %s", code, errOut.String())
	}
	st := replicaStatus(t, rdb)
	if st["Replica_SQL_Running"] != "Yes" || st["Until_Condition"] != "None" || st["Last_SQL_Errno"] != "0" {
		t.Fatalf("after the interrupted run the replica's applier is not running as before: %v", st)
	}
	t.Logf("interrupted while the replica was under SQL_AFTER_GTIDS: exit 2 (%s); replica applier running, Until_Condition %s",
		strings.TrimSpace(errOut.String()), st["Until_Condition"])
}

package test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/sqlrows"
)

// ringNodes starts n nodes (server_ids 1…n), each with the repl user and
// auto_increment_increment 10, auto_increment_offset = its number.
func ringNodes(t *testing.T, n int) []*node {
	t.Helper()
	var nodes []*node
	for i := 0; i < n; i++ {
		nd := startNode(t, "", "--server-id", fmt.Sprint(i+1))
		db := nd.db("")
		// Each node's own account, not logged: account statements replicate, and logged ones
		// would be transactions of this node alone that a chain never passes back up.
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"SET sql_log_bin = 0", "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'",
			"GRANT REPLICATION SLAVE ON *.* TO repl", "SET sql_log_bin = 1"} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Close()
		mustExec(t, db, fmt.Sprintf("SET GLOBAL auto_increment_increment = 10, GLOBAL auto_increment_offset = %d", i+1))
		nodes = append(nodes, nd)
	}
	return nodes
}

// insertEverywhere runs writers on every node at once, each inserting rows tagged with its
// node, for d; it returns how many inserts each node acknowledged.
func insertEverywhere(t *testing.T, nodes []*node, d time.Duration) []int {
	t.Helper()
	counts := make([]int, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for i, nd := range nodes {
		db := nd.db("d")
		db.SetMaxOpenConns(2)
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for time.Now().Before(stop) {
					if _, err := db.Exec("INSERT INTO t (origin) VALUES (?)", i+1); err != nil {
						t.Errorf("insert on node %d: %v", i+1, err)
						return
					}
					mu.Lock()
					counts[i]++
					mu.Unlock()
				}
			}(i)
		}
	}
	wg.Wait()
	return counts
}

// converged waits until every node has executed every other node's GTIDs and holds the same
// rows, and checks that no applier stopped.
func converged(t *testing.T, nodes []*node, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var roots, dbs []*sql.DB
	for _, nd := range nodes {
		roots = append(roots, nd.db(""))
	}
	for {
		sets := map[string]bool{}
		for _, db := range roots {
			sets[queryString(t, db, "SELECT @@GLOBAL.gtid_executed")] = true
		}
		if len(sets) == 1 {
			if dbs == nil {
				for _, nd := range nodes {
					dbs = append(dbs, nd.db("d"))
				}
			}
			want := dumpTables(t, dbs[0], "t")
			same := true
			for _, db := range dbs[1:] {
				if dumpTables(t, db, "t") != want {
					same = false
				}
			}
			if same {
				for i, db := range dbs {
					if st := replicaStatus(t, db); len(st) > 0 && (st["Last_SQL_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes") {
						t.Fatalf("node %d applier: %v", i+1, st)
					}
				}
				for k := range sets {
					return k
				}
			}
		}
		if time.Now().After(deadline) {
			for i, db := range roots {
				t.Logf("node %d: gtid_executed %s; %v", i+1, queryString(t, db, "SELECT @@GLOBAL.gtid_executed"), replicaStatus(t, db))
			}
			t.Fatalf("nodes did not converge within %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOffsets verifies that every row's id follows its origin node's auto_increment_offset.
func checkOffsets(t *testing.T, db *sql.DB, counts []int) {
	t.Helper()
	rows, err := db.Query("SELECT id, origin FROM t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	per := make([]int, len(counts))
	for rows.Next() {
		var id, origin int
		rows.Scan(&id, &origin)
		if id%10 != origin {
			t.Fatalf("row id %d from node %d does not follow its offset", id, origin)
		}
		per[origin-1]++
	}
	for i := range counts {
		if per[i] != counts[i] {
			t.Fatalf("node %d: %d rows present, %d inserts acknowledged", i+1, per[i], counts[i])
		}
	}
}

// TestDualPrimary: A ⇄ B, each a replica of the other, with auto_increment_increment 10 and
// offsets 1 and 2; concurrent inserts on both sides never collide, both converge to the same
// rows, nothing loops, and each side logs the other's transactions with the original server_id.
func TestDualPrimary(t *testing.T) {
	load := 10 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	nodes := ringNodes(t, 2)
	a, b := nodes[0], nodes[1]
	replicaOf(t, a, b, "")
	replicaOf(t, b, a, "")
	adb := a.db("")
	mustExec(t, adb, "CREATE DATABASE d")
	mustExec(t, adb, "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, origin INT NOT NULL)")
	converged(t, nodes, 30*time.Second)

	counts := insertEverywhere(t, nodes, load)
	set := converged(t, nodes, 30*time.Second)
	checkOffsets(t, a.db("d"), counts)
	// B's binlog holds A's transactions under server_id 1.
	bdb := b.db("")
	rows, err := bdb.Query("SHOW BINLOG EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for rows.Next() {
		var log, typ, srv, info string
		var pos, end int64
		rows.Scan(&log, &pos, &typ, &srv, &end, &info)
		if typ == "Gtid" {
			ids[srv]++
		}
	}
	rows.Close()
	if ids["1"] == 0 || ids["2"] == 0 {
		t.Fatalf("B's binlog GTID events by server_id: %v, want both 1 and 2", ids)
	}
	t.Logf("A ⇄ B: %d inserts on A, %d on B, converged to gtid_executed %s; ids follow offsets 1 and 2; B's binlog Gtid events by server_id: %v",
		counts[0], counts[1], set, ids)
}

// TestRingOfThree: A → B → C → A, inserts on all three at once; every node ends with every row.
func TestRingOfThree(t *testing.T) {
	load := 10 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	nodes := ringNodes(t, 3)
	for i := range nodes {
		replicaOf(t, nodes[(i+1)%3], nodes[i], "")
	}
	db := nodes[0].db("")
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, origin INT NOT NULL)")
	converged(t, nodes, 30*time.Second)
	counts := insertEverywhere(t, nodes, load)
	set := converged(t, nodes, 60*time.Second)
	checkOffsets(t, nodes[0].db("d"), counts)
	t.Logf("ring A → B → C → A: inserts %v, all three converged to gtid_executed %s, ids follow offsets",
		counts, strings.ReplaceAll(set, "\n", ""))
}

// TestChainOfThree: A → B → C with writes on A; C ends identical, and auto-positioning works
// anywhere in the chain: C is moved from B to A directly and goes on.
func TestChainOfThree(t *testing.T) {
	load := 10 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	nodes := ringNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	replicaOf(t, b, a, "")
	replicaOf(t, c, b, "")
	adb := a.db("")
	mustExec(t, adb, "CREATE DATABASE d")
	mustExec(t, adb, "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, origin INT NOT NULL)")
	counts := insertEverywhere(t, nodes[:1], load)
	converged(t, nodes, 30*time.Second)
	cdb := c.db("")
	mustExec(t, cdb, "STOP REPLICA")
	mustExec(t, cdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_PORT = %d", a.port))
	mustExec(t, cdb, "START REPLICA")
	more := insertEverywhere(t, nodes[:1], load/2)
	set := converged(t, nodes, 30*time.Second)
	checkOffsets(t, c.db("d"), []int{counts[0] + more[0], 0, 0})
	t.Logf("chain A → B → C: %d inserts, C identical; C moved from B to A by auto-position, %d more inserts, converged to %s",
		counts[0], more[0], set)
}

// channelStatus returns SHOW REPLICA STATUS as one map per channel, by Channel_Name.
func channelStatus(t *testing.T, db *sql.DB, q string) map[string]map[string]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		m, err := sqlrows.Map(rows)
		if err != nil {
			t.Fatal(err)
		}
		out[m["Channel_Name"]] = m
	}
	return out
}

// TestMultiSource: one replica aggregates two primaries' databases through two channels, each
// with its own receiver, relay log, applier and status row; channels are stopped, restarted
// with the server and removed one at a time.
func TestMultiSource(t *testing.T) {
	load := 5 * time.Second
	if testing.Short() {
		load = time.Second
	}
	p1 := startNode(t, "", "--server-id", "1")
	p2 := startNode(t, "", "--server-id", "2")
	r := startNode(t, "", "--server-id", "3")
	for i, p := range []*node{p1, p2} {
		db := p.db("")
		createReplUser(t, db)
		mustExec(t, db, fmt.Sprintf("CREATE DATABASE shop%d", i+1))
		mustExec(t, db, fmt.Sprintf("CREATE TABLE shop%d.t (id INT AUTO_INCREMENT PRIMARY KEY, origin INT NOT NULL)", i+1))
	}
	rdb := r.db("")
	for i, p := range []*node{p1, p2} {
		mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1 FOR CHANNEL 'src%d'", p.port, i+1))
	}
	// A filter for one channel only.
	mustExec(t, rdb, "CHANGE REPLICATION FILTER REPLICATE_WILD_IGNORE_TABLE = ('shop2.skip%') FOR CHANNEL 'src2'")
	mustExec(t, p2.db(""), "CREATE TABLE shop2.skipme (id INT PRIMARY KEY)")
	mustExec(t, p2.db(""), "INSERT INTO shop2.skipme VALUES (1)")
	mustExec(t, rdb, "START REPLICA") // every channel
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, p := range []*node{p1, p2} {
		wg.Add(1)
		go func(i int, db *sql.DB) {
			defer wg.Done()
			for stop := time.Now().Add(load); time.Now().Before(stop); {
				if _, err := db.Exec(fmt.Sprintf("INSERT INTO shop%d.t (origin) VALUES (%d)", i+1, i+1)); err != nil {
					t.Error(err)
					return
				}
				counts[i]++
			}
		}(i, p.db(""))
	}
	wg.Wait()
	same := func() {
		t.Helper()
		for i, p := range []*node{p1, p2} {
			waitCaughtUp(t, p.db(""), rdb, 30*time.Second)
			pdb, rd := p.db(fmt.Sprintf("shop%d", i+1)), r.db(fmt.Sprintf("shop%d", i+1))
			if got, want := dumpTables(t, rd, "t"), dumpTables(t, pdb, "t"); got != want {
				t.Fatalf("shop%d differs on the replica (%d vs %d bytes)", i+1, len(got), len(want))
			}
		}
	}
	same()
	st := channelStatus(t, rdb, "SHOW REPLICA STATUS")
	if len(st) != 2 || st["src1"]["Source_Port"] != fmt.Sprint(p1.port) || st["src2"]["Source_Port"] != fmt.Sprint(p2.port) ||
		st["src1"]["Replica_SQL_Running"] != "Yes" || st["src2"]["Replica_IO_Running"] != "Yes" {
		t.Fatalf("SHOW REPLICA STATUS rows: %v", st)
	}
	if st["src2"]["Replicate_Wild_Ignore_Table"] != "shop2.skip%" || st["src1"]["Replicate_Wild_Ignore_Table"] != "" {
		t.Fatalf("per-channel filter: src1 %q, src2 %q", st["src1"]["Replicate_Wild_Ignore_Table"], st["src2"]["Replicate_Wild_Ignore_Table"])
	}
	var skipped int
	rdb.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop2' AND TABLE_NAME = 'skipme'").Scan(&skipped)
	if skipped != 0 {
		t.Fatal("shop2.skipme reached the replica despite channel src2's filter")
	}
	if _, err := rdb.Exec("SHOW REPLICA STATUS FOR CHANNEL 'nope'"); mysqlErrno(err) != 3074 {
		t.Fatalf("unknown channel: %v, want 3074", err)
	}

	// One channel stopped: the other goes on.
	mustExec(t, rdb, "STOP REPLICA FOR CHANNEL 'src1'")
	mustExec(t, p1.db(""), "INSERT INTO shop1.t (origin) VALUES (1)")
	mustExec(t, p2.db(""), "INSERT INTO shop2.t (origin) VALUES (2)")
	waitCaughtUp(t, p2.db(""), rdb, 30*time.Second)
	st = channelStatus(t, rdb, "SHOW REPLICA STATUS")
	if st["src1"]["Replica_IO_Running"] != "No" || st["src2"]["Replica_IO_Running"] != "Yes" {
		t.Fatalf("after STOP REPLICA FOR CHANNEL 'src1': src1 IO %s, src2 IO %s", st["src1"]["Replica_IO_Running"], st["src2"]["Replica_IO_Running"])
	}
	mustExec(t, rdb, "START REPLICA FOR CHANNEL 'src1'")
	// Channels survive a restart of the replica, each resuming where it was.
	r.kill()
	r.restart("--server-id", "3")
	rdb = r.db("")
	same()
	st = channelStatus(t, rdb, "SHOW REPLICA STATUS")
	if len(st) != 2 {
		t.Fatalf("after a restart: %d channels", len(st))
	}
	mustExec(t, rdb, "STOP REPLICA FOR CHANNEL 'src2'")
	mustExec(t, rdb, "RESET REPLICA ALL FOR CHANNEL 'src2'")
	st = channelStatus(t, rdb, "SHOW REPLICA STATUS")
	if _, ok := st["src2"]; ok || len(st) != 1 {
		t.Fatalf("after RESET REPLICA ALL FOR CHANNEL 'src2': %d channels", len(st))
	}
	t.Logf("replica of two primaries through channels src1 and src2: %d and %d inserts, both databases identical; channel src2's filter kept shop2.skipme out; STOP REPLICA FOR CHANNEL stopped one only; both channels resumed after kill -9; RESET REPLICA ALL FOR CHANNEL removed one; unknown channel: 3074",
		counts[0], counts[1])
}

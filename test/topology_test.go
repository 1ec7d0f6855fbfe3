package test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// ringNodes starts n nodes (server_ids 1…n), each with the repl user and
// auto_increment_increment 10, auto_increment_offset = its number.
func ringNodes(t *testing.T, n int) []*node {
	t.Helper()
	var nodes []*node
	for i := 0; i < n; i++ {
		nd := startNode(t, "", "--server-id", fmt.Sprint(i+1))
		db := nd.db("")
		createReplUser(t, db)
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

package test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/mariabinlog"
	"github.com/relaydb/relaydb/test/mariadb"
)

// migrationTables are created on the MariaDB primary once the replicas run, so that their DDL
// is replicated too. Column types whose text MariaDB and RelayDB print alike, so that the
// tables compare row by row.
var migrationTables = []string{
	`CREATE TABLE shop.orders (
		id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		customer INT NOT NULL,
		amount DECIMAL(12,2) NOT NULL,
		note VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,
		created DATETIME NOT NULL,
		body TEXT,
		KEY (customer)
	) ENGINE=InnoDB`,
	`CREATE TABLE shop.stock (item INT NOT NULL PRIMARY KEY, qty INT NOT NULL, tag CHAR(8)) ENGINE=InnoDB`,
}

// mariaGTIDSubset is the RelayDB GTID set that stands for a MariaDB gtid_binlog_pos
// ("0-1-523,1-1-7"): every transaction of each domain up to its seq_no.
func mariaGTIDSubset(t *testing.T, pos string) string {
	t.Helper()
	var parts []string
	for _, g := range strings.Split(pos, ",") {
		f := strings.Split(strings.TrimSpace(g), "-")
		if len(f) != 3 {
			continue
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		seq, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("gtid_binlog_pos %q", pos)
		}
		parts = append(parts, fmt.Sprintf("%s:1-%d", mariabinlog.DomainUUID(uint32(d)), seq))
	}
	return strings.Join(parts, ",")
}

// waitMariaCaughtUp waits until the RelayDB replica has executed everything the MariaDB primary
// has logged.
func waitMariaCaughtUp(t *testing.T, mdb, rdb *sql.DB, within time.Duration) {
	t.Helper()
	want := mariaGTIDSubset(t, queryString(t, mdb, "SELECT @@GLOBAL.gtid_binlog_pos"))
	deadline := time.Now().Add(within)
	for {
		var got int
		if err := rdb.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", want).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RelayDB replica did not reach %s within %s; it has %s; replica status %v",
				want, within, queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed"), replicaStatus(t, rdb))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mariaPrimary starts a throwaway MariaDB with args and creates the replication account
// repl/pw on it, unlogged (it is MariaDB's business, not the data's). The returned pool has one
// connection; it is closed when the test ends.
func mariaPrimary(t *testing.T, args ...string) (*mariadb.Server, *sql.DB) {
	t.Helper()
	m := mariadb.Start(t, args...)
	mdb, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mdb.Close() })
	mdb.SetMaxOpenConns(1) // SET sql_log_bin is the session's
	mustExec(t, mdb, "SET sql_log_bin = 0")
	mustExec(t, mdb, "CREATE USER repl@'%' IDENTIFIED BY 'pw'")
	mustExec(t, mdb, "GRANT REPLICATION SLAVE ON *.* TO repl@'%'")
	mustExec(t, mdb, "SET sql_log_bin = 1")
	return m, mdb
}

// replicaOfMariaDB points n at MariaDB by file and position, from the start of its first binlog.
func replicaOfMariaDB(t *testing.T, n *node, m *mariadb.Server) {
	t.Helper()
	db := n.db("")
	defer db.Close()
	mustExec(t, db, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=0, SOURCE_LOG_FILE='bin.000001', SOURCE_LOG_POS=4, SOURCE_CONNECT_RETRY=1", m.Port))
	mustExec(t, db, "START REPLICA")
}

// mariaLoad runs writers on MariaDB until stop is closed: transactions of inserts, updates and
// deletes over shop.orders and shop.stock. It returns the number of committed transactions.
func mariaLoad(t *testing.T, mdb *sql.DB, writers int, stop <-chan struct{}, failed *atomic.Value) (*sync.WaitGroup, *atomic.Int64) {
	var wg sync.WaitGroup
	var commits atomic.Int64
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := mariaTxn(mdb, rng); err != nil {
					if strings.Contains(err.Error(), "Deadlock") || strings.Contains(err.Error(), "Lock wait") {
						continue
					}
					failed.Store(err)
					return
				}
				commits.Add(1)
			}
		}(int64(w) + 1)
	}
	return &wg, &commits
}

func mariaTxn(db *sql.DB, rng *rand.Rand) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := 0; i < 1+rng.Intn(3); i++ {
		var q string
		var args []any
		switch rng.Intn(6) {
		case 0, 1:
			q = "INSERT INTO shop.orders (customer, amount, note, created, body) VALUES (?, ?, ?, ?, ?)"
			args = []any{rng.Intn(50), fmt.Sprintf("%d.%02d", rng.Intn(10000), rng.Intn(100)),
				fmt.Sprintf("note é %d", rng.Intn(1000)), time.Date(2024, 1, 1+rng.Intn(28), rng.Intn(24), 0, 0, 0, time.UTC).Format("2006-01-02 15:04:05"),
				strings.Repeat("x", rng.Intn(300))}
		case 2:
			q = "UPDATE shop.orders SET amount = amount + 1, note = NULL WHERE customer = ? ORDER BY id LIMIT 2"
			args = []any{rng.Intn(50)}
		case 3:
			q = "DELETE FROM shop.orders WHERE customer = ? ORDER BY id LIMIT 1"
			args = []any{rng.Intn(50)}
		default:
			q = "INSERT INTO shop.stock VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE qty = qty + 1, tag = VALUES(tag)"
			args = []any{rng.Intn(200), fmt.Sprintf("t%d", rng.Intn(100))}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// TestMigrateFromMariaDB: two RelayDB replicas of a MariaDB 10.11 primary, by file and position,
// converge under a concurrent write load with DDL in the middle of it (CREATE, ALTER, DROP),
// and give MariaDB's transactions the same GTIDs; then writes move to one of them (STOP
// REPLICA, RESET REPLICA ALL) and the other follows it by GTID auto-positioning.
func TestMigrateFromMariaDB(t *testing.T) {
	load := 4 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	m, mdb := mariaPrimary(t)
	mdb.SetMaxOpenConns(8)

	r1 := startNode(t, "", "--server-id", "2")
	r2 := startNode(t, "", "--server-id", "3")
	r1db, r2db := r1.db(""), r2.db("")
	// Auto-positioning needs COM_BINLOG_DUMP_GTID, which MariaDB has not: refused, and said so.
	mustExec(t, r2db, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1", m.Port))
	mustExec(t, r2db, "START REPLICA IO_THREAD")
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := replicaStatus(t, r2db)
		if st["Replica_IO_Running"] == "No" && st["Last_IO_Errno"] == "1235" && strings.Contains(st["Last_IO_Error"], "MariaDB") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SOURCE_AUTO_POSITION=1 toward MariaDB: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustExec(t, r2db, "STOP REPLICA")
	replicaOfMariaDB(t, r1, m)
	replicaOfMariaDB(t, r2, m)

	mustExec(t, mdb, "CREATE DATABASE shop")
	for _, q := range migrationTables {
		mustExec(t, mdb, q)
	}
	mustExec(t, mdb, "CREATE TABLE shop.scratch (a INT PRIMARY KEY)")
	mustExec(t, mdb, "INSERT INTO shop.scratch VALUES (1), (2)")

	var failed atomic.Value
	stop := make(chan struct{})
	wg, commits := mariaLoad(t, mdb, 6, stop, &failed)
	time.Sleep(load / 4)
	// The dump connections are cut: r1's the receiver reconnects and asks for the binlog from where
	// its relay log ends, not from the configured start again. r2 is killed and restarted: it
	// starts from the configured position and skips what it executed, by GTID.
	rows, err := mdb.Query("SELECT id FROM information_schema.processlist WHERE command = 'Binlog Dump'")
	if err != nil {
		t.Fatal(err)
	}
	var dumps []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, id)
	}
	rows.Close()
	if len(dumps) != 2 {
		t.Fatalf("MariaDB runs %d dump threads, want 2", len(dumps))
	}
	for _, id := range dumps {
		mustExec(t, mdb, fmt.Sprintf("KILL %d", id))
	}
	r2.kill()
	r2.restart("--server-id", "3")
	r2db = r2.db("")
	time.Sleep(load / 4)
	// DDL while the writers run.
	mustExec(t, mdb, "ALTER TABLE shop.orders ADD COLUMN status VARCHAR(16) NULL DEFAULT 'new'")
	mustExec(t, mdb, "CREATE TABLE shop.audit (id INT NOT NULL PRIMARY KEY, at DATETIME)")
	mustExec(t, mdb, "INSERT INTO shop.audit VALUES (1, '2024-05-06 07:08:09')")
	mustExec(t, mdb, "DROP TABLE shop.scratch")
	mustExec(t, mdb, "CREATE INDEX by_created ON shop.orders (created)")
	time.Sleep(load / 2)
	close(stop)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("MariaDB writer: %v", err)
	}
	if commits.Load() < 20 {
		t.Fatalf("only %d transactions committed on MariaDB", commits.Load())
	}
	// A statement MariaDB logs with COMMIT rather than XID (a non-transactional table).
	mustExec(t, mdb, "CREATE TABLE shop.counter (n INT) ENGINE=Aria")
	mustExec(t, mdb, "INSERT INTO shop.counter VALUES (42)")

	waitMariaCaughtUp(t, mdb, r1db, 60*time.Second)
	waitMariaCaughtUp(t, mdb, r2db, 60*time.Second)
	tables := []string{"shop.orders", "shop.stock", "shop.audit", "shop.counter"}
	want := dumpTables(t, mdb, tables...)
	for i, db := range []*sql.DB{r1db, r2db} {
		if got := dumpTables(t, db, tables...); got != want {
			t.Fatalf("replica %d differs from MariaDB:\n--- MariaDB\n%s\n--- replica\n%s", i+1, firstLines(want, 20), firstLines(got, 20))
		}
	}
	var n int
	if err := r1db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'scratch'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the dropped table is still on the replica (%d, %v)", n, err)
	}
	// Both replicas named MariaDB's transactions alike.
	g1 := queryString(t, r1db, "SELECT @@GLOBAL.gtid_executed")
	g2 := queryString(t, r2db, "SELECT @@GLOBAL.gtid_executed")
	if g1 != g2 || !strings.HasPrefix(g1, mariabinlog.DomainUUID(0).String()+":1-") {
		t.Fatalf("replicas' gtid_executed: %q and %q", g1, g2)
	}
	// Every dump after the first (the reconnect) started past the start of the binlog.
	starts := regexp.MustCompile(`Start binlog_dump to slave_server\((\d+)\), pos\(bin\.000001, (\d+)\)`).FindAllStringSubmatch(m.Log(), -1)
	if len(starts) < 4 {
		t.Fatalf("MariaDB logged %d dump starts, want at least 4 (two replicas, one reconnect, one restart):\n%s", len(starts), m.Log())
	}
	for _, d := range starts[2:] {
		if d[1] == "2" && d[2] == "4" {
			t.Fatalf("replica 2 reconnected from the start of the binlog again: %v", starts)
		}
	}
	// A clean restart goes on from where the applier stopped, not from the configured start.
	r2.stop()
	r2.restart("--server-id", "3")
	r2db = r2.db("")
	mustExec(t, mdb, "INSERT INTO shop.audit VALUES (2, '2024-05-06 07:08:10')")
	waitMariaCaughtUp(t, mdb, r2db, 60*time.Second)
	starts = regexp.MustCompile(`Start binlog_dump to slave_server\(3\), pos\(bin\.000001, (\d+)\)`).FindAllStringSubmatch(m.Log(), -1)
	if last := starts[len(starts)-1][1]; last == "4" {
		t.Fatalf("replica 3 restarted from bin.000001:4 after a clean stop: %v", starts)
	}
	waitMariaCaughtUp(t, mdb, r1db, 60*time.Second)
	st := replicaStatus(t, r1db)
	if st["Replica_IO_Running"] != "Yes" || st["Replica_SQL_Running"] != "Yes" || st["Source_UUID"] != "" ||
		st["Source_Log_File"] != "bin.000001" {
		t.Fatalf("replica status: %v", st)
	}

	// Cutover: writes move to r1; r2 follows r1 by GTID auto-positioning.
	mustExec(t, r1db, "STOP REPLICA")
	mustExec(t, r1db, "RESET REPLICA ALL")
	if st := replicaStatus(t, r1db); len(st) != 0 {
		t.Fatalf("SHOW REPLICA STATUS after RESET REPLICA ALL: %v", st)
	}
	createReplUser(t, r1db)
	mustExec(t, r2db, "STOP REPLICA")
	mustExec(t, r2db, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1", r1.port))
	mustExec(t, r2db, "START REPLICA")
	// The AUTO_INCREMENT counter went on with the replicated rows: a new order gets a new id.
	mustExec(t, r1db, "INSERT INTO shop.orders (customer, amount, created) VALUES (7, 1.50, '2024-06-01 00:00:00')")
	mustExec(t, r1db, "UPDATE shop.stock SET qty = qty * 2")
	mustExec(t, r1db, "ALTER TABLE shop.audit ADD COLUMN who VARCHAR(32)")
	waitCaughtUp(t, r1db, r2db, 30*time.Second)
	tables = []string{"shop.orders", "shop.stock", "shop.audit"}
	if a, b := dumpTables(t, r1db, tables...), dumpTables(t, r2db, tables...); a != b {
		t.Fatalf("after the cutover the replica of the new primary differs:\n%s\n---\n%s", firstLines(a, 20), firstLines(b, 20))
	}
}

// TestReplicateFromMariaDBVariants: a MariaDB primary without event checksums
// (binlog_checksum=NONE, negotiated through @master_binlog_checksum), with full table metadata
// in TABLE_MAP events and minimal row images, still replicates to RelayDB.
func TestReplicateFromMariaDBVariants(t *testing.T) {
	m, mdb := mariaPrimary(t, "--binlog-checksum=NONE", "--binlog-row-metadata=FULL", "--binlog-row-image=MINIMAL")
	r := startNode(t, "", "--server-id", "2")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("RelayDB's log:\n%s", r.log())
		}
	})
	replicaOfMariaDB(t, r, m)
	rdb := r.db("")
	mustExec(t, mdb, "CREATE DATABASE d")
	mustExec(t, mdb, "CREATE TABLE d.t (id INT PRIMARY KEY, a VARCHAR(20), b BIGINT, e ENUM('x','y'), s SET('p','q'), c CHAR(4) COLLATE utf8mb4_bin)")
	mustExec(t, mdb, "INSERT INTO d.t VALUES (1, 'one', 10, 'x', 'p,q', 'ab'), (2, 'two', 20, 'y', '', 'cd'), (3, NULL, NULL, NULL, NULL, NULL)")
	mustExec(t, mdb, "UPDATE d.t SET b = b + 1 WHERE id < 3")
	mustExec(t, mdb, "DELETE FROM d.t WHERE id = 2")
	mustExec(t, mdb, "ALTER TABLE d.t ADD COLUMN z INT DEFAULT 5")
	mustExec(t, mdb, "INSERT INTO d.t (id, a) VALUES (4, 'four')")
	waitMariaCaughtUp(t, mdb, rdb, 60*time.Second)
	if a, b := dumpTables(t, mdb, "d.t"), dumpTables(t, rdb, "d.t"); a != b {
		t.Fatalf("RelayDB differs from MariaDB:\n%s\n---\n%s", a, b)
	}
	// The file name came whole out of the fake ROTATE, which carries no checksum either.
	if st := replicaStatus(t, rdb); st["Source_Log_File"] != "bin.000001" || st["Relay_Source_Log_File"] != "bin.000001" {
		t.Fatalf("source file %q, applied from %q", st["Source_Log_File"], st["Relay_Source_Log_File"])
	}
}

// TestReplicateFromMariaDBStatementFormat: statement-format events (binlog_format=STATEMENT) of
// a MariaDB primary are applied as SQL text, with their INSERT_ID context.
func TestReplicateFromMariaDBStatementFormat(t *testing.T) {
	m, mdb := mariaPrimary(t, "--binlog-format=STATEMENT")
	r := startNode(t, "", "--server-id", "2")
	replicaOfMariaDB(t, r, m)
	rdb := r.db("")
	mustExec(t, mdb, "CREATE DATABASE d")
	mustExec(t, mdb, "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, a VARCHAR(20), b INT)")
	mustExec(t, mdb, "INSERT INTO d.t (a, b) VALUES ('one', 1), ('two', 2)")
	mustExec(t, mdb, "UPDATE d.t SET b = b * 10 WHERE a = 'two'")
	mustExec(t, mdb, "BEGIN")
	mustExec(t, mdb, "INSERT INTO d.t (a) VALUES ('three')")
	mustExec(t, mdb, "DELETE FROM d.t WHERE id = 1")
	mustExec(t, mdb, "COMMIT")
	waitMariaCaughtUp(t, mdb, rdb, 60*time.Second)
	// Pointed at the start again: what its relay log held comes again, and is skipped.
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='bin.000001', SOURCE_LOG_POS=4")
	mustExec(t, rdb, "START REPLICA")
	mustExec(t, mdb, "INSERT INTO d.t (a) VALUES ('four')")
	waitMariaCaughtUp(t, mdb, rdb, 60*time.Second)
	if st := replicaStatus(t, rdb); st["Last_IO_Errno"] != "0" || st["Last_SQL_Errno"] != "0" {
		t.Fatalf("after CHANGE to an earlier position: %v", st)
	}
	if a, b := dumpTables(t, mdb, "d.t"), dumpTables(t, rdb, "d.t"); a != b {
		t.Fatalf("RelayDB differs from MariaDB:\n%s\n---\n%s", a, b)
	}
}

// TestSemiSyncReplicaOfMariaDB: a RelayDB replica with rpl_semi_sync_replica_enabled acknowledges
// a semi-synchronous MariaDB primary's commits (its acks name MariaDB's file and position), so
// MariaDB's commits wait for RelayDB and none falls back to asynchronous.
func TestSemiSyncReplicaOfMariaDB(t *testing.T) {
	m, mdb := mariaPrimary(t, "--rpl-semi-sync-master-enabled=1", "--rpl-semi-sync-master-timeout=30000")
	r := startNode(t, "", "--server-id", "2")
	rdb := r.db("")
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
	replicaOfMariaDB(t, r, m)
	status := func(name string) string {
		return queryString(t, mdb, "SELECT variable_value FROM information_schema.global_status WHERE variable_name = '"+name+"'")
	}
	deadline := time.Now().Add(20 * time.Second)
	for status("RPL_SEMI_SYNC_MASTER_CLIENTS") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("MariaDB has no semi-sync replica: %v", replicaStatus(t, rdb))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustExec(t, mdb, "CREATE DATABASE d")
	mustExec(t, mdb, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	for i := 1; i <= 20; i++ {
		mustExec(t, mdb, "INSERT INTO d.t VALUES (?)", i)
	}
	if yes, no := status("RPL_SEMI_SYNC_MASTER_YES_TX"), status("RPL_SEMI_SYNC_MASTER_NO_TX"); yes != "22" || no != "0" {
		t.Fatalf("MariaDB's semi-sync commits: %s acknowledged, %s not", yes, no)
	}
	waitMariaCaughtUp(t, mdb, rdb, 20*time.Second)
	// All on one connection: a receiver that cannot read on after an ack reconnects each time.
	if n := strings.Count(m.Log(), "Start semi-sync binlog_dump to slave"); n != 1 {
		t.Fatalf("the receiver started %d semi-sync dumps, want 1:\n%s", n, m.Log())
	}
}

package test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/relaydb/relaydb/test/mariadb"
)

// waitMariaReplica waits until the MariaDB replica has executed the RelayDB primary's binlog up
// to its current end (SHOW BINARY LOG STATUS there, Exec_Master_Log_Pos here), failing on a
// replication error.
func waitMariaReplica(t *testing.T, pdb, mdb *sql.DB, m *mariadb.Server, within time.Duration) {
	t.Helper()
	file, pos := binlogEnd(t, pdb)
	deadline := time.Now().Add(within)
	for {
		st := statusRow(t, mdb, "SHOW SLAVE STATUS")
		if st["Last_SQL_Errno"] != "0" || st["Last_IO_Errno"] != "0" || st["Slave_SQL_Running"] == "No" {
			t.Fatalf("MariaDB replica stopped: IO %s %q, SQL %s %q; MariaDB's log:\n%s", st["Last_IO_Errno"], st["Last_IO_Error"], st["Last_SQL_Errno"], st["Last_SQL_Error"], m.Log())
		}
		if st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == fmt.Sprint(pos) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("MariaDB replica did not reach %s:%d within %s: %v", file, pos, within, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// binlogEnd is a server's SHOW BINARY LOG STATUS: its binlog's current file and position.
func binlogEnd(t *testing.T, db *sql.DB) (string, int64) {
	t.Helper()
	var file string
	var pos int64
	rows, err := db.Query("SHOW BINARY LOG STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	vals[0], vals[1] = &file, &pos
	for i := 2; i < len(vals); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if !rows.Next() {
		t.Fatal("SHOW BINARY LOG STATUS: no row")
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// TestMariaDBReplicaOfRelayDB: a MariaDB 10.11 replica (by file and position, MASTER_USE_GTID=no)
// of a RelayDB primary applies DDL (CREATE, ALTER, DROP) issued in a session that chose a
// collation MariaDB knows (SET NAMES utf8mb4 COLLATE utf8mb4_general_ci), and ROW changes of
// many column types; at the end both servers hold the same rows.
func TestMariaDBReplicaOfRelayDB(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	pdb := p.db("")
	createReplUser(t, pdb)
	// MariaDB knows no utf8mb4_0900_* collation: the server's default collation must be one it
	// knows, and the client chooses one for its session (below). The replica starts after the
	// account statements, logged under RelayDB's defaults.
	mustExec(t, pdb, "SET GLOBAL collation_server = 'utf8mb4_general_ci'")
	file, pos := binlogEnd(t, pdb)
	m := mariadb.Start(t, "--server-id=7")
	mdb, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	mustExec(t, mdb, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_USE_GTID=no, MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1", p.port, file, pos))
	mustExec(t, mdb, "START SLAVE")

	ctx := context.Background()
	c, err := p.db("").Conn(ctx) // a new session, which takes the new global collation_server
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci")
	var coll string
	if err := c.QueryRowContext(ctx, "SELECT @@collation_connection").Scan(&coll); err != nil || coll != "utf8mb4_general_ci" {
		t.Fatalf("collation_connection after SET NAMES … COLLATE: %q, %v", coll, err)
	}
	exec("CREATE DATABASE shop")
	exec(`CREATE TABLE shop.types (
		id INT NOT NULL PRIMARY KEY,
		ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, bi BIGINT,
		dec1 DECIMAL(10,3), fl FLOAT, db DOUBLE,
		vc VARCHAR(40), ch CHAR(5), tx TEXT, bl BLOB, vb VARBINARY(16),
		dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP NULL, d DATE, tm TIME(6), yr YEAR,
		en ENUM('a','b','c'), st SET('x','y','z'), bt BIT(10)
	) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`)
	exec(`INSERT INTO shop.types VALUES
		(1, -5, 65000, -8000000, 9000000000000, 1234567.891, 1.5, 2.25, 'héllo', 'ab', 'long text', x'00ff10', x'0102',
		 '2024-02-29 12:34:56', '2024-02-29 12:34:56.123456', '2024-03-01 00:00:01', '2024-12-31', '-12:30:00', 2024,
		 'b', 'x,z', b'1010101010'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, 127, 0, 1, -1, -0.001, -3.5, 1e100, '', 'zz', '', '', '', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', NULL, '1000-01-01', '838:59:59', 1901, 'c', '', b'0')`)
	exec("UPDATE shop.types SET vc = 'changed', ti = ti + 1 WHERE id = 1")
	exec("DELETE FROM shop.types WHERE id = 3")
	exec("ALTER TABLE shop.types ADD COLUMN extra INT NOT NULL DEFAULT 7")
	exec("INSERT INTO shop.types (id, vc) VALUES (4, 'after alter')")
	exec("CREATE TABLE shop.gone (a INT PRIMARY KEY)")
	exec("INSERT INTO shop.gone VALUES (1)")
	exec("DROP TABLE shop.gone")
	exec("START TRANSACTION")
	exec("INSERT INTO shop.types (id, bi) VALUES (5, 5), (6, 6)")
	exec("UPDATE shop.types SET bi = 55 WHERE id = 5")
	exec("COMMIT")

	waitMariaReplica(t, pdb, mdb, m, 60*time.Second)
	cols := "id, ti, si, mi, bi, dec1, fl, db, vc, ch, tx, HEX(bl), HEX(vb), dt, dt6, ts, d, tm, yr, en, st, bt+0, extra"
	want := dumpTables(t, pdb, "(SELECT "+cols+" FROM shop.types) AS x")
	got := dumpTables(t, mdb, "(SELECT "+cols+" FROM shop.types) AS x")
	if got != want {
		t.Fatalf("MariaDB replica's rows differ:\n--- RelayDB\n%s\n--- MariaDB\n%s", want, got)
	}
	var n int
	if err := mdb.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'gone'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the dropped table is still on MariaDB (%d, %v)", n, err)
	}
	if got := queryString(t, mdb, "SELECT table_collation FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'types'"); got != "utf8mb4_general_ci" {
		t.Fatalf("MariaDB's table has collation %q", got)
	}
}

package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// filterLoad writes rows on the primary, row-based, to every table of the filter test, n times;
// each round is also one transaction touching several databases (partly filtered on replicas).
func filterLoad(t *testing.T, pdb *sql.DB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		mustExec(t, pdb, "INSERT INTO shop.orders VALUES (?, ?)", i, fmt.Sprintf("order %d", i))
		mustExec(t, pdb, "INSERT INTO shop.items VALUES (?, ?)", i, i*10)
		mustExec(t, pdb, "INSERT INTO shop.tmp_cart VALUES (?, ?)", i, i%7)
		mustExec(t, pdb, "INSERT INTO crm.customers VALUES (?, ?)", i, fmt.Sprintf("c%d", i))
		mustExec(t, pdb, "INSERT INTO junk.t VALUES (?)", i)
		mustExec(t, pdb, "INSERT INTO src.t VALUES (?, ?)", i, i*i)
		tx, err := pdb.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"UPDATE shop.orders SET note = CONCAT(note, '+') WHERE id = ?",
			"UPDATE shop.items SET qty = qty + 1 WHERE id = ?",
			"UPDATE shop.tmp_cart SET n = n + 1 WHERE id = ?",
			"UPDATE junk.t SET id = id + 100000 WHERE id = ?",
			"UPDATE src.t SET v = v + 1 WHERE id = ?",
		} {
			if _, err := tx.Exec(q, i); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			mustExec(t, pdb, "DELETE FROM crm.customers WHERE id = ?", i-1)
			mustExec(t, pdb, "DELETE FROM shop.tmp_cart WHERE id = ?", i-2)
		}
	}
}

func filterTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('shop', 'crm', 'junk', 'src', 'dst') ORDER BY 1, 2")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, s+"."+n)
	}
	return out
}

func sameGTIDs(t *testing.T, p, r *sql.DB, name string) {
	t.Helper()
	pg, rg := queryString(t, p, "SELECT @@GLOBAL.gtid_executed"), queryString(t, r, "SELECT @@GLOBAL.gtid_executed")
	if pg != rg {
		t.Errorf("%s: gtid_executed %q, primary %q", name, rg, pg)
	}
}

func conn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func connExec(t *testing.T, c *sql.Conn, q string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestFilters runs a primary with several databases under a row-based write load, plus a few
// statement-based statements, and two filtered replicas:
//
//   - A, filtered by server options: --replicate-ignore-db=junk
//     --replicate-wild-ignore-table=shop.tmp%;
//   - B, filtered by CHANGE REPLICATION FILTER: REPLICATE_DO_DB = (shop, dst),
//     REPLICATE_IGNORE_TABLE = (shop.items), REPLICATE_REWRITE_DB = ((src, dst)); then, in a
//     second phase, REPLICATE_WILD_IGNORE_TABLE = ('shop.ord%') too;
//   - C, filtered by CHANGE REPLICATION FILTER at table level only: REPLICATE_DO_TABLE =
//     (src.t), REPLICATE_WILD_DO_TABLE = ('crm.%', 'shop.i%').
//
// Filtered tables and rows are absent, everything else is identical, and each replica's
// gtid_executed equals the primary's: filtered transactions are committed empty.
func TestFilters(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	a := startNode(t, "", "--server-id", "2", "--replicate-ignore-db=junk", "--replicate-wild-ignore-table=shop.tmp%")
	b := startNode(t, "", "--server-id", "3")
	c := startNode(t, "", "--server-id", "4")
	pdb, adb, bdb, cdb := p.db(""), a.db(""), b.db(""), c.db("")
	createReplUser(t, pdb)

	// B: the rewrite target exists, made without a GTID of B's own; filters set before start.
	bc := conn(t, bdb)
	connExec(t, bc, "SET SESSION sql_log_bin = 0")
	connExec(t, bc, "CREATE DATABASE dst")
	connExec(t, bc, "SET SESSION sql_log_bin = 1")
	mustExec(t, bdb, "CHANGE REPLICATION FILTER REPLICATE_DO_DB = (shop, `dst`), REPLICATE_IGNORE_TABLE = (shop.items), REPLICATE_REWRITE_DB = ((src, dst))")
	mustExec(t, cdb, "CHANGE REPLICATION FILTER REPLICATE_DO_TABLE = (src.t), REPLICATE_WILD_DO_TABLE = ('crm.%', 'shop.i%')")
	replicaOf(t, a, p, "")
	replicaOf(t, b, p, "")
	replicaOf(t, c, p, "")

	// Schema, with default databases (as a client with USE), so that rewrite-db applies to the
	// DDL of src.
	for _, s := range []struct{ db, ddl string }{
		{"", "CREATE DATABASE shop"}, {"", "CREATE DATABASE crm"}, {"", "CREATE DATABASE junk"}, {"", "CREATE DATABASE src"},
		{"shop", "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(200))"},
		{"shop", "CREATE TABLE items (id INT PRIMARY KEY, qty INT)"},
		{"shop", "CREATE TABLE tmp_cart (id INT PRIMARY KEY, n INT)"},
		{"crm", "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50))"},
		{"junk", "CREATE TABLE t (id INT PRIMARY KEY)"},
		{"src", "CREATE TABLE t (id INT PRIMARY KEY, v BIGINT)"},
	} {
		c := conn(t, pdb)
		if s.db != "" {
			connExec(t, c, "USE "+s.db)
		}
		connExec(t, c, s.ddl)
		c.Close()
	}
	filterLoad(t, pdb, 1, 40)

	// Statement-based statements, with and without a default database.
	sc := conn(t, p.db("")) // a fresh pool: no connection has a default database yet
	connExec(t, sc, "SET SESSION binlog_format = 'STATEMENT'")
	connExec(t, sc, "INSERT INTO shop.tmp_cart VALUES (1000, 1)") // no default database
	connExec(t, sc, "USE shop")
	connExec(t, sc, "INSERT INTO items VALUES (1000, 1)") // B: ignore-table
	connExec(t, sc, "UPDATE orders SET note = 'stmt' WHERE id <= 3")
	connExec(t, sc, "USE src")
	connExec(t, sc, "INSERT INTO t VALUES (1000, 7)") // B: rewritten to dst
	connExec(t, sc, "UPDATE t SET v = v * 2 WHERE id < 10")
	connExec(t, sc, "USE crm")
	connExec(t, sc, "INSERT INTO customers VALUES (1000, 'stmt')")
	// Judged by the default database crm: B (do-db shop) skips it although it writes shop.
	connExec(t, sc, "INSERT INTO shop.orders VALUES (1000, 'from crm')")

	waitCaughtUp(t, pdb, adb, 60*time.Second)
	waitCaughtUp(t, pdb, bdb, 60*time.Second)
	if n := queryString(t, adb, "SELECT COUNT(*) FROM shop.orders WHERE id = 1000"); n != "1" {
		t.Errorf("A: the statement with default database crm was not applied (%s rows)", n)
	}
	if n := queryString(t, bdb, "SELECT COUNT(*) FROM shop.orders WHERE id = 1000"); n != "0" {
		t.Errorf("B: the statement with default database crm was applied (%s rows)", n)
	}
	if n := queryString(t, bdb, "SELECT COUNT(*) FROM shop.tmp_cart WHERE id = 1000"); n != "0" {
		t.Errorf("B: the statement without a default database was applied (%s rows)", n)
	}
	// Back in step (B applies these: default database shop).
	connExec(t, sc, "USE shop")
	connExec(t, sc, "DELETE FROM orders WHERE id = 1000")
	connExec(t, sc, "DELETE FROM tmp_cart WHERE id = 1000")

	// Phase 2 on B: the applier must be stopped to change filters (3017).
	err := func() error {
		_, err := bdb.Exec("CHANGE REPLICATION FILTER REPLICATE_WILD_IGNORE_TABLE = ('shop.ord%')")
		return err
	}()
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 3017 {
		t.Fatalf("CHANGE REPLICATION FILTER with the applier running: %v, want error 3017", err)
	}
	waitCaughtUp(t, pdb, bdb, 60*time.Second)
	ordersAtSwitch := dumpTables(t, pdb, "shop.orders")
	mustExec(t, bdb, "STOP REPLICA SQL_THREAD")
	mustExec(t, bdb, "CHANGE REPLICATION FILTER REPLICATE_WILD_IGNORE_TABLE = ('shop.ord%')")
	mustExec(t, bdb, "START REPLICA SQL_THREAD")
	filterLoad(t, pdb, 41, 20)
	connExec(t, sc, "INSERT INTO orders VALUES (2000, 'stmt after switch')")
	connExec(t, sc, "INSERT INTO tmp_cart VALUES (2000, 2)")

	waitCaughtUp(t, pdb, adb, 60*time.Second)
	waitCaughtUp(t, pdb, bdb, 60*time.Second)
	waitCaughtUp(t, pdb, cdb, 60*time.Second)

	// C: databases are created (no table named), only the tables matched are.
	if got, want := strings.Join(filterTables(t, cdb), " "), "crm.customers shop.items src.t"; got != want {
		t.Errorf("C's tables: %s, want %s", got, want)
	}
	if got, want := dumpTables(t, cdb, "crm.customers", "shop.items", "src.t"), dumpTables(t, pdb, "crm.customers", "shop.items", "src.t"); got != want {
		t.Errorf("C differs from the primary:\n%s\nprimary:\n%s", got, want)
	}
	sameGTIDs(t, pdb, cdb, "C")
	if cs := replicaStatus(t, cdb); cs["Replicate_Do_Table"] != "src.t" || cs["Replicate_Wild_Do_Table"] != "crm.%,shop.i%" || cs["Last_SQL_Errno"] != "0" {
		t.Errorf("C: Replicate_Do_Table %q, Replicate_Wild_Do_Table %q, Last_SQL_Errno %s", cs["Replicate_Do_Table"], cs["Replicate_Wild_Do_Table"], cs["Last_SQL_Errno"])
	}
	c.stop()

	// A: junk and shop.tmp_cart absent, the rest identical.
	if got, want := strings.Join(filterTables(t, adb), " "), "crm.customers shop.items shop.orders src.t"; got != want {
		t.Errorf("A's tables: %s, want %s", got, want)
	}
	kept := []string{"crm.customers", "shop.items", "shop.orders", "src.t"}
	if got, want := dumpTables(t, adb, kept...), dumpTables(t, pdb, kept...); got != want {
		t.Errorf("A differs from the primary:\n%s\nprimary:\n%s", got, want)
	}
	// B: shop (without items) and src as dst; orders stopped at the switch.
	if got, want := strings.Join(filterTables(t, bdb), " "), "dst.t shop.orders shop.tmp_cart"; got != want {
		t.Errorf("B's tables: %s, want %s", got, want)
	}
	if got, want := dumpTables(t, bdb, "shop.tmp_cart"), dumpTables(t, pdb, "shop.tmp_cart"); got != want {
		t.Errorf("B's shop.tmp_cart differs:\n%s\nprimary:\n%s", got, want)
	}
	if got, want := strings.Replace(dumpTables(t, bdb, "dst.t"), "-- dst.t", "-- src.t", 1), dumpTables(t, pdb, "src.t"); got != want {
		t.Errorf("B's dst.t differs from the primary's src.t:\n%s\nprimary:\n%s", got, want)
	}
	if got := dumpTables(t, bdb, "shop.orders"); got != ordersAtSwitch {
		t.Errorf("B's shop.orders changed after REPLICATE_WILD_IGNORE_TABLE:\n%s\nat the switch:\n%s", got, ordersAtSwitch)
	}
	if ordersAtSwitch == dumpTables(t, pdb, "shop.orders") {
		t.Error("the primary's shop.orders did not change after the switch")
	}

	sameGTIDs(t, pdb, adb, "A")
	sameGTIDs(t, pdb, bdb, "B")
	as, bs := replicaStatus(t, adb), replicaStatus(t, bdb)
	for _, c := range []struct {
		st        map[string]string
		col, want string
	}{
		{as, "Replicate_Ignore_DB", "junk"},
		{as, "Replicate_Wild_Ignore_Table", "shop.tmp%"},
		{as, "Replicate_Do_DB", ""},
		{bs, "Replicate_Do_DB", "shop,dst"},
		{bs, "Replicate_Ignore_Table", "shop.items"},
		{bs, "Replicate_Wild_Ignore_Table", "shop.ord%"},
		{bs, "Replicate_Rewrite_DB", "(src,dst)"},
		{as, "Last_SQL_Errno", "0"},
		{bs, "Last_SQL_Errno", "0"},
	} {
		if c.st[c.col] != c.want {
			t.Errorf("%s = %q, want %q", c.col, c.st[c.col], c.want)
		}
	}
	t.Logf("A: %s=%s %s=%s; B: %s=%s %s=%s %s=%s %s=%s", "Replicate_Ignore_DB", as["Replicate_Ignore_DB"], "Replicate_Wild_Ignore_Table", as["Replicate_Wild_Ignore_Table"],
		"Replicate_Do_DB", bs["Replicate_Do_DB"], "Replicate_Ignore_Table", bs["Replicate_Ignore_Table"], "Replicate_Wild_Ignore_Table", bs["Replicate_Wild_Ignore_Table"], "Replicate_Rewrite_DB", bs["Replicate_Rewrite_DB"])
	t.Logf("gtid_executed: primary %s, A %s, B %s", queryString(t, pdb, "SELECT @@GLOBAL.gtid_executed"),
		queryString(t, adb, "SELECT @@GLOBAL.gtid_executed"), queryString(t, bdb, "SELECT @@GLOBAL.gtid_executed"))

	// The filters survive a restart of B (persisted), and a restart of A keeps its options; both
	// go on replicating with auto-position from their gtid_executed.
	b.stop()
	b.restart("--server-id", "3")
	a.stop()
	a.restart("--server-id", "2", "--replicate-ignore-db=junk", "--replicate-wild-ignore-table=shop.tmp%")
	filterLoad(t, pdb, 61, 5)
	waitCaughtUp(t, pdb, adb, 60*time.Second)
	waitCaughtUp(t, pdb, bdb, 60*time.Second)
	sameGTIDs(t, pdb, adb, "A after restart")
	sameGTIDs(t, pdb, bdb, "B after restart")
	if got := replicaStatus(t, bdb)["Replicate_Rewrite_DB"]; got != "(src,dst)" {
		t.Errorf("B after restart: Replicate_Rewrite_DB %q", got)
	}
	if got, want := dumpTables(t, adb, kept...), dumpTables(t, pdb, kept...); got != want {
		t.Errorf("A differs from the primary after restart")
	}
	if got, want := strings.Replace(dumpTables(t, bdb, "dst.t"), "-- dst.t", "-- src.t", 1), dumpTables(t, pdb, "src.t"); got != want {
		t.Errorf("B's dst.t differs from the primary's src.t after restart")
	}
}

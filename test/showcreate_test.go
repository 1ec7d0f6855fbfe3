package test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/relaydb/relaydb/test/mariadb"
)

// showCreateRow runs a SHOW CREATE statement and returns its row as strings.
func showCreateRow(t *testing.T, c *sql.Conn, q string) []string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	got, err := scanNullStrings(rows)
	if err != nil || len(got) != 1 {
		t.Fatalf("%s: %v %v", q, got, err)
	}
	out := make([]string, len(got[0]))
	for i, v := range got[0] {
		out[i] = v.String
	}
	return out
}

// TestShowCreateAsMariaDBLoadsIt runs the same DDL on RelayDB and MariaDB, then checks what
// mariadb-dump reads back from RelayDB: SHOW CREATE TABLE that MariaDB accepts with the same
// defaults (ENUM and SET defaults by value, YEAR(4) accepted), and SHOW CREATE TRIGGER /
// PROCEDURE / FUNCTION / VIEW whose character sets and Database Collation are the ones recorded
// at creation and the database's, as MariaDB prints them.
func TestShowCreateAsMariaDBLoadsIt(t *testing.T) {
	m := mariadb.Start(t)
	n := startNode(t, "")
	ctx := context.Background()
	conns := map[string]*sql.Conn{}
	for name, dsn := range map[string]string{"MariaDB": m.DSN(""), "RelayDB": ""} {
		var db *sql.DB
		if dsn == "" {
			db = n.db("")
		} else {
			var err error
			if db, err = sql.Open("mysql", dsn); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
		}
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[name] = c
		for _, q := range []string{
			"CREATE DATABASE sc CHARACTER SET latin1 COLLATE latin1_swedish_ci",
			"USE sc",
			"CREATE TABLE t (id INT PRIMARY KEY, yr YEAR(4) DEFAULT 2001, e ENUM('a','b''c','d') NOT NULL DEFAULT 'b''c', " +
				"e2 ENUM('3','1','2') DEFAULT '1', st SET('x','y','z') DEFAULT 'x,z', st0 SET('x','y') NOT NULL DEFAULT '', " +
				"ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), dt DATETIME DEFAULT NOW(), " +
				"b BIT(3) DEFAULT b'101', j JSON, v VARCHAR(10) DEFAULT (concat('a', 'b')), d DECIMAL(5,2) DEFAULT -1.5, " +
				"c CHAR(3) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT 'x', f FLOAT DEFAULT 1.5, bn BINARY(2) DEFAULT 'ab', " +
				"g INT AS (id * 2) STORED, KEY kv (v(5)), UNIQUE KEY uc (c))",
			"SET NAMES utf8mb3",
			// As mariadb-dump writes it.
			"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.yr = COALESCE(NEW.yr, 1999) */",
			"CREATE PROCEDURE p() SELECT 1",
			"CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1",
			"CREATE VIEW v AS SELECT id, e FROM t",
			"SET NAMES utf8mb4",
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %s: %v", name, q, err)
			}
		}
	}
	relay, maria := conns["RelayDB"], conns["MariaDB"]

	// The table as RelayDB prints it is accepted by MariaDB and has the same defaults.
	create := showCreateRow(t, relay, "SHOW CREATE TABLE t")[1]
	for _, want := range []string{"DEFAULT 'b''c'", "DEFAULT '1'", "DEFAULT 'x,z'", "DEFAULT ''", "`yr` year DEFAULT '2001'"} {
		if !strings.Contains(create, want) {
			t.Errorf("SHOW CREATE TABLE lacks %q:\n%s", want, create)
		}
	}
	mustConnExec(t, maria, "CREATE TABLE t_from_relaydb"+strings.TrimPrefix(create, "CREATE TABLE `t`"))
	mustConnExec(t, maria, "INSERT INTO t (id) VALUES (1)")
	mustConnExec(t, maria, "INSERT INTO t_from_relaydb (id) VALUES (1)")
	mustConnExec(t, relay, "INSERT INTO t (id) VALUES (1)")
	// MariaDB reads RelayDB's text as the table the DDL made (its own SHOW CREATE TABLE of both).
	own := showCreateRow(t, maria, "SHOW CREATE TABLE t")[1]
	fromRelay := showCreateRow(t, maria, "SHOW CREATE TABLE t_from_relaydb")[1]
	if strings.Replace(fromRelay, "`t_from_relaydb`", "`t`", 1) != own {
		t.Errorf("MariaDB's table from RelayDB's SHOW CREATE TABLE:\n%s\nfrom the DDL:\n%s", fromRelay, own)
	}
	q := "SELECT id, yr, e, e2, st, st0, ts <> 0, dt IS NOT NULL, b + 0, j, v, d, c, f, HEX(bn), g FROM "
	want := showCreateRow(t, maria, q+"t")
	for what, got := range map[string][]string{"MariaDB, from RelayDB's text": showCreateRow(t, maria, q+"t_from_relaydb"), "RelayDB": showCreateRow(t, relay, q+"t")} {
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("defaults in %s: %q, MariaDB: %q", what, got, want)
		}
	}

	// Name, character_set_client, collation_connection and Database Collation as MariaDB
	// prints them (the sql_mode and the text may differ).
	for _, c := range []struct {
		q    string
		cols []int
	}{
		{"SHOW CREATE TRIGGER t_bi", []int{0, 3, 4, 5}},
		{"SHOW CREATE PROCEDURE p", []int{0, 3, 4, 5}},
		{"SHOW CREATE FUNCTION f", []int{0, 3, 4, 5}},
		{"SHOW CREATE VIEW v", []int{0, 2, 3}},
		{"SHOW CREATE TABLE v", []int{0, 2, 3}},
	} {
		r, mr := showCreateRow(t, relay, c.q), showCreateRow(t, maria, c.q)
		for _, i := range c.cols {
			if i >= len(r) || r[i] != mr[i] {
				t.Errorf("%s: RelayDB %q, MariaDB %q (column %d)", c.q, r, mr, i)
				break
			}
		}
	}
	// The trigger's text is the statement as run, without executable-comment markers, as
	// MariaDB prints it.
	if stmt := showCreateRow(t, relay, "SHOW CREATE TRIGGER t_bi")[2]; strings.Contains(stmt, "/*") || !strings.Contains(stmt, "TRIGGER t_bi BEFORE INSERT") {
		t.Errorf("SHOW CREATE TRIGGER statement: %q", stmt)
	}
}

func mustConnExec(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

package test

import (
	"testing"
)

// TestInsertIgnoreTruncatesBinaryLiteral: INSERT IGNORE of a hex literal too long for a VARCHAR
// column is truncated with a warning, as in MySQL. GMS asserted the value was a string and
// panicked, closing the connection (found by the fast-path differential test).
func TestInsertIgnoreTruncatesBinaryLiteral(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	db.SetMaxOpenConns(1)
	for _, s := range []string{
		"CREATE DATABASE ig",
		"CREATE TABLE ig.t (id INT PRIMARY KEY, c VARCHAR(4), b VARBINARY(4))",
		"INSERT IGNORE INTO ig.t (id, c) VALUES (1, X'616263646566')",
		"INSERT IGNORE INTO ig.t VALUES (2, X'6768696A6B', X'01020304050607')",
		"INSERT IGNORE INTO ig.t (c, id) VALUES (X'7A7A', 3)",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	got := map[int]string{}
	rows, err := db.Query("SELECT id, c, HEX(b) FROM ig.t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var c string
		var b *string
		if err := rows.Scan(&id, &c, &b); err != nil {
			t.Fatal(err)
		}
		if b != nil {
			c += "|" + *b
		}
		got[id] = c
	}
	want := map[int]string{1: "abcd", 2: "ghij|01020304", 3: "zz"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("row %d: got %q, want %q", id, got[id], w)
		}
	}
}

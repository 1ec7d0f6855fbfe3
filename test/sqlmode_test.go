package test

import (
	"context"
	"testing"
)

// TestSQLModeTakesEffect sets sql_mode by name and by MySQL's number and checks that the
// modes read back as names and change behaviour (NO_AUTO_VALUE_ON_ZERO keeps an explicit 0 in
// an auto-increment column; without it 0 generates a value).
func TestSQLModeTakesEffect(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	read := func() string {
		var m string
		if err := c.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, q := range []string{"SET SESSION sql_mode = ''", "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'", "SET SESSION sql_mode = 524288"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		want := map[string]string{"SET SESSION sql_mode = ''": "", "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'": "NO_AUTO_VALUE_ON_ZERO", "SET SESSION sql_mode = 524288": "NO_AUTO_VALUE_ON_ZERO"}[q]
		if got := read(); got != want {
			t.Fatalf("after %s: @@sql_mode = %q, want %q", q, got, want)
		}
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO d.t VALUES (0, 1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET SESSION sql_mode = DEFAULT"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO d.t VALUES (0, 2)"); err != nil {
		t.Fatal(err)
	}
	var ids string
	if err := db.QueryRow("SELECT GROUP_CONCAT(id ORDER BY v) FROM d.t").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "0,1" {
		t.Fatalf("ids %s: want 0 kept under NO_AUTO_VALUE_ON_ZERO, then 1 generated for 0", ids)
	}
	if read() == "" {
		t.Fatal("DEFAULT sql_mode reads back empty")
	}
	t.Logf("sql_mode by name and number reads back as names; NO_AUTO_VALUE_ON_ZERO kept id 0, default mode generated %s", ids)
}

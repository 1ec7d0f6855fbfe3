package test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// TestTextFastPathLearnsOncePerServer checks the text-protocol fast path's reuse: a statement's
// digest is learned at the server's second sighting of it, after which a text with the same
// digest and other literals runs on the fast path on any connection — a new connection's first
// execution included, result metadata and all — and a connection under another sql_mode learns
// it afresh. It runs in the mariadb client's way: COM_QUERY with literals in the text.
func TestTextFastPathLearnsOncePerServer(t *testing.T) {
	n := startNode(t, "")
	admin := n.db("")
	mustExec(t, admin, "CREATE DATABASE tf")
	mustExec(t, admin, "CREATE TABLE tf.t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20))")
	mustExec(t, admin, "INSERT INTO tf.t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three')")

	conn := func() *sql.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := n.db("tf").Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// selectC runs SELECT c … WHERE id = <id> as text and returns c, and whether the fast path
	// ran it.
	selectC := func(c *sql.Conn, id int) (string, bool) {
		t.Helper()
		before := fastExecutions(t, admin)
		var v string
		if err := c.QueryRowContext(context.Background(), fmt.Sprintf("SELECT c FROM t WHERE id = %d", id)).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v, fastExecutions(t, admin) == before+1
	}

	a := conn()
	for i, want := range []struct {
		c    string
		fast bool
	}{
		{"one", false},  // first sighting: general path
		{"two", false},  // second: learned, the general path's result metadata kept
		{"three", true}, // the digest runs on the fast path
		{"one", true},
	} {
		got, fast := selectC(a, i%3+1)
		if got != want.c || fast != want.fast {
			t.Fatalf("execution %d on the first connection: c = %q fast = %v, want %q %v", i+1, got, fast, want.c, want.fast)
		}
	}
	// Another connection profits from what the server learned, from its first execution.
	if got, fast := selectC(conn(), 2); got != "two" || !fast {
		t.Fatalf("a new connection's first execution: c = %q fast = %v, want \"two\" on the fast path", got, fast)
	}
	// A write of one shape with other literals: on the fast path from its second sighting (it
	// needs no result metadata).
	w := conn()
	for i := 0; i < 3; i++ {
		before := fastExecutions(t, admin)
		if _, err := w.ExecContext(context.Background(), fmt.Sprintf("UPDATE t SET k = k + %d WHERE id = %d", i+1, i+1)); err != nil {
			t.Fatal(err)
		}
		if fast := fastExecutions(t, admin) == before+1; fast != (i >= 1) {
			t.Fatalf("UPDATE execution %d: fast = %v", i+1, fast)
		}
	}
	var k int
	if err := admin.QueryRow("SELECT k FROM tf.t WHERE id = 3").Scan(&k); err != nil || k != 33 {
		t.Fatalf("k of row 3 after the fast UPDATE: %d, %v (want 33)", k, err)
	}
	// Under another sql_mode the digest is learned again: "…" is no longer a string there.
	q := conn()
	if _, err := q.ExecContext(context.Background(), "SET SESSION sql_mode = 'ANSI_QUOTES'"); err != nil {
		t.Fatal(err)
	}
	if _, fast := selectC(q, 1); fast {
		t.Fatal("the first execution under ANSI_QUOTES ran on the fast path: the digest was not learned again for the new sql_mode")
	}
}

package test

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// txnConn is one client connection kept for a whole transaction (database/sql would otherwise
// spread BEGIN, the statements and ROLLBACK over pooled connections).
type txnConn struct {
	t *testing.T
	c *sql.Conn
}

func openTxnConn(t *testing.T, db *sql.DB) *txnConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &txnConn{t: t, c: c}
}

// exec runs q and returns its error; rows a statement returns are read and dropped.
func (tc *txnConn) exec(q string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := tc.c.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

func (tc *txnConn) must(q string) {
	tc.t.Helper()
	if err := tc.exec(q); err != nil {
		tc.t.Fatalf("%s: %v", q, err)
	}
}

func countRows(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Reading a view inside a transaction leaves the transaction alone: another session does not
// see its uncommitted row, the savepoint still exists, and ROLLBACK undoes the insert. (GMS
// marked the statement as DDL while it bound the view's stored CREATE VIEW, and DDL commits
// implicitly.)
func TestSelectFromViewKeepsTransaction(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE vw")
	other := n.db("vw")
	mustExec(t, other, "CREATE TABLE t (id INT PRIMARY KEY)")
	mustExec(t, other, "CREATE VIEW v AS SELECT id FROM t")

	a := openTxnConn(t, n.db("vw"))
	a.must("BEGIN")
	a.must("INSERT INTO t VALUES (1)")
	a.must("SAVEPOINT sp")
	a.must("SELECT * FROM v")
	if got := countRows(t, other, "SELECT COUNT(*) FROM t"); got != 0 {
		t.Errorf("after SELECT from a view, another session sees %d uncommitted row(s): the transaction was committed", got)
	}
	if err := a.exec("ROLLBACK TO SAVEPOINT sp"); err != nil {
		t.Errorf("ROLLBACK TO SAVEPOINT after SELECT from a view: %v", err)
	}
	a.must("ROLLBACK")
	if got := countRows(t, other, "SELECT COUNT(*) FROM t"); got != 0 {
		t.Errorf("ROLLBACK after SELECT from a view left %d row(s)", got)
	}
}

package test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Autocommit writers of one hot row all succeed: a statement that loses the race for the row is
// rerun by the server (as InnoDB would wait and write the newest version), so no increment is
// lost and no 1213 reaches the client. Inside an explicit transaction the conflict is the
// client's to retry, and the final count still adds up.
func TestAutocommitWriteRaceIsRetried(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE race")
	mustExec(t, db, "CREATE TABLE race.c (id INT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO race.c VALUES (1, 0)")
	db.SetMaxOpenConns(8)

	const writers, each = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := db.ExecContext(ctx, "UPDATE race.c SET v = v + 1 WHERE id = 1")
				cancel()
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("autocommit increment failed: %v", err)
	}
	var v int
	if err := db.QueryRow("SELECT v FROM race.c WHERE id = 1").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != writers*each {
		t.Fatalf("v = %d after %d increments", v, writers*each)
	}
}

// A statement that fails in autocommit mode leaves no transaction behind: the connection's next
// statement reads current data, not the failed statement's snapshot.
func TestFailedAutocommitStatementEndsItsTransaction(t *testing.T) {
	n := startNode(t, "")
	a := n.db("")
	a.SetMaxOpenConns(1) // one connection, so both statements share a session
	b := n.db("")
	mustExec(t, a, "CREATE DATABASE f")
	mustExec(t, a, "CREATE TABLE f.t (id INT PRIMARY KEY, v INT)")
	mustExec(t, a, "INSERT INTO f.t VALUES (1, 1)")
	if _, err := a.Exec("INSERT INTO f.t VALUES (1, 2)"); err == nil {
		t.Fatal("duplicate key accepted")
	}
	mustExec(t, b, "UPDATE f.t SET v = 5 WHERE id = 1")
	var v int
	if err := a.QueryRow("SELECT v FROM f.t WHERE id = 1").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 5 {
		t.Fatalf("after a failed autocommit statement the session read v = %d, want 5 (a stale snapshot)", v)
	}
	mustExec(t, a, "UPDATE f.t SET v = v + 1 WHERE id = 1") // no stale-write conflict either
}

// Inside an explicit transaction a row changed after the transaction's snapshot is written as
// InnoDB writes it: the UPDATE reads the newest committed version (a current read), so the other
// session's change is kept, while plain reads before the write still saw the snapshot.
func TestExplicitTransactionWritesNewestVersion(t *testing.T) {
	n := startNode(t, "")
	a := n.db("")
	b := n.db("")
	mustExec(t, a, "CREATE DATABASE x")
	mustExec(t, a, "CREATE TABLE x.t (id INT PRIMARY KEY, v INT)")
	mustExec(t, a, "INSERT INTO x.t VALUES (1, 1)")
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRow("SELECT v FROM x.t WHERE id = 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("snapshot read: %d, %v", v, err)
	}
	mustExec(t, b, "UPDATE x.t SET v = 10 WHERE id = 1")
	if err := tx.QueryRow("SELECT v FROM x.t WHERE id = 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("repeatable read after another commit: %d, %v", v, err)
	}
	if _, err := tx.Exec("UPDATE x.t SET v = v + 1 WHERE id = 1"); err != nil {
		t.Fatalf("update of a row changed after the snapshot: %v", err)
	}
	if err := tx.QueryRow("SELECT v FROM x.t WHERE id = 1").Scan(&v); err != nil || v != 11 {
		t.Fatalf("after the current-read update: %d, %v; want 11", v, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow("SELECT v FROM x.t WHERE id = 1").Scan(&v); err != nil || v != 11 {
		t.Fatalf("committed: %d, %v; want 11 (no lost update)", v, err)
	}
}

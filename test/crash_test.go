package test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestCrashKeepsAcknowledgedCommits kills the server with SIGKILL while writers commit
// transactions of three rows each, restarts it, and checks that every acknowledged transaction
// is there in full and that no transaction is there in part.
func TestCrashKeepsAcknowledgedCommits(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 2
	}
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE crash")
	mustExec(t, db, "CREATE TABLE crash.t (writer INT, seq INT, part INT, round INT, PRIMARY KEY (writer, seq, part))")
	db.Close()

	acked := map[[2]int]bool{} // (writer, seq) acknowledged, across rounds
	seqBase := 0
	for round := 0; round < rounds; round++ {
		db := n.db("crash")
		db.SetMaxOpenConns(8)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		const writers = 4
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for seq := seqBase; ; seq++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := commitThreeRows(db, w, seq, round); err != nil {
						if isRetryable(err) {
							continue
						}
						return // the server died under us: stop writing
					}
					mu.Lock()
					acked[[2]int{w, seq}] = true
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rand.Intn(1200)) * time.Millisecond)
		n.kill()
		close(stop)
		wg.Wait()
		db.Close()
		seqBase += 1_000_000

		n.restart()
		db = n.db("crash")
		present := map[[2]int]int{}
		rows, err := db.Query("SELECT writer, seq, COUNT(*) FROM t GROUP BY writer, seq")
		if err != nil {
			t.Fatalf("round %d: read after restart: %v", round, err)
		}
		for rows.Next() {
			var w, s, c int
			if err := rows.Scan(&w, &s, &c); err != nil {
				t.Fatal(err)
			}
			present[[2]int{w, s}] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		missing, partial := 0, 0
		for k := range acked {
			if present[k] != 3 {
				missing++
				if missing <= 5 {
					t.Errorf("round %d: acknowledged transaction writer=%d seq=%d has %d of 3 rows", round, k[0], k[1], present[k])
				}
			}
		}
		for k, c := range present {
			if c != 3 {
				partial++
				if partial <= 5 {
					t.Errorf("round %d: transaction writer=%d seq=%d is partly present (%d of 3 rows)", round, k[0], k[1], c)
				}
			}
		}
		t.Logf("round %d: %d acknowledged transactions so far, %d present after crash, %d missing, %d partial",
			round, len(acked), len(present), missing, partial)
		if missing > 0 || partial > 0 {
			t.Fatalf("round %d: durability violated; server log:\n%s", round, n.log())
		}
		db.Close()
	}
}

func commitThreeRows(db *sql.DB, w, seq, round int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for part := 0; part < 3; part++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?, ?)", w, seq, part, round); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func isRetryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

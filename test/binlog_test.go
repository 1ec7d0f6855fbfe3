package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// binlogGTIDs reads every binlog file the index of dir lists and returns the GTIDs they hold
// (the first file's PREVIOUS_GTIDS plus every complete transaction's GTID).
func binlogGTIDs(t *testing.T, dir string) gtid.Set {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, "binlog.index"))
	if err != nil {
		t.Fatal(err)
	}
	var set gtid.Set
	for i, name := range strings.Fields(string(idx)) {
		path := filepath.Join(dir, filepath.Base(name))
		if i == 0 {
			prev, err := binlog.ReadPreviousGTIDs(path)
			if err != nil {
				t.Fatal(err)
			}
			set.AddSet(prev)
		}
		r, err := binlog.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for {
			tx, err := r.NextTransaction()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if err := set.Add(tx.GTID); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
	}
	return set
}

// dumpTables returns every row of the given tables, ordered by primary key, as text.
func dumpTables(t *testing.T, db *sql.DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range tables {
		rows, err := db.Query("SELECT * FROM " + tbl + " ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if v == nil {
					b.WriteString("NULL|")
				} else {
					b.WriteString(string(v) + "|")
				}
			}
			b.WriteByte('\n')
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		fmt.Fprintf(&b, "-- %s: %d rows\n", tbl, n)
	}
	return b.String()
}

func queryString(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// copyBinlog copies the binlog files and index of src into a new datadir.
func copyBinlog(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(src, "binlog.*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// createBank creates the bank database the workload below uses: 200 accounts of 1000 and an
// empty log of moves.
func createBank(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "CREATE DATABASE bank")
	mustExec(t, db, "CREATE TABLE bank.acct (id INT PRIMARY KEY, balance BIGINT NOT NULL, note VARCHAR(64), KEY (balance))")
	mustExec(t, db, "CREATE TABLE bank.moves (id BIGINT AUTO_INCREMENT PRIMARY KEY, tag INT, w INT, seq INT, amount INT, UNIQUE KEY (tag, w, seq))")
	for i := 0; i < 200; i++ {
		mustExec(t, db, "INSERT INTO bank.acct VALUES (?, 1000, NULL)", i)
	}
}

// bankWorkload runs writers that move money between accounts and log each move, until stop.
func bankWorkload(db *sql.DB, writers int, stop <-chan struct{}, acked *sync.Map, tag int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(tag*100 + w)))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				from, to, amt := r.Intn(200), r.Intn(200), 1+r.Intn(50)
				err := transfer(db, from, to, amt, w, seq, tag)
				if err != nil {
					if isRetryable(err) {
						continue
					}
					return // the server died
				}
				acked.Store([3]int{tag, w, seq}, true)
			}
		}(w)
	}
	return &wg
}

func transfer(db *sql.DB, from, to, amt, w, seq, tag int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{"UPDATE acct SET balance = balance - ? WHERE id = ?", []any{amt, from}},
		{"UPDATE acct SET balance = balance + ?, note = ? WHERE id = ?", []any{amt, fmt.Sprintf("from %d ✓", from), to}},
		{"INSERT INTO moves (tag, w, seq, amount) VALUES (?, ?, ?, ?)", []any{tag, w, seq, amt}},
	}
	if seq%10 == 9 {
		stmts = append(stmts, struct {
			q    string
			args []any
		}{"DELETE FROM moves WHERE tag = ? AND w = ? AND seq = ?", []any{tag, w, seq - 5}})
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// TestBinlogCrashConsistency kills the server under an 8-writer load and checks, after each
// restart, that gtid_executed is exactly the set of GTIDs in the binlog, that every
// acknowledged transaction is there, and that a server given only the binlog files (replaying
// them from empty) ends with the same tables.
func TestBinlogCrashConsistency(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 2
	}
	n := startNode(t, "")
	db := n.db("")
	createBank(t, db)
	db.Close()

	var acked sync.Map
	for round := 0; round < rounds; round++ {
		db := n.db("bank")
		db.SetMaxOpenConns(8)
		stop := make(chan struct{})
		wg := bankWorkload(db, 8, stop, &acked, round)
		time.Sleep(time.Duration(300+rand.Intn(1200)) * time.Millisecond)
		n.kill()
		close(stop)
		wg.Wait()
		db.Close()

		n.restart()
		db = n.db("bank")
		executed := queryString(t, db, "SELECT @@GLOBAL.gtid_executed")
		logged := binlogGTIDs(t, n.dataDir)
		if executed != logged.String() {
			t.Fatalf("round %d: gtid_executed %s differs from the binlog's GTIDs %s; log:\n%s", round, executed, logged, n.log())
		}
		var sum, missing int
		if err := db.QueryRow("SELECT SUM(balance) FROM acct").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if sum != 200*1000 {
			t.Fatalf("round %d: money is not conserved: total %d", round, sum)
		}
		present := map[[3]int]bool{}
		rows, err := db.Query("SELECT tag, w, seq FROM moves")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k [3]int
			rows.Scan(&k[0], &k[1], &k[2])
			present[k] = true
		}
		rows.Close()
		acked.Range(func(k, _ any) bool {
			key := k.([3]int)
			if !present[key] && key[2]%10 != 4 { // seq%10==4 rows are deleted by seq+5
				missing++
			}
			return true
		})
		if missing > 0 {
			t.Fatalf("round %d: %d acknowledged transactions missing after the crash", round, missing)
		}
		want := dumpTables(t, db, "acct", "moves")
		db.Close()

		// A server that has nothing but the binlog replays it from empty to the same tables.
		replica := startNode(t, copyBinlog(t, n.dataDir))
		rdb := replica.db("bank")
		got := dumpTables(t, rdb, "acct", "moves")
		rexec := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed")
		rdb.Close()
		replica.stop()
		if got != want {
			t.Fatalf("round %d: tables rebuilt from the binlog differ from the crashed server's (%d vs %d bytes)", round, len(got), len(want))
		}
		if rexec != executed {
			t.Fatalf("round %d: replayed gtid_executed %s, want %s", round, rexec, executed)
		}
		t.Logf("round %d: gtid_executed %s = binlog GTIDs; %d acknowledged transactions present; tables equal a replay of the binlog from empty (%d bytes); restarts that replayed a binlog tail so far: %d",
			round, executed, countMap(&acked), len(want), strings.Count(n.log(), "binlog holds transactions the store lacks"))
	}
}

func countMap(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// TestMariaDBBinlogReadsOurFiles has the independent mariadb-binlog read every file the server
// wrote: each must be read with exit status 0 and show BEGIN, Table_map and Xid.
func TestMariaDBBinlogReadsOurFiles(t *testing.T) {
	tool, err := exec.LookPath("mariadb-binlog")
	if err != nil {
		t.Skip("mariadb-binlog not installed (apt-get install mariadb-client)")
	}
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE shop")
	mustExec(t, db, "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2), tags JSON, added DATETIME(3))")
	mustExec(t, db, "INSERT INTO shop.items VALUES (1, 'pen', 1.50, '[\"office\"]', '2026-01-02 03:04:05.678'), (2, 'ink', NULL, NULL, NULL)")
	mustExec(t, db, "UPDATE shop.items SET price = 2.25 WHERE id = 2")
	mustExec(t, db, "DELETE FROM shop.items WHERE id = 1")
	db.Close()
	n.stop()
	files, _ := filepath.Glob(filepath.Join(n.dataDir, "binlog.[0-9]*"))
	if len(files) == 0 {
		t.Fatal("no binlog files written")
	}
	var all strings.Builder
	for _, f := range files {
		out, err := exec.Command(tool, f).CombinedOutput()
		if err != nil {
			t.Fatalf("mariadb-binlog %s: %v\n%s", f, err, out)
		}
		all.Write(out)
	}
	for _, want := range []string{"BEGIN", "Table_map: `shop`.`items`", "Xid =", "CREATE TABLE shop.items", "Write_rows", "Update_rows", "Delete_rows"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("mariadb-binlog output lacks %q", want)
		}
	}
	t.Logf("mariadb-binlog read %d files, exit status 0", len(files))
}

// TestMinimalRowImageReplays logs with binlog_row_image=MINIMAL (before images hold only the
// primary key, after images only the changed columns) and checks that a server given only the
// binlog rebuilds the same tables: the applier completes partial images from the stored rows.
func TestMinimalRowImageReplays(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "SET SESSION binlog_row_image = 'MINIMAL'")
	mustExec(t, db, "CREATE DATABASE m")
	mustExec(t, db, "CREATE TABLE m.t (id INT PRIMARY KEY, a VARCHAR(20), b INT, c JSON, KEY (b))")
	mustExec(t, db, "CREATE TABLE m.nopk (a INT, b VARCHAR(10))")
	for i := 0; i < 20; i++ {
		mustExec(t, db, "INSERT INTO m.t VALUES (?, ?, ?, ?)", i, fmt.Sprintf("row %d", i), i*10, fmt.Sprintf(`{"i": %d}`, i))
		mustExec(t, db, "INSERT INTO m.nopk VALUES (?, ?)", i%5, "x")
	}
	mustExec(t, db, "UPDATE m.t SET b = b + 1 WHERE id % 3 = 0")
	mustExec(t, db, "UPDATE m.t SET a = NULL, c = '[1,2]' WHERE id = 4")
	mustExec(t, db, "UPDATE m.t SET id = id + 100 WHERE id = 7")
	mustExec(t, db, "DELETE FROM m.t WHERE id IN (1, 2)")
	mustExec(t, db, "UPDATE m.nopk SET b = 'y' WHERE a = 2")
	mustExec(t, db, "DELETE FROM m.nopk WHERE a = 3")
	// CREATE TABLE ... SELECT: logged as the plain CREATE TABLE, then the copied rows.
	mustExec(t, db, "CREATE TABLE m.copied AS SELECT id, a, c FROM m.t WHERE b > 50")
	mdb := n.db("m")
	want := dumpTables(t, mdb, "t", "nopk", "copied")
	mdb.Close()
	db.Close()
	n.stop()
	replica := startNode(t, copyBinlog(t, n.dataDir))
	rdb := replica.db("m")
	got := dumpTables(t, rdb, "t", "nopk", "copied")
	if got != want {
		t.Fatalf("tables rebuilt from a MINIMAL binlog differ:\n got %s\nwant %s", got, want)
	}
	t.Logf("MINIMAL row images replayed to identical tables (%d bytes)", len(want))
}

package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaydb/relaydb/internal/binlog"
)

// copyDir copies a stopped server's datadir (a cold backup).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		if info.Name() == "relaydb.pid" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// findStatement returns the file and the offset of the GTID event of the transaction whose
// QUERY event contains stmt, and that transaction's GTID.
func findStatement(t *testing.T, dir, stmt string) (file string, pos uint64, gtidText string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "binlog.[0-9]*"))
	for _, f := range files {
		r, err := binlog.OpenFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			tx, err := r.NextTransaction()
			if err != nil {
				break
			}
			for _, ev := range tx.Events {
				if ev.Type() != binlog.TypeQuery {
					continue
				}
				q, err := binlog.DecodeQuery(r.Format(), ev)
				if err == nil && strings.Contains(q.SQL, stmt) {
					r.Close()
					return f, tx.Start, tx.GTID.String()
				}
			}
		}
		r.Close()
	}
	t.Fatalf("no %q in the binlog of %s", stmt, dir)
	return "", 0, ""
}

// TestPointInTimeRecovery restores a cold backup and replays the binlog with `relaydb binlog`
// piped into the mariadb client, up to just before a mistaken DROP TABLE: no row is lost.
func TestPointInTimeRecovery(t *testing.T) {
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not installed (apt-get install mariadb-client)")
	}
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), placed DATETIME(6), meta JSON)")
	for i := 0; i < 50; i++ {
		mustExec(t, db, "INSERT INTO app.orders (customer, total, placed, meta) VALUES (?, ?, '2026-11-22 10:00:00.123456', ?)",
			fmt.Sprintf("before backup %d — ü", i), float64(i)+0.25, fmt.Sprintf(`{"n": %d, "tags": ["a", "b"]}`, i))
	}
	db.Close()

	// Cold backup: stop, copy the datadir, start again.
	n.stop()
	backup := copyDir(t, n.dataDir)
	n.restart()
	db = n.db("app")
	for i := 0; i < 30; i++ {
		mustExec(t, db, "INSERT INTO orders (customer, total, placed, meta) VALUES (?, ?, NOW(6), NULL)", fmt.Sprintf("after backup %d", i), i)
	}
	mustExec(t, db, "UPDATE orders SET total = total * 2 WHERE id % 7 = 0")
	mustExec(t, db, "DELETE FROM orders WHERE id IN (3, 60)")
	mustExec(t, db, "FLUSH BINARY LOGS") // the replay spans files
	mustExec(t, db, "UPDATE orders SET customer = CONCAT(customer, ' (vip)') WHERE id = 10")
	want := dumpTables(t, db, "orders")
	mustExec(t, db, "DROP TABLE orders") // the mistake
	mustExec(t, db, "CREATE TABLE orders (id INT PRIMARY KEY)")
	db.Close()
	n.stop()

	dropFile, dropPos, dropGTID := findStatement(t, n.dataDir, "DROP TABLE orders")
	backupDB := startNode(t, backup)
	bdb := backupDB.db("")
	backupSet := queryString(t, bdb, "SELECT @@GLOBAL.gtid_executed")

	// Replay every file up to the DROP's file, skipping what the backup already has and
	// stopping just before the DROP.
	idx, err := os.ReadFile(filepath.Join(n.dataDir, "binlog.index"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, name := range strings.Fields(string(idx)) {
		p := filepath.Join(n.dataDir, filepath.Base(name))
		files = append(files, p)
		if p == dropFile {
			break
		}
	}
	args := append([]string{"binlog", "--exclude-gtids=" + backupSet, fmt.Sprintf("--stop-position=%d", dropPos)}, files...)
	dump := exec.Command(relaydbBinary(t), args...)
	var sqlText, dumpErr bytes.Buffer
	dump.Stdout, dump.Stderr = &sqlText, &dumpErr
	if err := dump.Run(); err != nil {
		t.Fatalf("relaydb binlog: %v\n%s", err, dumpErr.String())
	}
	replay := exec.Command(client, "-h127.0.0.1", fmt.Sprintf("-P%d", backupDB.port), "-uroot", "--batch")
	replay.Stdin = bytes.NewReader(sqlText.Bytes())
	if out, err := replay.CombinedOutput(); err != nil {
		t.Fatalf("replay through mariadb: %v\n%s", err, out)
	}

	adb := backupDB.db("app")
	got := dumpTables(t, adb, "orders")
	adb.Close()
	if got != want {
		t.Fatalf("restored table differs from the table before the DROP:\n got %s\nwant %s", got, want)
	}
	restored := queryString(t, bdb, "SELECT @@GLOBAL.gtid_executed")
	var inRestored int
	if err := bdb.QueryRow("SELECT GTID_SUBSET(?, ?)", dropGTID, restored).Scan(&inRestored); err != nil {
		t.Fatal(err)
	}
	if inRestored != 0 {
		t.Fatalf("the DROP's GTID %s was replayed (restored gtid_executed %s)", dropGTID, restored)
	}
	bdb.Close()
	t.Logf("backup at %s; replayed %d bytes of SQL from %d binlog files up to %s:%d (DROP is %s); restored gtid_executed %s; %d-byte table dump equal",
		backupSet, sqlText.Len(), len(files), filepath.Base(dropFile), dropPos, dropGTID, restored, len(want))
}

package storage

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCRUDSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), score DECIMAL(10,2), KEY by_name (name))")
	s.mustExec("INSERT INTO t VALUES (1,'alice',1.50),(2,'bob',-2.25),(3,NULL,NULL)")
	s.mustExec("UPDATE t SET score = score + 1 WHERE id = 2")
	s.mustExec("DELETE FROM t WHERE id = 3")
	h.reopen()
	s = h.session()
	s.db = "d"
	s.expect("SELECT id, name, score FROM t ORDER BY id", "[1 alice 1.50] [2 bob -1.25]")
	s.expect("SELECT id FROM t WHERE name = 'bob'", "[2]")
}

func TestIndexRangeScans(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, k INT, c VARCHAR(10) COLLATE utf8mb4_0900_ai_ci, KEY kc (k, c))")
	var vals []string
	for i := 1; i <= 200; i++ {
		vals = append(vals, "("+strconv.Itoa(i)+","+strconv.Itoa(i%10)+",'"+string(rune('a'+i%5))+"')")
	}
	s.mustExec("INSERT INTO t VALUES " + strings.Join(vals, ","))
	s.expect("SELECT COUNT(*) FROM t WHERE id BETWEEN 10 AND 19", "[10]")
	s.expect("SELECT COUNT(*) FROM t WHERE id > 195", "[5]")
	s.expect("SELECT COUNT(*) FROM t WHERE id < 3", "[2]")
	s.expect("SELECT COUNT(*) FROM t WHERE k = 3", "[20]")
	s.expect("SELECT COUNT(*) FROM t WHERE k = 3 AND c = 'D'", "[20]") // case-insensitive collation
	s.expect("SELECT COUNT(*) FROM t WHERE k IN (1, 2) AND c > 'b'", "[20]")
	s.expect("SELECT id FROM t WHERE id IN (5, 150, 7) ORDER BY id", "[5] [7] [150]")
	s.expect("SELECT COUNT(*) FROM t WHERE id > 2.5 AND id < 4.5", "[2]")
	s.expect("SELECT COUNT(*) FROM t WHERE k IS NULL", "[0]")
}

func TestDuplicateKeyBehaviour(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, u VARCHAR(10), n INT, UNIQUE KEY uu (u))")
	s.mustExec("INSERT INTO t VALUES (1,'a',1),(2,'b',1)")
	if _, err := s.query("INSERT INTO t VALUES (1,'z',0)"); errCode(err) != 1062 {
		t.Fatalf("duplicate primary key: got %v (code %d), want 1062", err, errCode(err))
	}
	if _, err := s.query("INSERT INTO t VALUES (3,'A',0)"); err != nil {
		t.Fatalf("'A' differs from 'a' under the default collation? %v", err)
	}
	if _, err := s.query("INSERT INTO t VALUES (4,'b',0)"); errCode(err) != 1062 {
		t.Fatalf("duplicate unique key: got %v, want 1062", err)
	}
	s.mustExec("INSERT IGNORE INTO t VALUES (1,'x',9),(5,'e',5)")
	s.mustExec("REPLACE INTO t VALUES (2,'bb',7)")
	s.mustExec("INSERT INTO t VALUES (1,'q',0) ON DUPLICATE KEY UPDATE n = n + 10")
	s.expect("SELECT id, u, n FROM t ORDER BY id", "[1 a 11] [2 bb 7] [3 A 0] [5 e 5]")
	// A failed multi-row statement leaves nothing behind.
	if _, err := s.query("INSERT INTO t VALUES (6,'f',0),(7,'a',0)"); errCode(err) != 1062 {
		t.Fatalf("want 1062, got %v", err)
	}
	s.expect("SELECT COUNT(*) FROM t WHERE id IN (6, 7)", "[0]")
}

func TestAutoIncrementIncrementOffset(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	s.mustExec("SET SESSION auto_increment_increment = 10, auto_increment_offset = 1")
	s.mustExec("INSERT INTO t (v) VALUES (1),(2),(3)")
	s.expect("SELECT id FROM t ORDER BY id", "[1] [11] [21]")
	s2 := h.session()
	s2.db = "d"
	s2.mustExec("SET SESSION auto_increment_increment = 10, auto_increment_offset = 2")
	s2.mustExec("INSERT INTO t (v) VALUES (4)")
	s2.expect("SELECT MAX(id) FROM t", "[22]") // next of 2+10k after 21
	h.reopen()
	s = h.session()
	s.db = "d"
	s.mustExec("INSERT INTO t (v) VALUES (5)")
	s.expect("SELECT MAX(id) FROM t", "[23]")
}

func TestSnapshotIsolationAndConflicts(t *testing.T) {
	h := newHarness(t)
	a, b := h.session(), h.session()
	a.mustExec("CREATE DATABASE d")
	a.db, b.db = "d", "d"
	a.mustExec("CREATE TABLE acct (id INT PRIMARY KEY, bal INT)")
	a.mustExec("INSERT INTO acct VALUES (1, 100), (2, 100)")

	a.mustExec("BEGIN")
	a.expect("SELECT bal FROM acct WHERE id = 1", "[100]")
	b.mustExec("UPDATE acct SET bal = 50 WHERE id = 1")    // autocommit
	a.expect("SELECT bal FROM acct WHERE id = 1", "[100]") // repeatable read
	// a's snapshot predates b's commit: as in InnoDB, the write acts on the newest committed
	// version (a current read), so b's change is not lost, and a then sees its own write.
	a.mustExec("UPDATE acct SET bal = bal + 1 WHERE id = 1")
	a.expect("SELECT bal FROM acct WHERE id = 1", "[51]")
	a.expect("SELECT bal FROM acct WHERE id = 2", "[100]")
	a.mustExec("ROLLBACK")
	a.expect("SELECT bal FROM acct WHERE id = 1", "[50]")

	// Concurrent increments: every one lands exactly once (retrying on 1213).
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := h.session()
			s.db = "d"
			for i := 0; i < 25; i++ {
				for {
					_, err := s.query("UPDATE acct SET bal = bal + 1 WHERE id = 2")
					if err == nil {
						break
					}
					if c := errCode(err); c != 1213 && c != 1205 {
						t.Errorf("update: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	a.expect("SELECT bal FROM acct WHERE id = 2", "[200]")
}

func TestReadCommitted(t *testing.T) {
	h := newHarness(t)
	a, b := h.session(), h.session()
	a.mustExec("CREATE DATABASE d")
	a.db, b.db = "d", "d"
	a.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	a.mustExec("INSERT INTO t VALUES (1, 1)")
	a.mustExec("SET SESSION transaction_isolation = 'READ-COMMITTED'")
	a.mustExec("BEGIN")
	a.expect("SELECT v FROM t", "[1]")
	b.mustExec("UPDATE t SET v = 2")
	a.s.CommandBegin() // statement boundary, as the server's handler marks it
	a.s.CommandEnd()
	a.expect("SELECT v FROM t", "[2]")
	a.mustExec("COMMIT")
}

func TestSavepoints(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY)")
	s.mustExec("BEGIN")
	s.mustExec("INSERT INTO t VALUES (1)")
	s.mustExec("SAVEPOINT a")
	s.mustExec("INSERT INTO t VALUES (2)")
	s.mustExec("ROLLBACK TO SAVEPOINT a")
	s.mustExec("INSERT INTO t VALUES (3)")
	s.mustExec("COMMIT")
	s.expect("SELECT id FROM t ORDER BY id", "[1] [3]")
}

func TestAlterTable(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10))")
	s.mustExec("INSERT INTO t VALUES (1, 10, 'x'), (2, 20, 'y')")
	s.mustExec("ALTER TABLE t ADD COLUMN c INT DEFAULT 7")
	s.mustExec("ALTER TABLE t DROP COLUMN a")
	s.mustExec("ALTER TABLE t MODIFY COLUMN b VARCHAR(20) NOT NULL")
	s.mustExec("ALTER TABLE t RENAME COLUMN b TO bee")
	s.mustExec("ALTER TABLE t ADD UNIQUE INDEX ub (bee)")
	if _, err := s.query("INSERT INTO t VALUES (3, 'x', 0)"); errCode(err) != 1062 {
		t.Fatalf("unique index built by ALTER not enforced: %v", err)
	}
	s.mustExec("ALTER TABLE t DROP INDEX ub")
	s.mustExec("INSERT INTO t VALUES (3, 'x', 0)")
	s.mustExec("ALTER TABLE t DROP PRIMARY KEY")
	s.mustExec("INSERT INTO t VALUES (3, 'x', 0)") // duplicates allowed without a key
	s.mustExec("DELETE FROM t WHERE id = 3 LIMIT 1")
	s.mustExec("ALTER TABLE t ADD PRIMARY KEY (id)")
	s.mustExec("RENAME TABLE t TO t2")
	h.reopen()
	s = h.session()
	s.db = "d"
	s.expect("SELECT id, bee, c FROM t2 ORDER BY id", "[1 x 7] [2 y 7] [3 x 0]")
	s.mustExec("TRUNCATE TABLE t2")
	s.expect("SELECT COUNT(*) FROM t2", "[0]")
}

func TestViewsTriggersProceduresPersist(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	s.mustExec("CREATE TABLE audit (id INT PRIMARY KEY)")
	s.mustExec("CREATE VIEW big AS SELECT id FROM t WHERE v > 5")
	s.mustExec("CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.id)")
	s.mustExec("CREATE PROCEDURE p(x INT) BEGIN INSERT INTO t VALUES (x, x); END")
	h.reopen()
	s = h.session()
	s.db = "d"
	s.mustExec("CALL p(10)")
	s.mustExec("INSERT INTO t VALUES (1, 1)")
	s.expect("SELECT id FROM big", "[10]")
	s.expect("SELECT id FROM audit ORDER BY id", "[1] [10]")
}

func TestForeignKeys(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE parent (id INT PRIMARY KEY)")
	s.mustExec("CREATE TABLE child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES parent(id) ON DELETE CASCADE)")
	s.mustExec("INSERT INTO parent VALUES (1), (2)")
	s.mustExec("INSERT INTO child VALUES (10, 1), (20, 2)")
	if _, err := s.query("INSERT INTO child VALUES (30, 3)"); errCode(err) != 1452 {
		t.Fatalf("want 1452 for a missing parent, got %v (%d)", err, errCode(err))
	}
	s.mustExec("DELETE FROM parent WHERE id = 1")
	h.reopen()
	s = h.session()
	s.db = "d"
	if _, err := s.query("INSERT INTO child VALUES (30, 3)"); errCode(err) != 1452 {
		t.Fatalf("after restart: want 1452 for a missing parent, got %v (%d)", err, errCode(err))
	}
	s.expect("SELECT id FROM child", "[20]")
}

func TestKeylessTable(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (a INT, b TEXT)")
	s.mustExec("INSERT INTO t VALUES (1,'x'),(1,'x'),(2,'y')")
	s.mustExec("DELETE FROM t WHERE a = 1 LIMIT 1")
	s.mustExec("UPDATE t SET b = 'z' WHERE a = 2")
	h.reopen()
	s = h.session()
	s.db = "d"
	s.expect("SELECT a, b FROM t ORDER BY a", "[1 x] [2 z]")
	s.mustExec("INSERT INTO t VALUES (3, 'w')")
	s.expect("SELECT COUNT(*) FROM t", "[3]")
}

func TestSelectForUpdateLocks(t *testing.T) {
	h := newHarness(t)
	a, b := h.session(), h.session()
	a.mustExec("CREATE DATABASE d")
	a.db, b.db = "d", "d"
	a.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	a.mustExec("INSERT INTO t VALUES (1, 1), (2, 2)")

	a.mustExec("BEGIN")
	a.expect("SELECT v FROM t WHERE id = 1 FOR UPDATE", "[1]")
	// b cannot write the locked row until a ends; its wait times out (harness: 2 s).
	b.mustExec("SET SESSION innodb_lock_wait_timeout = 1")
	if _, err := b.query("UPDATE t SET v = 10 WHERE id = 1"); errCode(err) != 1205 {
		t.Fatalf("want 1205 while the row is locked FOR UPDATE, got %v", err)
	}
	b.mustExec("UPDATE t SET v = 20 WHERE id = 2") // other rows are free
	a.mustExec("UPDATE t SET v = v + 1 WHERE id = 1")
	a.mustExec("COMMIT")
	b.mustExec("UPDATE t SET v = v + 1 WHERE id = 1")
	a.expect("SELECT v FROM t ORDER BY id", "[3] [20]")

	// A locking read returns the newest committed version; a plain read still the snapshot's.
	a.mustExec("BEGIN")
	a.expect("SELECT v FROM t WHERE id = 2", "[20]")
	b.mustExec("UPDATE t SET v = 21 WHERE id = 2")
	a.expect("SELECT v FROM t WHERE id = 2 FOR UPDATE", "[21]")
	a.expect("SELECT v FROM t WHERE id = 2", "[20]")
	a.mustExec("ROLLBACK")
}

func TestTruncatedDataFileRefusesToOpen(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
	s.mustExec("INSERT INTO t VALUES (1, REPEAT('x', 10000)), (2, REPEAT('y', 10000))")
	h.close() // flushes the memtable into an .sst file
	ssts, _ := filepath.Glob(filepath.Join(h.dir, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no data file written")
	}
	fi, err := os.Stat(ssts[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ssts[0], fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: h.dir, CacheSize: 8 << 20})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(ssts[0])) {
		t.Fatalf("opening a store with a truncated data file: want an error naming %s, got %v", filepath.Base(ssts[0]), err)
	}
}

func TestCorruptDataFileRefusesToOpen(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
	s.mustExec("INSERT INTO t VALUES (1, REPEAT('x', 10000)), (2, REPEAT('y', 10000))")
	h.close()
	ssts, _ := filepath.Glob(filepath.Join(h.dir, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no data file written")
	}
	b, err := os.ReadFile(ssts[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 4; i < len(b)/4+16; i++ {
		b[i] ^= 0xff // same size, damaged contents
	}
	if err := os.WriteFile(ssts[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: h.dir, CacheSize: 8 << 20})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(ssts[0])) {
		t.Fatalf("opening a store with a corrupt data file: want an error naming %s, got %v", filepath.Base(ssts[0]), err)
	}
	t.Log(err)
}

func TestIdleTransactionIsRolledBack(t *testing.T) {
	h := &harness{t: t, dir: t.TempDir(), tune: func(o *Options) { o.TxnIdleTimeout = time.Second }}
	h.open()
	t.Cleanup(h.close)
	a, b := h.session(), h.session()
	a.mustExec("CREATE DATABASE d")
	a.db, b.db = "d", "d"
	a.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	a.mustExec("INSERT INTO t VALUES (1, 1)")
	a.mustExec("BEGIN")
	a.mustExec("UPDATE t SET v = 2 WHERE id = 1") // holds the row lock and a snapshot
	time.Sleep(3 * time.Second)                   // the reaper checks every second
	h.e.snapMu.Lock()
	open := len(h.e.active)
	h.e.snapMu.Unlock()
	if open != 0 {
		t.Fatalf("%d snapshots still open after the idle timeout", open)
	}
	b.mustExec("UPDATE t SET v = 3 WHERE id = 1") // the lock was released
	if _, err := a.query("SELECT v FROM t"); errCode(err) != 1213 {
		t.Fatalf("statement in an expired transaction: want 1213, got %v", err)
	}
	a.mustExec("ROLLBACK")
	a.expect("SELECT v FROM t", "[3]")
}

// Range lookups return exactly the rows in range, for bounds of every kind, whether the engine
// filters rows or trusts the key span.
func TestRangeBoundsExact(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (a INT, b VARCHAR(5) COLLATE utf8mb4_0900_bin, c DECIMAL(5,2), PRIMARY KEY (a, b), KEY kc (c))")
	var vals []string
	for a := 0; a < 5; a++ {
		for _, b := range []string{"x", "y", "z"} {
			vals = append(vals, "("+strconv.Itoa(a)+",'"+b+"',"+strconv.Itoa(a)+".5)")
		}
	}
	vals = append(vals, "(9,'n',NULL)")
	s.mustExec("INSERT INTO t VALUES " + strings.Join(vals, ","))
	for q, want := range map[string]string{
		"SELECT COUNT(*) FROM t WHERE a > 1":                   "[10]",
		"SELECT COUNT(*) FROM t WHERE a >= 1 AND a < 3":        "[6]",
		"SELECT COUNT(*) FROM t WHERE a = 2 AND b > 'x'":       "[2]",
		"SELECT COUNT(*) FROM t WHERE a = 2 AND b <= 'y'":      "[2]",
		"SELECT COUNT(*) FROM t WHERE a = 2 AND b < 'y'":       "[1]",
		"SELECT COUNT(*) FROM t WHERE a BETWEEN 1 AND 2":       "[6]",
		"SELECT COUNT(*) FROM t WHERE a > 1.5":                 "[10]",
		"SELECT COUNT(*) FROM t WHERE c > 1.5":                 "[9]",
		"SELECT COUNT(*) FROM t WHERE c >= 1.5 AND c < 3.5":    "[6]",
		"SELECT COUNT(*) FROM t WHERE c IS NULL":               "[1]",
		"SELECT COUNT(*) FROM t WHERE c IS NOT NULL":           "[15]",
		"SELECT COUNT(*) FROM t WHERE a IN (0, 4) AND b > 'y'": "[2]",
		"SELECT COUNT(*) FROM t WHERE a < 0":                   "[0]",
	} {
		s.expect(q, want)
	}
}

// Every common column type survives a restart and is usable as an index key.
func TestAllTypesRoundTrip(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec(`CREATE TABLE t (
		id BIGINT UNSIGNED PRIMARY KEY,
		ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, i INT, bi BIGINT,
		de DECIMAL(20,6), f FLOAT, d DOUBLE,
		ch CHAR(10), vc VARCHAR(50) COLLATE utf8mb4_0900_ai_ci, tx TEXT, lat VARCHAR(10) CHARACTER SET latin1,
		bn BINARY(4), vb VARBINARY(10), bl BLOB,
		dt DATE, dtm DATETIME(6), ts TIMESTAMP(3), tm TIME, yr YEAR,
		en ENUM('a','b','c'), st SET('x','y','z'), js JSON, bt BIT(10),
		KEY (de), KEY (vc), KEY (dtm), KEY (tm), KEY (en), KEY (bn))`)
	s.mustExec(`INSERT INTO t VALUES
		(18446744073709551615, -128, 65535, -8388608, -2147483648, -9223372036854775808,
		 -12345678901234.123456, 1.5, -2.25e100,
		 'abc', 'Ünïcödé', REPEAT('t', 3000), 'café',
		 'ab', 0x00FF00, 0xDEADBEEF,
		 '2024-02-29', '2024-02-29 23:59:59.123456', '2024-01-01 00:00:00.123', '-838:59:59', 2155,
		 'b', 'x,z', '{"k": [1, 2.5, "s", null, true]}', b'1010101010'),
		(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	want := str(s.mustExec("SELECT * FROM t ORDER BY id"))
	h.reopen()
	s = h.session()
	s.db = "d"
	if got := str(s.mustExec("SELECT * FROM t ORDER BY id")); got != want {
		t.Fatalf("after restart:\n got %s\nwant %s", got, want)
	}
	for _, q := range []string{
		"SELECT id FROM t WHERE de = -12345678901234.123456",
		"SELECT id FROM t WHERE vc = 'UNICODE'",
		"SELECT id FROM t WHERE dtm = '2024-02-29 23:59:59.123456'",
		"SELECT id FROM t WHERE tm = '-838:59:59'",
		"SELECT id FROM t WHERE en = 'b'",
		"SELECT id FROM t WHERE bn = 0x61620000",
	} {
		s.expect(q, "[18446744073709551615]")
	}
}

// A statement never sees rows it wrote itself, across all of its scans (GMS enginetest bug A).
func TestStatementDoesNotSeeItsOwnWrites(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE b (x INT PRIMARY KEY)")
	s.mustExec("INSERT INTO b VALUES (1), (2), (3), (4)")
	s.mustExec("UPDATE b SET x = x + 10 WHERE x <> 2")
	s.expect("SELECT x FROM b ORDER BY x", "[2] [11] [13] [14]")
	s.mustExec("BEGIN")
	s.mustExec("UPDATE b SET x = x + 10 WHERE x <> 2")
	s.expect("SELECT x FROM b ORDER BY x", "[2] [21] [23] [24]")
	s.mustExec("COMMIT")
	// Duplicates within one statement are still caught.
	if _, err := s.query("INSERT INTO b VALUES (100), (100)"); errCode(err) != 1062 {
		t.Fatalf("duplicate within one statement: want 1062, got %v", err)
	}
}

// Lock entries exist only while held: after commits and rollbacks the table is empty, so it
// does not grow with the data.
func TestLockTableEmptiesWhenTransactionsEnd(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	s.mustExec("BEGIN")
	for i := 0; i < 50; i++ {
		s.mustExec("INSERT INTO t VALUES (" + strconv.Itoa(i) + ", 0)")
	}
	s.mustExec("SELECT * FROM t WHERE id BETWEEN 10 AND 20 FOR UPDATE")
	if n := h.e.locks.size(); n < 50 {
		t.Fatalf("an open writer holds %d lock entries, want at least 50", n)
	}
	s.mustExec("COMMIT")
	if n := h.e.locks.size(); n != 0 {
		t.Fatalf("%d lock entries left after commit", n)
	}
}

func TestStatementReadMode(t *testing.T) {
	for _, c := range []struct {
		q    string
		iso  Isolation
		want readMode
	}{
		{"SELECT * FROM t WHERE id = 1 FOR UPDATE", RepeatableRead, readExclusive},
		{"select * from t where id = 1 for share", RepeatableRead, readShared},
		{"  (SELECT v FROM t LOCK IN SHARE MODE)", RepeatableRead, readShared},
		{"WITH x AS (SELECT 1) SELECT * FROM x FOR UPDATE", RepeatableRead, readExclusive},
		{"/* c */ SELECT c FROM sbtest1 WHERE id=?", RepeatableRead, readConsistent},
		{"UPDATE t SET v = 'x' WHERE id = 1", ReadCommitted, readExclusive},
		{"-- c\n delete from t", RepeatableRead, readExclusive},
		{"INSERT INTO t SELECT * FROM u", RepeatableRead, readShared},
		{"INSERT INTO t SELECT * FROM u", ReadCommitted, readConsistent},
		{"SELECT 'x'", RepeatableRead, readConsistent},
		{"selector", RepeatableRead, readConsistent},
		{"CALL p()", RepeatableRead, readConsistent},
	} {
		q := strings.ReplaceAll(c.q, "\\n", "\n")
		if got := classifyStatement(q, c.iso); got != c.want {
			t.Errorf("classifyStatement(%q, %v) = %v, want %v", q, c.iso, got, c.want)
		}
	}
}

// GMS drops a failed autocommit statement's transaction from the session without ending it; the
// session rolls it back when the command ends, so the locks it took (here the gap lock of a
// foreign key check on an empty parent) do not block others.
func TestFailedAutocommitReleasesLocks(t *testing.T) {
	h := newHarness(t)
	a, b := h.session(), h.session()
	a.mustExec("CREATE DATABASE d")
	a.db, b.db = "d", "d"
	a.mustExec("CREATE TABLE parent (pk INT PRIMARY KEY, v1 INT, INDEX (v1))")
	a.mustExec("CREATE TABLE child (pk INT PRIMARY KEY, v1 INT, FOREIGN KEY (v1) REFERENCES parent(v1))")
	if _, err := a.query("INSERT INTO child VALUES (2, 3)"); err == nil {
		t.Fatal("insert of an orphan child succeeded")
	}
	b.mustExec("SET SESSION innodb_lock_wait_timeout = 1")
	b.mustExec("INSERT INTO parent VALUES (1, 2), (2, 3)")
}

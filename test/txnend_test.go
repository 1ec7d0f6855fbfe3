package test

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/mariadb"
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
	// A savepoint the transaction lacks gets MySQL's error.
	err := a.exec("ROLLBACK TO SAVEPOINT nosuch")
	if me, ok := err.(*mysql.MySQLError); !ok || me.Number != 1305 || string(me.SQLState[:]) != "42000" ||
		me.Message != "SAVEPOINT nosuch does not exist" {
		t.Errorf("ROLLBACK TO SAVEPOINT nosuch: %v, want error 1305 (42000) SAVEPOINT nosuch does not exist", err)
	}
	a.must("ROLLBACK")
	if got := countRows(t, other, "SELECT COUNT(*) FROM t"); got != 0 {
		t.Errorf("ROLLBACK after SELECT from a view left %d row(s)", got)
	}
}

// endCase is one statement kind for TestStatementsEndTransactionAsMariaDB. stmts run in the
// transaction, in order (the first error stops them); before runs in autocommit mode beforehand
// and after once the transaction is over, both on another connection; afterSame runs in the
// transaction's own session after ROLLBACK TO SAVEPOINT (to unlock what it locked).
type endCase struct {
	stmts     []string
	before    []string
	after     []string
	afterSame []string
	// mysqlEnds is MySQL 8's documented answer, for statements MariaDB refuses: nil when
	// MariaDB answers.
	mysqlEnds *bool
}

func ec(stmts ...string) endCase { return endCase{stmts: stmts} }

func (c endCase) pre(q ...string) endCase    { c.before = append(c.before, q...); return c }
func (c endCase) post(q ...string) endCase   { c.after = append(c.after, q...); return c }
func (c endCase) unlock(q ...string) endCase { c.afterSame = append(c.afterSame, q...); return c }
func (c endCase) mysql(ends bool) endCase    { c.mysqlEnds = &ends; return c }

func (c endCase) name() string { return strings.Join(c.stmts, "; ") }

// endOutcome is what a client can observe of a transaction around one statement.
type endOutcome struct {
	err        error // the statement's error, if any
	visible    bool  // another session saw the transaction's row right after the statement
	spLost     bool  // ROLLBACK TO SAVEPOINT sp failed afterwards
	autocommit bool  // a row inserted next was visible at once: the session autocommits again
	survived   bool  // the first row was still there after ROLLBACK
}

// ended reports whether the statement ended the transaction (committed it, implicitly).
func (o endOutcome) ended() bool { return o.visible || o.spLost || o.autocommit || o.survived }

func (o endOutcome) same(p endOutcome) bool {
	return o.visible == p.visible && o.spLost == p.spLost && o.autocommit == p.autocommit && o.survived == p.survived
}

func (o endOutcome) String() string {
	if !o.ended() {
		return "kept"
	}
	var why []string
	if o.visible {
		why = append(why, "visible at once")
	}
	if o.spLost {
		why = append(why, "savepoint gone")
	}
	if o.autocommit {
		why = append(why, "next autocommits")
	}
	if o.survived {
		why = append(why, "survived ROLLBACK")
	}
	return "ENDED (" + strings.Join(why, ", ") + ")"
}

// endCases is every statement kind the differential test tries. Each runs on a fresh session in
// database te, which holds t (the transaction's table), t2 and trg (with rows and a trigger), a
// view v over t2, a reading function f and reading procedures p and pv.
func endCases() []endCase {
	return []endCase{
		// Reads, views, functions, procedures.
		ec("SELECT * FROM v"),
		ec("SELECT * FROM t2 WHERE id IN (SELECT id FROM v)"),
		ec("SELECT (SELECT COUNT(*) FROM v)"),
		ec("SELECT * FROM t2 JOIN v USING (id)"),
		ec("SELECT * FROM (SELECT * FROM v) AS d"),
		ec("SELECT * FROM v FOR UPDATE"),
		ec("SELECT * FROM t2 FOR UPDATE"),
		ec("SELECT * FROM t2 LOCK IN SHARE MODE"),
		ec("SELECT id INTO @x FROM t2 LIMIT 1"),
		ec("SELECT id INTO @x FROM v LIMIT 1"),
		ec("SELECT f()"),
		ec("SELECT * FROM t2 WHERE v > f()"),
		ec("CALL p()"),
		ec("CALL pv()"),
		ec("SELECT SLEEP(0)"),
		ec("SELECT GET_LOCK('l', 0), RELEASE_LOCK('l')"),
		ec("SELECT @@tx_isolation"),
		ec("SELECT @@transaction_isolation").mysql(false),
		ec("SELECT @@autocommit, @@version, @@in_transaction"),
		ec("SELECT * FROM mysql.user"),
		ec("PREPARE s FROM 'SELECT * FROM v'", "EXECUTE s", "DEALLOCATE PREPARE s"),
		ec("PREPARE s FROM 'SELECT * FROM t2 WHERE id = ?'", "SET @i = 1", "EXECUTE s USING @i"),
		ec("PREPARE s FROM 'CREATE TABLE c5 (id INT)'"),
		ec("PREPARE s FROM 'CREATE TABLE c5 (id INT)'", "EXECUTE s").post("DROP TABLE IF EXISTS c5"),
		// information_schema and performance_schema.
		ec("SELECT * FROM information_schema.tables WHERE table_schema = 'te'"),
		ec("SELECT * FROM information_schema.columns WHERE table_schema = 'te'"),
		ec("SELECT * FROM information_schema.views"),
		ec("SELECT * FROM information_schema.routines"),
		ec("SELECT * FROM information_schema.triggers"),
		ec("SELECT * FROM information_schema.statistics WHERE table_schema = 'te'"),
		ec("SELECT * FROM information_schema.schemata"),
		ec("SELECT * FROM information_schema.processlist"),
		ec("SELECT * FROM information_schema.key_column_usage WHERE table_schema = 'te'"),
		ec("SELECT * FROM information_schema.table_constraints WHERE table_schema = 'te'"),
		ec("SELECT * FROM information_schema.engines"),
		ec("SELECT * FROM information_schema.user_privileges"),
		ec("SELECT * FROM information_schema.innodb_trx"),
		ec("SELECT * FROM performance_schema.global_variables"),
		ec("SELECT * FROM performance_schema.session_variables"),
		ec("SELECT * FROM performance_schema.global_status"),
		ec("SELECT * FROM performance_schema.threads"),
		ec("SELECT * FROM performance_schema.data_locks"),
		// SHOW, DESCRIBE, EXPLAIN, HELP.
		ec("SHOW TABLES"),
		ec("SHOW FULL TABLES"),
		ec("SHOW CREATE TABLE t2"),
		ec("SHOW CREATE VIEW v"),
		ec("SHOW CREATE TABLE v"),
		ec("SHOW COLUMNS FROM t2"),
		ec("SHOW FULL COLUMNS FROM v"),
		ec("SHOW INDEX FROM t2"),
		ec("SHOW KEYS FROM t2"),
		ec("SHOW VARIABLES LIKE 'autocommit'"),
		ec("SHOW GLOBAL VARIABLES LIKE 'version'"),
		ec("SHOW STATUS LIKE 'Uptime'"),
		ec("SHOW GLOBAL STATUS LIKE 'Questions'"),
		ec("SHOW PROCESSLIST"),
		ec("SHOW FULL PROCESSLIST"),
		ec("SHOW MASTER STATUS"),
		ec("SHOW BINARY LOG STATUS").mysql(false),
		ec("SHOW BINARY LOGS"),
		ec("SHOW MASTER LOGS"),
		ec("SHOW BINLOG EVENTS LIMIT 1"),
		ec("SHOW REPLICA STATUS"),
		ec("SHOW SLAVE STATUS"),
		ec("SHOW REPLICAS").mysql(false),
		ec("SHOW SLAVE HOSTS"),
		ec("SHOW WARNINGS"),
		ec("SHOW ERRORS"),
		ec("SHOW COUNT(*) WARNINGS"),
		ec("SHOW TABLE STATUS"),
		ec("SHOW TABLE STATUS LIKE 'v'"),
		ec("SHOW DATABASES"),
		ec("SHOW SCHEMAS"),
		ec("SHOW CREATE DATABASE te"),
		ec("SHOW GRANTS"),
		ec("SHOW GRANTS FOR CURRENT_USER"),
		ec("SHOW CREATE USER root@localhost"),
		ec("SHOW ENGINES"),
		ec("SHOW STORAGE ENGINES"),
		ec("SHOW PLUGINS"),
		ec("SHOW PRIVILEGES"),
		ec("SHOW CHARACTER SET LIKE 'utf8mb4'"),
		ec("SHOW COLLATION LIKE 'utf8mb4_bin'"),
		ec("SHOW TRIGGERS"),
		ec("SHOW CREATE TRIGGER tr"),
		ec("SHOW PROCEDURE STATUS"),
		ec("SHOW FUNCTION STATUS"),
		ec("SHOW CREATE PROCEDURE p"),
		ec("SHOW CREATE FUNCTION f"),
		ec("SHOW EVENTS"),
		ec("SHOW OPEN TABLES"),
		ec("SHOW ENGINE INNODB STATUS"),
		ec("DESCRIBE t2"),
		ec("DESC v"),
		ec("EXPLAIN SELECT * FROM v"),
		ec("EXPLAIN SELECT * FROM t2 WHERE id = 1"),
		ec("HELP 'SELECT'"),
		// Session state and other statements that do not commit in MySQL.
		ec("SET @x = 1"),
		ec("SET @x = (SELECT COUNT(*) FROM v)"),
		ec("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'"),
		ec("SET NAMES utf8mb4"),
		ec("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
		ec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
		ec("SET SESSION innodb_lock_wait_timeout = 5"),
		ec("SET autocommit = 0"),
		ec("SET GLOBAL sql_mode = @@GLOBAL.sql_mode"),
		ec("DO 1"),
		ec("DO (SELECT COUNT(*) FROM v)"),
		ec("USE te"),
		ec("USE mysql"),
		ec("SAVEPOINT sp2", "RELEASE SAVEPOINT sp2"),
		ec("CHECKSUM TABLE t2"),
		ec("UNLOCK TABLES"),
		// DML reading a view or firing a trigger.
		ec("INSERT INTO t2 SELECT id + 100, v FROM v WHERE id = 1").post("DELETE FROM t2 WHERE id > 100"),
		ec("UPDATE t2 SET v = v WHERE id IN (SELECT id FROM v)"),
		ec("DELETE FROM t2 WHERE id IN (SELECT id FROM v WHERE id > 1000)"),
		ec("UPDATE v SET v = v WHERE id = 1"),
		ec("INSERT INTO t2 VALUES ((SELECT COUNT(*) FROM v) + 200, 0)").post("DELETE FROM t2 WHERE id > 100"),
		ec("UPDATE t2 SET v = (SELECT COUNT(*) FROM v) WHERE id = 1"),
		ec("REPLACE INTO t2 SELECT id, v FROM v WHERE id = 1"),
		ec("INSERT INTO trg VALUES (1)").post("DELETE FROM trg"),
		ec("CREATE TEMPORARY TABLE tmp (id INT)"),
		ec("CREATE TEMPORARY TABLE tmp AS SELECT * FROM v"),
		ec("CREATE TEMPORARY TABLE tmp (id INT)", "DROP TEMPORARY TABLE tmp"),
		// Statements that commit implicitly in MySQL.
		ec("CREATE TABLE c1 (id INT PRIMARY KEY)").post("DROP TABLE IF EXISTS c1"),
		ec("CREATE TABLE c1 AS SELECT * FROM v").post("DROP TABLE IF EXISTS c1"),
		ec("CREATE TABLE c1 LIKE t2").post("DROP TABLE IF EXISTS c1"),
		ec("CREATE TABLE IF NOT EXISTS t2 (id INT)"),
		ec("CREATE TABLE t2 (id INT)"),
		ec("ALTER TABLE t2 ADD COLUMN c INT").post("ALTER TABLE t2 DROP COLUMN c"),
		ec("ALTER TABLE t2 COMMENT 'x'"),
		ec("DROP TABLE d1").pre("CREATE TABLE d1 (id INT PRIMARY KEY)").post("DROP TABLE IF EXISTS d1"),
		ec("DROP TABLE IF EXISTS nosuch"),
		ec("CREATE VIEW v2 AS SELECT * FROM v").post("DROP VIEW IF EXISTS v2"),
		ec("CREATE OR REPLACE VIEW v AS SELECT id, v FROM t2"),
		ec("ALTER VIEW v AS SELECT id, v FROM t2"),
		ec("DROP VIEW v3").pre("CREATE VIEW v3 AS SELECT 1 AS one").post("DROP VIEW IF EXISTS v3"),
		ec("RENAME TABLE r1 TO r2").pre("CREATE TABLE r1 (id INT PRIMARY KEY)").post("DROP TABLE IF EXISTS r1", "DROP TABLE IF EXISTS r2"),
		ec("TRUNCATE TABLE tr1").pre("CREATE TABLE tr1 (id INT PRIMARY KEY)").post("DROP TABLE IF EXISTS tr1"),
		ec("CREATE INDEX i1 ON t2 (v)").post("DROP INDEX i1 ON t2"),
		ec("DROP INDEX i2 ON t2").pre("CREATE INDEX i2 ON t2 (v)"),
		ec("CREATE DATABASE d2").post("DROP DATABASE IF EXISTS d2"),
		ec("DROP DATABASE d3").pre("CREATE DATABASE d3").post("DROP DATABASE IF EXISTS d3"),
		ec("ALTER DATABASE te CHARACTER SET utf8mb4"),
		ec("CREATE FUNCTION f2() RETURNS INT DETERMINISTIC RETURN 1").post("DROP FUNCTION IF EXISTS f2"),
		ec("CREATE PROCEDURE p2() SELECT 1").post("DROP PROCEDURE IF EXISTS p2"),
		ec("DROP PROCEDURE p3").pre("CREATE PROCEDURE p3() SELECT 1").post("DROP PROCEDURE IF EXISTS p3"),
		ec("CREATE TRIGGER tr2 BEFORE INSERT ON t2 FOR EACH ROW SET NEW.v = NEW.v").post("DROP TRIGGER IF EXISTS tr2"),
		ec("DROP TRIGGER tr3").pre("CREATE TRIGGER tr3 BEFORE UPDATE ON t2 FOR EACH ROW SET NEW.v = NEW.v").post("DROP TRIGGER IF EXISTS tr3"),
		ec("CREATE EVENT e1 ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY DO SELECT 1").post("DROP EVENT IF EXISTS e1"),
		ec("CREATE USER u1").post("DROP USER IF EXISTS u1"),
		ec("ALTER USER u2 IDENTIFIED BY 'pw'").pre("CREATE USER u2").post("DROP USER IF EXISTS u2"),
		ec("DROP USER u3").pre("CREATE USER u3").post("DROP USER IF EXISTS u3"),
		ec("RENAME USER u4 TO u5").pre("CREATE USER u4").post("DROP USER IF EXISTS u4", "DROP USER IF EXISTS u5"),
		ec("GRANT SELECT ON te.* TO u6").pre("CREATE USER u6").post("DROP USER IF EXISTS u6"),
		ec("REVOKE SELECT ON te.* FROM u7").pre("CREATE USER u7", "GRANT SELECT ON te.* TO u7").post("DROP USER IF EXISTS u7"),
		ec("LOCK TABLES t2 READ").unlock("UNLOCK TABLES"),
		ec("FLUSH TABLES WITH READ LOCK").unlock("UNLOCK TABLES"),
		ec("FLUSH TABLES"),
		ec("FLUSH PRIVILEGES"),
		ec("FLUSH STATUS"),
		ec("FLUSH LOGS"),
		ec("FLUSH BINARY LOGS"),
		ec("ANALYZE TABLE t2"),
		ec("OPTIMIZE TABLE t2"),
		ec("CHECK TABLE t2"),
		ec("REPAIR TABLE t2"),
		ec("BEGIN"),
		ec("START TRANSACTION"),
		ec("START TRANSACTION READ ONLY"),
		ec("START TRANSACTION WITH CONSISTENT SNAPSHOT"),
		ec("SET autocommit = 1"),
		ec("CREATE TABLE c6 (id INT PRIMARY KEY)", "INSERT INTO t2 VALUES (300, 0)").post("DROP TABLE IF EXISTS c6", "DELETE FROM t2 WHERE id > 100"),
		ec("STOP SLAVE").mysql(true),
		ec("STOP REPLICA").mysql(true),
		ec("PURGE BINARY LOGS BEFORE '2000-01-01 00:00:00'"),
	}
}

// endSetup creates the objects the cases use; the same on both servers.
var endSetup = []string{
	"CREATE TABLE t (id INT PRIMARY KEY)",
	"CREATE TABLE t2 (id INT PRIMARY KEY, v INT)",
	"INSERT INTO t2 VALUES (1, 10), (2, 20)",
	"CREATE TABLE trg (id INT PRIMARY KEY)",
	"CREATE TRIGGER tr BEFORE INSERT ON trg FOR EACH ROW SET NEW.id = NEW.id",
	"CREATE VIEW v AS SELECT id, v FROM t2",
	"CREATE FUNCTION f() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM t2)",
	"CREATE PROCEDURE p() READS SQL DATA SELECT COUNT(*) FROM t2",
	"CREATE PROCEDURE pv() READS SQL DATA SELECT COUNT(*) FROM v",
}

// runEndCase runs one case with row id k: BEGIN; INSERT t (k); SAVEPOINT sp; <stmts>; then it
// looks from another session, rolls back to the savepoint and rolls back, and looks again.
func runEndCase(t *testing.T, pool, observer *sql.DB, c endCase, k int) endOutcome {
	t.Helper()
	ctx := context.Background()
	for _, q := range c.before {
		if _, err := observer.ExecContext(ctx, q); err != nil {
			return endOutcome{err: fmt.Errorf("before: %s: %w", q, err)}
		}
	}
	a := openTxnConn(t, pool)
	a.must("BEGIN")
	a.must(fmt.Sprintf("INSERT INTO te.t VALUES (%d)", k))
	a.must("SAVEPOINT sp")
	var o endOutcome
	for _, q := range c.stmts {
		if o.err = a.exec(q); o.err != nil {
			break
		}
	}
	probe := fmt.Sprintf("SELECT COUNT(*) FROM te.t WHERE id = %d", k)
	o.visible = countRows(t, observer, probe) > 0
	o.spLost = a.exec("ROLLBACK TO SAVEPOINT sp") != nil
	for _, q := range c.afterSame {
		a.must(q)
	}
	k2 := k + 100000
	// (A READ ONLY transaction the statement started refuses the row; that is no autocommit.)
	if a.exec(fmt.Sprintf("INSERT INTO te.t VALUES (%d)", k2)) == nil {
		o.autocommit = countRows(t, observer, fmt.Sprintf("SELECT COUNT(*) FROM te.t WHERE id = %d", k2)) > 0
	}
	a.must("ROLLBACK")
	a.c.Close()
	o.survived = countRows(t, observer, probe) > 0
	for _, q := range append([]string{fmt.Sprintf("DELETE FROM te.t WHERE id IN (%d, %d)", k, k2)}, c.after...) {
		if _, err := observer.ExecContext(ctx, q); err != nil && o.err == nil {
			t.Errorf("%s: cleanup %s: %v", c.name(), q, err)
		}
	}
	return o
}

// runEndCases runs every case against one server, given a function opening pools on database te.
func runEndCases(t *testing.T, open func() *sql.DB) []endOutcome {
	t.Helper()
	setup := open()
	for _, q := range endSetup {
		// A server without the object's kind (RelayDB has no stored functions) fails its cases.
		if _, err := setup.Exec(q); err != nil {
			t.Logf("setup: %s: %v", q, err)
		}
	}
	pool := open()
	pool.SetMaxIdleConns(0) // every case gets a new session
	observer := open()
	var out []endOutcome
	for i, c := range endCases() {
		out = append(out, runEndCase(t, pool, observer, c, 1000+i))
	}
	return out
}

// Every statement kind ends (implicitly commits) a transaction on RelayDB exactly when it does
// on MariaDB 10.11. A statement one of the two servers refuses is listed and skipped.
func TestStatementsEndTransactionAsMariaDB(t *testing.T) {
	ms := mariadb.Start(t)
	root, err := sql.Open("mysql", ms.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mustExec(t, root, "CREATE DATABASE te")
	mariaOut := runEndCases(t, func() *sql.DB {
		db, err := sql.Open("mysql", ms.DSN("te"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})

	n := startNode(t, "")
	mustExec(t, n.db(""), "CREATE DATABASE te")
	relayOut := runEndCases(t, func() *sql.DB { return n.db("te") })

	var table, lacks strings.Builder
	fmt.Fprintf(&table, "%-70s  %-40s  %s\n", "statement", "MariaDB", "RelayDB")
	for i, c := range endCases() {
		m, r := mariaOut[i], relayOut[i]
		switch {
		case m.err != nil && r.err == nil && c.mysqlEnds != nil:
			fmt.Fprintf(&table, "%-70s  %-40s  %s\n", c.name(), fmt.Sprintf("refuses; MySQL 8 ends: %v", *c.mysqlEnds), r)
			if r.ended() != *c.mysqlEnds {
				t.Errorf("%s: MySQL 8 ends the transaction: %v; RelayDB %s", c.name(), *c.mysqlEnds, r)
			}
			continue
		case m.err != nil && r.err == nil:
			fmt.Fprintf(&lacks, "  MariaDB lacks %s: %v\n", c.name(), m.err)
			continue
		case r.err != nil && m.err == nil:
			fmt.Fprintf(&lacks, "  RelayDB lacks %s: %v\n", c.name(), r.err)
			continue
		}
		note := ""
		if m.err != nil {
			note = "  (fails on both)"
		}
		fmt.Fprintf(&table, "%-70s  %-40s  %s%s\n", c.name(), m, r, note)
		if !m.same(r) {
			t.Errorf("%s: MariaDB %s, RelayDB %s", c.name(), m, r)
		}
	}
	t.Logf("transaction after each statement:\n%s", table.String())
	if lacks.Len() > 0 {
		t.Logf("skipped, the statement fails on one server only:\n%s", lacks.String())
	}
}

// mariadb-dump --single-transaction reads every table and view of a database in one
// transaction, with a savepoint it rolls back to after each table's definition. Reading a view
// used to commit that transaction, and the dump stopped at "SAVEPOINT sp does not exist". The
// dump must succeed and load back into another database with the same rows and a working view.
func TestMariaDBDumpSingleTransactionWithView(t *testing.T) {
	dump := mariadbTool(t, "mariadb-dump")
	client := mariadbTool(t, "mariadb")
	n := startNode(t, "")
	root := n.db("")
	mustExec(t, root, "CREATE DATABASE src")
	mustExec(t, root, "CREATE DATABASE dst")
	src := n.db("src")
	mustExec(t, src, "CREATE TABLE a (id INT PRIMARY KEY, name VARCHAR(20))")
	mustExec(t, src, "INSERT INTO a VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	mustExec(t, src, "CREATE VIEW va AS SELECT id, name FROM a WHERE id > 1")
	mustExec(t, src, "CREATE TABLE z (id INT PRIMARY KEY)") // dumped after the view is read
	mustExec(t, src, "INSERT INTO z VALUES (7)")

	args := []string{"-h127.0.0.1", fmt.Sprintf("-P%d", n.port), "-uroot"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, dump, append(args, "--single-transaction", "src")...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mariadb-dump --single-transaction: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"CREATE TABLE `a`", "CREATE TABLE `z`", "INSERT INTO `z`", "VIEW `va`"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dump lacks %q", want)
		}
	}

	// mariadb-dump 10.11 starts with "/*M!999999\- enable the sandbox mode */", a comment to
	// MySQL (and executed by MariaDB only from version 99.99.99). RelayDB's parser (dolthub's
	// vitess) runs the text of every /*M! comment whatever its version, and fails on it; the
	// line is dropped here, as loading the dump is not what this test is about.
	text := string(out)
	if first, rest, ok := strings.Cut(text, "\n"); ok && strings.HasPrefix(first, "/*M!999999") {
		text = rest
	}
	load := exec.CommandContext(ctx, client, append(args, "dst")...)
	load.Stdin = strings.NewReader(text)
	if b, err := load.CombinedOutput(); err != nil {
		t.Fatalf("loading the dump: %v\n%s", err, b)
	}
	dst := n.db("dst")
	if got := countRows(t, dst, "SELECT COUNT(*) FROM a"); got != 3 {
		t.Errorf("restored a has %d rows, want 3", got)
	}
	if got := countRows(t, dst, "SELECT COUNT(*) FROM z"); got != 1 {
		t.Errorf("restored z has %d rows, want 1", got)
	}
	if got := countRows(t, dst, "SELECT COUNT(*) FROM va"); got != 2 {
		t.Errorf("restored view va shows %d rows, want 2", got)
	}
}

package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// wantCode fails the test unless err is MySQL error code.
func wantCode(t *testing.T, err error, code uint16, what string) {
	t.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != code {
		t.Fatalf("%s: got %v, want error %d", what, err, code)
	}
}

// TestStoredFunctions: CREATE FUNCTION (which GMS cannot parse) is stored, callable in any
// expression, listed and shown as MySQL does, refused with MySQL's errors where MySQL refuses
// it, replicated to a replica through the binary log, and kept across a restart.
func TestStoredFunctions(t *testing.T) {
	p, r, pdb, rdb := replicatedTable(t, "id INT PRIMARY KEY, v INT")
	mustExec(t, pdb, "INSERT INTO d.t VALUES (1, 10), (2, -3), (3, NULL)")
	mustExec(t, pdb, `CREATE DEFINER=root@localhost FUNCTION d.sign_word(x INT) RETURNS VARCHAR(10)
    DETERMINISTIC NO SQL
BEGIN
  DECLARE w VARCHAR(10) DEFAULT 'zero';
  IF x IS NULL THEN
    RETURN NULL;
  ELSEIF x > 0 THEN
    SET w = 'positive';
  ELSEIF x < 0 THEN
    SET w = CONCAT('nega', 'tive');
  END IF;
  RETURN w;
END`)
	// Loops, CASE and SELECT … INTO: the sum of v over ids 1..x, then words for it.
	mustExec(t, pdb, `CREATE FUNCTION d.loops(x INT) RETURNS VARCHAR(40) READS SQL DATA
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE total, part, n INT DEFAULT 0;
  sum_up: LOOP
    SET i = i + 1;
    IF i > x THEN LEAVE sum_up; END IF;
    SELECT COALESCE(v, 0) INTO part FROM t WHERE id = i;
    SET total = total + part;
    ITERATE sum_up;
  END LOOP;
  WHILE n < 3 DO SET n = n + 1; END WHILE;
  REPEAT SET n = n * 2; UNTIL n > 20 END REPEAT;
  CASE SIGN(total)
    WHEN 1 THEN RETURN CONCAT('sum ', total, ' n ', n);
    WHEN 0 THEN RETURN 'zero';
    ELSE RETURN CONCAT('minus ', -total);
  END CASE;
END`)
	// Reads a table of its own database (named without it) whatever the caller's database.
	mustExec(t, pdb, "CREATE FUNCTION d.total_plus(x INT) RETURNS BIGINT READS SQL DATA RETURN x + (SELECT COALESCE(SUM(v), 0) FROM t)")
	mustExec(t, pdb, "CREATE FUNCTION d.upper(s VARCHAR(20)) RETURNS VARCHAR(40) RETURN CONCAT('<', s, '>')")

	check := func(db *sql.DB, where string) {
		t.Helper()
		rows, err := db.Query("SELECT id, d.sign_word(v), d.total_plus(id) FROM d.t WHERE d.sign_word(v) IS NOT NULL ORDER BY id")
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		got, err := scanNullStrings(rows)
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := "1 positive 8|2 negative 9"
		var parts []string
		for _, r := range got {
			parts = append(parts, r[0].String+" "+r[1].String+" "+r[2].String)
		}
		if strings.Join(parts, "|") != want {
			t.Errorf("%s: calls gave %q, want %q", where, strings.Join(parts, "|"), want)
		}
		var l1, l3 string
		if err := db.QueryRow("SELECT d.loops(1), d.loops(3)").Scan(&l1, &l3); err != nil || l1 != "sum 10 n 24" || l3 != "sum 7 n 24" {
			t.Errorf("%s: d.loops(1), d.loops(3) = %q, %q (%v), want \"sum 10 n 24\", \"sum 7 n 24\"", where, l1, l3, err)
		}
		var builtin, stored string
		if err := db.QueryRow("SELECT upper('a'), d.upper('a')").Scan(&builtin, &stored); err != nil || builtin != "A" || stored != "<a>" {
			t.Errorf("%s: upper('a') = %q, d.upper('a') = %q (%v); the built-in wins unless qualified", where, builtin, stored, err)
		}
	}
	check(pdb, "primary")

	var name, mode, create, client, conn, coll string
	if err := pdb.QueryRow("SHOW CREATE FUNCTION d.sign_word").Scan(&name, &mode, &create, &client, &conn, &coll); err != nil {
		t.Fatal(err)
	}
	// The definer is printed quoted, as MySQL does, however it was written.
	if name != "sign_word" || !strings.HasPrefix(create, "CREATE DEFINER=`root`@`localhost` FUNCTION `sign_word`(x INT) RETURNS VARCHAR(10)") ||
		!strings.HasSuffix(create, "RETURN w;\nEND") || coll != "utf8mb4_0900_bin" {
		t.Errorf("SHOW CREATE FUNCTION: %q %q %q %q %q %q", name, mode, create, client, conn, coll)
	}
	var n int
	rows, err := pdb.Query("SHOW FUNCTION STATUS LIKE '%_%'")
	if err != nil {
		t.Fatal(err)
	}
	status, err := scanNullStrings(rows)
	rows.Close()
	if err != nil || len(status) != 4 || status[0][0].String != "d" || status[0][1].String != "loops" ||
		status[0][2].String != "FUNCTION" || status[0][3].String != "root@localhost" {
		t.Errorf("SHOW FUNCTION STATUS: %v %v", status, err)
	}

	// MySQL's refusals.
	_, err = pdb.Exec("CREATE FUNCTION d.upper(s INT) RETURNS INT RETURN s")
	wantCode(t, err, 1304, "a second function of the same name")
	mustExec(t, pdb, "CREATE FUNCTION IF NOT EXISTS d.upper(s INT) RETURNS INT RETURN s")
	_, err = pdb.Exec("SELECT d.sign_word(1, 2)")
	wantCode(t, err, 1318, "wrong number of arguments")
	_, err = pdb.Exec("CREATE FUNCTION d.noret(x INT) RETURNS INT BEGIN DECLARE y INT; SET y = x; END")
	wantCode(t, err, 1320, "a function without RETURN")
	_, err = pdb.Exec("CREATE FUNCTION d.bad(x INT) RETURN x")
	wantCode(t, err, 1064, "a CREATE FUNCTION without RETURNS")
	_, err = pdb.Exec("CREATE FUNCTION nodb() RETURNS INT RETURN 1")
	wantCode(t, err, 1046, "a function with no database")
	_, err = pdb.Exec("DROP FUNCTION d.nosuch")
	wantCode(t, err, 1305, "dropping a missing function")
	mustExec(t, pdb, "DROP FUNCTION IF EXISTS d.nosuch")
	mustExec(t, pdb, "CREATE FUNCTION d.loop_forever(x INT) RETURNS INT RETURN d.loop_forever(x)")
	_, err = pdb.Exec("SELECT d.loop_forever(1)")
	wantCode(t, err, 1424, "a recursive function")
	mustExec(t, pdb, "DROP FUNCTION d.loop_forever")
	if _, err = pdb.Exec("CREATE FUNCTION d.writes(x INT) RETURNS INT BEGIN INSERT INTO t VALUES (x, x); RETURN x; END"); err == nil {
		t.Fatal("a body with a statement the evaluator cannot run was accepted")
	}
	if _, err := pdb.Exec("SELECT d.writes(1)"); err == nil {
		t.Fatal("a function whose CREATE failed exists")
	}

	// Several statements in one COM_QUERY (the function ends where MySQL ends it).
	multi, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/d?multiStatements=true", p.port))
	if err != nil {
		t.Fatal(err)
	}
	defer multi.Close()
	mustExec(t, multi, "CREATE FUNCTION m1() RETURNS INT DETERMINISTIC RETURN 1; CREATE FUNCTION m2() RETURNS INT DETERMINISTIC "+
		"BEGIN DECLARE x INT DEFAULT 2; RETURN x; END; INSERT INTO t VALUES (9, m1() + m2())")
	if err := pdb.QueryRow("SELECT v FROM d.t WHERE id = 9").Scan(&n); err != nil || n != 3 {
		t.Errorf("after a multi-statement text: v = %d (%v), want 3", n, err)
	}
	mustExec(t, pdb, "DELETE FROM d.t WHERE id = 9")

	// Privileges: CREATE ROUTINE is needed; the definer is the creating account.
	mustExec(t, pdb, "CREATE USER dev@'%' IDENTIFIED BY 'pw'")
	mustExec(t, pdb, "GRANT ALL ON d.* TO dev@'%'")
	mustExec(t, pdb, "CREATE USER ro@'%' IDENTIFIED BY 'pw'")
	mustExec(t, pdb, "GRANT SELECT ON d.* TO ro@'%'")
	dev := openAs(t, p, "dev", "pw")
	mustExec(t, dev, "CREATE FUNCTION d.by_dev() RETURNS INT DETERMINISTIC RETURN 7")
	if _, err := openAs(t, p, "ro", "pw").Exec("CREATE FUNCTION d.by_ro() RETURNS INT DETERMINISTIC RETURN 7"); err == nil {
		t.Error("an account without CREATE ROUTINE created a function")
	}

	// Replicated (the statements are in the binary log) and callable on the replica.
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	check(rdb, "replica")
	var rcreate string
	if err := rdb.QueryRow("SHOW CREATE FUNCTION d.sign_word").Scan(&name, &mode, &rcreate, &client, &conn, &coll); err != nil || rcreate != create {
		t.Errorf("replica's SHOW CREATE FUNCTION: %q (%v), want %q", rcreate, err, create)
	}
	// Created without DEFINER on the primary by dev: the replica records the same definer.
	var pcreate string
	if err := pdb.QueryRow("SHOW CREATE FUNCTION d.by_dev").Scan(&name, &mode, &pcreate, &client, &conn, &coll); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pcreate, "CREATE DEFINER=`dev`@") {
		t.Errorf("SHOW CREATE FUNCTION d.by_dev: %q, want dev as the definer", pcreate)
	}
	if err := rdb.QueryRow("SHOW CREATE FUNCTION d.by_dev").Scan(&name, &mode, &rcreate, &client, &conn, &coll); err != nil || rcreate != pcreate {
		t.Errorf("replica's SHOW CREATE FUNCTION d.by_dev: %q (%v), primary's %q", rcreate, err, pcreate)
	}
	if st := replicaStatus(t, rdb); st["Last_SQL_Errno"] != "0" {
		t.Fatalf("replica applier error: %v", st)
	}
	mustExec(t, pdb, "DROP FUNCTION d.upper")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	var s string
	if err := rdb.QueryRow("SELECT d.upper('a')").Scan(&s); err == nil {
		t.Errorf("DROP FUNCTION did not reach the replica: d.upper('a') = %q", s)
	}

	// Kept across a restart; a transaction is committed by CREATE FUNCTION, as by any DDL.
	p.stop()
	p.restart()
	pdb2 := p.db("")
	check2 := func() {
		var w string
		if err := pdb2.QueryRow("SELECT d.sign_word(-5)").Scan(&w); err != nil || w != "negative" {
			t.Fatalf("after a restart: d.sign_word(-5) = %q (%v)", w, err)
		}
	}
	check2()
	ctx := context.Background()
	c, err := pdb2.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{"BEGIN", "INSERT INTO d.t VALUES (4, 4)", "CREATE FUNCTION d.one() RETURNS INT RETURN 1", "ROLLBACK"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := pdb2.QueryRow("SELECT COUNT(*) FROM d.t WHERE id = 4").Scan(&n); err != nil || n != 1 {
		t.Errorf("the row inserted before CREATE FUNCTION was rolled back (%d, %v): no implicit commit", n, err)
	}
	_ = r
}

package test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// fastExecutions reads the server's count of statements served by the fast path.
func fastExecutions(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var name string
	var n int64
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE 'Relaydb_fast_path_executions'").Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func errNumber(err error) uint16 {
	if me, ok := err.(*mysql.MySQLError); ok {
		return me.Number
	}
	return 0
}

// rowStrings runs a prepared query and returns its column names and rows as strings.
func rowStrings(t *testing.T, st *sql.Stmt, args ...any) ([]string, [][]string) {
	t.Helper()
	rows, err := st.Query(args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		raw := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range raw {
			if v == nil {
				r[i] = "NULL"
			} else {
				r[i] = string(v)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}

// TestFastPathReplansAndChecks shows that a prepared statement on the fast path is planned
// again after DDL, leaves tables with triggers to the general path, and keeps privilege checks,
// read_only, the global read lock and transactions exactly as the general path has them.
func TestFastPathReplansAndChecks(t *testing.T) {
	n := startNode(t, "")
	root := n.db("")
	mustExec(t, root, "CREATE DATABASE d")
	mustExec(t, root, "CREATE TABLE d.t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20))")
	mustExec(t, root, "INSERT INTO d.t VALUES (1, 10, 'one'), (2, 20, 'two')")
	db := n.db("d")
	db.SetMaxOpenConns(1)

	sel, err := db.Prepare("SELECT * FROM t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	before := fastExecutions(t, root)
	for range 3 {
		cols, rows := rowStrings(t, sel, 1)
		if strings.Join(cols, ",") != "id,k,c" || fmt.Sprint(rows) != "[[1 10 one]]" {
			t.Fatalf("before DDL: %v %v", cols, rows)
		}
	}
	if d := fastExecutions(t, root) - before; d < 2 {
		t.Fatalf("expected the repeated SELECT on the fast path, fast executions grew by %d", d)
	}

	// DDL between executions: the plan and its result metadata are taken again.
	mustExec(t, root, "ALTER TABLE d.t ADD COLUMN x INT NOT NULL DEFAULT 7")
	for range 3 {
		cols, rows := rowStrings(t, sel, 1)
		if strings.Join(cols, ",") != "id,k,c,x" || fmt.Sprint(rows) != "[[1 10 one 7]]" {
			t.Fatalf("after ADD COLUMN: %v %v", cols, rows)
		}
	}
	mustExec(t, root, "DROP TABLE d.t")
	mustExec(t, root, "CREATE TABLE d.t (id VARCHAR(10) PRIMARY KEY, v INT)")
	mustExec(t, root, "INSERT INTO d.t VALUES ('1', 100), ('a', 200)")
	for range 3 {
		cols, rows := rowStrings(t, sel, "a")
		if strings.Join(cols, ",") != "id,v" || fmt.Sprint(rows) != "[[a 200]]" {
			t.Fatalf("after DROP and CREATE: %v %v", cols, rows)
		}
	}
	t.Log("prepared SELECT * followed ADD COLUMN and DROP/CREATE TABLE")

	// A trigger sends writes to the general path, which runs it.
	mustExec(t, root, "CREATE TABLE d.audit (n INT)")
	ins, err := db.Prepare("INSERT INTO t (id, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	if _, err := ins.Exec("b", 1); err != nil {
		t.Fatal(err)
	}
	mustExec(t, root, "CREATE TRIGGER d.t_ai AFTER INSERT ON d.t FOR EACH ROW INSERT INTO d.audit VALUES (NEW.v)")
	for i := range 3 {
		if _, err := ins.Exec(fmt.Sprint("c", i), 5); err != nil {
			t.Fatal(err)
		}
	}
	if got := queryString(t, root, "SELECT COUNT(*) FROM d.audit"); got != "3" {
		t.Fatalf("trigger ran %s times for 3 inserts after it was created", got)
	}
	t.Log("inserts after CREATE TRIGGER fired it 3 times")

	// Privileges are checked on every execution: a REVOKE takes effect at once.
	mustExec(t, root, "CREATE USER app IDENTIFIED BY 'pw'")
	mustExec(t, root, "GRANT SELECT, UPDATE ON d.* TO app")
	appDB, err := sql.Open("mysql", fmt.Sprintf("app:pw@tcp(127.0.0.1:%d)/d", n.port))
	if err != nil {
		t.Fatal(err)
	}
	defer appDB.Close()
	appDB.SetMaxOpenConns(1)
	appSel, err := appDB.Prepare("SELECT v FROM t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer appSel.Close()
	appUpd, err := appDB.Prepare("UPDATE t SET v = v + 1 WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer appUpd.Close()
	for range 3 {
		if _, rows := rowStrings(t, appSel, "a"); len(rows) != 1 {
			t.Fatalf("app cannot read: %v", rows)
		}
		if _, err := appUpd.Exec("a"); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, root, "REVOKE SELECT, UPDATE ON d.* FROM app")
	// The general path's refusal is GMS's (error 1105 "Access denied for user …"); the fast path
	// hands a refused statement to it, so both report the same.
	var v string
	err = appSel.QueryRow("a").Scan(&v)
	if err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("SELECT after REVOKE: %v, want access denied", err)
	}
	selErr := err.Error()
	_, err = appUpd.Exec("a")
	if err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("UPDATE after REVOKE: %v, want access denied", err)
	}
	t.Logf("after REVOKE: SELECT refused (%s), UPDATE refused (%v)", selErr, err)
	mustExec(t, root, "GRANT SELECT, UPDATE ON d.* TO app")

	// read_only refuses the app's prepared UPDATE; super_read_only refuses root's too.
	mustExec(t, root, "SET GLOBAL read_only = ON")
	_, err = appUpd.Exec("a")
	if errNumber(err) != 1290 {
		t.Fatalf("UPDATE under read_only: %v, want 1290", err)
	}
	mustExec(t, root, "SET GLOBAL read_only = OFF")
	if _, err := appUpd.Exec("a"); err != nil {
		t.Fatalf("UPDATE after read_only OFF: %v", err)
	}

	// The session holding FLUSH TABLES WITH READ LOCK may not write (1223).
	c := conn(t, db)
	upd, err := c.PrepareContext(context.Background(), "UPDATE t SET v = ? WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upd.Exec(1, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(context.Background(), "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	_, err = upd.Exec(2, "a")
	if errNumber(err) != 1223 {
		t.Fatalf("UPDATE by the read lock's holder: %v, want 1223", err)
	}
	if _, err := c.ExecContext(context.Background(), "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	t.Log("read_only: 1290; holder of FLUSH TABLES WITH READ LOCK: 1223")

	// Transactions: prepared BEGIN … ROLLBACK undoes, BEGIN … COMMIT keeps, and nothing is
	// visible to another session before COMMIT.
	begin, _ := c.PrepareContext(context.Background(), "BEGIN")
	commit, _ := c.PrepareContext(context.Background(), "COMMIT")
	rollback, _ := c.PrepareContext(context.Background(), "ROLLBACK")
	for _, st := range []*sql.Stmt{begin, commit, rollback} {
		if st == nil {
			t.Fatal("could not prepare BEGIN/COMMIT/ROLLBACK")
		}
	}
	exec := func(st *sql.Stmt, args ...any) {
		t.Helper()
		if _, err := st.Exec(args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(begin)
	exec(upd, 111, "a")
	exec(rollback)
	if got := queryString(t, root, "SELECT v FROM d.t WHERE id = 'a'"); got != "1" {
		t.Fatalf("after ROLLBACK v = %s, want 1", got)
	}
	exec(begin)
	exec(upd, 222, "a")
	if got := queryString(t, root, "SELECT v FROM d.t WHERE id = 'a'"); got != "1" {
		t.Fatalf("uncommitted change visible to another session: v = %s", got)
	}
	exec(commit)
	if got := queryString(t, root, "SELECT v FROM d.t WHERE id = 'a'"); got != "222" {
		t.Fatalf("after COMMIT v = %s, want 222", got)
	}
	t.Log("prepared BEGIN/ROLLBACK undid, BEGIN/COMMIT kept, uncommitted change invisible")
}

// TestFastPathWritesReplicate checks that fast-path writes reach the binary log as row events
// and a replica applies them to identical tables.
func TestFastPathWritesReplicate(t *testing.T) {
	p, _, pdb, rdb := replicatedTable(t, "id INT PRIMARY KEY AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(20) NOT NULL DEFAULT '', INDEX k_1 (k)")
	db := p.db("d")
	db.SetMaxOpenConns(1)
	before := fastExecutions(t, pdb)
	ins, _ := db.Prepare("INSERT INTO t (id, k, c) VALUES (?, ?, ?), (?, ?, ?)")
	upd, _ := db.Prepare("UPDATE t SET k = k + 1 WHERE id = ?")
	updC, _ := db.Prepare("UPDATE t SET c = ? WHERE id = ?")
	del, _ := db.Prepare("DELETE FROM t WHERE id = ?")
	gen, _ := db.Prepare("INSERT INTO t (k, c) VALUES (?, ?)")
	for i := 1; i <= 200; i += 2 {
		for _, step := range []func() (sql.Result, error){
			func() (sql.Result, error) { return ins.Exec(i, i, fmt.Sprint("r", i), i+1, i, fmt.Sprint("r", i+1)) },
			func() (sql.Result, error) { return upd.Exec(i) },
			func() (sql.Result, error) { return updC.Exec(fmt.Sprint("u", i), i+1) },
			func() (sql.Result, error) { return del.Exec(i - 1) },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := gen.Exec(5, "generated")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	if id != 201 {
		t.Fatalf("generated id %d, want 201", id)
	}
	fast := fastExecutions(t, pdb) - before
	if fast < 400 {
		t.Fatalf("only %d of the writes took the fast path", fast)
	}
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	dump := func(db *sql.DB) string {
		rows, err := db.Query("SELECT id, k, c FROM d.t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, k int
			var c string
			if err := rows.Scan(&id, &k, &c); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%d,%d,%s;", id, k, c)
		}
		return b.String()
	}
	if a, b := dump(pdb), dump(rdb); a != b || a == "" {
		t.Fatalf("replica differs from primary:\nprimary %s\nreplica %s", a, b)
	}
	events := map[string]int{}
	rows, err := pdb.Query("SHOW BINLOG EVENTS IN 'binlog.000001'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var logName, typ, info string
		var pos, serverID, end int64
		if err := rows.Scan(&logName, &pos, &typ, &serverID, &end, &info); err != nil {
			t.Fatal(err)
		}
		events[typ]++
	}
	rows.Close()
	if events["Write_rows"] == 0 || events["Update_rows"] == 0 || events["Delete_rows"] == 0 {
		t.Fatalf("binlog lacks row events: %v", events)
	}
	t.Logf("%d fast-path writes; binlog events %v; replica identical", fast, events)
}

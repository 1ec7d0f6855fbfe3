package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func queryRows(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out
}

func columns(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	return strings.Join(cols, ",")
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// TestBinlogStatements checks the binary log statements, variables and options a MySQL user
// expects: listing, status, events, rotation, purge, reset, gtid_next, sql_log_bin and
// binlog-ignore-db.
func TestBinlogStatements(t *testing.T) {
	n := startNode(t, "", "--binlog-ignore-db=scratch", "--max-binlog-size=8192")
	db := n.db("")
	db.SetMaxOpenConns(1) // session variables below belong to one connection
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE DATABASE scratch")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(200))")
	mustExec(t, db, "CREATE TABLE scratch.t (id INT PRIMARY KEY)")

	if got := columns(t, db, "SHOW BINARY LOGS"); got != "Log_name,File_size,Encrypted" {
		t.Fatalf("SHOW BINARY LOGS columns %s", got)
	}
	if got := columns(t, db, "SHOW MASTER STATUS"); got != "File,Position,Binlog_Do_DB,Binlog_Ignore_DB,Executed_Gtid_Set" {
		t.Fatalf("SHOW MASTER STATUS columns %s", got)
	}
	if got := columns(t, db, "SHOW BINLOG EVENTS LIMIT 1"); got != "Log_name,Pos,Event_type,Server_id,End_log_pos,Info" {
		t.Fatalf("SHOW BINLOG EVENTS columns %s", got)
	}

	// max_binlog_size rotates by itself.
	for i := 0; i < 100; i++ {
		mustExec(t, db, "INSERT INTO app.t VALUES (?, REPEAT('x', 150))", i)
	}
	logs := queryRows(t, db, "SHOW MASTER LOGS")
	if len(logs) < 2 {
		t.Fatalf("100 inserts of 150 bytes with max_binlog_size 8192 left %d files", len(logs))
	}
	status := queryRows(t, db, "SHOW BINARY LOG STATUS")[0]
	last := logs[len(logs)-1]
	if status[0] != last[0] || status[1] != last[1] || status[3] != "scratch" {
		t.Fatalf("SHOW BINARY LOG STATUS %v does not match the last file %v (ignore-db scratch)", status, last)
	}

	// binlog-ignore-db: scratch's writes are not logged, but are durable.
	before := queryString(t, db, "SELECT @@GLOBAL.gtid_executed")
	mustExec(t, db, "INSERT INTO scratch.t VALUES (1)")
	if after := queryString(t, db, "SELECT @@GLOBAL.gtid_executed"); after != before {
		t.Fatalf("a write to an ignored database was logged: %s -> %s", before, after)
	}

	// SHOW BINLOG EVENTS with IN, FROM and LIMIT.
	ev := queryRows(t, db, fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' LIMIT 3", logs[0][0]))
	if len(ev) != 3 || ev[0][1] != "4" || ev[0][2] != "Format_desc" || ev[1][2] != "Previous_gtids" || ev[2][2] != "Gtid" {
		t.Fatalf("SHOW BINLOG EVENTS LIMIT 3: %v", ev)
	}
	from := queryRows(t, db, fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %s LIMIT 1, 2", logs[0][0], ev[2][1]))
	if len(from) != 2 || from[0][2] != "Query" || !strings.Contains(from[0][5], "CREATE DATABASE scratch") && !strings.Contains(from[0][5], "CREATE TABLE") && from[0][5] == "" {
		t.Fatalf("SHOW BINLOG EVENTS FROM/LIMIT: %v", from)
	}
	if _, err := db.Exec("SHOW BINLOG EVENTS IN 'binlog.999999'"); mysqlErrno(err) != 1220 {
		t.Fatalf("unknown file: %v, want error 1220", err)
	}

	// FLUSH BINARY LOGS, PURGE.
	mustExec(t, db, "FLUSH BINARY LOGS")
	logs2 := queryRows(t, db, "SHOW BINARY LOGS")
	if len(logs2) != len(logs)+1 {
		t.Fatalf("FLUSH BINARY LOGS: %d files, want %d", len(logs2), len(logs)+1)
	}
	if _, err := db.Exec("PURGE BINARY LOGS TO 'binlog.999999'"); mysqlErrno(err) != 1373 {
		t.Fatalf("purge to unknown file: %v, want 1373", err)
	}
	active := logs2[len(logs2)-1][0]
	mustExec(t, db, "PURGE BINARY LOGS TO '"+logs2[1][0]+"'")
	if got := queryRows(t, db, "SHOW BINARY LOGS"); got[0][0] != logs2[1][0] {
		t.Fatalf("after PURGE TO %s the first file is %s", logs2[1][0], got[0][0])
	}
	if purged := queryString(t, db, "SELECT @@GLOBAL.gtid_purged"); purged == "" {
		t.Fatal("gtid_purged empty after purging a file with transactions")
	}
	mustExec(t, db, "PURGE BINARY LOGS BEFORE '2999-01-01 00:00:00'")
	if got := queryRows(t, db, "SHOW BINARY LOGS"); len(got) != 1 || got[0][0] != active {
		t.Fatalf("PURGE BEFORE the future must keep exactly the active file %s: %v", active, got)
	}

	// gtid_next: an explicit GTID, an empty transaction to skip one, and a skipped duplicate.
	uuid := queryString(t, db, "SELECT @@server_uuid")
	mustExec(t, db, "SET gtid_next = '"+uuid+":1000'")
	mustExec(t, db, "INSERT INTO app.t VALUES (1000, 'explicit')")
	if next := queryString(t, db, "SELECT @@gtid_next"); next != "AUTOMATIC" {
		t.Fatalf("gtid_next after its transaction: %s", next)
	}
	mustExec(t, db, "SET gtid_next = '"+uuid+":1001'")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "COMMIT")
	mustExec(t, db, "SET gtid_next = '"+uuid+":1000'")
	mustExec(t, db, "INSERT INTO app.t VALUES (1002, 'must be skipped')")
	var skipped int
	db.QueryRow("SELECT COUNT(*) FROM app.t WHERE id = 1002").Scan(&skipped)
	var sub int
	db.QueryRow("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", uuid+":1000-1001").Scan(&sub)
	if skipped != 0 || sub != 1 {
		t.Fatalf("gtid_next: skipped-row count %d (want 0), GTID_SUBSET %d (want 1)", skipped, sub)
	}
	if _, err := db.Exec("SET gtid_next = 'not-a-gtid'"); mysqlErrno(err) != 1772 {
		t.Fatalf("malformed gtid_next: %v, want 1772", err)
	}
	var waited int
	if err := db.QueryRow("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 0.2)", uuid+":5000").Scan(&waited); err != nil || waited != 1 {
		t.Fatalf("WAIT_FOR_EXECUTED_GTID_SET on a future GTID: %d, %v (want 1: timeout)", waited, err)
	}

	// sql_log_bin: privileged; unlogged writes are still durable.
	mustExec(t, db, "CREATE USER app IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "GRANT ALL ON app.* TO app")
	appDB, err := sql.Open("mysql", fmt.Sprintf("app:pw@tcp(127.0.0.1:%d)/app", n.port))
	if err != nil {
		t.Fatal(err)
	}
	defer appDB.Close()
	if _, err := appDB.Exec("SET sql_log_bin = 0"); mysqlErrno(err) != 1227 {
		t.Fatalf("SET sql_log_bin by an unprivileged user: %v, want 1227", err)
	}
	if _, err := appDB.Exec("FLUSH BINARY LOGS"); mysqlErrno(err) != 1227 {
		t.Fatalf("FLUSH BINARY LOGS by an unprivileged user: %v, want 1227", err)
	}
	before = queryString(t, db, "SELECT @@GLOBAL.gtid_executed")
	mustExec(t, db, "SET sql_log_bin = 0")
	mustExec(t, db, "INSERT INTO app.t VALUES (2000, 'not logged')")
	mustExec(t, db, "SET sql_log_bin = 1")
	if after := queryString(t, db, "SELECT @@GLOBAL.gtid_executed"); after != before {
		t.Fatalf("sql_log_bin=0 write was logged: %s -> %s", before, after)
	}

	// RESET MASTER starts over with an empty gtid_executed, and that survives a crash.
	mustExec(t, db, "RESET MASTER")
	if got := queryRows(t, db, "SHOW BINARY LOGS"); len(got) != 1 || got[0][0] != "binlog.000001" {
		t.Fatalf("after RESET MASTER: %v", got)
	}
	if e := queryString(t, db, "SELECT @@GLOBAL.gtid_executed"); e != "" {
		t.Fatalf("gtid_executed after RESET MASTER: %q", e)
	}
	mustExec(t, db, "INSERT INTO app.t VALUES (3000, 'after reset')")
	db.Close()
	n.kill()
	n.restart("--binlog-ignore-db=scratch", "--max-binlog-size=8192")
	db = n.db("")
	if e := queryString(t, db, "SELECT @@GLOBAL.gtid_executed"); e != uuid+":1" {
		t.Fatalf("gtid_executed after RESET MASTER, one commit and a crash: %q, want %s:1", e, uuid)
	}
	var count int
	db.QueryRow("SELECT COUNT(*) FROM app.t WHERE id IN (2000, 3000)").Scan(&count)
	var scratch int
	db.QueryRow("SELECT COUNT(*) FROM scratch.t").Scan(&scratch)
	if count != 2 || scratch != 1 {
		t.Fatalf("after the crash: %d of the 2 rows written around RESET MASTER/sql_log_bin=0, %d of 1 ignored-db rows", count, scratch)
	}
}

// TestCorruptBinlogRefusesToStart damages the middle of the last binlog file: the server must
// refuse to start, naming the file and offset, and start with --binlog-force-recovery.
func TestCorruptBinlogRefusesToStart(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY, v TEXT)")
	for i := 0; i < 50; i++ {
		mustExec(t, db, "INSERT INTO d.t VALUES (?, REPEAT('y', 100))", i)
	}
	db.Close()
	n.kill() // the last file stays the one with the transactions
	path := filepath.Join(n.dataDir, "binlog.000001")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(b) / 2
	b[mid] ^= 0xff
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, relaydbBinary(t), "server", "--datadir", n.dataDir, "--port", fmt.Sprint(freePort(t))).CombinedOutput()
	if err == nil {
		t.Fatalf("server started on a binlog damaged in the middle:\n%s", out)
	}
	if !strings.Contains(string(out), "binlog.000001") || !strings.Contains(string(out), "offset") {
		t.Fatalf("the refusal does not name the file and offset:\n%s", out)
	}
	t.Logf("refused: %s", lastLine(string(out)))
	n.restart("--binlog-force-recovery")
	db = n.db("d")
	var c int
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&c); err != nil {
		t.Fatal(err)
	}
	t.Logf("with --binlog-force-recovery the server starts; %d rows", c)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "binlog") {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}

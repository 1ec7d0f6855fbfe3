package test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatementAndMixedFormats logs in STATEMENT and MIXED format and checks that replaying the
// binlog — by a server given only the binlog files, and by `relaydb binlog | mariadb` — rebuilds
// the same tables: statement events carry their time, INSERT_ID, LAST_INSERT_ID and user
// variables and RAND() seeds; an unsafe statement raises warning 1592 in STATEMENT format and is logged as rows in
// MIXED format.
func TestStatementAndMixedFormats(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	db.SetMaxOpenConns(1) // session variables
	mustExec(t, db, "CREATE DATABASE f")
	mustExec(t, db, "USE f")
	mustExec(t, db, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, s VARCHAR(40), at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), KEY (v))")
	mustExec(t, db, "CREATE TABLE unsafe_stmt (id INT PRIMARY KEY, u VARCHAR(40))")

	mustExec(t, db, "SET SESSION binlog_format = 'STATEMENT'")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	mustExec(t, db, "SET @x = 40, @s = 'héllo ✓', @f = 2.5")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (@x + 2, @s), (@f * 2, CONCAT(@s, '!'))")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (LAST_INSERT_ID(), 'last id')")
	mustExec(t, db, "UPDATE t SET v = v * 10, at = NOW(6) WHERE id <= 2")
	mustExec(t, db, "DELETE FROM t WHERE s = 'three'")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (7, 'in a transaction')")
	mustExec(t, db, "UPDATE t SET s = 'updated in it' WHERE v = 7")
	mustExec(t, db, "COMMIT")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (FLOOR(RAND() * 1000), CONCAT('r', RAND()))")
	mustExec(t, db, "UPDATE t SET v = FLOOR(RAND() * 100) WHERE id > 3")
	mustExec(t, db, "INSERT INTO unsafe_stmt VALUES (1, UUID())")
	var level, msg string
	var code int
	if err := db.QueryRow("SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != 1592 {
		t.Fatalf("unsafe statement in STATEMENT format: warning %d %q (%v), want 1592", code, msg, err)
	}

	mustExec(t, db, "SET SESSION binlog_format = 'MIXED'")
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (100, UUID())")                   // unsafe: rows
	mustExec(t, db, "UPDATE t SET v = v + 1 ORDER BY id LIMIT 2")                  // safe: statement
	mustExec(t, db, "UPDATE t SET s = 'limited' WHERE v > 0 LIMIT 1")              // unsafe: rows
	mustExec(t, db, "INSERT INTO t (v, s) VALUES (200, 'mixed safe'), (201, 'x')") // statement

	events := queryRows(t, db, "SHOW BINLOG EVENTS")
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e[2])
	}
	joined := strings.Join(kinds, ",")
	for _, want := range []string{"Intvar", "User var", "RAND", "Write_rows", "Update_rows"} {
		if !strings.Contains(joined, want) {
			t.Errorf("binlog lacks %s events: %s", want, joined)
		}
	}
	want := dumpTables(t, db, "t")
	db.Close()
	n.stop()

	// A server with only the binlog replays it from empty.
	replica := startNode(t, copyBinlog(t, n.dataDir))
	rdb := replica.db("f")
	if got := dumpTables(t, rdb, "t"); got != want {
		t.Fatalf("replayed from the binlog:\n%s\nwant:\n%s", got, want)
	}
	rdb.Close()
	replica.stop()

	// relaydb binlog | mariadb into an empty server.
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not installed")
	}
	files, _ := filepath.Glob(filepath.Join(n.dataDir, "binlog.[0-9]*"))
	var sqlText, stderr bytes.Buffer
	dump := exec.Command(relaydbBinary(t), append([]string{"binlog"}, files...)...)
	dump.Stdout, dump.Stderr = &sqlText, &stderr
	if err := dump.Run(); err != nil {
		t.Fatalf("relaydb binlog: %v\n%s", err, stderr.String())
	}
	fresh := startNode(t, "")
	replay := exec.Command(client, "-h127.0.0.1", fmt.Sprintf("-P%d", fresh.port), "-uroot", "--batch")
	replay.Stdin = &sqlText
	if out, err := replay.CombinedOutput(); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	fdb := fresh.db("f")
	if got := dumpTables(t, fdb, "t"); got != want {
		t.Fatalf("replayed with relaydb binlog | mariadb:\n%s\nwant:\n%s", got, want)
	}
	t.Logf("STATEMENT and MIXED binlog (%d events) replayed to the same table both ways (%d bytes)", len(events), len(want))
}

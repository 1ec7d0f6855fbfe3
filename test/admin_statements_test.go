package test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestAdminStatementsTypedParser: the administrative statements reach the node through
// internal/adminsql as a client sends them: after a leading comment, in MySQL's forms the
// regular expressions did not know, and with MySQL's error codes and texts for what is wrong.
func TestAdminStatementsTypedParser(t *testing.T) {
	n := startNode(t, "")
	root := n.db("")
	mustExec(t, root, "CREATE DATABASE d")

	// A comment before the statement (monitoring tools tag their queries so), and LIMIT … OFFSET.
	rows, err := root.Query("/* tool: probe */ SHOW BINLOG EVENTS LIMIT 1 OFFSET 1")
	if err != nil {
		t.Fatalf("SHOW BINLOG EVENTS after a comment, LIMIT … OFFSET: %v", err)
	}
	count := 0
	for rows.Next() {
		count++
	}
	if err := rows.Err(); err != nil || count != 1 {
		t.Fatalf("SHOW BINLOG EVENTS LIMIT 1 OFFSET 1: %d rows, %v", count, err)
	}
	rows.Close()
	mustExec(t, root, "# flush\nFLUSH BINARY LOGS")
	if got := queryRows(t, root, "-- status\nSHOW BINARY LOG STATUS")[0][0]; !strings.HasSuffix(got, ".000002") {
		t.Fatalf("binary log after FLUSH BINARY LOGS behind a comment: %q", got)
	}

	for _, c := range []struct {
		q      string
		code   uint16
		suffix string
	}{
		// MySQL's grammar knows no such option: a syntax error at it, on its line.
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h',\n  NO_SUCH_OPTION=1", 1064, "near 'NO_SUCH_OPTION=1' at line 2"},
		// Strings are quoted, numbers are not.
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST=h", 1064, "near 'h' at line 1"},
		{"CHANGE MASTER TO MASTER_PORT='3306'", 1064, "near ''3306'' at line 1"},
		// MySQL's range checks, with its codes.
		{"CHANGE REPLICATION SOURCE TO SOURCE_HEARTBEAT_PERIOD = 5000000", 1703, "(4294967 seconds)."},
		{"CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 2147483648", 1729, "exceeds the maximum 2147483647"},
		// Options MySQL has and RelayDB does not honour are refused as before.
		{"CHANGE REPLICATION SOURCE TO SOURCE_BIND = 'eth0'", 1210, "unknown option SOURCE_BIND"},
		{"START REPLICA UNTIL RELAY_LOG_FILE = 'r.000001', RELAY_LOG_POS = 4", 1277, "not supported"},
		{"START REPLICA UNTIL SOURCE_LOG_POS = 4", 1277, ""},
		{"START REPLICA UNTIL SQL_AFTER_GTIDS = 'nonsense'", 1772, "'nonsense'."},
		{"SHOW REPLICA STATUS FOR CHANNEL src1", 1064, "near 'src1' at line 1"},
	} {
		_, err := root.Exec(c.q)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != c.code {
			t.Errorf("%q: %v, want error %d", c.q, err, c.code)
			continue
		}
		if !strings.HasSuffix(me.Message, c.suffix) {
			t.Errorf("%q: %q, want it to end with %q", c.q, me.Message, c.suffix)
		}
	}

	// A replication statement commits the open transaction before it runs, but one that does
	// not parse never runs: nothing is committed, as in MySQL.
	mustExec(t, root, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	ctx := context.Background()
	conn, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"BEGIN", "INSERT INTO d.t VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "CHANGE REPLICATION SOURCE TO SOURCE_HOST=unquoted"); err == nil {
		t.Fatal("CHANGE REPLICATION SOURCE TO SOURCE_HOST=unquoted accepted")
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if got := queryRows(t, root, "SELECT COUNT(*) FROM d.t")[0][0]; got != "0" {
		t.Fatalf("a malformed CHANGE REPLICATION SOURCE committed the transaction: %s rows after ROLLBACK", got)
	}
}

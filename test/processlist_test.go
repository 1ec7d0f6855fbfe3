package test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
)

type processRow struct {
	id                         int64
	user, host, command, state string
	db, info                   sql.NullString
}

func processRows(t *testing.T, db *sql.DB, q string) []processRow {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []processRow
	for rows.Next() {
		var r processRow
		var secs int64
		var state sql.NullString
		if err := rows.Scan(&r.id, &r.user, &r.host, &r.db, &r.command, &secs, &state, &r.info); err != nil {
			t.Fatal(err)
		}
		r.state = state.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var clientHostPort = regexp.MustCompile(`^127\.0\.0\.1:\d+$`)

// TestProcessListAsMySQL: SHOW PROCESSLIST and information_schema.PROCESSLIST show each client
// as ip:port, a replica's dump as "Binlog Dump" / "Binlog Dump GTID" in MySQL's dump states,
// and a running statement as "executing" (GMS showed the account's host pattern, "Sleep" for a
// dump, and the plan's progress text as State).
func TestProcessListAsMySQL(t *testing.T) {
	n := startNode(t, "")
	binlogWorkload(t, n)
	db := n.db("")
	dump := rawDump(t, n, "root", "", []string{replicaSetup}, 51, "binlog.000001", 4, 0)
	expectFakeRotate(t, dump, "binlog.000001", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gtidC, err := mysql.Connect(ctx, &mysql.ConnParams{Host: "127.0.0.1", Port: n.port, Uname: "root"})
	if err != nil {
		t.Fatal(err)
	}
	defer gtidC.Close()
	if _, err := gtidC.ExecuteFetch(replicaSetup, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := gtidC.WriteComBinlogDumpGTID(53, "binlog.000001", 4, 0, nil); err != nil {
		t.Fatal(err)
	}
	sleeper := n.db("")
	done := make(chan error, 1)
	go func() { _, err := sleeper.ExecContext(ctx, "SELECT SLEEP(3)"); done <- err }()

	for _, q := range []string{"SHOW PROCESSLIST", "SELECT * FROM information_schema.PROCESSLIST"} {
		var rows []processRow
		deadline := time.Now().Add(10 * time.Second)
		for {
			rows = processRows(t, db, q)
			waiting, running := 0, false
			for _, r := range rows {
				if (r.command == "Binlog Dump" || r.command == "Binlog Dump GTID") && r.state == "Source has sent all binlog to replica; waiting for more updates" {
					waiting++
				}
				if r.info.String == "SELECT SLEEP(3)" {
					running = true
				}
			}
			if waiting >= 2 && running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no two waiting dumps and a running SLEEP:\n%+v", q, rows)
			}
			time.Sleep(100 * time.Millisecond)
		}
		commands := map[string]int{}
		for _, r := range rows {
			commands[r.command]++
			if !clientHostPort.MatchString(r.host) {
				t.Errorf("%s: Host %q, want the client's ip:port (%+v)", q, r.host, r)
			}
			switch r.command {
			case "Query":
				if r.state != "executing" {
					t.Errorf("%s: a running statement's State is %q, want executing", q, r.state)
				}
			case "Sleep":
				if r.state != "" || r.info.Valid {
					t.Errorf("%s: an idle connection has State %q Info %v", q, r.state, r.info)
				}
			}
			if strings.Contains(r.state, "\n") || strings.Contains(r.state, "running") {
				t.Errorf("%s: State %q is not one of MySQL's", q, r.state)
			}
		}
		if commands["Binlog Dump"] != 1 || commands["Binlog Dump GTID"] != 1 {
			t.Errorf("%s: commands %v, want one Binlog Dump and one Binlog Dump GTID", q, commands)
		}
		t.Logf("%s: %+v", q, rows)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

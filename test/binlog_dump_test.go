package test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
)

// mariadbTool finds one of the mariadb-client programs. The tests that need one fail without it
// rather than skip: they are the only check of COM_BINLOG_DUMP against a client the project did
// not write.
func mariadbTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install it with 'apt-get install -y mariadb-client'", name)
	}
	return p
}

// runTool runs a client program with a time limit and returns its standard output; a failure
// fails the test with its standard error.
func runTool(t *testing.T, stdin io.Reader, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// fileEvents reads a binlog file of the running server as it is now: its events by start
// offset, in order.
func fileEvents(t *testing.T, n *node, file string) (offsets []int64, events map[int64]binlog.Event) {
	t.Helper()
	r, err := binlog.OpenFile(filepath.Join(n.dataDir, file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events = map[int64]binlog.Event{}
	for {
		ev, at, err := r.Next()
		if errors.Is(err, io.EOF) {
			return offsets, events
		}
		if err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, at)
		events[at] = ev
	}
}

// binlogWorkload runs DDL and DML on n across a FLUSH BINARY LOGS, so binlog.000001 is finished
// and binlog.000002 is the active file, and returns the tables' contents.
func binlogWorkload(t *testing.T, n *node) string {
	t.Helper()
	db := n.db("")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE shop")
	mustExec(t, db, "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2), tags JSON, added DATETIME(3))")
	mustExec(t, db, "INSERT INTO shop.items VALUES (1, 'pen', 1.50, '[\"office\"]', '2026-01-02 03:04:05.678'), (2, 'ink', NULL, NULL, NULL)")
	mustExec(t, db, "CREATE TABLE shop.log (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20))")
	mustExec(t, db, "INSERT INTO shop.log (what) VALUES ('created')")
	mustExec(t, db, "FLUSH BINARY LOGS")
	mustExec(t, db, "UPDATE shop.items SET price = 2.25 WHERE id = 2")
	mustExec(t, db, "DELETE FROM shop.items WHERE id = 1")
	mustExec(t, db, "INSERT INTO shop.items VALUES (3, 'pad — ü', 0.99, '{\"a\": [1, 2]}', NOW(3))")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO shop.log (what) VALUES ('updated'), ('deleted')")
	mustExec(t, db, "UPDATE shop.log SET what = 'changed' WHERE n = 1")
	mustExec(t, db, "COMMIT")
	mustExec(t, db, "ALTER TABLE shop.log ADD COLUMN note VARCHAR(10) DEFAULT 'x'")
	mustExec(t, db, "INSERT INTO shop.log (what, note) VALUES ('altered', 'y')")
	return dumpTables(t, n.db("shop"), "items", "log")
}

// eventLines picks the events out of mariadb-binlog's text: for each event its "# at" line and
// its header comment (time, server id, end_log_pos, checksum, type). Events a source makes up
// for the stream (fake ROTATEs, stamped 1970) are left out, and so is the FORMAT_DESCRIPTION
// when skipFDE is set (a dump that starts inside a file sends it with end_log_pos 0).
func eventLines(out string, skipFDE, withAt bool) []string {
	header := regexp.MustCompile(`^#\d{6} `)
	var evs []string
	at := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "# at "):
			at = line
		case header.MatchString(line):
			if strings.HasPrefix(line, "#700101 ") || (skipFDE && strings.Contains(line, "\tStart: binlog v 4")) {
				continue
			}
			if withAt {
				line = at + " | " + line
			}
			evs = append(evs, line)
		}
	}
	return evs
}

func firstDiff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("event %d:\n got %q\nwant %q (%d events, want %d)", i, g, w, len(got), len(want))
		}
	}
	return ""
}

// TestBinlogDumpMariaDBBinlog reads a running server's binlog with mariadb-binlog
// --read-from-remote-server (COM_BINLOG_DUMP by file and position, non-blocking), compares what
// it prints with mariadb-binlog reading the same files locally, and replays the remote read into
// an empty server with the mariadb client.
func TestBinlogDumpMariaDBBinlog(t *testing.T) {
	tool := mariadbTool(t, "mariadb-binlog")
	n := startNode(t, "")
	want := binlogWorkload(t, n)
	p := startVersionProxy(t, n.port, nil)
	// --skip-ssl: the proxy rewrites SELECT VERSION()'s answer in clear text
	// (TestMariaDBBinlogOverTLS reads over TLS).
	remote := []string{"--read-from-remote-server", "--host=127.0.0.1", fmt.Sprintf("--port=%d", p.port), "--user=root", "--skip-ssl"}
	file1, file2 := filepath.Join(n.dataDir, "binlog.000001"), filepath.Join(n.dataDir, "binlog.000002")

	// One finished file: the remote read prints exactly what the local one prints.
	got := runTool(t, nil, tool, append(remote, "binlog.000001")...)
	local := runTool(t, nil, tool, file1)
	if got != local {
		t.Fatalf("remote read of binlog.000001 differs from the local read:\n%s", firstDiff(strings.Split(got, "\n"), strings.Split(local, "\n")))
	}
	t.Logf("binlog.000001: remote and local mariadb-binlog output identical (%d bytes, %d events)", len(got), len(eventLines(got, false, false)))

	// Every file to the end of the active one (--to-last-log): the same events with the same
	// end positions. (mariadb-binlog's own "# at" count runs on across files when it reads
	// remotely, so only the event headers are compared.)
	all := runTool(t, nil, tool, append(remote, "--to-last-log", "binlog.000001")...)
	localAll := runTool(t, nil, tool, file1, file2)
	if d := firstDiff(eventLines(all, false, false), eventLines(localAll, false, false)); d != "" {
		t.Fatalf("--to-last-log: %s", d)
	}
	t.Logf("--to-last-log: %d events over 2 files, same headers and end_log_pos as the local read", len(eventLines(all, false, false)))

	// From a position inside the active file: its third transaction.
	offsets, evs := fileEvents(t, n, "binlog.000002")
	var gtids []int64
	for _, at := range offsets {
		if evs[at].Type() == binlog.TypeGTID {
			gtids = append(gtids, at)
		}
	}
	start := gtids[2]
	from := runTool(t, nil, tool, append(remote, fmt.Sprintf("--start-position=%d", start), "binlog.000002")...)
	localFrom := runTool(t, nil, tool, fmt.Sprintf("--start-position=%d", start), file2)
	if d := firstDiff(eventLines(from, true, true), eventLines(localFrom, true, true)); d != "" {
		t.Fatalf("--start-position=%d: %s", start, d)
	}
	t.Logf("--start-position=%d: %d events, same positions and headers as the local read", start, len(eventLines(from, true, true)))

	// The remote read is replayable: piped into an empty server with the mariadb client, its
	// SQL and BINLOG statements rebuild the same tables.
	client := mariadbTool(t, "mariadb")
	fresh := startNode(t, "")
	runTool(t, strings.NewReader(all), client, "--no-defaults", "-h127.0.0.1", fmt.Sprintf("-P%d", fresh.port), "-uroot", "--batch")
	if got := dumpTables(t, fresh.db("shop"), "items", "log"); got != want {
		t.Fatalf("replayed remote read:\n%s\nwant:\n%s", got, want)
	}
	t.Logf("mariadb-binlog --read-from-remote-server --to-last-log | mariadb into an empty server: same tables (%d bytes)", len(want))

	// BINLOG is refused to a user without BINLOG_ADMIN (or SUPER, or REPLICATION_APPLIER).
	fdb := fresh.db("")
	mustExec(t, fdb, "CREATE USER plain IDENTIFIED WITH mysql_native_password BY 'pw'")
	i := strings.Index(all, "BINLOG '")
	stmt := all[i : i+strings.Index(all[i+len("BINLOG '"):], "'")+len("BINLOG ''")]
	pdb := openAs(t, fresh, "plain", "pw")
	if _, err := pdb.Exec(stmt); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("BINLOG by a user without BINLOG_ADMIN: %v, want it denied", err)
	}
	mustExec(t, fdb, "GRANT SUPER ON *.* TO plain") // GMS cannot grant BINLOG_ADMIN yet
	if _, err := pdb.Exec(stmt); err != nil {
		t.Fatalf("BINLOG (FORMAT_DESCRIPTION) with SUPER: %v", err)
	}
}

// openAs opens a connection pool to n as user.
func openAs(t *testing.T, n *node, user, pass string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/?timeout=10s&readTimeout=60s&writeTimeout=60s", user, pass, n.port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDump connects with vitess's client as user, runs setup, and sends COM_BINLOG_DUMP
// (the packet built by vitess, not by the project).
func rawDump(t *testing.T, n *node, user, pass string, setup []string, serverID uint32, file string, pos uint32, flags uint16) *mysql.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mysql.Connect(ctx, &mysql.ConnParams{Host: "127.0.0.1", Port: n.port, Uname: user, Pass: pass})
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(c.Close)
	for _, q := range setup {
		if _, err := c.ExecuteFetch(q, 0, false); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.WriteComBinlogDump(serverID, file, pos, flags); err != nil {
		t.Fatal(err)
	}
	return c
}

// dumpPacket is one packet of a dump's answer: an event, the end (EOF), or an error.
type dumpPacket struct {
	ev  binlog.Event
	eof bool
	err error
}

// readDump reads the next packet of a dump's answer, failing the test after within.
func readDump(t *testing.T, c *mysql.Conn, within time.Duration) dumpPacket {
	t.Helper()
	ch := make(chan dumpPacket, 1)
	go func() {
		data, err := c.ReadPacket(context.Background())
		switch {
		case err != nil:
			ch <- dumpPacket{err: err}
		case len(data) > 0 && data[0] == 0x00:
			ch <- dumpPacket{ev: binlog.Event(append([]byte(nil), data[1:]...))}
		case len(data) > 0 && data[0] == 0xfe && len(data) < 8:
			ch <- dumpPacket{eof: true}
		case len(data) > 0 && data[0] == 0xff:
			ch <- dumpPacket{err: mysql.ParseErrorPacket(data)}
		default:
			ch <- dumpPacket{err: fmt.Errorf("unexpected packet % x", data)}
		}
	}()
	select {
	case p := <-ch:
		return p
	case <-time.After(within):
		t.Fatalf("no packet from the dump within %s", within)
		return dumpPacket{}
	}
}

// dumpTransactions reads a non-blocking dump to its EOF and returns the number of transactions
// (GTID events) in it; an error fails the test.
func dumpTransactions(t *testing.T, c *mysql.Conn) int {
	t.Helper()
	gtids := 0
	for {
		p := readDump(t, c, 10*time.Second)
		if p.err != nil {
			t.Fatalf("after %d transactions: %v", gtids, p.err)
		}
		if p.eof {
			return gtids
		}
		if p.ev.Type() == binlog.TypeGTID {
			gtids++
		}
	}
}

// expectFakeRotate checks the events a dump starts with: the fake ROTATE naming file and pos,
// then file's FORMAT_DESCRIPTION, with log_pos 0 when the dump starts inside the file.
func expectFakeRotate(t *testing.T, c *mysql.Conn, file string, pos uint64) {
	t.Helper()
	p := readDump(t, c, 10*time.Second)
	if p.err != nil {
		t.Fatalf("dump from %s:%d: %v", file, pos, p.err)
	}
	f := binlog.NewFormat(binlog.ChecksumCRC32)
	if p.ev.Type() != binlog.TypeRotate || p.ev.Flags()&binlog.FlagArtificial == 0 || p.ev.Timestamp() != 0 {
		t.Fatalf("first event %s flags %#x, want an artificial ROTATE", p.ev.Type(), p.ev.Flags())
	}
	body := p.ev.Body(f)
	if got, name := binary.LittleEndian.Uint64(body[:8]), string(body[8:]); got != pos || name != file {
		t.Fatalf("fake ROTATE to %s:%d, want %s:%d", name, got, file, pos)
	}
	p = readDump(t, c, 10*time.Second)
	if p.err != nil || p.ev.Type() != binlog.TypeFormatDescription {
		t.Fatalf("second packet %v %v, want FORMAT_DESCRIPTION", p.ev.Type(), p.err)
	}
	if wantPos := map[bool]uint32{true: 0, false: uint32(len(binlog.Magic)) + uint32(len(p.ev))}[pos > 4]; p.ev.LogPos() != wantPos {
		t.Fatalf("FORMAT_DESCRIPTION log_pos %d, want %d", p.ev.LogPos(), wantPos)
	}
	if p.ev.Flags()&binlog.FlagBinlogInUse != 0 {
		t.Fatal("FORMAT_DESCRIPTION sent with the in-use flag")
	}
}

const replicaSetup = "SET @master_binlog_checksum = @@GLOBAL.binlog_checksum, @source_binlog_checksum = @@GLOBAL.binlog_checksum"

// TestBinlogDumpByPosition serves COM_BINLOG_DUMP to vitess's client: from a file and position
// the events are the file's own bytes, new commits are pushed, heartbeats flow while idle and
// SHOW REPLICAS lists the replica; BINLOG_DUMP_NON_BLOCK (or server_id 0) sends what exists,
// across files, then EOF, and the server ends the connection.
func TestBinlogDumpByPosition(t *testing.T) {
	n := startNode(t, "")
	binlogWorkload(t, n)
	db := n.db("")
	mustExec(t, db, "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "GRANT REPLICATION SLAVE ON *.* TO repl")
	offsets, evs := fileEvents(t, n, "binlog.000002")
	var start int64
	for _, at := range offsets {
		if evs[at].Type() == binlog.TypeGTID {
			start = at // the last transaction
		}
	}

	c := rawDump(t, n, "repl", "pw", []string{replicaSetup, "SET @master_heartbeat_period = 200000000"}, 42, "binlog.000002", uint32(start), 0)
	expectFakeRotate(t, c, "binlog.000002", uint64(start))
	at := start
	for at < offsets[len(offsets)-1]+int64(len(evs[offsets[len(offsets)-1]])) {
		p := readDump(t, c, 10*time.Second)
		if p.err != nil {
			t.Fatal(p.err)
		}
		if !bytes.Equal(p.ev, evs[at]) {
			t.Fatalf("event at %d: got %s (%d bytes), the file has %s (%d bytes)", at, p.ev.Type(), len(p.ev), evs[at].Type(), len(evs[at]))
		}
		at += int64(len(p.ev))
	}
	// Idle: heartbeats naming the file and the position reached; the replica is listed.
	p := readDump(t, c, 10*time.Second)
	if p.err != nil || p.ev.Type() != binlog.TypeHeartbeat || p.ev.LogPos() != uint32(at) {
		t.Fatalf("idle dump sent %v (log_pos %d) %v, want a HEARTBEAT at %d", p.ev.Type(), p.ev.LogPos(), p.err, at)
	}
	if rows := queryRows(t, db, "SHOW REPLICAS"); len(rows) != 1 || rows[0][0] != "42" {
		t.Fatalf("SHOW REPLICAS during a COM_BINLOG_DUMP: %v", rows)
	}
	// A commit is pushed, byte for byte what the file holds.
	mustExec(t, db, "INSERT INTO shop.items VALUES (4, 'live', 4.00, NULL, NULL)")
	var pushed []string
	for len(pushed) == 0 || pushed[len(pushed)-1] != binlog.TypeXID.String() {
		p := readDump(t, c, 10*time.Second)
		if p.err != nil {
			t.Fatal(p.err)
		}
		if p.ev.Type() == binlog.TypeHeartbeat {
			continue
		}
		_, evs = fileEvents(t, n, "binlog.000002")
		if !bytes.Equal(p.ev, evs[at]) {
			t.Fatalf("pushed event at %d differs from the file's", at)
		}
		at += int64(len(p.ev))
		pushed = append(pushed, p.ev.Type().String())
	}
	t.Logf("from binlog.000002:%d the file's events byte for byte, a heartbeat at %d while idle, then pushed: %s", start, at, strings.Join(pushed, ","))
	c.Close()

	// Non-blocking, from the first file (named by an empty file name), every event of every
	// file, then EOF; the server then ends the connection.
	for _, tc := range []struct {
		name     string
		serverID uint32
		flags    uint16
	}{{"BINLOG_DUMP_NON_BLOCK", 43, mysql.BinlogDumpNonBlock}, {"server_id 0", 0, 0}} {
		c := rawDump(t, n, "repl", "pw", []string{replicaSetup}, tc.serverID, "", 4, tc.flags)
		events := 0
		for _, file := range []string{"binlog.000001", "binlog.000002"} {
			expectFakeRotate(t, c, file, 4)
			offsets, evs := fileEvents(t, n, file)
			for _, at := range offsets { // the events after the FORMAT_DESCRIPTION
				p := readDump(t, c, 10*time.Second)
				if p.err != nil || !bytes.Equal(p.ev, evs[at]) {
					t.Fatalf("%s: %s at %d: got %s %v", tc.name, file, at, p.ev.Type(), p.err)
				}
				events++
			}
		}
		if p := readDump(t, c, 10*time.Second); !p.eof {
			t.Fatalf("%s: after the last event got %v %v, want EOF", tc.name, p.ev.Type(), p.err)
		}
		if p := readDump(t, c, 10*time.Second); p.err == nil {
			t.Fatalf("%s: connection still open after EOF: %v", tc.name, p)
		}
		t.Logf("%s: %d events of 2 files, then EOF, then the connection ended", tc.name, events)
	}
}

// TestBinlogDumpErrors checks what COM_BINLOG_DUMP refuses, with MySQL's codes and messages.
func TestBinlogDumpErrors(t *testing.T) {
	n := startNode(t, "")
	binlogWorkload(t, n)
	db := n.db("")
	mustExec(t, db, "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "GRANT REPLICATION SLAVE ON *.* TO repl")
	mustExec(t, db, "CREATE USER nobody IDENTIFIED WITH mysql_native_password BY 'pw'")
	offsets, _ := fileEvents(t, n, "binlog.000001")
	inside := offsets[3] + 1

	for _, tc := range []struct {
		name, user string
		file       string
		pos        uint32
		code       uint16
		msg        string
		events     bool // the error comes after the fake ROTATE and FORMAT_DESCRIPTION
	}{
		{"no REPLICATION SLAVE", "nobody", "binlog.000001", 4, 1227, "REPLICATION SLAVE", false},
		{"unknown file", "repl", "binlog.000099", 4, 1236, "Could not find first log file name in binary log index file", false},
		{"position past the end", "repl", "binlog.000001", 1 << 30, 1236, "Client requested source to start replication from position > file size", false},
		{"position before the first event", "repl", "binlog.000001", 0, 1236, "Client requested source to start replication from position < 4", false},
		{"position inside an event", "repl", "binlog.000001", uint32(inside), 1236,
			fmt.Sprintf("bogus data in log event; the first event 'binlog.000001' at %d, the last event read from 'binlog.000001' at ", inside), true},
	} {
		c := rawDump(t, n, tc.user, "pw", []string{replicaSetup}, 50, tc.file, tc.pos, 0)
		if tc.events {
			expectFakeRotate(t, c, tc.file, uint64(tc.pos))
		}
		p := readDump(t, c, 10*time.Second)
		var se *mysql.SQLError
		if !errors.As(p.err, &se) || se.Num != int(tc.code) || !strings.Contains(se.Message, tc.msg) {
			t.Fatalf("%s: got %v %v, want error %d with %q", tc.name, p.ev.Type(), p.err, tc.code, tc.msg)
		}
		t.Logf("%s: %d %s", tc.name, se.Num, se.Message)
		c.Close()
	}
}

// TestBinlogDumpNULTerminatedFileName: CDC clients that end COM_BINLOG_DUMP's file name with a
// NUL (MySQL and MariaDB read it as a C string) get the file's events, not error 1236.
func TestBinlogDumpNULTerminatedFileName(t *testing.T) {
	n := startNode(t, "")
	binlogWorkload(t, n)
	db := n.db("")
	mustExec(t, db, "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "GRANT REPLICATION SLAVE ON *.* TO repl")
	c := rawDump(t, n, "repl", "pw", []string{replicaSetup}, 43, "binlog.000001\x00", 4, mysql.BinlogDumpNonBlock)
	expectFakeRotate(t, c, "binlog.000001", 4) // and the file's FORMAT_DESCRIPTION
	gtids := dumpTransactions(t, c)
	if gtids == 0 {
		t.Fatal("the dump sent no transaction")
	}
}

package binlog

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
)

// statementTxn is a statement-format transaction with the context events MySQL writes before a
// statement: INTVAR, RAND and USER_VAR, between BEGIN and COMMIT.
func statementTxn(t *testing.T, f Format, gno int64) Txn {
	t.Helper()
	h := Header{Timestamp: uint32(testTime.Unix()), ServerID: 1}
	uv, err := f.UserVar(h, NewUserVarInt("v", 42, false))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := f.Query(h, Query{ThreadID: 7, Database: "test", SQL: "INSERT INTO t VALUES (@v + RAND())", SQLMode: DefaultSQLMode})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := f.Query(h, Query{ThreadID: 7, SQL: "COMMIT", SQLMode: DefaultSQLMode})
	if err != nil {
		t.Fatal(err)
	}
	return f.NewTxn(h, GTIDEvent{GTID: gtid.GTID{Server: testSID, Sequence: gno}, MayHaveSBR: true, SequenceNumber: gno, LastCommitted: gno - 1},
		f.Begin(h, 7), f.IntVar(h, IntVarInsertID, 5), f.Rand(h, 11, 22), uv, ins, commit)
}

// TestMariaDBBinlogReadsOurFiles has mariadb-binlog, a binlog reader the project did not write,
// read every file a writer produced — rotated, cleanly closed, and crashed then recovered — and
// checks that it sees each transaction's GTID, BEGIN, Table_map, rows and Xid at the positions
// our Reader reports.
func TestMariaDBBinlogReadsOurFiles(t *testing.T) {
	tool, err := exec.LookPath("mariadb-binlog")
	if err != nil {
		t.Skip("mariadb-binlog not found (Debian package mariadb-client): skipping the cross-check with an independent binlog reader")
	}
	for _, c := range formats {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			w := openTestWriter(t, dir, Options{Checksum: c})
			f := w.Format()
			mustAppend := func(txns ...Txn) {
				t.Helper()
				if _, err := w.Append(txns...); err != nil {
					t.Fatal(err)
				}
			}
			mustAppend(rowTxn(t, f, 1, 10, 20), ddlTxn(t, f, 2, "CREATE TABLE u (a INT)"))
			mustAppend(statementTxn(t, f, 3))
			if err := w.Rotate(); err != nil {
				t.Fatal(err)
			}
			mustAppend(rowTxn(t, f, 4, 30))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// A second run that crashes in the middle of an append; Recover cuts the torn tail.
			w = openTestWriter(t, dir, Options{Checksum: c, Previous: gtid.MustParse(testUUID + ":1-4")})
			mustAppend(rowTxn(t, f, 5, 50))
			if _, err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			torn := rowTxn(t, f, 6, 60)
			appendBytes(t, filepath.Join(dir, w.Position().File), append(append([]byte{}, torn[0]...), torn[1][:9]...))
			w.cur.Close()
			rec, err := Recover(RecoverOptions{Dir: dir, Logger: quietLogger()})
			if err != nil || len(rec.Cuts) != 1 {
				t.Fatalf("recovery %+v, %v", rec, err)
			}

			var paths []string
			var wantAt []int64
			for _, name := range rec.Files {
				p := filepath.Join(dir, name)
				paths = append(paths, p)
				_, _, offs := readAll(t, p)
				wantAt = append(append(wantAt, 4), offs...)
			}
			if len(paths) != 3 {
				t.Fatalf("files %v", rec.Files)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tool, append([]string{"--verify-binlog-checksum", "-v"}, paths...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("mariadb-binlog: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
			}
			out := stdout.String()
			if testing.Verbose() {
				t.Logf("mariadb-binlog output:\n%s\nstderr:\n%s", out, stderr.String())
			}
			if strings.Contains(stderr.String(), "ERROR") {
				t.Fatalf("mariadb-binlog reported errors:\n%s", stderr.String())
			}

			var gotAt []int64
			for _, m := range regexp.MustCompile(`(?m)^# at (\d+)$`).FindAllStringSubmatch(out, -1) {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				gotAt = append(gotAt, n)
			}
			if !slices.Equal(gotAt, wantAt) {
				t.Fatalf("mariadb-binlog saw events at %v, our reader at %v", gotAt, wantAt)
			}
			count := func(s string) int { return strings.Count(out, s) }
			for s, n := range map[string]int{
				"Ignorable event type 33 (MySQL Gtid)":           5,
				"Ignorable event type 35 (MySQL Previous_gtids)": 3,
				"\nBEGIN\n": 4,
				"Table_map: `test`.`t` mapped to number 108": 3,
				"### INSERT INTO `test`.`t`":                 4,
				"###   @1=10\n":                              1,
				"###   @1=50\n":                              1,
				"Xid = 1001\n":                               1,
				"Xid = 1005\n":                               1,
				"CREATE TABLE u (a INT)":                     1,
				"SET INSERT_ID=5":                            1,
				"SET @@RAND_SEED1=11, @@RAND_SEED2=22":       1,
				"SET @`v`:=42":                               1,
				"INSERT INTO t VALUES (@v + RAND())":         1,
				"Rotate to binlog.000002  pos: 4":            1,
				"\tStop":                                     1,
				"server v " + ServerVersion:                  3,
			} {
				if got := count(s); got != n {
					t.Errorf("mariadb-binlog printed %q %d times, want %d", s, got, n)
				}
			}
			if c == ChecksumCRC32 && count(" CRC32 0x") != len(wantAt) {
				t.Errorf("mariadb-binlog printed %d CRC32 values for %d events", count(" CRC32 0x"), len(wantAt))
			}
			if t.Failed() && !testing.Verbose() {
				t.Logf("mariadb-binlog output:\n%s", out)
			}
		})
	}
}

// TestDecodeQueryMariaDBStatusVars: MariaDB's Q_HRNOW (128, the statement time's microseconds)
// and Q_XID (129) are read, not taken for the end of the block, so variables after them count.
func TestDecodeQueryMariaDBStatusVars(t *testing.T) {
	f := NewFormat(ChecksumCRC32)
	ev, err := f.Query(Header{Timestamp: 1, ServerID: 1}, Query{SQL: "CREATE TABLE t (a INT)", Database: "d", SQLMode: DefaultSQLMode})
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild the status block as MariaDB 10.11 writes it for DDL: Q_HRNOW and Q_XID after
	// MySQL's codes, then a code both know again (Q_CHARSET_CODE).
	vars := []byte{qMariaDBHRNow, 0x40, 0xe2, 0x01, qMariaDBXID, 7, 0, 0, 0, 0, 0, 0, 0, qCharset, 45, 0, 45, 0, 8, 0}
	body := ev[HeaderLen : len(ev)-ChecksumLen]
	post := append([]byte(nil), body[:queryPostHeaderLen]...)
	post[11], post[12] = byte(len(vars)), 0
	oldVars := int(body[11]) | int(body[12])<<8
	rest := body[queryPostHeaderLen+oldVars:]
	out := f.build(TypeQuery, Header{Timestamp: 1, ServerID: 1}, 0, post, vars, rest)
	q, err := DecodeQuery(f, out)
	if err != nil {
		t.Fatal(err)
	}
	if !q.HasMicroseconds || q.Microseconds != 123456 || q.Charset != (Charset{Client: 45, Connection: 45, Server: 8}) ||
		q.SQL != "CREATE TABLE t (a INT)" || q.Database != "d" {
		t.Fatalf("decoded %+v", q)
	}
}

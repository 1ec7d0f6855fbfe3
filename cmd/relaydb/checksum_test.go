package main

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/relaydb/relaydb/internal/checksum"
)

func TestChecksumOptionsAndRefusals(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "relaydb checksum [options]") {
		t.Fatalf("relaydb help lacks checksum: %d\n%s", code, out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"checksum", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("checksum --help: exit %d", code)
	}
	for _, name := range []string{"host", "port", "user", "password", "replica", "databases", "tables", "chunk-size", "wait-timeout", "sync-age", "max-rows", "verbose"} {
		if !strings.Contains(errOut.String(), "-"+name) {
			t.Errorf("checksum --help lacks --%s", name)
		}
	}

	// A port nobody listens on: taken, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--replica", "nohostport"}, `"nohostport" is not host:port`},
		{[]string{"--replica", "127.0.0.1:99999"}, "bad port"},
		{[]string{"--replica", "127.0.0.1:1", "--chunk-size", "0"}, "--chunk-size must be at least 1"},
		{[]string{"--replica", "127.0.0.1:1", "extra"}, `unexpected argument "extra"`},
		{[]string{"--replica", "127.0.0.1:1,127.0.0.1:1"}, "127.0.0.1:1 is named twice"},
		{[]string{"--port", fmt.Sprint(free), "--replica", "127.0.0.1:1"}, "cannot connect to 127.0.0.1:" + fmt.Sprint(free)},
	} {
		out.Reset()
		errOut.Reset()
		code := run(append([]string{"checksum"}, c.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("checksum %v: exit %d, want 2 with %q\n%s%s", c.args, code, c.want, out.String(), errOut.String())
		}
	}
}

func TestChecksumReportText(t *testing.T) {
	rep := checksum.Report{
		Primary:  "127.0.0.1:3306",
		Replicas: []string{"127.0.0.1:3307", "127.0.0.1:3308"},
		Tables: []checksum.TableReport{
			{Database: "bank", Table: "acct", Chunks: 1, Rows: 200, DiffChunksOn: map[string]int{}},
			{Database: "ck", Table: "nopk", NoPrimaryKey: true, Chunks: 1, Rows: 4, DiffChunks: 1, DiffRows: 2,
				DiffChunksOn: map[string]int{"127.0.0.1:3307": 1},
				Diffs: []checksum.RowDiff{
					{Replica: "127.0.0.1:3307", Database: "ck", Table: "nopk", Key: "(k=2, v=NULL)", Kind: checksum.OnlyOnPrimary},
				},
				Problems: []checksum.Problem{{Replica: "127.0.0.1:3308", Message: "table missing on the replica"}},
			},
		},
		Notes: []string{"replica 127.0.0.1:3308 has executed transactions the primary has not (errant GTIDs): x:1"},
	}
	lines := []string{tableLine(rep.Tables[0]), tableLine(rep.Tables[1])}
	want := []string{
		"bank.acct: 1 chunk, 200 rows, 0 differing chunks",
		"ck.nopk: 1 chunk (no primary key: the whole table is one chunk), 4 rows, 1 differing chunk (127.0.0.1:3307: 1); 127.0.0.1:3308: table missing on the replica",
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("table line:\n got %s\nwant %s", lines[i], want[i])
		}
	}
	var b bytes.Buffer
	printDiffs(&b, rep)
	wantDiffs := "Differences:\n" +
		"127.0.0.1:3308 ck.nopk: table missing on the replica\n" +
		"127.0.0.1:3307 ck.nopk (k=2, v=NULL): only on the primary\n" +
		"… and 1 more differing rows in ck.nopk (--max-rows)\n" +
		"note: replica 127.0.0.1:3308 has executed transactions the primary has not (errant GTIDs): x:1\n"
	if b.String() != wantDiffs {
		t.Errorf("differences:\n got %s\nwant %s", b.String(), wantDiffs)
	}
}

package binlogtool

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
)

// fourTables is a file of four DDL transactions, one minute apart, and their start and end offsets.
func fourTables(t *testing.T) (string, []binlog.Transaction) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	var txns []binlog.Txn
	for i := 1; i <= 4; i++ {
		txns = append(txns, x.ddl("d", fmt.Sprintf("CREATE TABLE t%d (a INT)", i)))
	}
	path := x.write(txns...)
	r, err := binlog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []binlog.Transaction
	for {
		tx, err := r.NextTransaction()
		if err == io.EOF {
			return path, got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tx)
	}
}

// tablesCreated runs the command and lists the tables whose CREATE it printed as SQL.
func tablesCreated(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("relaydb binlog %v: exit %d: %s", args, code, stderr.String())
	}
	var tables []string
	for _, l := range sqlLines(stdout.String()) {
		if name, ok := strings.CutPrefix(l, "CREATE TABLE "); ok {
			tables = append(tables, strings.Fields(name)[0])
		}
	}
	return tables, stdout.String()
}

func TestFilters(t *testing.T) {
	path, txns := fourTables(t)
	pos := func(v uint64) string { return strconv.FormatUint(v, 10) }
	// The QUERY event of the second transaction: inside it.
	mid := txns[1].Start + uint64(len(txns[1].Events[0]))
	local := func(i int) string {
		return time.Unix(int64(txns[i].Events[0].Timestamp()), 0).In(time.Local).Format("2006-01-02 15:04:05")
	}
	for _, c := range []struct {
		args []string
		want []string
		note string // a comment the output must hold
	}{
		{args: nil, want: []string{"t1", "t2", "t3", "t4"}},
		{args: []string{"--start-position=" + pos(txns[1].Start)}, want: []string{"t2", "t3", "t4"}},
		{args: []string{"--start-position", pos(mid)}, want: []string{"t3", "t4"},
			note: "Query event skipped: its transaction began before --start-position"},
		{args: []string{"--stop-position=" + pos(txns[1].End)}, want: []string{"t1", "t2"}},
		{args: []string{"--stop-position=" + pos(mid)}, want: []string{"t1"},
			note: fmt.Sprintf("# transaction at %d not printed: it continues past --stop-position", txns[1].Start)},
		{args: []string{"--start-position=" + pos(txns[1].Start), "--stop-position=" + pos(txns[2].End)}, want: []string{"t2", "t3"}},
		{args: []string{"--start-datetime=" + local(1)}, want: []string{"t2", "t3", "t4"}},
		{args: []string{"--stop-datetime", local(2)}, want: []string{"t1", "t2"}},
		{args: []string{"--start-datetime=" + local(1), "--stop-datetime=" + local(3)}, want: []string{"t2", "t3"}},
		{args: []string{"--include-gtids=" + testUUID + ":2-3"}, want: []string{"t2", "t3"}},
		{args: []string{"--exclude-gtids=" + testUUID + ":1:4"}, want: []string{"t2", "t3"}},
		{args: []string{"--include-gtids=" + testUUID + ":1-3", "--exclude-gtids=" + testUUID + ":2"}, want: []string{"t1", "t3"}},
	} {
		// Options after the file, as mysqlbinlog allows, must work the same.
		for _, args := range [][]string{append(slices.Clone(c.args), path), append([]string{path}, c.args...)} {
			got, out := tablesCreated(t, args...)
			if !slices.Equal(got, c.want) {
				t.Errorf("%v: created %v, want %v", args, got, c.want)
			}
			if c.note != "" && !strings.Contains(out, c.note) {
				t.Errorf("%v: output lacks %q:\n%s", args, c.note, out)
			}
			// Whole transactions only: every GTID_NEXT is closed.
			sqls := strings.Join(sqlLines(out), "\n")
			if strings.Count(sqls, "GTID_NEXT='3e11") != strings.Count(sqls, "GTID_NEXT='AUTOMATIC'") {
				t.Errorf("%v: unbalanced GTID_NEXT:\n%s", args, sqls)
			}
		}
	}
}

// --start-position applies to the first file and --stop-position to the last, as in mysqlbinlog.
func TestPositionsAcrossFiles(t *testing.T) {
	first, txns := fourTables(t)
	second, _ := fourTables(t)
	got, _ := tablesCreated(t, "--start-position="+strconv.FormatUint(txns[3].Start, 10),
		"--stop-position="+strconv.FormatUint(txns[0].End, 10), first, second)
	if want := []string{"t4", "t1"}; !slices.Equal(got, want) {
		t.Errorf("created %v, want %v", got, want)
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--start-datetime=yesterday", "f"},
		{"--include-gtids=nonsense", "f"},
		{"--no-such-flag", "f"},
		{"--start-position=-1", "f"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "-stop-position") {
		t.Errorf("--help: exit %d, %s", code, stderr.String())
	}
}

// A start position that is not an event's offset is reported as such.
func TestStartPositionNotAnEvent(t *testing.T) {
	path, txns := fourTables(t)
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"--start-position=" + strconv.FormatUint(txns[1].Start+3, 10), path}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "is --start-position="+strconv.FormatUint(txns[1].Start+3, 10)+" the offset of an event?") {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
}

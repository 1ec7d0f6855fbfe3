package binlog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaydb/relaydb/internal/gtid"
)

// crashedLog writes n one-row transactions (GTIDs 1..n) with a Sync, and leaves the writer
// without closing it, as a kill -9 would. It returns the file path and each transaction's end.
func crashedLog(t *testing.T, dir string, n int64, opts Options) (string, []Position) {
	t.Helper()
	w := openTestWriter(t, dir, opts)
	var ends []Position
	for gno := int64(1); gno <= n; gno++ {
		pos, err := w.Append(rowTxn(t, w.Format(), gno, int32(gno)))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, pos[0])
	}
	if _, err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.cur.Close()
	return filepath.Join(dir, w.Position().File), ends
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func recoverDir(t *testing.T, dir string, force bool) (*Recovery, error) {
	t.Helper()
	return Recover(RecoverOptions{Dir: dir, Force: force, FullScan: true, Logger: quietLogger()})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestRecoverTornTail(t *testing.T) {
	for _, c := range formats {
		t.Run(c.String(), func(t *testing.T) { testRecoverTornTail(t, c) })
	}
}

func testRecoverTornTail(t *testing.T, c Checksum) {
	f := NewFormat(c)
	next := rowTxn(t, f, 4, 4) // what the crashed writer was appending
	var nextBytes []byte
	for _, ev := range next {
		nextBytes = append(nextBytes, ev...)
	}
	// Events of the next transaction with log_pos as the writer would have set them, so that
	// only the damage under test is wrong.
	placed := func(end int64) []byte {
		w := &Writer{format: f}
		var b []byte
		for _, ev := range next {
			b = w.place(b, ev, end)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, end int64)
		reason string
	}{
		{"half an event", func(t *testing.T, path string, end int64) {
			appendBytes(t, path, placed(end)[:len(next[0])+7])
		}, "file ends"},
		{"half a header", func(t *testing.T, path string, end int64) {
			appendBytes(t, path, placed(end)[:10])
		}, "file ends 10 bytes into an event header"},
		{"no XID", func(t *testing.T, path string, end int64) {
			b := placed(end)
			appendBytes(t, path, b[:len(b)-len(next[len(next)-1])])
		}, "has no XID or COMMIT"},
		{"bad CRC in the XID", func(t *testing.T, path string, end int64) {
			b := placed(end)
			b[len(b)-6] ^= 0xff
			appendBytes(t, path, b)
		}, "bad CRC32"},
		{"zeros", func(t *testing.T, path string, end int64) {
			appendBytes(t, path, make([]byte, 4096))
		}, "impossible size"},
		{"zeros after a whole transaction", func(t *testing.T, path string, end int64) {
			appendBytes(t, path, append(placed(end), make([]byte, 100)...))
		}, "impossible size"},
	} {
		if c == ChecksumNone && strings.Contains(tc.name, "CRC") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, ends := crashedLog(t, dir, 3, Options{Checksum: c})
			end := int64(ends[2].Offset)
			tc.damage(t, path, end)
			before := fileSize(t, path)
			rec, err := recoverDir(t, dir, false)
			if err != nil {
				t.Fatal(err)
			}
			keep := end
			gtids := testUUID + ":1-3"
			if tc.name == "zeros after a whole transaction" {
				keep += int64(len(nextBytes))
				gtids = testUUID + ":1-4"
			}
			if got := fileSize(t, path); got != keep {
				t.Fatalf("file is %d bytes after recovery, want %d", got, keep)
			}
			if len(rec.Cuts) != 1 || rec.Cuts[0].Offset != keep || rec.Cuts[0].Bytes != before-keep ||
				!strings.Contains(rec.Cuts[0].Reason, tc.reason) {
				t.Fatalf("cuts %v, want one at %d mentioning %q", rec.Cuts, keep, tc.reason)
			}
			if rec.Executed.String() != gtids || rec.Clean || rec.End != (Position{File: filepath.Base(path), Offset: uint64(keep)}) {
				t.Fatalf("recovery %+v", rec)
			}
			// Recovered once, the binlog is whole: a second pass changes nothing.
			again, err := recoverDir(t, dir, false)
			if err != nil || len(again.Cuts) != 0 || !again.Executed.Equal(rec.Executed) {
				t.Fatalf("second recovery %+v, %v", again, err)
			}
			// And a writer continues after it.
			w := openTestWriter(t, dir, Options{Checksum: c, Previous: rec.Executed})
			if _, err := w.Append(rowTxn(t, w.Format(), 10, 1)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRecoverRefusesMiddleDamage(t *testing.T) {
	dir := t.TempDir()
	path, ends := crashedLog(t, dir, 5, Options{})
	// Damage one byte inside transaction 2 (its TABLE_MAP's table name).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	txStart := int64(ends[0].Offset)
	_, _, offs := readAll(t, path)
	var victim int64
	for _, o := range offs {
		if o > txStart {
			victim = o // first event after the GTID: BEGIN
			break
		}
	}
	data[victim+HeaderLen+20] ^= 0x01
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	size := fileSize(t, path)

	_, err = recoverDir(t, dir, false)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != filepath.Base(path) || ce.Offset != victim {
		t.Fatalf("Recover = %v, want a *CorruptError at %s offset %d", err, filepath.Base(path), victim)
	}
	if !strings.Contains(err.Error(), "binlog.000001") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("error does not name the file and offset: %v", err)
	}
	if fileSize(t, path) != size {
		t.Fatal("a refused recovery changed the file")
	}
	if _, err := Open(Options{Dir: dir, Logger: quietLogger()}); !errors.Is(err, ErrNotRecovered) {
		t.Fatalf("Open after a refused recovery: %v", err)
	}

	// Force truncates at the damaged transaction.
	rec, err := recoverDir(t, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != txStart {
		t.Fatalf("forced recovery kept %d bytes, want %d", got, txStart)
	}
	if rec.Executed.String() != testUUID+":1" || len(rec.Cuts) != 1 || !strings.Contains(rec.Cuts[0].Reason, "forced") {
		t.Fatalf("forced recovery %+v", rec)
	}
}

func TestRecoverPending(t *testing.T) {
	dir := t.TempDir()
	// Several files, so that pending transactions span a rotation.
	w := openTestWriter(t, dir, Options{MaxSize: 4096})
	for gno := int64(1); gno <= 40; gno++ {
		if _, err := w.Append(rowTxn(t, w.Format(), gno, int32(gno))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	files, _ := w.Files()
	w.cur.Close()
	if len(files) < 3 {
		t.Fatalf("%d files", len(files))
	}
	rec, err := recoverDir(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Executed.String() != testUUID+":1-40" {
		t.Fatalf("executed %s", rec.Executed)
	}
	for _, applied := range []string{"", ":1-10", ":1-33", ":1-39", ":1-40", ":1-20:25"} {
		set := gtid.Set{}
		if applied != "" {
			set = gtid.MustParse(testUUID + applied)
		}
		pending, err := rec.Pending(set)
		if err != nil {
			t.Fatal(err)
		}
		want := gtid.Subtract(rec.Executed, set)
		var got gtid.Set
		for i, tx := range pending {
			if tx.Anonymous || len(tx.Events) != 5 || tx.Events[0].Type() != TypeGTID || tx.Events[4].Type() != TypeXID {
				t.Fatalf("pending transaction %+v", tx)
			}
			if i > 0 && tx.GTID.Sequence <= pending[i-1].GTID.Sequence {
				t.Fatal("pending transactions out of order")
			}
			got.Add(tx.GTID)
		}
		if !got.Equal(want) {
			t.Fatalf("applied %q: pending %s, want %s", applied, got, want)
		}
	}
	// By position: everything after the end of GTID 30.
	all, err := rec.PendingFrom(Position{File: files[0].Name, Offset: 4})
	if err != nil || len(all) != 40 {
		t.Fatalf("PendingFrom(start) = %d transactions, %v", len(all), err)
	}
	from := Position{File: all[29].File, Offset: all[29].End}
	rest, err := rec.PendingFrom(from)
	if err != nil || len(rest) != 10 || rest[0].GTID.Sequence != 31 {
		t.Fatalf("PendingFrom(%v) = %d transactions, %v", from, len(rest), err)
	}
	// Purged history that storage still needs is an error.
	w2 := openTestWriter(t, dir, Options{Previous: rec.Executed})
	defer w2.Close()
	if _, err := w2.PurgeTo(files[2].Name); err != nil {
		t.Fatal(err)
	}
	rec2 := *rec
	rec2.Files = slices.DeleteFunc(slices.Clone(rec.Files), func(n string) bool { return n == files[0].Name || n == files[1].Name })
	if _, err := rec2.Pending(gtid.Set{}); !errors.Is(err, ErrPurged) {
		t.Fatalf("Pending over purged files: %v", err)
	}
}

func TestRecoverLeftovers(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{})
	for gno := int64(1); gno <= 3; gno++ {
		if _, err := w.Append(rowTxn(t, w.Format(), gno, 1)); err != nil {
			t.Fatal(err)
		}
		if err := w.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// An interrupted purge: binlog.000001 dropped from the index but still on disk.
	if err := writeIndex(dir, DefaultPrefix, []string{"binlog.000002", "binlog.000003", "binlog.000004"}); err != nil {
		t.Fatal(err)
	}
	// An interrupted rotation: binlog.000005 created with its header but never listed.
	header, err := os.ReadFile(filepath.Join(dir, "binlog.000004"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, offs := readAll(t, filepath.Join(dir, "binlog.000004"))
	if err := os.WriteFile(filepath.Join(dir, "binlog.000005"), header[:offs[1]], 0o640); err != nil {
		t.Fatal(err)
	}
	rec, err := recoverDir(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.Removed, []string{"binlog.000001", "binlog.000005"}) || !rec.Clean || len(rec.Cuts) != 0 {
		t.Fatalf("recovery %+v", rec)
	}
	if !slices.Equal(rec.Files, []string{"binlog.000002", "binlog.000003", "binlog.000004"}) {
		t.Fatalf("files %v", rec.Files)
	}
	if rec.Executed.String() != testUUID+":1-3" {
		t.Fatalf("executed %s", rec.Executed)
	}
	w2 := openTestWriter(t, dir, Options{Previous: rec.Executed})
	if w2.Position().File != "binlog.000005" {
		t.Fatalf("writer on %s", w2.Position().File)
	}
	w2.Close()

	// An unlisted newer file holding transactions is not deleted without Force.
	os.Remove(filepath.Join(dir, "binlog.index"))
	if _, err := recoverDir(t, dir, false); err == nil {
		t.Fatal("recovered without an index")
	}
	rec, err = recoverDir(t, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Files) != 4 || rec.Executed.String() != testUUID+":1-3" {
		t.Fatalf("rebuilt index recovery %+v", rec)
	}
}

func TestRecoverUnreadableLastHeader(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{})
	if _, err := w.Append(rowTxn(t, w.Format(), 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Rotate(); err != nil {
		t.Fatal(err)
	}
	w.cur.Close()
	last := filepath.Join(dir, "binlog.000002")
	data, _ := os.ReadFile(last)
	data[30] ^= 0xff // inside the FORMAT_DESCRIPTION
	os.WriteFile(last, data, 0o640)
	if _, err := recoverDir(t, dir, false); err == nil || !strings.Contains(err.Error(), "binlog.000002") {
		t.Fatalf("Recover = %v", err)
	}
	rec, err := recoverDir(t, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.Files, []string{"binlog.000001"}) || rec.Executed.String() != testUUID+":1" {
		t.Fatalf("forced recovery %+v", rec)
	}
	if _, err := os.Stat(last + ".corrupt"); err != nil {
		t.Fatalf("damaged file not set aside: %v", err)
	}
}

func TestRecoverEmpty(t *testing.T) {
	rec, err := recoverDir(t, t.TempDir(), false)
	if err != nil || len(rec.Files) != 0 || !rec.Executed.IsEmpty() {
		t.Fatalf("%+v, %v", rec, err)
	}
	if p, err := rec.Pending(gtid.Set{}); err != nil || len(p) != 0 {
		t.Fatalf("pending %v, %v", p, err)
	}
}

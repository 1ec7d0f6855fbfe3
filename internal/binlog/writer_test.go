package binlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/gtid"
)

func TestWriterFileLayout(t *testing.T) {
	for _, c := range formats {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			prev := gtid.MustParse("e2d0e1b0-0000-4000-8000-000000000002:1-7")
			w := openTestWriter(t, dir, Options{Checksum: c, Previous: prev})
			f := w.Format()
			if got := w.Synced(); got.File != "binlog.000001" || got.Offset == 0 {
				t.Fatalf("after Open, synced = %v", got)
			}
			changed := w.Changed()
			pos, err := w.Append(rowTxn(t, f, 1, 10, 20), ddlTxn(t, f, 2, "CREATE TABLE u (a INT)"))
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-changed:
			default:
				t.Fatal("Append did not signal Changed")
			}
			if w.Position() != pos[1] || w.Synced() == pos[1] {
				t.Fatalf("position %v synced %v after append ending at %v", w.Position(), w.Synced(), pos[1])
			}
			pos2, err := w.Append(rowTxn(t, f, 3, 30))
			if err != nil {
				t.Fatal(err)
			}
			if s, err := w.Sync(); err != nil || s != pos2[0] {
				t.Fatalf("Sync = %v, %v; want %v", s, err, pos2[0])
			}
			if got, want := w.Executed().String(), gtid.Union(prev, gtid.MustParse(testUUID+":1-3")).String(); got != want {
				t.Fatalf("Executed = %s, want %s", got, want)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Append(rowTxn(t, f, 4, 1)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: %v", err)
			}

			idx, err := os.ReadFile(filepath.Join(dir, "binlog.index"))
			if err != nil || string(idx) != "./binlog.000001\n" {
				t.Fatalf("index %q, %v", idx, err)
			}
			r, evs, offs := readAll(t, filepath.Join(dir, "binlog.000001"))
			if r.InUse() {
				t.Fatal("closed file still flagged in use")
			}
			var types []EventType
			for _, ev := range evs {
				types = append(types, ev.Type())
			}
			want := []EventType{
				TypePreviousGTIDs,
				TypeGTID, TypeQuery, TypeTableMap, TypeWriteRows, TypeXID,
				TypeGTID, TypeQuery,
				TypeGTID, TypeQuery, TypeTableMap, TypeWriteRows, TypeXID,
				TypeStop,
			}
			if !slices.Equal(types, want) {
				t.Fatalf("events %v, want %v", types, want)
			}
			// Append's positions are transaction boundaries.
			if offs[6] != int64(pos[0].Offset) || offs[8] != int64(pos[1].Offset) || offs[13] != int64(pos2[0].Offset) {
				t.Fatalf("offsets %v, positions %v %v", offs, pos, pos2)
			}
			if p, err := DecodePreviousGTIDs(r.Format(), evs[0]); err != nil || !p.Equal(prev) {
				t.Fatalf("PREVIOUS_GTIDS %s, %v", p, err)
			}

			// vitess's parser, which the project did not write, reads the events back.
			vf := f.Vitess()
			var tm *mysql.TableMap
			var values []int32
			var gtids []string
			for _, ev := range evs {
				v, _, err := ev.Vitess().StripChecksum(vf)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case v.IsGTID():
					g, _, err := v.GTID(vf)
					if err != nil {
						t.Fatal(err)
					}
					gtids = append(gtids, g.String())
				case v.IsQuery():
					q, err := v.Query(vf)
					if err != nil {
						t.Fatal(err)
					}
					if q.SQL != "BEGIN" && q.SQL != "CREATE TABLE u (a INT)" {
						t.Fatalf("query %q", q.SQL)
					}
				case v.IsTableMap():
					tm, err = v.TableMap(vf)
					if err != nil {
						t.Fatal(err)
					}
					if tm.Database != "test" || tm.Name != "t" || !slices.Equal(tm.Types, []byte{mysql.TypeLong}) || v.TableID(vf) != testTableID {
						t.Fatalf("table map %v", tm)
					}
				case v.IsWriteRows():
					rows, err := v.Rows(vf, tm)
					if err != nil {
						t.Fatal(err)
					}
					for _, row := range rows.Rows {
						values = append(values, int32(uint32(row.Data[0])|uint32(row.Data[1])<<8|uint32(row.Data[2])<<16|uint32(row.Data[3])<<24))
					}
				}
			}
			if !slices.Equal(values, []int32{10, 20, 30}) {
				t.Fatalf("rows %v", values)
			}
			if !slices.Equal(gtids, []string{testUUID + ":1", testUUID + ":2", testUUID + ":3"}) {
				t.Fatalf("GTIDs %v", gtids)
			}
		})
	}
}

func TestWriterRotation(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{MaxSize: 4096})
	f := w.Format()
	var last Position
	for gno := int64(1); gno <= 60; gno += 2 {
		pos, err := w.Append(rowTxn(t, f, gno, 1, 2, 3), rowTxn(t, f, gno+1, 4))
		if err != nil {
			t.Fatal(err)
		}
		last = pos[1]
	}
	if err := w.Rotate(); err != nil { // FLUSH BINARY LOGS
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := w.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("only %d files after 60 transactions with max size 4096", len(files))
	}
	if files[len(files)-2].Name != last.File {
		t.Fatalf("last append went to %s, files %v", last.File, files)
	}
	// Each file but the last ends with ROTATE to the next; the last with STOP. PREVIOUS_GTIDS
	// chain: each file's set is the previous one's plus the GTIDs in that file.
	var running gtid.Set
	for i, fi := range files {
		if fi.Size > 4096+2000 {
			t.Fatalf("%s is %d bytes, max size 4096", fi.Name, fi.Size)
		}
		r, evs, _ := readAll(t, filepath.Join(dir, fi.Name))
		if r.InUse() {
			t.Fatalf("%s still flagged in use", fi.Name)
		}
		prev, err := DecodePreviousGTIDs(r.Format(), evs[0])
		if err != nil || !prev.Equal(running) {
			t.Fatalf("%s: PREVIOUS_GTIDS %s, want %s (%v)", fi.Name, prev, running, err)
		}
		for _, ev := range evs {
			if ev.Type() == TypeGTID {
				g, _ := DecodeGTID(r.Format(), ev)
				running.Add(g.GTID)
			}
		}
		lastEv := evs[len(evs)-1]
		if i < len(files)-1 {
			_, next, err := DecodeRotate(r.Format(), lastEv)
			if err != nil || next != files[i+1].Name {
				t.Fatalf("%s ends with %s to %q (%v)", fi.Name, lastEv.Type(), next, err)
			}
		} else if lastEv.Type() != TypeStop {
			t.Fatalf("last file ends with %s", lastEv.Type())
		}
	}
	if got := running.String(); got != testUUID+":1-60" {
		t.Fatalf("GTIDs in files: %s", got)
	}

	// A restart opens the next file, with the whole set as PREVIOUS_GTIDS.
	w2 := openTestWriter(t, dir, Options{Previous: running})
	defer w2.Close()
	if got := w2.Position().File; got != FileName(DefaultPrefix, len(files)+1) {
		t.Fatalf("reopened writer is on %s", got)
	}
}

func TestWriterRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{})
	defer w.Close()
	f := w.Format()
	if _, err := w.Append(rowTxn(t, f, 1, 1)); err != nil {
		t.Fatal(err)
	}
	before := w.Position()
	good := rowTxn(t, f, 2, 2)
	for name, txns := range map[string][]Txn{
		"incomplete":         {good[:len(good)-1]},
		"second incomplete":  {good, rowTxn(t, f, 3, 3)[:2]},
		"GTID already there": {rowTxn(t, f, 1, 5)},
		"GTID twice":         {good, good},
		"built without checksums": {func() Txn {
			return rowTxn(t, NewFormat(ChecksumNone), 4, 4)
		}()},
	} {
		if _, err := w.Append(txns...); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if w.Position() != before {
			t.Fatalf("%s: position moved from %v to %v", name, before, w.Position())
		}
	}
	st, err := os.Stat(filepath.Join(dir, before.File))
	if err != nil || st.Size() != int64(before.Offset) {
		t.Fatalf("file size %d, want %d (%v)", st.Size(), before.Offset, err)
	}
	// The writer is still usable.
	if _, err := w.Append(good); err != nil {
		t.Fatal(err)
	}
}

func TestOpenNeedsRecoveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{})
	if _, err := w.Append(rowTxn(t, w.Format(), 1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.cur.Close() // a crash: no STOP, the in-use flag stays
	if _, err := Open(Options{Dir: dir, Logger: quietLogger()}); !errors.Is(err, ErrNotRecovered) {
		t.Fatalf("Open after a crash: %v", err)
	}
	rec, err := Recover(RecoverOptions{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Clean || len(rec.Cuts) != 0 || rec.Executed.String() != testUUID+":1" {
		t.Fatalf("recovery %+v", rec)
	}
	w2 := openTestWriter(t, dir, Options{Previous: rec.Executed})
	defer w2.Close()
	if w2.Position().File != "binlog.000002" {
		t.Fatalf("new writer on %s", w2.Position().File)
	}
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{})
	defer w.Close()
	for gno := int64(1); gno <= 4; gno++ {
		if _, err := w.Append(rowTxn(t, w.Format(), gno, 1)); err != nil {
			t.Fatal(err)
		}
		if err := w.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		fs, err := w.Files()
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, f := range fs {
			n = append(n, f.Name)
		}
		return n
	}
	if got := names(); len(got) != 5 {
		t.Fatalf("files %v", got)
	}
	if _, err := w.PurgeTo("binlog.000009"); !errors.Is(err, ErrUnknownLog) {
		t.Fatalf("purge to an unknown file: %v", err)
	}
	w.opts.PurgeGuard = func(f string) error {
		if f == "binlog.000002" {
			return errors.New("a replica is reading it")
		}
		return nil
	}
	if _, err := w.PurgeTo("binlog.000003"); err == nil {
		t.Fatal("guard ignored")
	}
	if got := names(); len(got) != 5 {
		t.Fatalf("a refused purge removed files: %v", got)
	}
	w.opts.PurgeGuard = nil
	purged, err := w.PurgeTo("binlog.000003")
	if err != nil || !slices.Equal(purged, []string{"binlog.000001", "binlog.000002"}) {
		t.Fatalf("purged %v, %v", purged, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "binlog.000001")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("purged file still there: %v", err)
	}
	// Before a time: files 3 and 4 are old, the active one is never purged.
	old := time.Now().Add(-48 * time.Hour)
	for _, n := range []string{"binlog.000003", "binlog.000004", "binlog.000005"} {
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	purged, err = w.PurgeBefore(time.Now().Add(-time.Hour))
	if err != nil || !slices.Equal(purged, []string{"binlog.000003", "binlog.000004"}) {
		t.Fatalf("purged %v, %v", purged, err)
	}
	// Purging to the active file leaves it.
	if purged, err := w.PurgeTo("binlog.000005"); err != nil || len(purged) != 0 {
		t.Fatalf("purge to the active file: %v, %v", purged, err)
	}
	if got := names(); !slices.Equal(got, []string{"binlog.000005"}) {
		t.Fatalf("files after purges %v", got)
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "binlog.index"))
	if string(idx) != "./binlog.000005\n" {
		t.Fatalf("index %q", idx)
	}
	// gtid_purged is what the first file says came before it.
	p, err := ReadPreviousGTIDs(filepath.Join(dir, "binlog.000005"))
	if err != nil || p.String() != testUUID+":1-4" {
		t.Fatalf("PREVIOUS_GTIDS of the first file: %s, %v", p, err)
	}
}

// A dump thread's view: a reader follows the writer through rotations, reading only what
// Synced says is durable and waking on Changed, and sees every transaction once, in order.
func TestReaderFollowsWriter(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, Options{MaxSize: 4096})
	const total = 120
	done := make(chan error, 1)
	var seen []int64
	go func() {
		file, pos := "binlog.000001", int64(4)
		for len(seen) < total {
			changed := w.Changed()
			synced := w.Synced()
			path := filepath.Join(dir, file)
			st, err := os.Stat(path)
			if err != nil {
				done <- err
				return
			}
			limit := st.Size()
			if synced.File == file {
				limit = int64(synced.Offset)
			}
			r, err := OpenFile(path)
			if err != nil {
				done <- err
				return
			}
			r.SetSize(limit)
			if err := r.SetPos(max(pos, r.Pos())); err != nil {
				r.Close()
				done <- err
				return
			}
			next := ""
			for {
				ev, _, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					r.Close()
					done <- err
					return
				}
				switch ev.Type() {
				case TypeGTID:
					g, _ := DecodeGTID(r.Format(), ev)
					seen = append(seen, g.GTID.Sequence)
				case TypeRotate:
					_, next, _ = DecodeRotate(r.Format(), ev)
				}
			}
			pos = r.Pos()
			r.Close()
			if next != "" {
				file, pos = next, 4
				continue
			}
			if len(seen) >= total {
				break
			}
			select {
			case <-changed:
			case <-time.After(10 * time.Second):
				done <- fmt.Errorf("no change signalled for 10s: at %s:%d, synced %v, saw %d", file, pos, w.Synced(), len(seen))
				return
			}
		}
		done <- nil
	}()
	for gno := int64(1); gno <= total; gno += 3 {
		if _, err := w.Append(rowTxn(t, w.Format(), gno, 1), rowTxn(t, w.Format(), gno+1, 2), rowTxn(t, w.Format(), gno+2, 3)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, g := range seen {
		if g != int64(i+1) {
			t.Fatalf("reader saw GTIDs %v", seen)
		}
	}
}

// AppendQuiet writes without telling readers: Position and Changed move only at Publish.
func TestWriterAppendQuietThenPublish(t *testing.T) {
	w := openTestWriter(t, t.TempDir(), Options{Checksum: ChecksumCRC32})
	f := w.Format()
	before, changed := w.Position(), w.Changed()
	pos, err := w.AppendQuiet(rowTxn(t, f, 1, 10))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("AppendQuiet signalled Changed")
	default:
	}
	if w.Position() != before {
		t.Fatalf("position %v after AppendQuiet, want still %v", w.Position(), before)
	}
	w.Publish()
	select {
	case <-changed:
	default:
		t.Fatal("Publish did not signal Changed")
	}
	if w.Position() != pos[0] {
		t.Fatalf("position %v after Publish, want %v", w.Position(), pos[0])
	}
	changed = w.Changed()
	w.Publish() // nothing new: no wake-up
	select {
	case <-changed:
		t.Fatal("Publish with nothing new signalled Changed")
	default:
	}
}

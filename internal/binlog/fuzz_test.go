package binlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// decodeAll runs every decoder that applies to ev's type; none may panic.
func decodeAll(f Format, ev Event) {
	switch ev.Type() {
	case TypeFormatDescription:
		DecodeFormatDescription(ev)
	case TypeGTID, TypeAnonymousGTID:
		DecodeGTID(f, ev)
	case TypeQuery:
		DecodeQuery(f, ev)
	case TypeXID:
		DecodeXID(f, ev)
	case TypeRotate:
		DecodeRotate(f, ev)
	case TypePreviousGTIDs:
		DecodePreviousGTIDs(f, ev)
	case TypeIntVar:
		DecodeIntVar(f, ev)
	case TypeRand:
		DecodeRand(f, ev)
	case TypeUserVar:
		DecodeUserVar(f, ev)
	}
}

var decodedTypes = []EventType{TypeFormatDescription, TypeGTID, TypeAnonymousGTID, TypeQuery, TypeXID,
	TypeRotate, TypePreviousGTIDs, TypeIntVar, TypeRand, TypeUserVar}

// FuzzReadEvents feeds arbitrary bytes to everything that reads binlog data: the Reader (as a
// whole file), the transaction grouping, the crash-recovery scan, and each event decoder (on the
// bytes taken as one event of every type, so that checksums do not shield the decoders). None
// may panic; the recovery scan must stay within the file.
func FuzzReadEvents(f *testing.F) {
	for _, seed := range seedFiles(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		if r, err := NewReader(bytes.NewReader(data), size, "fuzz"); err == nil {
			format := r.Format()
			s := txnState{f: format}
			for {
				ev, off, err := r.Next()
				if err != nil {
					var ce *CorruptError
					if err != io.EOF && !errors.As(err, &ce) {
						t.Fatalf("Next: unexpected error type %T: %v", err, err)
					}
					break
				}
				if off < 4 || off+int64(len(ev)) > size || int64(ev.Size()) != int64(len(ev)) {
					t.Fatalf("event at %d of %d bytes in a %d-byte file", off, len(ev), size)
				}
				decodeAll(format, ev)
				if _, err := s.feed(ev); err != nil {
					s = txnState{f: format}
				}
			}
			r.SetPos(4)
			for {
				if _, err := r.NextTransaction(); err != nil {
					break
				}
			}
		}
		res := scanLog(bytes.NewReader(data), size, "fuzz")
		if res.headerErr == nil && (res.keep < 4 || res.keep > size) {
			t.Fatalf("scan keeps %d bytes of %d", res.keep, size)
		}
		if len(data) >= HeaderLen {
			for _, c := range formats {
				format := NewFormat(c)
				for _, typ := range decodedTypes {
					ev := append(Event(nil), data...)
					ev[4] = byte(typ)
					decodeAll(format, ev)
				}
			}
		}
	})
}

// seedFiles returns binlog files and fragments to start fuzzing from: a writer's output in
// both checksum settings (every event type this package builds), plus truncated and damaged
// copies.
func seedFiles(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range formats {
		dir := t.TempDir()
		w := openTestWriter(t, dir, Options{Checksum: c})
		f := w.Format()
		txns := []Txn{rowTxn(t, f, 1, 10, 20), ddlTxn(t, f, 2, "CREATE TABLE u (a INT)")}
		if tt, ok := t.(*testing.T); ok {
			txns = append(txns, statementTxn(tt, f, 3))
		}
		if _, err := w.Append(txns...); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "binlog.000001"))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data, data[:len(data)-7], data[:200])
		bad := append([]byte(nil), data...)
		bad[300] ^= 0x40
		seeds = append(seeds, bad)
	}
	return seeds
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzReadEvents from seedFiles when
// RELAYDB_WRITE_FUZZ_CORPUS=1 (the corpus is checked in; go test replays it on every run).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("RELAYDB_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set RELAYDB_WRITE_FUZZ_CORPUS=1 to regenerate the checked-in fuzz corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadEvents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, seed := range seedFiles(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(seed)))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

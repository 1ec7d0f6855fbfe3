package rowenc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// fuzzTable has one nullable column of every type of typeCases.
func fuzzTable(tb testing.TB) (*Table, *Decoder) {
	tb.Helper()
	var sch sql.Schema
	for i, tc := range typeCases() {
		sch = append(sch, &sql.Column{Name: fmt.Sprintf("c%d", i), Type: tc.typ, Nullable: true})
	}
	tbl, err := NewTable("fuzz", "t", sql.NewPrimaryKeySchema(sch))
	if err != nil {
		tb.Fatal(err)
	}
	d, err := NewDecoder(tbl.TableMap(), sch)
	if err != nil {
		tb.Fatal(err)
	}
	return tbl, d
}

// fuzzColumns picks the columns present from a selector byte: 0 is every
// column, else column i is present when bit i%8 of the selector is set.
func fuzzColumns(tbl *Table, sel byte) mysql.Bitmap {
	if sel == 0 {
		return tbl.AllColumns()
	}
	b := mysql.NewServerBitmap(len(tbl.Columns))
	for i := range tbl.Columns {
		b.Set(i, sel&(1<<(i%8)) != 0)
	}
	return b
}

// FuzzDecodeRow feeds arbitrary bytes to the row decoder: the first byte
// selects the columns present, the rest is the image. Decoding must never
// panic, and whatever decodes must encode again and decode to a fixed
// point.
func FuzzDecodeRow(f *testing.F) {
	tbl, d := fuzzTable(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cols := fuzzColumns(tbl, data[0])
		row, n, err := d.DecodeImage(data[1:], cols)
		if err != nil {
			return
		}
		if n > len(data)-1 {
			t.Fatalf("read %d of %d bytes", n, len(data)-1)
		}
		img, err := tbl.AppendImage(nil, row, cols)
		if err != nil {
			t.Fatalf("decoded row does not encode: %v", err)
		}
		row2, n2, err := d.DecodeImage(img, cols)
		if err != nil || n2 != len(img) {
			t.Fatalf("re-encoded row does not decode: %v (%d of %d bytes)", err, n2, len(img))
		}
		img2, err := tbl.AppendImage(nil, row2, cols)
		if err != nil || !bytes.Equal(img, img2) {
			t.Fatalf("encoding is not a fixed point: %x\n%x (%v)", img, img2, err)
		}
	})
}

// FuzzDecodeJSON feeds arbitrary bytes to the binary JSON decoder.
func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if err != nil {
			return
		}
		b, err := EncodeJSON(v)
		if err != nil {
			t.Fatalf("decoded document does not encode: %v", err)
		}
		v2, err := DecodeJSON(b)
		if err != nil {
			t.Fatalf("re-encoded document does not decode: %v", err)
		}
		s1, err1 := types.JsonToMySqlString(ctx, types.JSONDocument{Val: v})
		s2, err2 := types.JsonToMySqlString(ctx, types.JSONDocument{Val: v2})
		if err1 != nil || err2 != nil || s1 != s2 {
			t.Fatalf("round trip changed the document: %s / %s (%v %v)", s1, s2, err1, err2)
		}
	})
}

// FuzzParseTableMap feeds arbitrary TABLE_MAP bodies to
// ParseTableMapEvent, and what parses to NewDecoder-free checks.
func FuzzParseTableMap(f *testing.F) {
	format := mysql.NewMySQL56BinlogFormat()
	format.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	f.Fuzz(func(t *testing.T, body []byte) {
		ev := make([]byte, 19, 19+len(body))
		ev[4] = tableMapEventType
		binary.LittleEndian.PutUint32(ev[9:], uint32(19+len(body)))
		ev = append(ev, body...)
		_, tm, opt, err := ParseTableMapEvent(format, mysql.NewMysql56BinlogEvent(ev))
		if err != nil {
			return
		}
		if len(tm.Metadata) != len(tm.Types) || tm.CanBeNull.Count() != len(tm.Types) {
			t.Fatalf("inconsistent table map %v", tm)
		}
		for _, o := range opt.PrimaryKey {
			if o < 0 || o >= len(tm.Types) {
				t.Fatalf("primary key column %d of %d", o, len(tm.Types))
			}
		}
	})
}

// FuzzParseRowsEvent feeds arbitrary rows events to ParseRowsEvent: the
// first byte picks the event type, the rest is the body after the
// common header.
func FuzzParseRowsEvent(f *testing.F) {
	tbl, d := fuzzTable(f)
	format := mysql.NewMySQL56BinlogFormat()
	format.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	kinds := []byte{writeRowsV1, updateRowsV1, deleteRowsV1, writeRowsV2, updateRowsV2, deleteRowsV2}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		ev := rowsEventBytes(kinds[int(data[0])%len(kinds)], data[1:])
		re, err := d.ParseRowsEvent(format, mysql.NewMysql56BinlogEvent(ev))
		if err != nil {
			return
		}
		for _, rc := range re.Rows {
			for _, r := range []struct {
				row  sql.Row
				cols mysql.Bitmap
			}{{rc.Before, re.BeforeColumns}, {rc.After, re.AfterColumns}} {
				if r.row == nil {
					continue
				}
				if _, err := tbl.AppendImage(nil, r.row, r.cols); err != nil {
					t.Fatalf("decoded row does not encode: %v", err)
				}
			}
		}
	})
}

func rowsEventBytes(typ byte, body []byte) []byte {
	ev := make([]byte, 19, 19+len(body))
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[9:], uint32(19+len(body)))
	return append(ev, body...)
}

// TestWriteFuzzCorpus regenerates the checked-in seed corpus under
// testdata/fuzz when ROWENC_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("ROWENC_WRITE_CORPUS") != "1" {
		t.Skip("set ROWENC_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target string, name string, data []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tbl, fuzzDecoder := fuzzTable(t)
	cases := typeCases()
	for k := 0; k < 4; k++ {
		row := make(sql.Row, len(cases))
		for i, tc := range cases {
			c := tc.cells[k%len(tc.cells)]
			if (i+k)%5 != 4 {
				row[i] = c.v
			}
			if img, err := tbl.Columns[i].AppendValue(nil, c.v); err != nil || len(img) > 512 {
				row[i] = nil // keep seeds small
			}
		}
		for _, sel := range []byte{0, 0x55, 0x81} {
			img, err := tbl.AppendImage(nil, row, fuzzColumns(tbl, sel))
			if err != nil {
				t.Fatal(err)
			}
			write("FuzzDecodeRow", fmt.Sprintf("row%d-sel%02x", k, sel), append([]byte{sel}, img...))
		}
	}
	for i, tc := range cases {
		for j, c := range tc.cells {
			if tc.typ != types.JSON {
				continue
			}
			b, err := tbl.Columns[i].jsonBinary(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 1024 {
				write("FuzzDecodeJSON", fmt.Sprintf("doc%d", j), b)
			}
		}
	}
	write("FuzzDecodeJSON", "opaque-date", []byte{15, 10, 8, 0, 0, 0, 0, 0, 30, 149, 25})
	write("FuzzDecodeJSON", "large-array", []byte{3, 1, 0, 0, 0, 13, 0, 0, 0, 5, 1, 0, 0, 0})

	format := mysql.NewMySQL56BinlogFormat()
	format.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	for i, mode := range []RowMetadata{MetadataMinimal, MetadataFull} {
		ev, err := tbl.TableMapEvent(format, mysql.BinlogEventMetadata{}, 77, mode)
		if err != nil {
			t.Fatal(err)
		}
		write("FuzzParseTableMap", fmt.Sprintf("wide%d", i), ev.Bytes()[19:])
	}
	// Rows events built by vitess: a WRITE, an UPDATE, a DELETE.
	var seedRow sql.Row
	for i, tc := range cases {
		c := tc.cells[0]
		if img, err := tbl.Columns[i].AppendValue(nil, c.v); err == nil && len(img) <= 64 {
			seedRow = append(seedRow, c.v)
		} else {
			seedRow = append(seedRow, nil)
		}
	}
	all := tbl.AllColumns()
	nulls, data, err := tbl.EncodeImage(seedRow, all)
	if err != nil {
		t.Fatal(err)
	}
	// vitess's builders size the event from every field of each Row, so a
	// Row carries only the images its event type writes.
	w := mysql.Row{NullColumns: nulls, Data: data}
	u := mysql.Row{NullIdentifyColumns: nulls, Identify: data, NullColumns: nulls, Data: data}
	del := mysql.Row{NullIdentifyColumns: nulls, Identify: data}
	for name, ev := range map[string]mysql.BinlogEvent{
		"write":  mysql.NewWriteRowsEvent(format, mysql.BinlogEventMetadata{}, 9, mysql.Rows{Flags: 1, DataColumns: all, Rows: []mysql.Row{w}}),
		"update": mysql.NewUpdateRowsEvent(format, mysql.BinlogEventMetadata{}, 9, mysql.Rows{Flags: 1, IdentifyColumns: all, DataColumns: all, Rows: []mysql.Row{u}}),
		"delete": mysql.NewDeleteRowsEvent(format, mysql.BinlogEventMetadata{}, 9, mysql.Rows{Flags: 1, IdentifyColumns: all, Rows: []mysql.Row{del, del}}),
	} {
		if _, err := fuzzDecoder.ParseRowsEvent(format, ev); err != nil {
			t.Fatalf("%s seed: %v", name, err)
		}
		kind := map[string]byte{"write": 3, "update": 4, "delete": 5}[name] // v2 indexes in FuzzParseRowsEvent
		write("FuzzParseRowsEvent", name, append([]byte{kind}, ev.Bytes()[19:]...))
	}

	small, _ := imageTable(t, 2, 0)
	ev, err := small.TableMapEvent(format, mysql.BinlogEventMetadata{}, 3, MetadataFull)
	if err != nil {
		t.Fatal(err)
	}
	write("FuzzParseTableMap", "small", ev.Bytes()[19:])
}

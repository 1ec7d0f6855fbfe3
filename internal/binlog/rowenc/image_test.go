package rowenc

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

func bits(b mysql.Bitmap) []int {
	var out []int
	for i := 0; i < b.Count(); i++ {
		if b.Bit(i) {
			out = append(out, i)
		}
	}
	return out
}

func imageTable(t *testing.T, pk ...int) (*Table, sql.Schema) {
	t.Helper()
	sch := sql.Schema{
		{Name: "a", Type: types.Int64},
		{Name: "name", Type: types.MustCreateString(sqltypes.VarChar, 20, sql.Collation_utf8mb4_0900_ai_ci), Nullable: true},
		{Name: "b", Type: types.Int32},
		{Name: "note", Type: types.Text, Nullable: true},
	}
	tbl, err := NewTable("db", "t", sql.NewPrimaryKeySchema(sch, pk...))
	if err != nil {
		t.Fatal(err)
	}
	if len(pk) == 0 {
		tbl.PrimaryKey = nil
	}
	return tbl, sch
}

// TestRowImages builds UPDATE_ROWS and DELETE_ROWS events with the image
// helpers, parses them with vitess and decodes both images.
func TestRowImages(t *testing.T) {
	before := sql.Row{int64(1), "abc", int32(7), nil}
	after := sql.Row{int64(1), "ABC", int32(7), "new"}
	for _, tc := range []struct {
		name               string
		pk                 []int
		img                RowImage
		wantBefore, wantAf []int
	}{
		{"full", []int{2, 0}, ImageFull, []int{0, 1, 2, 3}, []int{0, 1, 2, 3}},
		// 'abc' to 'ABC' compares equal under the _ai_ci collation but is a
		// change the replica must apply; note goes from NULL to a value.
		{"minimal", []int{2, 0}, ImageMinimal, []int{0, 2}, []int{1, 3}},
		{"minimal without primary key", nil, ImageMinimal, []int{0, 1, 2, 3}, []int{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, sch := imageTable(t, tc.pk...)
			bi := tbl.BeforeImageColumns(tc.img)
			ai, err := tbl.AfterImageColumns(tc.img, before, after)
			if err != nil {
				t.Fatal(err)
			}
			if got := bits(bi); !reflect.DeepEqual(got, tc.wantBefore) {
				t.Fatalf("before image columns %v, want %v", got, tc.wantBefore)
			}
			if got := bits(ai); !reflect.DeepEqual(got, tc.wantAf) {
				t.Fatalf("after image columns %v, want %v", got, tc.wantAf)
			}
			bn, bd, err := tbl.EncodeImage(before, bi)
			if err != nil {
				t.Fatal(err)
			}
			an, ad, err := tbl.EncodeImage(after, ai)
			if err != nil {
				t.Fatal(err)
			}
			f := mysql.NewMySQL56BinlogFormat()
			m := mysql.BinlogEventMetadata{ServerID: 1}
			tmev, err := tbl.TableMapEvent(f, m, 5, MetadataFull)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := tmev.TableMap(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDecoder(tm, sch)
			if err != nil {
				t.Fatal(err)
			}

			up := mysql.NewUpdateRowsEvent(f, m, 5, mysql.Rows{
				Flags: 1, IdentifyColumns: bi, DataColumns: ai,
				Rows: []mysql.Row{{NullIdentifyColumns: bn, Identify: bd, NullColumns: an, Data: ad}},
			})
			pu, _, err := mysql.NewMysql56BinlogEvent(up.Bytes()).StripChecksum(f)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := pu.Rows(f, tm)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := rows.StringIdentifiesForTests(tm, 0)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := rows.StringValuesForTests(tm, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := pick([]string{"1", "abc", "7", "NULL"}, tc.wantBefore)
			wantVals := pick([]string{"1", "ABC", "7", "new"}, tc.wantAf)
			if !reflect.DeepEqual(ids, wantIDs) || !reflect.DeepEqual(vals, wantVals) {
				t.Fatalf("vitess decoded before %v after %v, want %v %v", ids, vals, wantIDs, wantVals)
			}
			gb, err := d.DecodeValues(rows.IdentifyColumns, rows.Rows[0].NullIdentifyColumns, rows.Rows[0].Identify)
			if err != nil {
				t.Fatal(err)
			}
			ga, err := d.DecodeValues(rows.DataColumns, rows.Rows[0].NullColumns, rows.Rows[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			for i := range before {
				if bi.Bit(i) && !reflect.DeepEqual(gb[i], before[i]) || !bi.Bit(i) && gb[i] != nil {
					t.Errorf("before image column %d: %v", i, gb[i])
				}
				if ai.Bit(i) && !reflect.DeepEqual(ga[i], after[i]) || !ai.Bit(i) && ga[i] != nil {
					t.Errorf("after image column %d: %v", i, ga[i])
				}
			}

			// The same event through ParseRowsEvent.
			pr, err := d.ParseRowsEvent(f, pu)
			if err != nil {
				t.Fatal(err)
			}
			if pr.TableID != 5 || pr.Flags != 1 || len(pr.Rows) != 1 || !reflect.DeepEqual(pr.Rows[0].Before, gb) || !reflect.DeepEqual(pr.Rows[0].After, ga) ||
				!reflect.DeepEqual(bits(pr.BeforeColumns), tc.wantBefore) || !reflect.DeepEqual(bits(pr.AfterColumns), tc.wantAf) {
				t.Fatalf("ParseRowsEvent: %+v", pr)
			}

			del := mysql.NewDeleteRowsEvent(f, m, 5, mysql.Rows{
				Flags: 1, IdentifyColumns: bi, Rows: []mysql.Row{{NullIdentifyColumns: bn, Identify: bd}},
			})
			pd, _, err := mysql.NewMysql56BinlogEvent(del.Bytes()).StripChecksum(f)
			if err != nil {
				t.Fatal(err)
			}
			drows, err := pd.Rows(f, tm)
			if err != nil {
				t.Fatal(err)
			}
			if ids, err := drows.StringIdentifiesForTests(tm, 0); err != nil || !reflect.DeepEqual(ids, wantIDs) {
				t.Fatalf("DELETE before image %v (%v)", ids, err)
			}
			pdel, err := d.ParseRowsEvent(f, pd)
			if err != nil || len(pdel.Rows) != 1 || pdel.Rows[0].After != nil || !reflect.DeepEqual(pdel.Rows[0].Before, gb) {
				t.Fatalf("ParseRowsEvent DELETE: %+v (%v)", pdel, err)
			}
		})
	}
}

func pick(all []string, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, all[i])
	}
	return out
}

func TestAfterImageUnchangedRow(t *testing.T) {
	tbl, _ := imageTable(t, 0)
	r := sql.Row{int64(1), "x", int32(2), "y"}
	ai, err := tbl.AfterImageColumns(ImageMinimal, r, sql.Row{int64(1), "x", int32(2), "y"})
	if err != nil || ai.BitCount() != 0 {
		t.Fatalf("unchanged row logs columns %v (%v)", bits(ai), err)
	}
}

func TestAllColumnsPadding(t *testing.T) {
	tbl, _ := imageTable(t, 0)
	all := tbl.AllColumns()
	if all.Count() != 4 || all.BitCount() != 4 {
		t.Fatalf("count %d bits %d", all.Count(), all.BitCount())
	}
	// The event carries 0xff, as MySQL's bitmap_set_all leaves it.
	f := mysql.NewMySQL56BinlogFormat()
	f.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	ev := mysql.NewWriteRowsEvent(f, mysql.BinlogEventMetadata{}, 1, mysql.Rows{DataColumns: all})
	if b := ev.Bytes(); b[len(b)-1] != 0xff {
		t.Fatalf("column bitmap byte %#x", b[len(b)-1])
	}
}

func TestEncodeRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		typ sql.Type
		v   any
	}{
		{types.Int8, int64(200)},
		{types.Uint8, int8(-1)},
		{types.Int24, int32(1 << 23)},
		{types.Uint24, uint32(1 << 24)},
		{types.Int64, uint64(1 << 63)},
		{types.MustCreateColumnDecimalType(5, 2), dec("1000.00")},
		{types.MustCreateBitType(3), uint64(8)},
		{types.MustCreateString(sqltypes.VarChar, 2, sql.Collation_utf8mb4_0900_bin), "abcdefghi"}, // 9 bytes > 2*4
		{types.MustCreateString(sqltypes.Char, 3, sql.Collation_latin1_swedish_ci), "日本"},
		{types.MustCreateEnumType([]string{"a"}, sql.Collation_utf8mb4_0900_bin), uint16(2)},
		{types.MustCreateSetType([]string{"a"}, sql.Collation_utf8mb4_0900_bin), uint64(2)},
		{types.Year, int16(1800)},
		{types.MustCreateDatetimeType(sqltypes.Timestamp, 0), utc(1969, 1, 1, 0, 0, 0, 0)},
		{types.Time, types.Timespan(839 * 3600 * 1_000_000)},
		{types.JSON, types.JSONDocument{Val: []any{func() {}}}},
	} {
		tbl := singleColumnTable(t, tc.typ)
		dst := []byte("keep")
		out, err := tbl.AppendImage(dst, sql.Row{int32(1), tc.v}, tbl.AllColumns())
		if err == nil {
			t.Errorf("%s: %v encoded as %x", tc.typ, tc.v, out)
		}
		if string(out) != "keep" {
			t.Errorf("%s: failed encoding left %q", tc.typ, out)
		}
	}
	vec, err := types.CreateVectorType(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTable("db", "t", sql.NewPrimaryKeySchema(sql.Schema{{Name: "v", Type: vec}})); err == nil {
		t.Error("VECTOR accepted")
	}
}

func TestEncodeConvertsGoTypes(t *testing.T) {
	// Values of another Go type are converted the way GMS converts them.
	for _, tc := range []struct {
		typ     sql.Type
		v, want any
	}{
		{types.Int8, int64(-5), int8(-5)},
		{types.Uint64, int(7), uint64(7)},
		{types.Float32, float64(1.5), float32(1.5)},
		{types.MustCreateColumnDecimalType(5, 2), "12.5", dec("12.50")},
		{types.MustCreateEnumType([]string{"x", "y"}, sql.Collation_utf8mb4_0900_bin), "y", uint16(2)},
		{types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_bin), []byte("bytes"), "bytes"},
		{types.JSON, `{"a": [1]}`, types.MustJSON(`{"a": [1]}`)},
	} {
		tbl := singleColumnTable(t, tc.typ)
		img, err := tbl.AppendImage(nil, sql.Row{int32(1), tc.v}, tbl.AllColumns())
		if err != nil {
			t.Fatalf("%s %v: %v", tc.typ, tc.v, err)
		}
		d, err := NewDecoder(tbl.TableMap(), sql.Schema{{Name: "id", Type: types.Int32}, {Name: "c", Type: tc.typ}})
		if err != nil {
			t.Fatal(err)
		}
		row, _, err := d.DecodeImage(img, tbl.AllColumns())
		if err != nil {
			t.Fatal(err)
		}
		compareValues(t, tc.typ, tc.want, row[1])
	}
}

func TestCharPaddingIsNotLogged(t *testing.T) {
	tbl := singleColumnTable(t, types.MustCreateString(sqltypes.Char, 5, sql.Collation_utf8mb4_0900_bin))
	img, err := tbl.AppendImage(nil, sql.Row{int32(1), "ab  "}, tbl.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(img[1+4:]); got != "\x02ab" {
		t.Fatalf("CHAR value logged as %q", got)
	}
}

func TestDecoderChecksTypes(t *testing.T) {
	tbl := singleColumnTable(t, types.Int64)
	_, err := NewDecoder(tbl.TableMap(), sql.Schema{{Name: "id", Type: types.Int32}, {Name: "c", Type: types.Text}})
	if err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("BIGINT read as TEXT: %v", err)
	}
	_, err = NewDecoder(tbl.TableMap(), sql.Schema{{Name: "id", Type: types.Int32}})
	if err == nil {
		t.Fatal("column count mismatch accepted")
	}
	// Same binlog type, different metadata: the event's widths are used.
	src := singleColumnTable(t, types.MustCreateString(sqltypes.VarChar, 100, sql.Collation_utf8mb4_0900_bin))
	img, err := src.AppendImage(nil, sql.Row{int32(1), "wide"}, src.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(src.TableMap(), sql.Schema{{Name: "id", Type: types.Int32}, {Name: "c", Type: types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_bin)}})
	if err != nil {
		t.Fatal(err)
	}
	row, n, err := d.DecodeImage(img, src.AllColumns())
	if err != nil || n != len(img) || row[1] != "wide" {
		t.Fatalf("decoded %v, %d of %d bytes (%v)", row, n, len(img), err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	tbl := singleColumnTable(t, types.MustCreateColumnDecimalType(10, 2))
	d, err := NewDecoder(tbl.TableMap(), sql.Schema{{Name: "id", Type: types.Int32}, {Name: "c", Type: types.MustCreateColumnDecimalType(10, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := tbl.AppendImage(nil, sql.Row{int32(1), dec("1.25")}, tbl.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(img); i++ {
		if _, _, err := d.DecodeImage(img[:i], tbl.AllColumns()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated to %d bytes: %v", i, err)
		}
	}
	bad := append([]byte{}, img...)
	bad[len(bad)-5] = 0xff // a 9-digit group of 4294967295
	if _, _, err := d.DecodeImage(bad, tbl.AllColumns()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad DECIMAL group: %v", err)
	}
}

// TestWideTable has more columns than vitess's parsers read (they take
// the column count for one byte): TABLE_MAP and rows go through
// ParseTableMapEvent and ParseRowsEvent instead.
func TestWideTable(t *testing.T) {
	var sch sql.Schema
	row := sql.Row{}
	for i := 0; i < 300; i++ {
		sch = append(sch, &sql.Column{Name: "c" + strconv.Itoa(i), Type: types.MustCreateString(sqltypes.VarChar, 70, sql.Collation_utf8mb4_0900_bin), Nullable: true})
		if i%7 == 3 {
			row = append(row, nil)
		} else {
			row = append(row, strings.Repeat("x", i%70))
		}
	}
	tbl, err := NewTable("db", "wide", sql.NewPrimaryKeySchema(sch))
	if err != nil {
		t.Fatal(err)
	}
	f := mysql.NewMySQL56BinlogFormat()
	m := mysql.BinlogEventMetadata{}
	tmev, err := tbl.TableMapEvent(f, m, 8, MetadataFull)
	if err != nil {
		t.Fatal(err)
	}
	tmev, _, err = tmev.StripChecksum(f)
	if err != nil {
		t.Fatal(err)
	}
	_, tm, opt, err := ParseTableMapEvent(f, tmev)
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Types) != 300 || opt.ColumnNames[299] != "c299" {
		t.Fatalf("%d columns, last named %q", len(tm.Types), opt.ColumnNames[299])
	}
	nulls, data, err := tbl.EncodeImage(row, tbl.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	ev := mysql.NewWriteRowsEvent(f, m, 8, mysql.Rows{DataColumns: tbl.AllColumns(), Rows: []mysql.Row{{NullColumns: nulls, Data: data}, {NullColumns: nulls, Data: data}}})
	ev, _, err = ev.StripChecksum(f)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(tm, sch)
	if err != nil {
		t.Fatal(err)
	}
	re, err := d.ParseRowsEvent(f, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(re.Rows) != 2 || !reflect.DeepEqual(re.Rows[1].After, row) || re.Rows[1].Before != nil {
		t.Fatalf("parsed %d rows: %v", len(re.Rows), re.Rows)
	}
	// vitess's TableMap reads 0xfc, the length prefix, as the count.
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Logf("vitess TableMap panics on a 300-column table: %v", r)
			}
		}()
		vtm, err := tmev.TableMap(f)
		switch {
		case err != nil:
			t.Logf("vitess TableMap fails on a 300-column table: %v", err)
		case len(vtm.Types) != 300:
			t.Logf("vitess TableMap reads a 300-column table as %d columns", len(vtm.Types))
		default:
			t.Log("vitess now reads tables of more than 250 columns")
		}
	}()
}

package rowenc

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// TestMariaDBRowImages compares this package's row images, byte for byte,
// with those a MariaDB 10.11 server wrote for the same rows
// (testdata/mariadb: types.sql run by capture.sh into types.binlog).
// MariaDB writes MySQL 5.6's row formats for every type here (its JSON
// is not MySQL's, so JSON is left to the MySQL vectors of golden_test.go);
// its TABLE_MAP types and metadata must match too. Its optional metadata
// differs from MySQL 8's in places (MariaDB gives YEAR a signedness bit),
// so only column names and the primary key are compared there.
func TestMariaDBRowImages(t *testing.T) {
	raw, err := os.ReadFile("testdata/mariadb/types.binlog")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\xfebin")) {
		t.Fatal("not a binlog file")
	}

	u4 := sql.Collation_utf8mb4_general_ci
	lat := sql.Collation_latin1_swedish_ci
	str := func(bt querypb.Type, n int64, c sql.CollationID) sql.Type { return types.MustCreateString(bt, n, c) }
	dt := func(bt querypb.Type, fsp int) sql.Type { return types.MustCreateDatetimeType(bt, fsp) }
	cols := []struct {
		name string
		typ  sql.Type
	}{
		{"id", types.Int32}, {"ti", types.Int8}, {"tu", types.Uint8}, {"si", types.Int16}, {"su", types.Uint16},
		{"mi", types.Int24}, {"mu", types.Uint24}, {"i", types.Int32}, {"iu", types.Uint32}, {"bi", types.Int64}, {"bu", types.Uint64},
		{"f", types.Float32}, {"d", types.Float64}, {"d1", types.MustCreateColumnDecimalType(10, 2)},
		{"d2", types.MustCreateColumnDecimalType(65, 30)}, {"d3", types.MustCreateColumnDecimalType(5, 5)},
		{"dt", types.Date}, {"dtm0", dt(sqltypes.Datetime, 0)}, {"dtm3", dt(sqltypes.Datetime, 3)}, {"dtm6", dt(sqltypes.Datetime, 6)},
		{"ts0", dt(sqltypes.Timestamp, 0)}, {"ts2", dt(sqltypes.Timestamp, 2)}, {"ts6", dt(sqltypes.Timestamp, 6)},
		{"tm6", types.Time}, {"tm0", types.Time}, {"tm3", types.Time}, {"y", types.Year},
		{"c10", str(sqltypes.Char, 10, sql.Collation_utf8mb4_bin)}, {"c255", str(sqltypes.Char, 255, u4)}, {"cl", str(sqltypes.Char, 10, lat)},
		{"vc", str(sqltypes.VarChar, 10, u4)}, {"vc2", str(sqltypes.VarChar, 100, u4)}, {"vl", str(sqltypes.VarChar, 300, lat)},
		{"tt", types.CreateTinyText(u4)}, {"tx", types.CreateText(u4)}, {"mt", types.CreateMediumText(u4)}, {"lt", types.CreateLongText(u4)},
		{"bn", types.MustCreateBinary(sqltypes.Binary, 4)}, {"vb", types.MustCreateBinary(sqltypes.VarBinary, 10)},
		{"tb", types.TinyBlob}, {"bb", types.Blob}, {"mb", types.MediumBlob}, {"lb", types.LongBlob},
		{"e", types.MustCreateEnumType([]string{"a", "b", "c"}, u4)}, {"s", types.MustCreateSetType([]string{"a", "b", "c"}, u4)},
		{"b1", types.MustCreateBitType(1)}, {"b9", types.MustCreateBitType(9)}, {"b64", types.MustCreateBitType(64)},
		{"g", types.GeometryType{}}, {"p", types.PointType{}},
	}
	var sch sql.Schema
	for i, c := range cols {
		sch = append(sch, &sql.Column{Name: c.name, Type: c.typ, Nullable: i > 0, PrimaryKey: i == 0})
	}
	tbl, err := NewTable("g", "t", sql.NewPrimaryKeySchema(sch))
	if err != nil {
		t.Fatal(err)
	}
	// TIME(0) and TIME(3), which GMS cannot declare.
	tbl.Columns[24].Meta, tbl.Columns[24].fsp = 0, 0
	tbl.Columns[25].Meta, tbl.Columns[25].fsp = 3, 3

	rows := []sql.Row{
		{int32(1), int8(-128), uint8(255), int16(-32768), uint16(65535), int32(-8388608), uint32(16777215),
			int32(math.MinInt32), uint32(math.MaxUint32), int64(math.MinInt64), uint64(math.MaxUint64),
			float32(1.5), float64(-2.25), dec("-12345678.99"),
			dec("-12345678901234567890123456789012345.123456789012345678901234567890"), dec("0.12345"),
			utc(2024, 2, 29, 0, 0, 0, 0), utc(9999, 12, 31, 23, 59, 59, 0), utc(2024, 2, 29, 23, 59, 59, 123000), utc(1000, 1, 1, 0, 0, 0, 1),
			utc(1970, 1, 1, 0, 0, 1, 0), utc(2038, 1, 19, 3, 14, 7, 990000), utc(2024, 2, 29, 12, 0, 0, 123456),
			ts(true, 838, 59, 59, 0), ts(false, 838, 59, 59, 0), ts(true, 0, 0, 1, 500000), int16(2155),
			"abc", emoji255, "café", "日本語テキスト", strings.Repeat("ü", 100), strings.Repeat("é", 300),
			"ünïcödé", strings.Repeat("日", 2000), long70k, "long text",
			[]byte{1, 2, 0, 0}, []byte{0, 255, 0}, []byte{}, []byte{1, 2}, bytes.Repeat([]byte{9}, 300), []byte("blob"),
			uint16(3), uint64(5), uint64(1), uint64(0x1ff), uint64(math.MaxUint64),
			types.LineString{Points: []types.Point{{X: 0, Y: 0}, {X: 1, Y: 1}}}, types.Point{X: 1, Y: 2}},
		append(sql.Row{int32(2)}, make(sql.Row, len(cols)-1)...),
		{int32(3), int8(0), uint8(0), int16(1), uint16(1), int32(8388607), uint32(0), int32(math.MaxInt32), uint32(0),
			int64(math.MaxInt64), uint64(0),
			float32(0), 1e-300, dec("0.50"), dec("0.000000000000000000000000000000"), dec("-0.00001"),
			types.ZeroTime, types.ZeroTime, utc(1000, 1, 1, 0, 0, 0, 1000), utc(2024, 2, 29, 23, 59, 59, 999999),
			nil, utc(2024, 2, 29, 23, 59, 59, 10000), types.ZeroTime,
			types.Timespan(0), ts(true, 0, 0, 1, 0), ts(false, 12, 34, 56, 789000), int16(0),
			"", "x", "", "", "", "", "", "", "", "",
			[]byte{0, 0, 0, 0}, []byte{}, nil, nil, nil, nil,
			uint16(1), uint64(0), uint64(0), uint64(0), uint64(0),
			types.Point{X: -1.5, Y: 0}, types.Point{X: 0, Y: 0}},
	}

	var f mysql.BinlogFormat
	var tm *mysql.TableMap
	nrows := 0
	for pos := 4; pos < len(raw); {
		if len(raw)-pos < 19 {
			t.Fatalf("torn event at %d", pos)
		}
		n := int(binary.LittleEndian.Uint32(raw[pos+9:]))
		ev := mysql.NewMariadbBinlogEvent(raw[pos : pos+n])
		pos += n
		if ev.IsFormatDescription() {
			if f, err = ev.Format(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		ev, _, err = ev.StripChecksum(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.IsTableMap():
			if tm, err = ev.TableMap(f); err != nil {
				t.Fatal(err)
			}
			want := tbl.TableMap()
			if !bytes.Equal(tm.Types, want.Types) || !reflect.DeepEqual(tm.Metadata, want.Metadata) {
				t.Fatalf("MariaDB TABLE_MAP types %v metadata %v\nours %v %v", tm.Types, tm.Metadata, want.Types, want.Metadata)
			}
			for i := range tbl.Columns {
				if tm.CanBeNull.Bit(i) != tbl.Columns[i].Nullable {
					t.Errorf("column %d nullability", i)
				}
			}
			_, _, opt, err := ParseTableMapEvent(f, ev)
			if err != nil {
				t.Fatalf("ParseTableMapEvent on MariaDB's TABLE_MAP: %v", err)
			}
			for i, c := range cols {
				if opt.ColumnNames[i] != c.name {
					t.Errorf("column %d named %q", i, opt.ColumnNames[i])
				}
			}
			compareMariaDBOptionalMetadata(t, tbl, mariaOptional(t, f, ev))
			if !reflect.DeepEqual(opt.PrimaryKey, []int{0}) || !reflect.DeepEqual(opt.EnumValues[43], []string{"a", "b", "c"}) ||
				!reflect.DeepEqual(opt.SetValues[44], []string{"a", "b", "c"}) {
				t.Errorf("primary key %v, enum values %v, set values %v", opt.PrimaryKey, opt.EnumValues[43], opt.SetValues[44])
			}
		case ev.IsWriteRows():
			d, err := NewDecoder(tm, sch)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := d.ParseRowsEvent(f, ev) // MariaDB writes v1 rows events
			if err != nil || len(pr.Rows) != 1 || pr.Flags != 1 {
				t.Fatalf("ParseRowsEvent: %+v (%v)", pr, err)
			}
			for i, v := range rows[nrows] {
				compareValues(t, sch[i].Type, v, pr.Rows[0].After[i])
			}
			rs, err := ev.Rows(f, tm)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs.Rows {
				want := rows[nrows]
				nrows++
				nulls, data, err := tbl.EncodeImage(want, tbl.AllColumns())
				if err != nil {
					t.Fatal(err)
				}
				for k := 0; k < len(cols); k++ {
					if nulls.Bit(k) != r.NullColumns.Bit(k) {
						t.Errorf("row %d column %s: NULL %v, MariaDB %v", nrows, cols[k].name, nulls.Bit(k), r.NullColumns.Bit(k))
					}
				}
				if !bytes.Equal(data, r.Data) {
					t.Errorf("row %d: image differs from MariaDB's at byte %d\nours    %s\nMariaDB %s",
						nrows, firstDiff(data, r.Data), short(string(data)), short(string(r.Data)))
				}
				got, err := d.DecodeValues(rs.DataColumns, r.NullColumns, r.Data)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					compareValues(t, sch[i].Type, want[i], got[i])
				}
			}
		}
	}
	if nrows != len(rows) {
		t.Fatalf("found %d rows in the binlog, want %d", nrows, len(rows))
	}
}

// firstDiff is the offset of the first differing byte.
func firstDiff(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// mariaOptional returns the optional metadata at the end of a TABLE_MAP.
func mariaOptional(t *testing.T, f mysql.BinlogFormat, ev mysql.BinlogEvent) []byte {
	t.Helper()
	tm, err := ev.TableMap(f)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Bytes()[int(f.HeaderLength)+tableMapFixedLen(tm):]
}

// tableMapFixedLen is the length of a TABLE_MAP's post-header and body up
// to the end of its NULL bitmap.
func tableMapFixedLen(tm *mysql.TableMap) int {
	n := 6 + 2 + 1 + len(tm.Database) + 1 + 1 + len(tm.Name) + 1
	n += len(appendLenEnc(nil, uint64(len(tm.Types)))) + len(tm.Types)
	m := 0
	for _, typ := range tm.Types {
		w, _ := metadataWidth(typ)
		m += w
	}
	n += len(appendLenEnc(nil, uint64(m))) + m
	return n + (len(tm.Types)+7)/8
}

func splitTLV(t *testing.T, b []byte) map[byte][]byte {
	t.Helper()
	out := map[byte][]byte{}
	for pos := 0; pos < len(b); {
		l, p, err := readLenEnc(b, pos+1)
		if err != nil {
			t.Fatal(err)
		}
		out[b[pos]] = b[p : p+int(l)]
		pos = p + int(l)
	}
	return out
}

// compareMariaDBOptionalMetadata holds MySQL 8's optional metadata as this
// package writes it to MariaDB's: the same fields in the same encoding,
// except that MariaDB gives YEAR a SIGNEDNESS bit, lists GEOMETRY columns'
// charset, and writes no COLUMN_VISIBILITY.
func compareMariaDBOptionalMetadata(t *testing.T, tbl *Table, maria []byte) {
	t.Helper()
	ours, err := tbl.OptionalMetadata(nil, MetadataFull)
	if err != nil {
		t.Fatal(err)
	}
	m, o := splitTLV(t, maria), splitTLV(t, ours)
	for _, typ := range []byte{optColumnName, optSetStrValue, optEnumStrValue, optGeometryType, optSimplePrimaryKey, optEnumAndSetDefaultCharset} {
		if !bytes.Equal(m[typ], o[typ]) || o[typ] == nil {
			t.Errorf("optional metadata field %d: ours %q, MariaDB %q", typ, o[typ], m[typ])
		}
	}
	// 16 numeric columns: MariaDB's 17th bit is YEAR's.
	if !bytes.Equal(m[optSignedness][:2], o[optSignedness]) || len(o[optSignedness]) != 2 {
		t.Errorf("SIGNEDNESS: ours %q, MariaDB %q", o[optSignedness], m[optSignedness])
	}
	// MariaDB's last two are the GEOMETRY and POINT columns.
	mc := m[optColumnCharset]
	if !bytes.Equal(mc[:len(mc)-2], o[optColumnCharset]) {
		t.Errorf("COLUMN_CHARSET: ours %q, MariaDB %q", o[optColumnCharset], mc)
	}
	if _, ok := m[optColumnVisibility]; ok {
		t.Errorf("MariaDB wrote COLUMN_VISIBILITY")
	}
	if len(o[optColumnVisibility]) != 7 {
		t.Errorf("COLUMN_VISIBILITY %q", o[optColumnVisibility])
	}
}

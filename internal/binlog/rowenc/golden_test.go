package rowenc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// Byte-exact checks against bytes real MySQL servers wrote. The vectors
// come from the test suites of two binlog readers this project did not
// write, which captured them from MySQL: go-mysql-org/go-mysql
// (replication/row_event_test.go: TABLE_MAP events of MySQL 8.0, DECIMAL,
// DATETIME2, TIME2 and JSON row data) and dolthub/vitess
// (go/mysql/binlog_event_json_test.go: binary JSON documents).

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMySQLDecimals(t *testing.T) {
	f, err := os.Open("testdata/mysql_decimals.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Fields(line)
		p, _ := strconv.Atoi(fs[0])
		s, _ := strconv.Atoi(fs[1])
		want := unhex(t, fs[3])
		checkDecimal(t, p, s, fs[2], want)
		n++
	}
	if n < 100 {
		t.Fatalf("only %d vectors", n)
	}
	// MySQL's documentation of decimal2bin, and go-mysql's DECIMAL(40,16),
	// (60,0) and (30,30) vectors.
	for _, v := range []struct {
		p, s  int
		value string
		hex   string
	}{
		{14, 4, "1234567890.1234", "810dfb38d204d2"},
		{14, 4, "-1234567890.1234", "7ef204c72dfb2d"},
		{40, 16, "123.4560000000000000", "800000000000000000007b1b2e020000000000"},
		{40, 16, "0.0000010000000000", "8000000000000000000000000003e800000000"},
		{40, 16, "100000000.0000000200000000", "8000000000000005f5e1000000001400000000"},
		{40, 16, "123456234234234757655.1234567890123456", "80007b1b3194fa0dfe1e17075bcd150001e240"},
		{40, 16, "-123456234234234757655.1234567890123456", "7fff84e4ce6b05f201e1e8f8a432eafffe1dbf"},
		{40, 16, "0.0000000000000000", "80000000000000000000000000000000000000"},
		{60, 0, "1000000000000000000000000000000", "8000000000000000000000000003e8000000000000000000000000"},
		{60, 0, "1", "800000000000000000000000000000000000000000000000000001"},
		{30, 30, "0.100000000000000000000000000000", "85f5e10000000000000000000000"},
		{30, 30, "0.000000000000001000000000000000", "80000000000003e8000000000000"},
	} {
		checkDecimal(t, v.p, v.s, v.value, unhex(t, v.hex))
	}
}

func checkDecimal(t *testing.T, p, s int, value string, want []byte) {
	t.Helper()
	if len(want) != decimalSize(p, s) {
		t.Fatalf("DECIMAL(%d,%d) %s: vector of %d bytes, size %d", p, s, value, len(want), decimalSize(p, s))
	}
	got, err := appendDecimal(nil, dec(value), p, s)
	if err != nil {
		t.Fatalf("DECIMAL(%d,%d) %s: %v", p, s, value, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("DECIMAL(%d,%d) %s: encoded %x, MySQL wrote %x", p, s, value, got, want)
	}
	d, err := decodeDecimal(want, p, s)
	if err != nil {
		t.Fatalf("DECIMAL(%d,%d) %x: %v", p, s, want, err)
	}
	if d.Text('f') != value {
		t.Errorf("DECIMAL(%d,%d) %x: decoded %s, want %s", p, s, want, d.Text('f'), value)
	}
	v, _, err := mysql.CellValue(want, 0, mysql.TypeNewDecimal, uint16(p)<<8|uint16(s), querypb.Type_DECIMAL)
	if err != nil || fixVitessDecimal(v.ToString()) != value {
		t.Errorf("DECIMAL(%d,%d) %x: vitess decoded %q (%v)", p, s, want, v.ToString(), err)
	}
}

func TestMySQLDatetime2(t *testing.T) {
	for _, v := range []struct {
		bytes string
		fsp   int
		want  time.Time
	}{
		{"\xfe\xf3\xff\x7e\xfb", 0, utc(9999, 12, 31, 23, 59, 59, 0)},
		{"\x99\x9a\xb8\xf7\xaa", 0, utc(2016, 10, 28, 15, 30, 42, 0)},
		{"\x99\x02\xc2\x00\x00", 0, utc(1970, 1, 1, 0, 0, 0, 0)},
		{"\x80\x00\x00\x00\x00", 0, types.ZeroTime},
		{"\x80\x03\x82\x00\x00", 0, utc(1, 1, 1, 0, 0, 0, 0)},
		{"\x80\x03\x82\x00\x00\x0c", 2, utc(1, 1, 1, 0, 0, 0, 120000)},
		{"\x80\x03\x82\x00\x00\x04\xd3", 4, utc(1, 1, 1, 0, 0, 0, 123500)},
		{"\x80\x03\x82\x00\x00\x01\xe2\x40", 6, utc(1, 1, 1, 0, 0, 0, 123456)},
	} {
		got, err := appendDatetime2(nil, v.want, v.fsp)
		if err != nil || string(got) != v.bytes {
			t.Errorf("DATETIME(%d) %v: encoded %x (%v), MySQL wrote %x", v.fsp, v.want, got, err, v.bytes)
		}
		d, err := decodeDatetime2([]byte(v.bytes), v.fsp)
		if err != nil || !d.Equal(v.want) {
			t.Errorf("DATETIME(%d) %x: decoded %v (%v), want %v", v.fsp, v.bytes, d, err, v.want)
		}
	}
	// MySQL can hold dates with a zero month or day; GMS cannot, so they
	// are refused rather than turned into another date.
	for _, b := range []string{"\x99\x98\x38\xf7\xaa", "\x99\x9a\x80\xf7\xaa", "\x80\x00\x02\xf1\x05"} {
		if _, err := decodeDatetime2([]byte(b), 0); err == nil {
			t.Errorf("%x decoded without error", b)
		}
	}
}

func TestMySQLTime2(t *testing.T) {
	for _, v := range []struct {
		bytes string
		fsp   int
		want  types.Timespan
	}{
		{"\xb4\x6e\xfb", 0, ts(false, 838, 59, 59, 0)},
		{"\x80\xf1\x05", 0, ts(false, 15, 4, 5, 0)},
		{"\x80\x00\x00", 0, 0},
		{"\x7f\xff\xff", 0, ts(true, 0, 0, 1, 0)},
		{"\x7f\x0e\xfb", 0, ts(true, 15, 4, 5, 0)},
		{"\x4b\x91\x05", 0, ts(true, 838, 59, 59, 0)},
		{"\x7f\xff\xff\xff", 2, ts(true, 0, 0, 0, 10000)},
		{"\x7f\x0e\xfa\xf4", 2, ts(true, 15, 4, 5, 120000)},
		{"\x4b\x91\x05\xf4", 2, ts(true, 838, 59, 58, 120000)},
		{"\x7f\xff\xff\xff\xff", 4, ts(true, 0, 0, 0, 100)},
		{"\x7f\x0e\xfa\xfb\x2d", 4, ts(true, 15, 4, 5, 123500)},
		{"\x4b\x91\x05\xfb\x2d", 4, ts(true, 838, 59, 58, 123500)},
		{"\x7f\xff\xff\xff\xff\xff", 6, ts(true, 0, 0, 0, 1)},
		{"\x7f\x0e\xfa\xfe\x1d\xc0", 6, ts(true, 15, 4, 5, 123456)},
		{"\x4b\x91\x05\xfe\x1d\xc0", 6, ts(true, 838, 59, 58, 123456)},
		// MySQL's own table of negative TIME(2) values (my_time.cc).
		{"\x7f\xff\xff\x9d", 2, ts(true, 0, 0, 0, 990000)},
		{"\x7f\xff\xff\x00", 2, ts(true, 0, 0, 1, 0)},
		{"\x7f\xff\xfe\xff", 2, ts(true, 0, 0, 1, 10000)},
		{"\x7f\xff\xfe\xf6", 2, ts(true, 0, 0, 1, 100000)},
	} {
		got, err := appendTime2(nil, int64(v.want), v.fsp)
		if err != nil || string(got) != v.bytes {
			t.Errorf("TIME(%d) %v: encoded %x (%v), MySQL wrote %x", v.fsp, v.want, got, err, v.bytes)
		}
		d, err := decodeTime2([]byte(v.bytes), v.fsp)
		if err != nil || d != v.want {
			t.Errorf("TIME(%d) %x: decoded %v (%v), want %v", v.fsp, v.bytes, d, err, v.want)
		}
		// vitess reads the same text MySQL shows.
		cv, _, err := mysql.CellValue([]byte(v.bytes), 0, mysql.TypeTime2, uint16(v.fsp), querypb.Type_TIME)
		if err != nil {
			t.Fatal(err)
		}
		if want := timeText(v.want, v.fsp); cv.ToString() != want {
			t.Errorf("TIME(%d) %x: vitess decoded %s, want %s", v.fsp, v.bytes, cv.ToString(), want)
		}
	}
}

// timeText is MySQL's display of a TIME(fsp).
func timeText(v types.Timespan, fsp int) string {
	s := v.String() // GMS prints microseconds only when there are some
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	us := int64(v) % 1_000_000
	if us < 0 {
		us = -us
	}
	if fsp > 0 {
		s += "." + strconv.FormatInt(1_000_000+us, 10)[1:1+fsp]
	}
	return s
}

// TestTimeEveryPrecision covers TIME(0) to TIME(5), which GMS cannot
// declare (its TIME is TIME(6)) but a MySQL source can send: the column's
// fractional precision is taken from the TABLE_MAP metadata.
func TestTimeEveryPrecision(t *testing.T) {
	values := []types.Timespan{
		ts(true, 838, 59, 59, 0), ts(false, 838, 59, 59, 0), 0, ts(true, 0, 0, 0, 10000),
		ts(true, 1, 2, 3, 450000), ts(false, 23, 59, 59, 990000), ts(true, 0, 0, 59, 0),
	}
	for fsp := 0; fsp <= 6; fsp++ {
		for _, v := range values {
			trunc := types.Timespan(int64(v) / fracUnit[fsp] * fracUnit[fsp])
			b, err := appendTime2(nil, int64(v), fsp)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 3+fracLen(fsp) {
				t.Fatalf("TIME(%d): %d bytes", fsp, len(b))
			}
			cv, n, err := mysql.CellValue(b, 0, mysql.TypeTime2, uint16(fsp), querypb.Type_TIME)
			if err != nil || n != len(b) {
				t.Fatalf("vitess: %v", err)
			}
			if want := timeText(trunc, fsp); cv.ToString() != want {
				t.Errorf("TIME(%d) %v: vitess decoded %s, want %s", fsp, v, cv.ToString(), want)
			}
			// Through a decoder whose table map says TIME(fsp).
			tm := &mysql.TableMap{Types: []byte{mysql.TypeTime2}, Metadata: []uint16{uint16(fsp)}, CanBeNull: mysql.NewServerBitmap(1)}
			d, err := NewDecoder(tm, sql.Schema{{Name: "t", Type: types.Time}})
			if err != nil {
				t.Fatal(err)
			}
			all := mysql.NewServerBitmap(1)
			all.Set(0, true)
			row, _, err := d.DecodeImage(append([]byte{0}, b...), all)
			if err != nil || row[0] != trunc {
				t.Errorf("TIME(%d) %v: decoded %v (%v)", fsp, v, row[0], err)
			}
		}
	}
}

func TestMySQLJSON(t *testing.T) {
	longStr := strings.Repeat("scalar string", 10)
	scopes := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAEAAAAAAEAAAAAA8AAABgAAAAAABAAAACAAAAAAAAA"
	for _, v := range []struct {
		doc  any
		data []byte
	}{
		{map[string]any{"a": "b"}, []byte{0, 1, 0, 14, 0, 11, 0, 1, 0, 12, 12, 0, 97, 1, 98}},
		{map[string]any{"a": float64(2)}, []byte{0, 1, 0, 12, 0, 11, 0, 1, 0, 5, 2, 0, 97}},
		{map[string]any{"asdf": map[string]any{"foo": float64(123)}}, []byte{0, 1, 0, 29, 0, 11, 0, 4, 0, 0, 15, 0, 97, 115, 100, 102, 1, 0, 14, 0, 11, 0, 3, 0, 5, 123, 0, 102, 111, 111}},
		{[]any{float64(1), float64(2)}, []byte{2, 2, 0, 10, 0, 5, 1, 0, 5, 2, 0}},
		{map[string]any{"a": "b", "c": "d", "ab": "abc", "bc": []any{"x", "y"}}, []byte{0, 4, 0, 60, 0, 32, 0, 1, 0, 33, 0, 1, 0, 34, 0, 2, 0, 36, 0, 2, 0, 12, 38, 0, 12, 40, 0, 12, 42, 0, 2, 46, 0, 97, 99, 97, 98, 98, 99, 1, 98, 1, 100, 3, 97, 98, 99, 2, 0, 14, 0, 12, 10, 0, 12, 12, 0, 1, 120, 1, 121}},
		{[]any{"here", []any{"I", "am"}, "!!!"}, []byte{2, 3, 0, 37, 0, 12, 13, 0, 2, 18, 0, 12, 33, 0, 4, 104, 101, 114, 101, 2, 0, 15, 0, 12, 10, 0, 12, 12, 0, 1, 73, 2, 97, 109, 3, 33, 33, 33}},
		{"scalar string", append([]byte{12, 13}, "scalar string"...)},
		{map[string]any{"scopes": scopes}, append([]byte{0, 1, 0, 149, 0, 11, 0, 6, 0, 12, 17, 0, 115, 99, 111, 112, 101, 115, 130, 1}, scopes...)},
		{longStr, append([]byte{12, 130, 1}, longStr...)},
		{true, []byte{4, 1}},
		{false, []byte{4, 2}},
		{nil, []byte{4, 0}},
		{int64(-1), []byte{5, 255, 255}},
		{uint64(1), []byte{6, 1, 0}},
		{int64(32767), []byte{5, 255, 127}},
		{int64(32768), []byte{7, 0, 128, 0, 0}},
		{int64(-32768), []byte{5, 0, 128}},
		{int64(-32769), []byte{7, 255, 127, 255, 255}},
		{int64(2147483647), []byte{7, 255, 255, 255, 127}},
		{int64(2147483648), []byte{9, 0, 0, 0, 128, 0, 0, 0, 0}},
		{int64(-2147483648), []byte{7, 0, 0, 0, 128}},
		{int64(-2147483649), []byte{9, 255, 255, 255, 127, 255, 255, 255, 255}},
		{uint64(math.MaxUint64), []byte{10, 255, 255, 255, 255, 255, 255, 255, 255}},
		{int64(math.MinInt64), []byte{9, 0, 0, 0, 0, 0, 0, 0, 128}},
		{3.14159, []byte{11, 110, 134, 27, 240, 249, 33, 9, 64}},
		{map[string]any{}, []byte{0, 0, 0, 4, 0}},
		{[]any{}, []byte{2, 0, 0, 4, 0}},
		{utc(2015, 1, 15, 23, 24, 25, 0), []byte{15, 12, 8, 0, 0, 0, 25, 118, 31, 149, 25}},
		{ts(false, 23, 24, 25, 0), []byte{15, 11, 8, 0, 0, 0, 25, 118, 1, 0, 0}},
		{ts(false, 23, 24, 25, 120000), []byte{15, 11, 8, 192, 212, 1, 25, 118, 1, 0, 0}},
		{dec("123456789.1234"), []byte{15, 246, 8, 13, 4, 135, 91, 205, 21, 4, 210}},
		// From a MySQL 5.7/8.0 row event (go-mysql's TestParseJson).
		{types.MustJSON(`{"key1": "value1", "key2": "value2"}`).Val, []byte("\x00\x02\x00(\x00\x12\x00\x04\x00\x16\x00\x04\x00\f\x1a\x00\f!\x00key1key2\x06value1\x06value2")},
	} {
		got, err := EncodeJSON(v.doc)
		if err != nil {
			t.Fatalf("%v: %v", v.doc, err)
		}
		if !bytes.Equal(got, v.data) {
			t.Errorf("%v: encoded %v, MySQL wrote %v", v.doc, got, v.data)
		}
		back, err := DecodeJSON(v.data)
		if err != nil {
			t.Fatalf("%v: %v", v.data, err)
		}
		want, _ := types.JsonToMySqlString(ctx, types.JSONDocument{Val: v.doc})
		if gotText, _ := types.JsonToMySqlString(ctx, types.JSONDocument{Val: back}); gotText != want {
			t.Errorf("%v: decoded %s, want %s", v.data, gotText, want)
		}
	}
	// The DATE opaque value MySQL writes for CAST(DATE AS JSON).
	d, err := DecodeJSON([]byte{15, 10, 8, 0, 0, 0, 0, 0, 30, 149, 25})
	if err != nil || d != utc(2015, 1, 15, 0, 0, 0, 0) {
		t.Errorf("DATE opaque decoded as %v (%v)", d, err)
	}
}

// TestMySQLJSONRow encodes the row MySQL wrote for
// INSERT INTO t10 (c1, c2) VALUES ('{"key1": "value1", "key2": "value2"}', 1)
// into a table (c1 JSON, c2 DECIMAL(10,0)), and the TABLE_MAP's fixed part.
func TestMySQLJSONRow(t *testing.T) {
	tbl, err := NewTable("test", "t10", sql.NewPrimaryKeySchema(sql.Schema{
		{Name: "c1", Type: types.JSON, Nullable: true},
		{Name: "c2", Type: types.MustCreateColumnDecimalType(10, 0), Nullable: true},
	}))
	if err != nil {
		t.Fatal(err)
	}
	img, err := tbl.AppendImage(nil, sql.Row{types.MustJSON(`{"key1": "value1", "key2": "value2"}`), dec("1")}, tbl.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("\xfc)\x00\x00\x00\x00\x02\x00(\x00\x12\x00\x04\x00\x16\x00\x04\x00\f\x1a\x00\f!\x00key1key2\x06value1\x06value2\x80\x00\x00\x00\x01")
	if !bytes.Equal(img, want) {
		t.Errorf("row image\n%q, MySQL wrote\n%q", img, want)
	}
	// The whole WRITE_ROWS v2 event, built by vitess from this package's
	// column bitmap and image.
	nulls, data, err := tbl.EncodeImage(sql.Row{types.MustJSON(`{"key1": "value1", "key2": "value2"}`), dec("1")}, tbl.AllColumns())
	if err != nil {
		t.Fatal(err)
	}
	f := mysql.NewMySQL56BinlogFormat()
	f.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	ev := mysql.NewWriteRowsEvent(f, mysql.BinlogEventMetadata{}, 'm', mysql.Rows{
		Flags: 1, DataColumns: tbl.AllColumns(), Rows: []mysql.Row{{NullColumns: nulls, Data: data}},
	})
	wantEvent := "m\x00\x00\x00\x00\x00\x01\x00\x02\x00\x02\xff" + string(want)
	if got := string(ev.Bytes()[f.HeaderLength:]); got != wantEvent {
		t.Errorf("WRITE_ROWS body\n%q, MySQL wrote\n%q", got, wantEvent)
	}
	img, err = tbl.AppendImage(nil, sql.Row{nil, dec("1")}, tbl.AllColumns())
	if err != nil || !bytes.Equal(img, []byte("\xfd\x80\x00\x00\x00\x01")) {
		t.Errorf("NULL JSON row image %q (%v)", img, err)
	}
	body := tableMapBody(t, tbl, 'm', MetadataMinimal)
	fixed := []byte("m\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x03t10\x00\x02\xf5\xf6\x03\x04\n\x00\x03")
	if !bytes.HasPrefix(body, fixed) {
		t.Errorf("TABLE_MAP\n%q, MySQL 5.7 wrote\n%q", body, fixed)
	}
	// MySQL 8's MINIMAL metadata: the DECIMAL is signed.
	if rest := body[len(fixed):]; !bytes.Equal(rest, []byte{optSignedness, 1, 0}) {
		t.Errorf("optional metadata %q", rest)
	}
}

// tableMapBody is the post-header and body of the table's TABLE_MAP event.
func tableMapBody(t *testing.T, tbl *Table, id uint64, mode RowMetadata) []byte {
	t.Helper()
	f := mysql.NewMySQL56BinlogFormat()
	f.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
	ev, err := tbl.TableMapEvent(f, mysql.BinlogEventMetadata{}, id, mode)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Bytes()[f.HeaderLength:]
}

func TestMySQL8TableMaps(t *testing.T) {
	u4 := sql.Collation_utf8mb4_unicode_ci
	col := func(name string, typ sql.Type, nullable bool) *sql.Column {
		return &sql.Column{Name: name, Type: typ, Nullable: nullable}
	}
	str := func(bt querypb.Type, n int64) sql.Type { return types.MustCreateString(bt, n, u4) }
	typesSchema := sql.Schema{
		col("b_bit", types.MustCreateBitType(64), false),
		col("n_boolean", types.Boolean, false),
		col("n_tinyint", types.Int8, false),
		col("n_smallint", types.Int16, false),
		col("n_mediumint", types.Int24, false),
		col("n_int", types.Int32, false),
		col("n_bigint", types.Int64, false),
		col("n_decimal", types.MustCreateColumnDecimalType(65, 30), false),
		col("n_float", types.Float32, false),
		col("n_double", types.Float64, false),
		col("nu_tinyint", types.Uint8, false),
		col("nu_smallint", types.Uint16, false),
		col("nu_mediumint", types.Uint24, false),
		col("nu_int", types.Uint32, false),
		col("nu_bigint", types.Uint64, false),
		col("nu_decimal", types.MustCreateColumnDecimalType(65, 30), false),
		col("nu_float", types.Float32, false),
		col("nu_double", types.Float64, false),
		col("t_year", types.Year, true),
		col("t_date", types.Date, true),
		col("t_time", types.Time, true),
		col("t_ftime", types.Time, true),
		col("t_datetime", types.MustCreateDatetimeType(sqltypes.Datetime, 0), true),
		col("t_fdatetime", types.MustCreateDatetimeType(sqltypes.Datetime, 6), true),
		col("t_timestamp", types.MustCreateDatetimeType(sqltypes.Timestamp, 0), true),
		col("t_ftimestamp", types.MustCreateDatetimeType(sqltypes.Timestamp, 6), true),
		col("c_char", str(sqltypes.Char, 255), false),
		col("c_varchar", str(sqltypes.VarChar, 255), false),
		col("c_binary", types.MustCreateBinary(sqltypes.Binary, 64), false),
		col("c_varbinary", types.MustCreateBinary(sqltypes.VarBinary, 64), false),
		col("c_tinyblob", types.TinyBlob, true),
		col("c_blob", types.Blob, true),
		col("c_mediumblob", types.MediumBlob, true),
		col("c_longblob", types.LongBlob, true),
		col("c_tinytext", types.CreateTinyText(u4), true),
		col("c_text", types.CreateText(u4), true),
		col("c_mediumtext", types.CreateMediumText(u4), true),
		col("c_longtext", types.CreateLongText(u4), true),
		col("e_enum", types.MustCreateEnumType([]string{"a", "b"}, u4), true),
		col("s_set", types.MustCreateSetType([]string{"1", "2"}, u4), true),
		col("g_geometry", types.GeometryType{}, true),
		col("j_json", types.JSON, true),
	}
	typesTable, err := NewTable("test", "_types", sql.NewPrimaryKeySchema(typesSchema))
	if err != nil {
		t.Fatal(err)
	}
	// What GMS cannot declare: UNSIGNED DECIMAL/FLOAT/DOUBLE (deprecated
	// in MySQL) and TIME(0).
	for _, i := range []int{15, 16, 17} {
		typesTable.Columns[i].Unsigned = true
	}
	typesTable.Columns[20].Meta, typesTable.Columns[20].fsp = 0, 0

	intCols := func(n int, hidden ...int) sql.Schema {
		var s sql.Schema
		for i := 0; i < n; i++ {
			s = append(s, &sql.Column{Name: "col" + strconv.Itoa(i), Type: types.Int32, Nullable: true})
		}
		for _, h := range hidden {
			s[h].Hidden = true
		}
		return s
	}
	mk := func(name string, sch sql.PrimaryKeySchema) *Table {
		tb, err := NewTable("test", name, sch)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	prim2 := mk("_prim2", sql.NewPrimaryKeySchema(sql.Schema{
		col("col1", types.Int32, true), col("id1", str(sqltypes.Char, 10), false),
		col("col2", types.Int32, true), col("id2", str(sqltypes.VarChar, 20), false),
	}, 1, 3))
	prim2.PrimaryKeyPrefixes = []int{0, 10}

	for _, v := range []struct {
		name string
		tbl  *Table
		// mysql is the event body a MySQL 8.0 server wrote.
		mysql string
		// visibility is set for servers older than 8.0.23, which did not
		// write COLUMN_VISIBILITY: the field RelayDB adds is this.
		visibility string
	}{
		{"_types", typesTable,
			"j\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x06_types\x00*\x10\x01\x01\x02\t\x03\b\xf6\x04\x05\x01\x02\t\x03\b\xf6\x04\x05\r\n\x13\x13\x12\x12\x11\x11\xfe\x0f\xfe\x0f\xfc\xfc\xfc\xfc\xfc\xfc\xfc\xfc\xfe\xfe\xff\xf5&\x00\bA\x1e\x04\bA\x1e\x04\b\x00\x06\x00\x06\x00\x06\xce\xfc\xfc\x03\xfe@@\x00\x01\x02\x03\x04\x01\x02\x03\x04\xf7\x01\xf8\x01\x04\x04\x00\x00\xfc\xc3\xff\x03\x01\x03\x00\u007f\x80\x03\f\xe0\xe0??????\xe0\xe0\xe0\xe0\a\x01\x00\x04\xfc\x94\x01\x05b_bit\tn_boolean\tn_tinyint\nn_smallint\vn_mediumint\x05n_int\bn_bigint\tn_decimal\an_float\bn_double\nnu_tinyint\vnu_smallint\fnu_mediumint\x06nu_int\tnu_bigint\nnu_decimal\bnu_float\tnu_double\x06t_year\x06t_date\x06t_time\at_ftime\nt_datetime\vt_fdatetime\vt_timestamp\ft_ftimestamp\x06c_char\tc_varchar\bc_binary\vc_varbinary\nc_tinyblob\x06c_blob\fc_mediumblob\nc_longblob\nc_tinytext\x06c_text\fc_mediumtext\nc_longtext\x06e_enum\x05s_set\ng_geometry\x06j_json\n\x01\xe0\x05\x05\x02\x011\x012\x06\x05\x02\x01a\x01b",
			"\x0c\x06\xff\xff\xff\xff\xff\xc0"},
		{"_null", mk("_null", sql.NewPrimaryKeySchema(sql.Schema{
			col("c1", types.Int32, true), col("c2", types.Int32, false),
			col("c3", types.MustCreateDatetimeType(sqltypes.Timestamp, 0), false), col("c4", types.CreateText(u4), true),
		})),
			"z\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x05_null\x00\x04\x03\x03\x11\xfc\x02\x00\x02\t\x01\x01\x00\x02\x01\xe0\x04\f\x02c1\x02c2\x02c3\x02c4",
			"\x0c\x01\xf0"},
		{"_prim", mk("_prim", sql.NewPrimaryKeySchema(sql.Schema{
			col("id2", types.Int32, false), col("col", str(sqltypes.VarChar, 30), true), col("id1", types.Int64, false),
		}, 2, 0)),
			"l\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x05_prim\x00\x03\x03\x0f\b\x02x\x00\x02\x01\x01\x00\x02\x01\xe0\x04\f\x03id2\x03col\x03id1\b\x02\x02\x00",
			"\x0c\x01\xe0"},
		{"_prim2", prim2,
			"m\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x06_prim2\x00\x04\x03\xfe\x03\x0f\x04\xfe(P\x00\x05\x01\x01\x00\x02\x01\xe0\x04\x12\x04col1\x03id1\x04col2\x03id2\t\x04\x01\x00\x03\n",
			"\x0c\x01\xf0"},
		{"_visibility 1", mk("_visibility", sql.NewPrimaryKeySchema(intCols(11, 0, 2, 5, 6, 7, 9, 10))),
			"^\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x0b_visibility\x00\x0b\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\xff\x07\x01\x02\x00\x00\x048\x04col0\x04col1\x04col2\x04col3\x04col4\x04col5\x04col6\x04col7\x04col8\x04col9\x05col10\x0c\x02X\x80",
			""},
		{"_visibility 2", mk("_visibility", sql.NewPrimaryKeySchema(intCols(11))),
			"^\x00\x00\x00\x00\x00\x01\x00\x04test\x00\x0b_visibility\x00\x0b\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\xff\x07\x01\x02\x00\x00\x048\x04col0\x04col1\x04col2\x04col3\x04col4\x04col5\x04col6\x04col7\x04col8\x04col9\x05col10\x0c\x02\xff\xe0",
			""},
	} {
		t.Run(v.name, func(t *testing.T) {
			got := tableMapBody(t, v.tbl, uint64(v.mysql[0]), MetadataFull)
			want := v.mysql + v.visibility
			if string(got) != want {
				t.Errorf("TABLE_MAP body\n%q\nMySQL 8.0 wrote\n%q", got, want)
			}
			// And it parses back.
			f := mysql.NewMySQL56BinlogFormat()
			f.ChecksumAlgorithm = mysql.BinlogChecksumAlgOff
			ev, err := v.tbl.TableMapEvent(f, mysql.BinlogEventMetadata{}, 9, MetadataFull)
			if err != nil {
				t.Fatal(err)
			}
			_, tm, opt, err := ParseTableMapEvent(f, ev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tm.Metadata, v.tbl.TableMap().Metadata) || len(opt.ColumnNames) != len(v.tbl.Columns) {
				t.Errorf("parsed %v %v", tm, opt)
			}
			if !reflect.DeepEqual(opt.PrimaryKey, v.tbl.PrimaryKey) && len(v.tbl.PrimaryKey) > 0 {
				t.Errorf("primary key %v", opt.PrimaryKey)
			}
		})
	}
}

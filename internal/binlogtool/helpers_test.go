package binlogtool

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
	"github.com/relaydb/relaydb/internal/gtid"
)

const testUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func dec(s string) *apd.Decimal {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture builds transactions the way the commit pipeline logs them.
type fixture struct {
	t   testing.TB
	f   binlog.Format
	sid gtid.SID
	gno int64
	// ts is the header timestamp of the next transaction; each transaction advances it by 60 s.
	ts uint32
}

func newFixture(t testing.TB, f binlog.Format) *fixture {
	sid, err := gtid.ParseSID(testUUID)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, f: f, sid: sid, ts: uint32(testTime.Unix())}
}

func (x *fixture) next() (binlog.Header, binlog.GTIDEvent) {
	x.gno++
	h := binlog.Header{Timestamp: x.ts, ServerID: 1}
	x.ts += 60
	return h, binlog.GTIDEvent{GTID: gtid.GTID{Server: x.sid, Sequence: x.gno}, LastCommitted: x.gno - 1, SequenceNumber: x.gno}
}

// ddl is a self-committing statement.
func (x *fixture) ddl(db, sql string) binlog.Txn {
	h, g := x.next()
	q, err := x.f.Query(h, binlog.Query{ThreadID: 7, Database: db, SQL: sql, SQLMode: binlog.DefaultSQLMode})
	if err != nil {
		x.t.Fatal(err)
	}
	return x.f.NewTxn(h, g, q)
}

// change is one row change for rows(): before is nil for an insert, after nil for a delete.
type change struct{ before, after sql.Row }

// rows is a row transaction: BEGIN, TABLE_MAP, one rows event, XID.
func (x *fixture) rows(tbl *rowenc.Table, mode rowenc.RowMetadata, changes ...change) binlog.Txn {
	x.t.Helper()
	h, g := x.next()
	vf := x.f.Vitess()
	md := mysql.BinlogEventMetadata{ServerID: 1, Timestamp: h.Timestamp}
	const tableID = 108
	tm, err := tbl.TableMapEvent(vf, md, tableID, mode)
	if err != nil {
		x.t.Fatal(err)
	}
	all := tbl.AllColumns()
	rs := mysql.Rows{Flags: 1}
	var ev mysql.BinlogEvent
	for _, c := range changes {
		var r mysql.Row
		if c.before != nil {
			rs.IdentifyColumns = all
			if r.NullIdentifyColumns, r.Identify, err = tbl.EncodeImage(c.before, all); err != nil {
				x.t.Fatal(err)
			}
		}
		if c.after != nil {
			rs.DataColumns = all
			if r.NullColumns, r.Data, err = tbl.EncodeImage(c.after, all); err != nil {
				x.t.Fatal(err)
			}
		}
		rs.Rows = append(rs.Rows, r)
	}
	switch c := changes[0]; {
	case c.before == nil:
		ev = mysql.NewWriteRowsEvent(vf, md, tableID, rs)
	case c.after == nil:
		ev = mysql.NewDeleteRowsEvent(vf, md, tableID, rs)
	default:
		ev = mysql.NewUpdateRowsEvent(vf, md, tableID, rs)
	}
	return x.f.NewTxn(h, g, x.f.Begin(h, 7), binlog.Event(tm.Bytes()), binlog.Event(ev.Bytes()), x.f.XID(h, uint64(1000+x.gno)))
}

// write writes the transactions with the project's Writer into a new directory and returns the
// file's path.
func (x *fixture) write(txns ...binlog.Txn) string {
	t := x.t
	t.Helper()
	dir := t.TempDir()
	w, err := binlog.Open(binlog.Options{Dir: dir, ServerID: 1, Checksum: x.f.Checksum, Now: func() time.Time { return testTime },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(txns) > 0 {
		if _, err := w.Append(txns...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.0*"))
	return files[len(files)-1]
}

// printFiles runs Print with UTC comment times and returns the output.
func printFiles(t testing.TB, opts Options, files ...string) (string, Result, error) {
	t.Helper()
	opts.Location = time.UTC
	var out bytes.Buffer
	res, err := Print(&out, files, opts)
	return out.String(), res, err
}

// sqlLines keeps the lines of out that are not comments.
func sqlLines(out string) []string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return keep
}

var (
	utf8bin = sql.Collation_utf8mb4_0900_bin
	latin1  = sql.Collation_latin1_swedish_ci
)

// wideTable has a column of every kind the printer formats differently.
func wideTable(t testing.TB) *rowenc.Table {
	str := func(bt querypb.Type, n int64, coll sql.CollationID) sql.Type {
		return types.MustCreateString(bt, n, coll)
	}
	cols := []*sql.Column{
		{Name: "id", Type: types.Int32, PrimaryKey: true},
		{Name: "ti", Type: types.Int8, Nullable: true},
		{Name: "u64", Type: types.Uint64, Nullable: true},
		{Name: "i64", Type: types.Int64, Nullable: true},
		{Name: "fl", Type: types.Float32, Nullable: true},
		{Name: "db", Type: types.Float64, Nullable: true},
		{Name: "dc", Type: types.MustCreateColumnDecimalType(10, 2), Nullable: true},
		{Name: "vc", Type: str(sqltypes.VarChar, 40, utf8bin), Nullable: true},
		{Name: "ch", Type: str(sqltypes.Char, 10, latin1), Nullable: true},
		{Name: "tx", Type: types.CreateText(utf8bin), Nullable: true},
		{Name: "vb", Type: types.MustCreateBinary(sqltypes.VarBinary, 10), Nullable: true},
		{Name: "bn", Type: types.MustCreateBinary(sqltypes.Binary, 4), Nullable: true},
		{Name: "bl", Type: types.Blob, Nullable: true},
		{Name: "d", Type: types.Date, Nullable: true},
		{Name: "dt", Type: types.MustCreateDatetimeType(sqltypes.Datetime, 3), Nullable: true},
		{Name: "ts", Type: types.MustCreateDatetimeType(sqltypes.Timestamp, 6), Nullable: true},
		{Name: "tm", Type: types.Time, Nullable: true},
		{Name: "y", Type: types.Year, Nullable: true},
		{Name: "e", Type: types.MustCreateEnumType([]string{"a", "b'c"}, utf8bin), Nullable: true},
		{Name: "st", Type: types.MustCreateSetType([]string{"x", "y", "z"}, utf8bin), Nullable: true},
		{Name: "bt", Type: types.MustCreateBitType(10), Nullable: true},
		{Name: "j", Type: types.JSON, Nullable: true},
		{Name: "g", Type: types.GeometryType{}, Nullable: true},
		{Name: "odd`name", Type: types.Int16, Nullable: true},
	}
	for _, c := range cols {
		c.Source = "wide"
	}
	tbl, err := rowenc.NewTable("shop", "wide", sql.NewPrimaryKeySchema(sql.Schema(cols)))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// wideRow1 holds extremes and tricky bytes; wideRowNull is all NULL but its key.
func wideRow1() sql.Row {
	return sql.Row{
		int32(1), int8(-128), uint64(18446744073709551615), int64(-9223372036854775808),
		float32(0.1), float64(-1.5e-300), dec("-12345678.90"),
		"héllo 😀 it's", "café", "line1\nline2\\", []byte{0, '\'', '\\', 0xff}, []byte("ab\x00\x00"), []byte{},
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 5, 6, 7, 8, 9, 120_000_000, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 7, 999_999_000, time.UTC),
		types.Timespan(-(838*3600 + 59*60 + 59) * 1_000_000),
		int16(2024), uint16(2), uint64(5), uint64(0x3ff),
		types.JSONDocument{Val: map[string]any{"b": []any{int64(1), 2.5, float64(3), "q\"uote"}, "a": nil}},
		types.Point{X: 1, Y: -2},
		int16(-1),
	}
}

func wideRowNull(id int32) sql.Row {
	r := make(sql.Row, 24)
	r[0] = id
	return r
}

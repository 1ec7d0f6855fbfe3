package rowenc

import (
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// sbtest is sysbench's table: what the write_only benchmark logs per row.
func sbtest(b *testing.B) (*Table, sql.Schema, sql.Row) {
	sch := sql.Schema{
		{Name: "id", Type: types.Int32, PrimaryKey: true},
		{Name: "k", Type: types.Int32},
		{Name: "c", Type: types.MustCreateString(sqltypes.Char, 120, sql.Collation_utf8mb4_0900_ai_ci)},
		{Name: "pad", Type: types.MustCreateString(sqltypes.Char, 60, sql.Collation_utf8mb4_0900_ai_ci)},
	}
	tbl, err := NewTable("sbtest", "sbtest1", sql.NewPrimaryKeySchema(sch))
	if err != nil {
		b.Fatal(err)
	}
	row := sql.Row{int32(4711), int32(5012), strings.Repeat("83868641912-", 10)[:119], strings.Repeat("67847967377-", 5)[:59]}
	return tbl, sch, row
}

func BenchmarkAppendImageSysbench(b *testing.B) {
	tbl, _, row := sbtest(b)
	cols := tbl.AllColumns()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = tbl.AppendImage(buf[:0], row, cols); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeImageSysbench(b *testing.B) {
	tbl, sch, row := sbtest(b)
	cols := tbl.AllColumns()
	img, err := tbl.AppendImage(nil, row, cols)
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDecoder(tbl.TableMap(), sch)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := d.DecodeImage(img, cols); err != nil {
			b.Fatal(err)
		}
	}
}

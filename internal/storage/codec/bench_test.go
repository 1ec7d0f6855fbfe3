package codec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// sysbenchSchema is sysbench's sbtest table: id INT, k INT, c CHAR(120), pad CHAR(60).
var sysbenchSchema = sql.Schema{
	{Name: "id", Type: types.Int32, PrimaryKey: true},
	{Name: "k", Type: types.Int32},
	{Name: "c", Type: types.MustCreateString(sqltypes.Char, 120, sql.Collation_Default)},
	{Name: "pad", Type: types.MustCreateString(sqltypes.Char, 60, sql.Collation_Default)},
}

// sysbenchString builds a sysbench-style value: groups of 11 digits joined by '-'.
func sysbenchString(r *rand.Rand, groups int) string {
	parts := make([]string, groups)
	for i := range parts {
		parts[i] = fmt.Sprintf("%011d", r.Int64N(1e11))
	}
	return strings.Join(parts, "-")
}

func sysbenchRow(r *rand.Rand) sql.Row {
	return sql.Row{int32(1 + r.IntN(10_000_000)), int32(1 + r.IntN(10_000_000)), sysbenchString(r, 10), sysbenchString(r, 5)}
}

func BenchmarkDecodeRow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	buf, err := AppendRow(nil, sysbenchSchema, sysbenchRow(r))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var row sql.Row
	for b.Loop() {
		row, err = DecodeRow(sysbenchSchema, buf, row[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRowProjected(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	buf, err := AppendRow(nil, sysbenchSchema, sysbenchRow(r))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cols := []int{2} // SELECT c FROM sbtest WHERE id = ?
	var row sql.Row
	for b.Loop() {
		row, err = DecodeRowProjected(sysbenchSchema, buf, cols, row[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	row := sysbenchRow(r)
	b.ReportAllocs()
	var buf []byte
	var err error
	for b.Loop() {
		buf, err = AppendRow(buf[:0], sysbenchSchema, row)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendKey(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	row := sysbenchRow(r)
	for _, coll := range []string{"utf8mb4_0900_bin", "utf8mb4_0900_ai_ci", "utf8mb4_general_ci"} {
		typ := types.MustCreateString(sqltypes.Char, 120, mustCollation(coll))
		b.Run("char120_"+coll, func(b *testing.B) {
			b.ReportAllocs()
			var k []byte
			var err error
			for b.Loop() {
				if k, err = AppendKey(k[:0], typ, row[2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("int", func(b *testing.B) {
		b.ReportAllocs()
		var k []byte
		var err error
		for b.Loop() {
			if k, err = AppendKey(k[:0], types.Int32, row[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScanDecode decodes a 100-row range (sysbench's SELECT c … BETWEEN) one new row per
// row, as a scan must (GMS may keep every row), without and with RowBlocks.
func BenchmarkScanDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	bufs := make([][]byte, 100)
	for i := range bufs {
		var err error
		if bufs[i], err = AppendRow(nil, sysbenchSchema, sysbenchRow(r)); err != nil {
			b.Fatal(err)
		}
	}
	cols := []int{2}
	b.Run("row-by-row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, buf := range bufs {
				if _, err := DecodeRowColumns(sysbenchSchema, buf, cols, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("blocks", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var blocks RowBlocks
			for _, buf := range bufs {
				if _, err := blocks.DecodeRowColumns(sysbenchSchema, buf, cols); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

package binlog

import (
	"testing"
)

// benchAppend appends groups of one-row transactions, with an fsync per group when sync is set:
// the binlog side of group commit.
func benchAppend(b *testing.B, group int, sync bool) {
	w := openTestWriter(b, b.TempDir(), Options{})
	defer w.Close()
	f := w.Format()
	gno := int64(0)
	txns := make([]Txn, group)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k := range txns {
			gno++
			txns[k] = rowTxn(b, f, gno, int32(gno))
		}
		b.StartTimer()
		if _, err := w.Append(txns...); err != nil {
			b.Fatal(err)
		}
		if sync {
			if _, err := w.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(group*b.N)/b.Elapsed().Seconds(), "txn/s")
}

func BenchmarkAppend1(b *testing.B)      { benchAppend(b, 1, false) }
func BenchmarkAppend32(b *testing.B)     { benchAppend(b, 32, false) }
func BenchmarkAppendSync1(b *testing.B)  { benchAppend(b, 1, true) }
func BenchmarkAppendSync8(b *testing.B)  { benchAppend(b, 8, true) }
func BenchmarkAppendSync32(b *testing.B) { benchAppend(b, 32, true) }

package codec

import (
	"math/rand/v2"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
)

// TestRowBlocksKeepEveryRow decodes many rows through one RowBlocks, whole and by columns, from a
// buffer that is overwritten for every row, keeps them all, and checks them only at the end: a
// row sharing storage with the buffer, with a later row or with a given-back arena tail would show
// as a changed value.
func TestRowBlocksKeepEveryRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tts := allTestTypes()
	sch := schemaOf(tts...)
	samples := make([][]any, len(tts))
	for i, tt := range tts {
		samples[i] = sample(tt, r, 50)
	}
	type kept struct {
		in   sql.Row
		row  sql.Row
		cols []int // nil: the whole row was decoded
	}
	var blocks RowBlocks
	var all []kept
	var buf []byte
	for iter := 0; iter < 500; iter++ {
		in := randomRow(r, samples)
		var err error
		buf, err = AppendRow(buf[:0], sch, in)
		if err != nil {
			t.Fatal(err)
		}
		k := kept{in: in}
		if iter%2 == 0 {
			k.row, err = blocks.DecodeRow(sch, buf)
		} else {
			k.cols = make([]int, r.IntN(8))
			for j := range k.cols {
				k.cols[j] = r.IntN(len(tts))
			}
			k.row, err = blocks.DecodeRowColumns(sch, buf, k.cols)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(k.row) != len(tts) || cap(k.row) != len(tts) {
			t.Fatalf("row %d: len %d cap %d, want both %d", iter, len(k.row), cap(k.row), len(tts))
		}
		all = append(all, k)
		for i := range buf {
			buf[i] = 0xA5 // the source of the row just decoded, scribbled over
		}
	}
	for n, k := range all {
		wanted := map[int]bool{}
		for _, c := range k.cols {
			wanted[c] = true
		}
		for i := range tts {
			switch {
			case k.cols == nil || wanted[i]:
				checkSameValue(t, tts[i].typ, k.in[i], k.row[i])
			case k.row[i] != nil:
				t.Fatalf("row %d column %d not asked for but holds %v", n, i, k.row[i])
			}
		}
	}
}

// TestRowBlocksCorruptRow checks that a corrupt row gives an error through RowBlocks and that the
// blocks stay usable after it.
func TestRowBlocksCorruptRow(t *testing.T) {
	tts := allTestTypes()
	sch := schemaOf(tts...)
	r := rand.New(rand.NewPCG(7, 8))
	in := make(sql.Row, len(tts))
	for i, tt := range tts {
		in[i] = sample(tt, r, 1)[0]
	}
	buf, err := AppendRow(nil, sch, in)
	if err != nil {
		t.Fatal(err)
	}
	var blocks RowBlocks
	if _, err := blocks.DecodeRow(sch, buf[:len(buf)-1]); err == nil {
		t.Fatal("a truncated row decoded without an error")
	}
	row, err := blocks.DecodeRow(sch, buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tts {
		checkSameValue(t, tts[i].typ, in[i], row[i])
	}
}

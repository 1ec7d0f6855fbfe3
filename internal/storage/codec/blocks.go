package codec

import "github.com/dolthub/go-mysql-server/sql"

// Block sizes, in rows: the first block holds one row (a point read allocates no more than
// before), each next one twice as many, up to maxBlockRows.
const (
	maxBlockRows  = 32
	maxBlockBytes = 16 << 10
)

// RowBlocks hands out the rows, and the arenas their strings live in, that a scan decodes into.
// They are carved from blocks that grow from one row's worth to maxBlockRows rows' worth, so a
// long scan makes two allocations per block rather than two per row.
//
// Nothing handed out is ever handed out again: a row stays valid for as long as its holder keeps
// it (GMS sorts, groups and caches rows). The price is that one row kept keeps its whole block
// alive, which the block cap bounds. The zero value is ready to use; it is not safe for
// concurrent use.
type RowBlocks struct {
	vals  []any
	bytes []byte
	rows  int // rows handed out so far: sets the next block's size
}

// growth is how many rows' worth the next block holds.
func (k *RowBlocks) growth() int {
	return min(max(k.rows, 1), maxBlockRows)
}

// row returns a zeroed row of n values.
func (k *RowBlocks) row(n int) sql.Row {
	if cap(k.vals)-len(k.vals) < n {
		k.vals = make([]any, 0, n*k.growth())
	}
	k.rows++
	off := len(k.vals)
	k.vals = k.vals[:off+n]
	return k.vals[off : off+n : off+n]
}

// arena returns an empty byte slice with room for n bytes, carved from the current block.
// giveBack returns the unused tail of the last arena, so an arena may be taken at an upper bound.
func (k *RowBlocks) arena(n int) []byte {
	if cap(k.bytes)-len(k.bytes) < n {
		size := n
		if n < maxBlockBytes {
			size = min(n*k.growth(), maxBlockBytes)
		}
		k.bytes = make([]byte, 0, size)
	}
	off := len(k.bytes)
	k.bytes = k.bytes[:off+n]
	return k.bytes[off : off : off+n]
}

// giveBack returns the bytes of the last arena (of capacity taken) past used.
func (k *RowBlocks) giveBack(taken, used int) {
	k.bytes = k.bytes[:len(k.bytes)-(taken-used)]
}

// DecodeRow decodes a whole row (as the package's DecodeRow) into storage from the blocks.
func (k *RowBlocks) DecodeRow(sch sql.Schema, b []byte) (sql.Row, error) {
	h, err := parseHeader(sch, b)
	if err != nil {
		return nil, err
	}
	// Every string of the row lies within what follows the header: an upper bound for the arena.
	taken := len(b) - h.data
	d := decoder{b: b, pos: h.data, arena: k.arena(taken)}
	row, err := decodeAll(sch, h, &d, k.row(len(sch)))
	used := len(d.arena)
	if cap(d.arena) != taken {
		used = 0 // the decoder made an arena of its own (the bound did not hold): none of ours was used
	}
	k.giveBack(taken, used)
	return row, err
}

// DecodeRowColumns decodes the columns in cols into a full-width row (as the package's
// DecodeRowColumns) carved from the blocks.
func (k *RowBlocks) DecodeRowColumns(sch sql.Schema, b []byte, cols []int) (sql.Row, error) {
	return decodeColumnsWith(sch, b, cols, nil, true, k)
}

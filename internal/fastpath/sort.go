package fastpath

import (
	"sort"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/sorters"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// sortRows sorts rows by the plan's ORDER BY exactly as GMS's general path does (its RowSorter
// under sort.Stable). ORDER BY one text column — the common case — compares precomputed
// collation weights instead of decoding both strings on every comparison: GMS's string
// comparison is rune by rune by the collation's weight, then the string with runes left sorts
// last, which is what comparing the weight sequences gives.
func (p *Plan) sortRows(ctx *sql.Context, rows []sql.Row) error {
	if p.sortByWeights(ctx, rows) {
		return nil
	}
	sorter := sorters.NewRowSorterWithRows(ctx, p.sortBy, rows)
	sort.Stable(sorter)
	return sorter.GetError()
}

// sortByWeights sorts rows by weights if the plan sorts by one text column whose values are all
// non-NULL strings; it returns false, with rows untouched, otherwise.
func (p *Plan) sortByWeights(ctx *sql.Context, rows []sql.Row) bool {
	if len(p.sortBy) != 1 {
		return false
	}
	sc := p.sortBy[0]
	gf, ok := sc.Expr.(*expression.GetField)
	if !ok {
		return false
	}
	typ := gf.Type(ctx)
	st, ok := typ.(sql.StringType)
	if !ok || !types.IsText(typ) || types.IsBinaryType(typ) {
		return false
	}
	collation := st.Collation()
	encoder := collation.CharacterSet().Encoder()
	weight := collation.Sorter()
	idx := gf.Index()
	keys := make([][]int32, len(rows))
	var backing []int32
	for i, r := range rows {
		if idx >= len(r) {
			return false
		}
		s, ok := r[idx].(string)
		if !ok {
			return false // NULL, or a value GMS would convert first
		}
		start := len(backing)
		for len(s) > 0 {
			rn, n := encoder.NextRune(s)
			if n == 0 || n == utf8.RuneError {
				return false // GMS fails the comparison; the general path reports it
			}
			backing = append(backing, weight(rn))
			s = s[n:]
		}
		keys[i] = backing[start:len(backing):len(backing)]
	}
	// backing may have moved while growing: cut the keys again from the final array.
	off := 0
	for i := range keys {
		n := len(keys[i])
		keys[i] = backing[off : off+n : off+n]
		off += n
	}
	sort.Stable(&weightedRows{rows: rows, keys: keys, desc: sc.Order == sql.Descending})
	return true
}

type weightedRows struct {
	rows []sql.Row
	keys [][]int32
	desc bool
}

func (w *weightedRows) Len() int { return len(w.rows) }

func (w *weightedRows) Swap(i, j int) {
	w.rows[i], w.rows[j] = w.rows[j], w.rows[i]
	w.keys[i], w.keys[j] = w.keys[j], w.keys[i]
}

func (w *weightedRows) Less(i, j int) bool {
	a, b := w.keys[i], w.keys[j]
	if w.desc {
		a, b = b, a
	}
	for k := 0; k < len(a) && k < len(b); k++ {
		if a[k] != b[k] {
			return a[k] < b[k]
		}
	}
	return len(a) < len(b)
}

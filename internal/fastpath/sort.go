package fastpath

import (
	"sort"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/encodings"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/sorters"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// sortRows sorts rows by the plan's ORDER BY exactly as GMS's general path does (its RowSorter
// under sort.Stable). ORDER BY one text column — the common case — compares the strings
// directly (collationCompare) instead of through the RowSorter's per-comparison expression
// evaluation, type lookups and interface conversions.
func (p *Plan) sortRows(ctx *sql.Context, rows []sql.Row) error {
	if ok, err := p.sortByText(ctx, rows); ok {
		return err
	}
	sorter := sorters.NewRowSorterWithRows(ctx, p.sortBy, rows)
	sort.Stable(sorter)
	return sorter.GetError()
}

// sortByText sorts rows if the plan sorts by one text column whose values are all non-NULL
// strings; it returns false, with rows untouched, otherwise. err is what GMS's comparison would
// have failed with (the caller falls back to the general path; rows are then reordered).
func (p *Plan) sortByText(ctx *sql.Context, rows []sql.Row) (bool, error) {
	if len(p.sortBy) != 1 {
		return false, nil
	}
	sc := p.sortBy[0]
	gf, ok := sc.Expr.(*expression.GetField)
	if !ok {
		return false, nil
	}
	typ := gf.Type(ctx)
	st, ok := typ.(sql.StringType)
	if !ok || !types.IsText(typ) || types.IsBinaryType(typ) {
		return false, nil
	}
	idx := gf.Index()
	for _, r := range rows {
		if idx >= len(r) {
			return false, nil
		}
		if _, ok := r[idx].(string); !ok {
			return false, nil // NULL, or a value GMS would convert first
		}
	}
	cmp := newCollationCompare(st.Collation())
	sort.Stable(&textRows{rows: rows, idx: idx, desc: sc.Order == sql.Descending, cmp: cmp})
	if cmp.failed {
		return true, sql.ErrUnableSort.New()
	}
	return true, nil
}

// collationCompare compares two strings as GMS's StringType.Compare does: rune by rune by the
// collation's weight, and when one runs out, the one with bytes left is greater. For UTF-8
// character sets, whose decoder reads an ASCII byte as one rune of that value, a table of the
// ASCII runes' weights serves the leading ASCII part of both strings.
type collationCompare struct {
	encoder encodings.Encoder
	weight  sql.CollationSorter
	ascii   *[128]int32 // nil: not a UTF-8 character set
	failed  bool        // a string GMS's comparison would have refused
}

func newCollationCompare(c sql.CollationID) *collationCompare {
	cs := c.CharacterSet()
	cc := &collationCompare{encoder: cs.Encoder(), weight: c.Sorter()}
	if cs == sql.CharacterSet_utf8mb4 || cs == sql.CharacterSet_utf8mb3 {
		cc.ascii = new([128]int32)
		for b := range cc.ascii {
			cc.ascii[b] = cc.weight(rune(b))
		}
	}
	return cc
}

func (c *collationCompare) compare(a, b string) int {
	if c.ascii != nil {
		i := 0
		for i < len(a) && i < len(b) && a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
			if wa, wb := c.ascii[a[i]], c.ascii[b[i]]; wa != wb {
				if wa < wb {
					return -1
				}
				return 1
			}
			i++
		}
		a, b = a[i:], b[i:]
	}
	for len(a) > 0 && len(b) > 0 {
		ar, an := c.encoder.NextRune(a)
		br, bn := c.encoder.NextRune(b)
		if an == 0 || bn == 0 || an == utf8.RuneError || bn == utf8.RuneError {
			c.failed = true
			return 0
		}
		if wa, wb := c.weight(ar), c.weight(br); wa != wb {
			if wa < wb {
				return -1
			}
			return 1
		}
		a, b = a[an:], b[bn:]
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

type textRows struct {
	rows []sql.Row
	idx  int
	desc bool
	cmp  *collationCompare
}

func (t *textRows) Len() int      { return len(t.rows) }
func (t *textRows) Swap(i, j int) { t.rows[i], t.rows[j] = t.rows[j], t.rows[i] }

func (t *textRows) Less(i, j int) bool {
	a, b := t.rows[i][t.idx].(string), t.rows[j][t.idx].(string)
	if t.desc {
		a, b = b, a
	}
	return t.cmp.compare(a, b) < 0
}

package storage

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/storage/codec"
)

// index is the GMS view of a primary or secondary index of a table definition.
type index struct {
	def   *tableDef
	idx   *indexDef // nil for PRIMARY
	cols  []int
	exprs []sql.Expression
}

var (
	_ sql.Index        = (*index)(nil)
	_ sql.OrderedIndex = (*index)(nil)
)

func newIndex(def *tableDef, idx *indexDef) *index {
	cols := def.pkOrds
	if idx != nil {
		cols = idx.cols
	}
	ix := &index{def: def, idx: idx, cols: cols}
	for _, o := range cols {
		c := def.schema.Schema[o]
		ix.exprs = append(ix.exprs, expression.NewGetFieldWithTable(o, 0, c.Type, def.meta.DB, def.meta.Name, c.Name, c.Nullable))
	}
	return ix
}

func (i *index) ID() string {
	if i.idx == nil {
		return "PRIMARY"
	}
	return i.idx.meta.Name
}
func (i *index) Database() string { return i.def.meta.DB }
func (i *index) Table() string    { return i.def.meta.Name }
func (i *index) Expressions() []string {
	out := make([]string, len(i.exprs))
	for j, e := range i.exprs {
		out[j] = e.String()
	}
	return out
}
func (i *index) IsUnique() bool   { return i.idx == nil || i.idx.unique }
func (i *index) IsSpatial() bool  { return false }
func (i *index) IsFullText() bool { return false }
func (i *index) IsVector() bool   { return false }
func (i *index) Comment() string {
	if i.idx == nil {
		return ""
	}
	return i.idx.meta.Comment
}
func (i *index) IndexType() string { return "BTREE" }
func (i *index) IsGenerated() bool { return false }
func (i *index) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	out := make([]sql.ColumnExpressionType, len(i.exprs))
	for j, e := range i.exprs {
		out[j] = sql.ColumnExpressionType{Expression: e.String(), Type: e.Type(nil)}
	}
	return out
}
func (i *index) CanSupport(_ *sql.Context, ranges ...sql.Range) bool {
	for _, r := range ranges {
		mr, ok := r.(sql.MySQLRange)
		if !ok || len(mr) > len(i.cols) {
			return false
		}
	}
	return true
}
func (i *index) CanSupportOrderBy(sql.Expression) bool { return false }
func (i *index) CoversColumns(cols []string) bool {
	for _, c := range cols {
		found := false
		for _, o := range i.cols {
			if strings.EqualFold(i.def.schema.Schema[o].Name, c) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
func (i *index) PrefixLengths() []uint16 {
	if i.idx == nil {
		return nil
	}
	for _, l := range i.idx.meta.PrefixLens {
		if l > 0 {
			return i.idx.meta.PrefixLens
		}
	}
	return nil // GMS treats any non-empty slice as a prefix index
}

// Order implements sql.OrderedIndex: entries are in ascending key order.
func (i *index) Order(*sql.Context) sql.IndexOrder { return sql.IndexOrderAsc }

// Reversible implements sql.OrderedIndex.
func (i *index) Reversible(*sql.Context) bool { return false }

// GetIndexes implements sql.IndexAddressable.
func (t *Table) GetIndexes(*sql.Context) ([]sql.Index, error) {
	var out []sql.Index
	if !t.def.hasHiddenPK() {
		out = append(out, newIndex(t.def, nil))
	}
	secondary := make([]sql.Index, 0, len(t.def.indexes))
	for _, idx := range t.def.indexes {
		secondary = append(secondary, newIndex(t.def, idx))
	}
	// Listed by name, as SHOW CREATE TABLE and information_schema expect.
	sort.Slice(secondary, func(a, b int) bool { return secondary[a].ID() < secondary[b].ID() })
	return append(out, secondary...), nil
}

// PreciseMatch implements sql.IndexAddressable: lookups return exactly the rows in range.
func (t *Table) PreciseMatch() bool { return true }

// IndexedAccess implements sql.IndexAddressable.
func (t *Table) IndexedAccess(_ *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	return &indexedTable{Table: t, lookup: lookup}
}

type indexedTable struct {
	*Table
	lookup sql.IndexLookup
	view   viewMode
	cols   []int // if set, only these columns are decoded (the others read as nil)
}

// WithColumns returns the indexed table reading only the given columns (schema ordinals) of
// each row, leaving the others nil: a reader that needs a few columns of wide rows saves their
// decoding. The lookup's index columns must be among them (its row filter may read them).
func (t *indexedTable) WithColumns(cols []int) sql.IndexedTable {
	nt := *t
	nt.cols = cols
	return &nt
}

// LookupPartitions implements sql.IndexedTable.
func (t *indexedTable) LookupPartitions(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	return &partitionIter{parts: []sql.Partition{&lookupPartition{lookup: lookup, view: t.view, cols: t.cols}}}, nil
}

type lookupPartition struct {
	lookup sql.IndexLookup
	view   viewMode
	cols   []int
}

func (*lookupPartition) Key() []byte { return []byte("lookup") }

func (t *Table) lookupRows(ctx *sql.Context, p *lookupPartition) (sql.RowIter, error) {
	ix, ok := p.lookup.Index.(*index)
	if !ok {
		return nil, fmt.Errorf("table %s: lookup on foreign index %T", t.Name(), p.lookup.Index)
	}
	if p.lookup.IsEmptyRange {
		return &rowIter{t: t, tx: nil}, nil
	}
	ranges, ok := p.lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("table %s: unsupported range type %T", t.Name(), p.lookup.Ranges)
	}
	spans, err := t.def.spansFor(ctx, ix, ranges)
	if err != nil {
		return nil, err
	}
	var filter sql.Expression
	for _, sp := range spans {
		if !sp.exact {
			if filter, err = expression.NewRangeFilterExpr(ctx, ix.exprs, ranges); err != nil {
				return nil, err
			}
			break
		}
	}
	it, err := t.newRowIter(ctx, spans, ix.idx, filter)
	if err != nil {
		return nil, err
	}
	it.view = p.view
	it.cols = p.cols
	return it, nil
}

// spansFor converts ranges to key spans of the index that cover them (possibly more: the row
// filter removes the rest), sorted and without overlap so rows come out in index order.
func (d *tableDef) spansFor(ctx *sql.Context, ix *index, ranges sql.MySQLRangeCollection) ([]keySpan, error) {
	id := primaryIndexID
	if ix.idx != nil {
		id = ix.idx.meta.ID
	}
	base := indexPrefix(nil, d.id(), id)
	spans := make([]keySpan, 0, len(ranges))

	for _, r := range ranges {
		sp, err := d.spanFor(ctx, ix, base, r)
		if err != nil {
			return nil, err
		}
		spans = append(spans, sp)
	}
	sort.Slice(spans, func(a, b int) bool { return bytes.Compare(spans[a].lo, spans[b].lo) < 0 })
	// Merge overlapping spans so no row is returned twice. Spans that only touch (hi is
	// exclusive) stay apart: IN (3, 4) on a primary key is two point reads, which lock two rows,
	// not a range with its gaps.
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && (out[n-1].hi == nil || bytes.Compare(sp.lo, out[n-1].hi) < 0) {
			if out[n-1].hi != nil && (sp.hi == nil || bytes.Compare(sp.hi, out[n-1].hi) > 0) {
				out[n-1].hi = sp.hi
			}
			out[n-1].exact = out[n-1].exact && sp.exact
			out[n-1].point, out[n-1].equal, out[n-1].uniqueEqual = false, false, false
			continue
		}
		out = append(out, sp)
	}
	return out, nil
}

func (d *tableDef) spanFor(ctx *sql.Context, ix *index, base []byte, r sql.MySQLRange) (keySpan, error) {
	prefix := append([]byte(nil), base...)
	exact := true // the span holds exactly the rows of r, so no row filter is needed
	for j, ce := range r {
		typ := d.schema.Schema[ix.cols[j]].Type
		prefixLen := 0
		if ix.idx != nil && j < len(ix.idx.meta.PrefixLens) {
			prefixLen = int(ix.idx.meta.PrefixLens[j])
		}
		if prefixLen > 0 || !keyOrderIsExact(typ) {
			exact = false
		}
		if key, isPoint, ok := pointKey(ctx, typ, ce, prefixLen); ok && isPoint {
			prefix = append(prefix, key...)
			continue
		}
		// First non-point column: bound it. Later columns cannot narrow the span; it is exact
		// only if they are unbounded.
		for _, rest := range r[j+1:] {
			if !isFullRange(rest) {
				exact = false
			}
		}
		lo := append([]byte(nil), prefix...)
		hi := prefixEnd(prefix)
		switch c := ce.LowerBound.(type) {
		case sql.BelowNull:
		case sql.AboveNull:
			lo = append(lo, 0x01) // every non-NULL encoding starts above the NULL marker
		case sql.Below: // x >= v
			if k, ok := exactKey(ctx, typ, c.Key, prefixLen); ok {
				lo = append(lo, k...)
			} else {
				exact = false
			}
		case sql.Above: // x > v
			if k, ok := exactKey(ctx, typ, c.Key, prefixLen); ok {
				lo = prefixEnd(append(lo, k...))
			} else {
				exact = false
			}
		default:
			exact = false
		}
		switch c := ce.UpperBound.(type) {
		case sql.AboveAll:
		case sql.AboveNull: // x <= NULL: only NULLs
			hi = append(append([]byte(nil), prefix...), 0x01)
		case sql.BelowNull:
			hi = append([]byte(nil), prefix...)
		case sql.Below: // x < v
			if k, ok := exactKey(ctx, typ, c.Key, prefixLen); ok && prefixLen == 0 {
				hi = append(append([]byte(nil), prefix...), k...)
			} else if ok {
				hi = prefixEnd(append(append([]byte(nil), prefix...), k...))
			} else {
				exact = false
			}
		case sql.Above: // x <= v
			if k, ok := exactKey(ctx, typ, c.Key, prefixLen); ok {
				hi = prefixEnd(append(append([]byte(nil), prefix...), k...))
			} else {
				exact = false
			}
		default:
			exact = false
		}
		return keySpan{lo: lo, hi: hi, exact: exact}, nil
	}
	// Every column is a point. On the primary index with the whole key given, the span holds at
	// most one key, which a point read finds more cheaply than an iterator.
	point := ix.idx == nil && len(r) == len(ix.cols)
	unique := ix.idx != nil && ix.idx.unique && len(r) == len(ix.cols)
	return keySpan{lo: prefix, hi: prefixEnd(prefix), point: point, exact: exact, equal: true, uniqueEqual: unique}, nil
}

// isFullRange reports whether ce admits every value, NULL included.
func isFullRange(ce sql.MySQLRangeColumnExpr) bool {
	_, lo := ce.LowerBound.(sql.BelowNull)
	_, hi := ce.UpperBound.(sql.AboveAll)
	return lo && hi
}

// keyOrderIsExact reports whether key encodings of typ order and equate values exactly as GMS's
// comparisons do, so that a key span can replace the row filter. Strings under non-binary
// collations are left to the filter: the key follows MySQL's PAD SPACE rule where GMS's own
// comparison does not.
func keyOrderIsExact(typ sql.Type) bool {
	switch {
	case types.IsInteger(typ), types.IsDecimal(typ), types.IsTime(typ), types.IsDateType(typ), types.IsYear(typ):
		return true
	case types.IsText(typ) || types.IsBinaryType(typ):
		st, ok := typ.(sql.StringType)
		if !ok {
			return false
		}
		switch st.Collation() {
		case sql.Collation_binary, sql.Collation_utf8mb4_bin, sql.Collation_utf8mb4_0900_bin:
			return true
		}
		return false
	}
	return false
}

// pointKey reports whether ce selects a single value (x = v or x IS NULL) and returns its key.
func pointKey(ctx *sql.Context, typ sql.Type, ce sql.MySQLRangeColumnExpr, prefixLen int) ([]byte, bool, bool) {
	if _, ok := ce.LowerBound.(sql.BelowNull); ok {
		if _, ok := ce.UpperBound.(sql.AboveNull); ok {
			return []byte{0x00}, true, true
		}
		return nil, false, true
	}
	lo, ok1 := ce.LowerBound.(sql.Below)
	hi, ok2 := ce.UpperBound.(sql.Above)
	if !ok1 || !ok2 {
		return nil, false, true
	}
	cmp, err := typ.Compare(ctx, lo.Key, hi.Key)
	if err != nil || cmp != 0 {
		return nil, false, true
	}
	k, ok := exactKey(ctx, typ, lo.Key, prefixLen)
	if !ok || prefixLen > 0 {
		// A prefix index stores truncated values: equal keys are a superset, not a point.
		return nil, false, true
	}
	return k, true, true
}

// exactKey encodes a range bound as a key of the column type, if the bound converts to that type
// without changing its value. Otherwise the caller leaves that side unbounded (the row filter
// still applies the exact comparison).
func exactKey(ctx *sql.Context, typ sql.Type, v any, prefixLen int) ([]byte, bool) {
	if v == nil {
		return nil, false
	}
	conv, inRange, err := typ.Convert(ctx, v)
	if err != nil || inRange != sql.InRange || conv == nil {
		return nil, false
	}
	if !sameValue(v, conv) {
		return nil, false
	}
	if prefixLen > 0 {
		conv = truncatePrefix(conv, prefixLen)
	}
	k, err := codec.AppendKey(nil, typ, conv)
	if err != nil {
		return nil, false
	}
	return k, true
}

// sameValue reports whether converting v to a column type kept its value: integers to integers,
// strings to strings and so on. Mixed kinds (a fraction against an integer column, a number
// against a string column) are treated as inexact.
func sameValue(orig, conv any) bool {
	switch o := orig.(type) {
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		switch conv.(type) {
		case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
			return fmt.Sprint(o) == fmt.Sprint(conv)
		}
		return false
	case string:
		s, ok := conv.(string)
		return ok && s == o
	case []byte:
		b, ok := conv.([]byte)
		return ok && bytes.Equal(b, o)
	default:
		return fmt.Sprintf("%T", orig) == fmt.Sprintf("%T", conv)
	}
}

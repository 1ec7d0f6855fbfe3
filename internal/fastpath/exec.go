package fastpath

import (
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// Outcome is what Run produced: rows for a SELECT, an OK result for a write.
type Outcome struct {
	Rows []sql.Row
	OK   types.OkResult
}

// Run executes the plan with the statement's bind variables (nil for a text statement, whose
// values are literals). The caller has started the transaction and checked privileges.
func (p *Plan) Run(ctx *sql.Context, binds map[string]*querypb.BindVariable) (*Outcome, error) {
	switch p.shape.Kind {
	case KindSelect:
		rows, err := p.read(ctx, binds)
		if err != nil {
			return nil, err
		}
		if p.agg != nil {
			return p.aggregate(ctx, rows)
		}
		if len(p.sortBy) > 0 && len(rows) > 1 {
			if err := p.sortRows(ctx, rows); err != nil {
				return nil, ErrFallback
			}
		}
		out := rows[:0]
		// One backing array for every projected row.
		backing := make([]any, len(rows)*len(p.project))
		for i, r := range rows {
			row := sql.Row(backing[i*len(p.project) : (i+1)*len(p.project) : (i+1)*len(p.project)])
			for j, c := range p.project {
				row[j] = r[c]
			}
			if p.distinct && len(out) > 0 {
				same, err := row.Equals(ctx, out[len(out)-1], p.result)
				if err != nil {
					return nil, ErrFallback
				}
				if same {
					continue
				}
			}
			out = append(out, row)
		}
		return &Outcome{Rows: out}, nil
	case KindUpdate:
		return p.update(ctx, binds)
	case KindDelete:
		return p.delete(ctx, binds)
	case KindInsert:
		return p.insert(ctx, binds)
	}
	return nil, ErrFallback
}

// aggregate runs the plan's aggregate over rows with GMS's own aggregation buffer.
func (p *Plan) aggregate(ctx *sql.Context, rows []sql.Row) (*Outcome, error) {
	buf, err := p.agg.NewBuffer(ctx)
	if err != nil {
		return nil, ErrFallback
	}
	defer buf.Dispose(ctx)
	for _, r := range rows {
		if err := buf.Update(ctx, r); err != nil {
			return nil, ErrFallback
		}
	}
	v, err := buf.Eval(ctx)
	if err != nil {
		return nil, ErrFallback
	}
	return &Outcome{Rows: []sql.Row{{v}}}, nil
}

// arg returns an operand's value: nil, int64, uint64 or string. ok is false for values of any
// other kind (floats, decimals, dates, bit strings), which the fast path leaves to the general
// path.
func arg(o operand, binds map[string]*querypb.BindVariable) (any, bool) {
	if o.param == "" {
		return o.lit, true
	}
	bv, ok := binds[o.param]
	if !ok {
		return nil, false
	}
	switch {
	case bv.Type == sqltypes.Null:
		return nil, true
	case sqltypes.IsSigned(bv.Type):
		i, err := strconv.ParseInt(string(bv.Value), 10, 64)
		return i, err == nil
	case sqltypes.IsUnsigned(bv.Type):
		u, err := strconv.ParseUint(string(bv.Value), 10, 64)
		if err == nil && u <= math.MaxInt64 {
			return int64(u), true
		}
		return u, err == nil
	case bv.Type == sqltypes.VarBinary || bv.Type == sqltypes.VarChar || bv.Type == sqltypes.Char ||
		bv.Type == sqltypes.Text:
		// Bound strings become string literals of the connection's character set, as in GMS.
		return string(bv.Value), true
	}
	return nil, false
}

// exact converts v to typ if the conversion keeps the value exactly: integers into integer
// columns within range, valid UTF-8 strings into string columns that hold them unchanged.
// NULL converts to NULL. Anything else is not exact.
func exact(ctx *sql.Context, typ sql.Type, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch x := v.(type) {
	case int64, uint64:
		if !types.IsInteger(typ) {
			return nil, false
		}
		conv, inRange, err := typ.Convert(ctx, x)
		if err != nil || inRange != sql.InRange {
			return nil, false
		}
		return conv, true
	case string:
		st, ok := typ.(sql.StringType)
		if !ok || !types.IsText(typ) || types.IsBinaryType(typ) || !utf8.ValidString(x) {
			return nil, false
		}
		switch st.CharacterSet() {
		case sql.CharacterSet_utf8mb4, sql.CharacterSet_utf8mb3:
		default:
			return nil, false
		}
		conv, inRange, err := typ.Convert(ctx, x)
		if err != nil || inRange != sql.InRange {
			return nil, false
		}
		s, ok := conv.(string)
		if !ok || s != x {
			return nil, false
		}
		return conv, true
	}
	return nil, false
}

// lookup builds the index lookup the WHERE clause describes.
func (p *Plan) lookup(ctx *sql.Context, binds map[string]*querypb.BindVariable) (sql.IndexLookup, error) {
	if p.ranged {
		typ := p.schema[p.keyCols[0]].Type
		lo, ok1 := arg(p.keyVals[0], binds)
		hi, ok2 := arg(p.keyVals[1], binds)
		if !ok1 || !ok2 || lo == nil || hi == nil {
			return sql.IndexLookup{}, ErrFallback
		}
		lo, ok1 = exact(ctx, typ, lo)
		hi, ok2 = exact(ctx, typ, hi)
		if !ok1 || !ok2 {
			return sql.IndexLookup{}, ErrFallback
		}
		rng := sql.MySQLRange{sql.ClosedRangeColumnExpr(lo, hi, typ)}
		return sql.IndexLookup{Index: p.index, Ranges: sql.MySQLRangeCollection{rng}}, nil
	}
	rng := make(sql.MySQLRange, len(p.keyCols))
	for i, c := range p.keyCols {
		typ := p.schema[c].Type
		v, ok := arg(p.keyVals[i], binds)
		if !ok || v == nil {
			return sql.IndexLookup{}, ErrFallback
		}
		if v, ok = exact(ctx, typ, v); !ok {
			return sql.IndexLookup{}, ErrFallback
		}
		rng[i] = sql.ClosedRangeColumnExpr(v, v, typ)
	}
	return sql.IndexLookup{Index: p.index, Ranges: sql.MySQLRangeCollection{rng}, IsPointLookup: true}, nil
}

// read returns the table rows the WHERE clause selects, in index order.
func (p *Plan) read(ctx *sql.Context, binds map[string]*querypb.BindVariable) ([]sql.Row, error) {
	lk, err := p.lookup(ctx, binds)
	if err != nil {
		return nil, err
	}
	it := p.table.(sql.IndexAddressableTable).IndexedAccess(ctx, lk)
	if it == nil {
		return nil, ErrFallback
	}
	if pr, ok := it.(columnPruner); ok && p.readCols != nil && p.shape.Kind == KindSelect {
		it = pr.WithColumns(p.readCols)
	}
	parts, err := it.LookupPartitions(ctx, lk)
	if err != nil {
		return nil, err
	}
	defer parts.Close(ctx)
	rows := make([]sql.Row, 0, p.expectedRows(lk))
	for {
		part, err := parts.Next(ctx)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		ri, err := it.PartitionRows(ctx, part)
		if err != nil {
			return nil, err
		}
		for {
			r, err := ri.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				ri.Close(ctx)
				return nil, err
			}
			rows = append(rows, r)
		}
		if err := ri.Close(ctx); err != nil {
			return nil, err
		}
	}
}

// columnPruner is an indexed table that can decode only some columns of each row (the storage
// engine's indexedTable); the others read as nil.
type columnPruner interface {
	WithColumns(cols []int) sql.IndexedTable
}

// expectedRows guesses how many rows a lookup returns, to size the result once: one for a
// point, the width of an integer range (at most 1024), a few otherwise.
func (p *Plan) expectedRows(lk sql.IndexLookup) int {
	if !p.ranged {
		return 1
	}
	rng := lk.Ranges.(sql.MySQLRangeCollection)[0][0]
	lo, ok1 := rng.LowerBound.(sql.Below)
	hi, ok2 := rng.UpperBound.(sql.Above)
	if ok1 && ok2 {
		a, okA := asInt64(lo.Key)
		b, okB := asInt64(hi.Key)
		// The distance in uint64: b-a overflows int64 for bounds far apart (MinInt64 .. 44).
		if okA && okB && b >= a && uint64(b)-uint64(a) < 1024 {
			return int(uint64(b)-uint64(a)) + 1
		}
	}
	return 8
}

// editor is what every RowUpdater, RowInserter and RowDeleter has: statement boundaries.
type editor interface {
	sql.EditOpenerCloser
	Close(*sql.Context) error
}

// edit runs fn as one statement of the editor: its changes are kept when fn succeeds and undone
// when it fails, as GMS's table editor does.
func edit(ctx *sql.Context, ed editor, fn func() error) error {
	ed.StatementBegin(ctx)
	err := fn()
	if err != nil {
		if derr := ed.DiscardChanges(ctx, err); derr != nil {
			err = errors.Join(err, derr)
		}
	} else {
		err = ed.StatementComplete(ctx)
	}
	if cerr := ed.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// afterWrite is what a failed write becomes: lock errors (the same on both paths) as they are,
// anything else the general path is to run again and report in its own words.
func afterWrite(err error) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if e := sql.CastSQLError(err); errors.As(e, &se) {
		switch se.Num {
		case mysql.ERLockDeadlock, mysql.ERLockWaitTimeout:
			return e
		}
	}
	return ErrFallback
}

func (p *Plan) update(ctx *sql.Context, binds map[string]*querypb.BindVariable) (*Outcome, error) {
	// Values first: a value the fast path cannot convert sends the statement elsewhere before
	// anything is read or locked.
	vals := make([]any, len(p.setCols))
	for i, a := range p.shape.sets {
		v, ok := arg(a.val, binds)
		if !ok {
			return nil, ErrFallback
		}
		if a.op != 0 {
			if _, isInt := v.(int64); !isInt || !types.IsInteger(p.schema[p.setCols[i]].Type) {
				return nil, ErrFallback
			}
			vals[i] = v
			continue
		}
		c := p.schema[p.setCols[i]]
		if v == nil && !c.Nullable {
			return nil, ErrFallback
		}
		if vals[i], ok = exact(ctx, c.Type, v); !ok {
			return nil, ErrFallback
		}
	}
	rows, err := p.read(ctx, binds)
	if err != nil {
		return nil, err
	}
	var matched, changed int
	var olds, news []sql.Row
	for _, old := range rows {
		row := old.Copy()
		for i, a := range p.shape.sets {
			c := p.setCols[i]
			if a.op == 0 {
				row[c] = vals[i]
				continue
			}
			if row[c] == nil {
				row[c] = nil // NULL ± x is NULL
				if !p.schema[c].Nullable {
					return nil, ErrFallback
				}
				continue
			}
			v, ok := addInt(ctx, p.schema[c].Type, row[c], vals[i].(int64), a.op == '-')
			if !ok {
				return nil, ErrFallback
			}
			row[c] = v
		}
		matched++
		same, err := old.Equals(ctx, row, p.schema)
		if err != nil {
			return nil, ErrFallback
		}
		if !same {
			changed++
			olds, news = append(olds, old), append(news, row)
		}
	}
	if len(olds) > 0 {
		ed := p.table.(sql.UpdatableTable).Updater(ctx)
		err := edit(ctx, ed, func() error {
			for i := range olds {
				if err := ed.Update(ctx, olds[i], news[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err = afterWrite(err); err != nil {
			return nil, err
		}
	}
	affected := changed
	if ctx.Client().Capabilities&mysql.CapabilityClientFoundRows != 0 {
		affected = matched
	}
	info := ctx.GetLastQueryInfo()
	info.FoundRows.Store(int64(matched))
	info.RowCount.Store(int64(affected))
	return &Outcome{OK: types.OkResult{RowsAffected: uint64(affected),
		Info: plan.UpdateInfo{Matched: matched, Updated: changed}}}, nil
}

// addInt computes cur ± delta for an integer column, exactly, or reports that it cannot (an
// overflow or a result outside the column's range: the general path reports those).
func addInt(ctx *sql.Context, typ sql.Type, cur any, delta int64, minus bool) (any, bool) {
	sum, ok := asInt64(cur)
	if !ok {
		return nil, false
	}
	if minus {
		if delta == math.MinInt64 {
			return nil, false
		}
		delta = -delta
	}
	if (delta > 0 && sum > math.MaxInt64-delta) || (delta < 0 && sum < math.MinInt64-delta) {
		return nil, false
	}
	return exact(ctx, typ, sum+delta)
}

func (p *Plan) delete(ctx *sql.Context, binds map[string]*querypb.BindVariable) (*Outcome, error) {
	rows, err := p.read(ctx, binds)
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		ed := p.table.(sql.DeletableTable).Deleter(ctx)
		err := edit(ctx, ed, func() error {
			for _, r := range rows {
				if err := ed.Delete(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err = afterWrite(err); err != nil {
			return nil, err
		}
	}
	ctx.GetLastQueryInfo().RowCount.Store(int64(len(rows)))
	return &Outcome{OK: types.OkResult{RowsAffected: uint64(len(rows))}}, nil
}

func (p *Plan) insert(ctx *sql.Context, binds map[string]*querypb.BindVariable) (*Outcome, error) {
	noAutoOnZero := p.autoInc >= 0 && sql.LoadSqlMode(ctx).ModeEnabled(sql.NoAutoValueOnZero)
	rows := make([]sql.Row, len(p.shape.rows))
	firstGenerated := -1
	for r, src := range p.shape.rows {
		row := make(sql.Row, len(p.schema))
		for i, c := range p.schema {
			j := p.insertFrom[i]
			if j < 0 {
				if i == p.autoInc {
					row[i] = nil
					if firstGenerated < 0 {
						firstGenerated = r
					}
				} else {
					row[i] = p.omitted[i]
				}
				continue
			}
			v, ok := arg(src[j], binds)
			if !ok {
				return nil, ErrFallback
			}
			if i == p.autoInc {
				if v == nil || isZero(v) && !noAutoOnZero {
					if firstGenerated < 0 {
						firstGenerated = r
					}
					row[i] = nil
					continue
				}
				if n, ok := v.(int64); !ok || n < 0 {
					return nil, ErrFallback
				}
			}
			if v == nil && !c.Nullable {
				return nil, ErrFallback
			}
			if row[i], ok = exact(ctx, c.Type, v); !ok {
				return nil, ErrFallback
			}
		}
		rows[r] = row
	}
	var insertID uint64
	// Once a value has been generated, the counter has moved (and SET insert_id is used up):
	// running the statement again on the general path would take other values. From then on
	// the statement's errors are its own, reported as the general path reports them.
	generated := false
	// A failure to generate a value (the AUTO_INCREMENT reserver refused or timed out) is also
	// the statement's own: the general path would only ask the reserver a second time.
	genFailed := false
	info := ctx.GetLastQueryInfo()
	ed := p.table.(sql.InsertableTable).Inserter(ctx)
	err := edit(ctx, ed, func() error {
		for r, row := range rows {
			if p.autoInc >= 0 {
				given := row[p.autoInc]
				seq, err := p.table.(sql.AutoIncrementTable).GetNextAutoIncrementValue(ctx, given)
				if err != nil {
					genFailed = given == nil
					return err
				}
				if given == nil {
					generated = true
					typ := p.schema[p.autoInc].Type
					v, inRange, err := typ.Convert(ctx, seq)
					if err == nil && inRange != sql.InRange {
						err = sql.ErrValueOutOfRange.New(seq, typ)
					}
					if err != nil {
						return err
					}
					row[p.autoInc] = v
				}
				if r == 0 {
					insertID = toUint64(row[p.autoInc])
				}
			}
			if err := ed.Insert(ctx, row); err != nil {
				return err
			}
			if r == firstGenerated {
				// Set as soon as that row is in, as GMS does, even if a later row fails.
				info.LastInsertId.Store(int64(toUint64(row[p.autoInc])))
			}
		}
		return nil
	})
	if err != nil && (generated || genFailed) && !errors.Is(err, ErrFallback) {
		return nil, sql.CastSQLError(err)
	}
	if err = afterWrite(err); err != nil {
		return nil, err
	}
	info.RowCount.Store(int64(len(rows)))
	return &Outcome{OK: types.OkResult{RowsAffected: uint64(len(rows)), InsertID: insertID}}, nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case int64:
		return x == 0
	case uint64:
		return x == 0
	}
	return false
}

// asInt64 returns an integer of any Go integer type as int64 (false for other values and for
// unsigned values above MaxInt64).
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// toUint64 returns a non-negative integer of any Go integer type as uint64 (0 otherwise).
func toUint64(v any) uint64 {
	if u, ok := v.(uint64); ok {
		return u
	}
	if i, ok := asInt64(v); ok && i >= 0 {
		return uint64(i)
	}
	return 0
}

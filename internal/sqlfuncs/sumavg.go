package sqlfuncs

import (
	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// Functions are the registry entries for SUM, AVG, MIN and MAX; Names are their names, to take GMS's
// entries out of its registry first (it refuses a second function of a name).
var (
	Functions = []sql.Function{
		sql.Function1{Name: "sum", Fn: func(_ *sql.Context, e sql.Expression) sql.Expression { return NewSum(e) }},
		sql.Function1{Name: "avg", Fn: func(_ *sql.Context, e sql.Expression) sql.Expression { return NewAvg(e) }},
		sql.Function1{Name: "min", Fn: func(_ *sql.Context, e sql.Expression) sql.Expression { return NewMin(e) }},
		sql.Function1{Name: "max", Fn: func(_ *sql.Context, e sql.Expression) sql.Expression { return NewMax(e) }},
	}
	Names = []string{"sum", "avg", "min", "max"}
)

// Digits added to an exact argument's precision: MySQL's DECIMAL_LONGLONG_DIGITS for SUM, and
// div_precision_increment (4) for AVG, which also adds it to the scale.
const (
	sumDigits = 22
	avgDigits = 4
)

// ResultType is the type of SUM (avg false) or AVG (avg true) of an argument of type t.
func ResultType(t sql.Type, avg bool) sql.Type {
	p, s, exact := exactPrecision(t)
	if !exact {
		return types.Float64
	}
	if avg {
		p, s = p+avgDigits, s+avgDigits
	} else {
		p += sumDigits
	}
	p = min(p, types.DecimalTypeMaxPrecision)
	s = min(s, types.DecimalTypeMaxScale, p)
	// A column type: values print rounded to the scale, as MySQL prints them.
	return types.MustCreateColumnDecimalType(uint8(p), uint8(s))
}

// exactPrecision is the precision and scale MySQL gives an exact argument (its
// decimal_precision()), exact false for arguments that are summed as DOUBLE.
func exactPrecision(t sql.Type) (p, s int, exact bool) {
	if t == nil {
		return 0, 0, false
	}
	if dt, ok := t.(sql.DecimalType); ok {
		return int(dt.Precision()), int(dt.Scale()), true
	}
	switch t.Type() {
	case sqltypes.Int8, sqltypes.Uint8:
		return 3, 0, true
	case sqltypes.Int16, sqltypes.Uint16:
		return 5, 0, true
	case sqltypes.Int24, sqltypes.Uint24:
		return 8, 0, true
	case sqltypes.Int32, sqltypes.Uint32:
		return 10, 0, true
	case sqltypes.Int64:
		return 19, 0, true
	case sqltypes.Uint64:
		return 20, 0, true
	case sqltypes.Year:
		return 4, 0, true
	case sqltypes.Bit:
		if bt, ok := t.(types.BitType); ok {
			return int(bt.NumberOfBits()), 0, true
		}
	}
	return 0, 0, false
}

// Sum is SUM(expr) with MySQL's result type. It reuses GMS's Sum for everything but its type,
// nullability and buffer.
type Sum struct{ *aggregation.Sum }

var _ sql.Aggregation = (*Sum)(nil)

// NewSum returns SUM(e).
func NewSum(e sql.Expression) *Sum { return &Sum{aggregation.NewSum(e)} }

func (a *Sum) Type(ctx *sql.Context) sql.Type   { return ResultType(a.Child.Type(ctx), false) }
func (a *Sum) IsNullable(ctx *sql.Context) bool { return true }
func (a *Sum) NewBuffer(ctx *sql.Context) (sql.AggregationBuffer, error) {
	return newSumBuffer(ctx, a.Child, a.Type(ctx)), nil
}

func (a *Sum) NewWindowFunction(ctx *sql.Context) (sql.WindowFunction, error) {
	w, err := a.Sum.NewWindowFunction(ctx)
	return newWindow(ctx, w, a.Child, a.Type(ctx), false), err
}

func (a *Sum) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := a.Sum.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &Sum{e.(*aggregation.Sum)}, nil
}

func (a *Sum) WithId(id sql.ColumnId) sql.IdExpression {
	return &Sum{a.Sum.WithId(id).(*aggregation.Sum)}
}

func (a *Sum) WithWindow(ctx *sql.Context, w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return &Sum{a.Sum.WithWindow(ctx, w).(*aggregation.Sum)}
}

// Avg is AVG(expr) with MySQL's result type.
type Avg struct{ *aggregation.Avg }

var _ sql.Aggregation = (*Avg)(nil)

// NewAvg returns AVG(e).
func NewAvg(e sql.Expression) *Avg { return &Avg{aggregation.NewAvg(e)} }

func (a *Avg) Type(ctx *sql.Context) sql.Type   { return ResultType(a.Child.Type(ctx), true) }
func (a *Avg) IsNullable(ctx *sql.Context) bool { return true }
func (a *Avg) NewBuffer(ctx *sql.Context) (sql.AggregationBuffer, error) {
	return &avgBuffer{sum: newSumBuffer(ctx, a.Child, a.Type(ctx))}, nil
}

func (a *Avg) NewWindowFunction(ctx *sql.Context) (sql.WindowFunction, error) {
	w, err := a.Avg.NewWindowFunction(ctx)
	return newWindow(ctx, w, a.Child, a.Type(ctx), true), err
}

func (a *Avg) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := a.Avg.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &Avg{e.(*aggregation.Avg)}, nil
}

func (a *Avg) WithId(id sql.ColumnId) sql.IdExpression {
	return &Avg{a.Avg.WithId(id).(*aggregation.Avg)}
}

func (a *Avg) WithWindow(ctx *sql.Context, w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return &Avg{a.Avg.WithWindow(ctx, w).(*aggregation.Avg)}
}

// sumBuffer sums exactly (apd) when the result is a DECIMAL, else as DOUBLE.
type sumBuffer struct {
	expr  sql.Expression
	typ   sql.Type
	exact bool
	dec   apd.Decimal
	flt   float64
	n     int64 // non-NULL values summed
}

func newSumBuffer(ctx *sql.Context, e sql.Expression, typ sql.Type) *sumBuffer {
	_, exact := typ.(sql.DecimalType)
	return &sumBuffer{expr: e, typ: typ, exact: exact}
}

func (b *sumBuffer) Update(ctx *sql.Context, row sql.Row) error {
	v, err := b.expr.Eval(ctx, row)
	if err != nil || v == nil {
		return err
	}
	if b.exact {
		d, err := toDecimal(v)
		if err != nil {
			return err
		}
		if _, err := sql.DecimalCtx.Add(&b.dec, &b.dec, d); err != nil {
			return err
		}
	} else {
		f, _, err := types.Float64.Convert(ctx, v)
		if err != nil {
			// MySQL sums what it can read of a string ('3abc' is 3) with a warning; GMS's
			// conversion already returned that value alongside the error.
			if f == nil {
				return err
			}
		}
		b.flt += f.(float64)
	}
	b.n++
	return nil
}

func (b *sumBuffer) Eval(ctx *sql.Context) (interface{}, error) {
	if b.n == 0 {
		return nil, nil
	}
	if b.exact {
		d := new(apd.Decimal).Set(&b.dec)
		return d, nil
	}
	return b.flt, nil
}

// Dispose resets a DISTINCT argument's set of values seen.
func (b *sumBuffer) Dispose(ctx *sql.Context) { expression.Dispose(ctx, b.expr) }

// toDecimal reads an exact argument's value as a decimal.
func toDecimal(v interface{}) (*apd.Decimal, error) {
	switch x := v.(type) {
	case *apd.Decimal:
		return x, nil
	case int64:
		return apd.New(x, 0), nil
	case int32:
		return apd.New(int64(x), 0), nil
	case int16:
		return apd.New(int64(x), 0), nil
	case int8:
		return apd.New(int64(x), 0), nil
	case uint64:
		return types.DecimalFromUint64(x), nil
	case uint32:
		return apd.New(int64(x), 0), nil
	case uint16:
		return apd.New(int64(x), 0), nil
	case uint8:
		return apd.New(int64(x), 0), nil
	}
	return types.InternalDecimalType.ConvertToDecimal(v)
}

// avgBuffer divides its sum by the number of values summed.
type avgBuffer struct{ sum *sumBuffer }

// quoCtx divides with more digits than any result keeps; Quantize then rounds to the scale.
var quoCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(2 * types.DecimalTypeMaxPrecision)
	c.Rounding = apd.RoundHalfUp // half away from zero, despite the name
	return c
}()

func (b *avgBuffer) Update(ctx *sql.Context, row sql.Row) error { return b.sum.Update(ctx, row) }

func (b *avgBuffer) Eval(ctx *sql.Context) (interface{}, error) {
	s := b.sum
	if s.n == 0 {
		return nil, nil
	}
	if !s.exact {
		return s.flt / float64(s.n), nil
	}
	return average(&s.dec, s.n, int32(s.typ.(sql.DecimalType).Scale()))
}

// average is sum/n rounded half away from zero (as MySQL rounds decimals) to scale decimals.
func average(sum *apd.Decimal, n int64, scale int32) (*apd.Decimal, error) {
	q := new(apd.Decimal)
	if _, err := quoCtx.Quo(q, sum, apd.New(n, 0)); err != nil {
		return nil, err
	}
	if _, err := quoCtx.Quantize(q, q, -scale); err != nil {
		return nil, err
	}
	return q, nil
}

func (b *avgBuffer) Dispose(ctx *sql.Context) { b.sum.Dispose(ctx) }

// newWindow is the window function of SUM or AVG: GMS's own (which computes in DOUBLE) when the
// result is a DOUBLE, else an exact one that keeps GMS's framer.
func newWindow(ctx *sql.Context, gms sql.WindowFunction, e sql.Expression, typ sql.Type, avg bool) sql.WindowFunction {
	if gms == nil {
		return nil
	}
	dt, ok := typ.(sql.DecimalType)
	if !ok {
		return gms
	}
	return &exactWindow{WindowFunction: gms, expr: e, scale: int32(dt.Scale()), avg: avg}
}

// exactWindow computes SUM or AVG over a window frame in decimals, from prefix sums over the
// partition (as GMS's SumAgg does in floats). The embedded GMS function gives the framer.
type exactWindow struct {
	sql.WindowFunction
	expr  sql.Expression
	scale int32
	avg   bool
	start int           // the partition's first row in the buffer
	sums  []apd.Decimal // sums[i]: sum of the partition's first i+1 values
	ns    []int64       // ns[i]: how many of them are not NULL
}

func (w *exactWindow) StartPartition(ctx *sql.Context, iv sql.WindowInterval, buf sql.WindowBuffer) error {
	w.start = iv.Start
	w.sums = make([]apd.Decimal, iv.End-iv.Start)
	w.ns = make([]int64, iv.End-iv.Start)
	var sum apd.Decimal
	var n int64
	for i := range w.sums {
		v, err := w.expr.Eval(ctx, buf[iv.Start+i])
		if err != nil {
			return err
		}
		if v != nil {
			d, err := toDecimal(v)
			if err != nil {
				return err
			}
			if _, err := sql.DecimalCtx.Add(&sum, &sum, d); err != nil {
				return err
			}
			n++
		}
		w.sums[i].Set(&sum)
		w.ns[i] = n
	}
	return nil
}

func (w *exactWindow) Compute(ctx *sql.Context, iv sql.WindowInterval, buf sql.WindowBuffer) (interface{}, error) {
	first, last := iv.Start-w.start-1, iv.End-w.start-1 // prefix indexes: before the frame, its end
	if last <= first || last < 0 {
		return nil, nil
	}
	sum, n := new(apd.Decimal).Set(&w.sums[last]), w.ns[last]
	if first >= 0 {
		if _, err := sql.DecimalCtx.Sub(sum, sum, &w.sums[first]); err != nil {
			return nil, err
		}
		n -= w.ns[first]
	}
	if n == 0 {
		return nil, nil
	}
	if !w.avg {
		return sum, nil
	}
	return average(sum, n, w.scale)
}

// Min is MIN(expr), nullable as MySQL's is (GMS's reports NOT NULL, so ORMs read a NULL it
// returns over no rows into a non-nullable field).
type Min struct{ *aggregation.Min }

var _ sql.Aggregation = (*Min)(nil)

// NewMin returns MIN(e).
func NewMin(e sql.Expression) *Min { return &Min{aggregation.NewMin(e)} }

func (a *Min) IsNullable(ctx *sql.Context) bool { return true }

func (a *Min) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := a.Min.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &Min{e.(*aggregation.Min)}, nil
}

func (a *Min) WithId(id sql.ColumnId) sql.IdExpression {
	return &Min{a.Min.WithId(id).(*aggregation.Min)}
}

func (a *Min) WithWindow(ctx *sql.Context, w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return &Min{a.Min.WithWindow(ctx, w).(*aggregation.Min)}
}

// Max is MAX(expr), nullable as MySQL's is.
type Max struct{ *aggregation.Max }

var _ sql.Aggregation = (*Max)(nil)

// NewMax returns MAX(e).
func NewMax(e sql.Expression) *Max { return &Max{aggregation.NewMax(e)} }

func (a *Max) IsNullable(ctx *sql.Context) bool { return true }

func (a *Max) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := a.Max.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &Max{e.(*aggregation.Max)}, nil
}

func (a *Max) WithId(id sql.ColumnId) sql.IdExpression {
	return &Max{a.Max.WithId(id).(*aggregation.Max)}
}

func (a *Max) WithWindow(ctx *sql.Context, w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return &Max{a.Max.WithWindow(ctx, w).(*aggregation.Max)}
}

package sqlfuncs

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestResultType checks the result types against what MariaDB 10.11 reports for SUM and AVG of
// a column of each type (precision and scale as its result metadata gives them).
func TestResultType(t *testing.T) {
	for _, c := range []struct {
		arg      sql.Type
		sum, avg string
	}{
		{types.Int8, "decimal(25,0)", "decimal(7,4)"},
		{types.Uint8, "decimal(25,0)", "decimal(7,4)"},
		{types.Int16, "decimal(27,0)", "decimal(9,4)"},
		{types.Int24, "decimal(30,0)", "decimal(12,4)"},
		{types.Uint24, "decimal(30,0)", "decimal(12,4)"},
		{types.Int32, "decimal(32,0)", "decimal(14,4)"},
		{types.Uint32, "decimal(32,0)", "decimal(14,4)"},
		{types.Int64, "decimal(41,0)", "decimal(23,4)"},
		{types.Uint64, "decimal(42,0)", "decimal(24,4)"},
		{types.Year, "decimal(26,0)", "decimal(8,4)"},
		{types.MustCreateBitType(8), "decimal(30,0)", "decimal(12,4)"},
		{types.MustCreateDecimalType(20, 2), "decimal(42,2)", "decimal(24,6)"},
		{types.MustCreateDecimalType(10, 3), "decimal(32,3)", "decimal(14,7)"},
		{types.MustCreateDecimalType(65, 0), "decimal(65,0)", "decimal(65,4)"},    // capped at 65 digits
		{types.MustCreateDecimalType(65, 30), "decimal(65,30)", "decimal(65,30)"}, // and 30 decimals
		{types.Float32, "double", "double"},
		{types.Float64, "double", "double"},
		{types.Text, "double", "double"},
		{types.DatetimeMaxPrecision, "double", "double"},
	} {
		if got := ResultType(c.arg, false).String(); got != c.sum {
			t.Errorf("SUM(%s): %s, want %s", c.arg, got, c.sum)
		}
		if got := ResultType(c.arg, true).String(); got != c.avg {
			t.Errorf("AVG(%s): %s, want %s", c.arg, got, c.avg)
		}
	}
}

func aggregate(t *testing.T, agg sql.Aggregation, vals ...interface{}) string {
	t.Helper()
	ctx := sql.NewEmptyContext()
	buf, err := agg.NewBuffer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := buf.Update(ctx, sql.Row{v}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := buf.Eval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := agg.Type(ctx).SQL(ctx, nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if out.IsNull() {
		return "NULL"
	}
	return out.ToString()
}

// TestSumAvgValues checks the values as a client reads them (the text protocol's spelling).
func TestSumAvgValues(t *testing.T) {
	dec := types.MustCreateColumnDecimalType(20, 2)
	d := func(s string) interface{} {
		v, _, err := dec.Convert(sql.NewEmptyContext(), s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	col := func(typ sql.Type) sql.Expression { return expression.NewGetField(0, typ, "c", true) }
	for _, c := range []struct {
		name string
		agg  sql.Aggregation
		vals []interface{}
		want string
	}{
		// The case of the issue: DOUBLE gave 1.2345678901234568e+16.
		{"SUM decimal", NewSum(col(dec)), []interface{}{d("12345678901234567.89"), d("0.01")}, "12345678901234567.90"},
		{"AVG decimal", NewAvg(col(dec)), []interface{}{d("12345678901234567.89"), d("0.01"), d("-0.05")}, "4115226300411522.616667"},
		{"SUM bigint unsigned", NewSum(col(types.Uint64)), []interface{}{uint64(18446744073709551615), uint64(1)}, "18446744073709551616"},
		{"AVG int rounds half away from zero", NewAvg(col(types.Int32)), []interface{}{int32(1), int32(2), int32(2)}, "1.6667"},
		{"AVG negative", NewAvg(col(types.Int32)), []interface{}{int32(-1), int32(-2), int32(-2)}, "-1.6667"},
		{"AVG half", NewAvg(col(types.Int8)), []interface{}{int8(0), int8(0), int8(0), int8(0), int8(0), int8(0), int8(0), int8(1)}, "0.1250"},
		{"SUM skips NULL", NewSum(col(types.Int32)), []interface{}{nil, int32(4)}, "4"},
		{"SUM of nothing", NewSum(col(types.Int32)), nil, "NULL"},
		{"AVG of NULLs", NewAvg(col(types.Int32)), []interface{}{nil, nil}, "NULL"},
		{"SUM double", NewSum(col(types.Float64)), []interface{}{1.5, 2.25}, "3.75"},
		{"AVG float", NewAvg(col(types.Float32)), []interface{}{float32(1.5), float32(2.25)}, "1.875"},
	} {
		if got := aggregate(t, c.agg, c.vals...); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if !c.agg.IsNullable(sql.NewEmptyContext()) {
			t.Errorf("%s: not nullable (MySQL's SUM and AVG are)", c.name)
		}
	}
}

// TestWindowSum checks SUM and AVG over frames of a partition, in decimals.
func TestWindowSum(t *testing.T) {
	ctx := sql.NewEmptyContext()
	dec := types.MustCreateColumnDecimalType(20, 2)
	var rows sql.WindowBuffer
	for _, s := range []string{"12345678901234567.89", "0.01", "", "-0.05"} {
		if s == "" {
			rows = append(rows, sql.Row{nil})
			continue
		}
		v, _, _ := dec.Convert(ctx, s)
		rows = append(rows, sql.Row{v})
	}
	col := expression.NewGetField(0, dec, "c", true)
	for _, c := range []struct {
		agg        sql.Aggregation
		start, end int
		want       string
	}{
		{NewSum(col), 0, 2, "12345678901234567.90"},
		{NewSum(col), 1, 4, "-0.04"},
		{NewSum(col), 2, 3, "NULL"},
		{NewSum(col), 2, 2, "NULL"},
		{NewAvg(col), 0, 4, "4115226300411522.616667"},
		{NewAvg(col), 1, 3, "0.010000"},
	} {
		win := c.agg.WithWindow(ctx, sql.NewWindowDefinition(nil, nil, nil, "", ""))
		w, err := win.NewWindowFunction(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.StartPartition(ctx, sql.WindowInterval{Start: 0, End: len(rows)}, rows); err != nil {
			t.Fatal(err)
		}
		v, err := w.Compute(ctx, sql.WindowInterval{Start: c.start, End: c.end}, rows)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := c.agg.Type(ctx).SQL(ctx, nil, v)
		got := out.ToString()
		if out.IsNull() {
			got = "NULL"
		}
		if got != c.want {
			t.Errorf("%s over rows [%d,%d): %s, want %s", c.agg, c.start, c.end, got, c.want)
		}
	}
}

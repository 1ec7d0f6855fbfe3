package server

import (
	"fmt"
	"slices"
	"strings"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/sqlfuncs"
)

// gtidFunc is one of MySQL's GTID functions: a name, its arguments and how to evaluate them.
type gtidFunc struct {
	name     string
	args     []sql.Expression
	typ      sql.Type
	eval     func(ctx *sql.Context, vals []interface{}) (interface{}, error)
	nullable bool
}

var _ sql.FunctionExpression = (*gtidFunc)(nil)

func (f *gtidFunc) FunctionName() string { return strings.ToLower(f.name) }
func (f *gtidFunc) Description() string  { return "MySQL's " + f.name + " GTID function" }
func (f *gtidFunc) Resolved() bool       { return expression.ExpressionsResolved(f.args...) }
func (f *gtidFunc) String() string {
	parts := make([]string, len(f.args))
	for i, a := range f.args {
		parts[i] = a.String()
	}
	return f.name + "(" + strings.Join(parts, ", ") + ")"
}
func (f *gtidFunc) Type(*sql.Context) sql.Type   { return f.typ }
func (f *gtidFunc) IsNullable(*sql.Context) bool { return true }
func (f *gtidFunc) Children() []sql.Expression   { return f.args }
func (f *gtidFunc) WithChildren(_ *sql.Context, c ...sql.Expression) (sql.Expression, error) {
	if len(c) != len(f.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(c), len(f.args))
	}
	nf := *f
	nf.args = c
	return &nf, nil
}

func (f *gtidFunc) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	vals := make([]interface{}, len(f.args))
	for i, a := range f.args {
		v, err := a.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil // NULL in, NULL out
		}
		vals[i] = v
	}
	return f.eval(ctx, vals)
}

// parseGTIDArg reads a GTID set argument, failing with MySQL's error 1772.
func parseGTIDArg(v interface{}) (gtid.Set, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if b, ok := v.([]byte); ok {
		s = strings.TrimSpace(string(b))
	}
	set, err := gtid.Parse(s)
	if err != nil {
		return gtid.Set{}, mysql.NewSQLError(1772, "HY000", "Malformed GTID set specification '%s'.", s)
	}
	return set, nil
}

// ownFunctions are the functions RelayDB defines in place of GMS's built-in ones (a partial
// GTID_SUBTRACT; RAND, see rand.go; SUM, AVG, MIN and MAX typed as MySQL types them, see sqlfuncs); those
// are taken out of the registry every new engine copies.
var ownFunctions = append([]string{"gtid_subset", "gtid_subtract", "wait_for_executed_gtid_set", "rand"},
	sqlfuncs.Names...)

func init() {
	kept := function.BuiltIns[:0:0]
	for _, f := range function.BuiltIns {
		if !slices.Contains(ownFunctions, f.FunctionName()) {
			kept = append(kept, f)
		}
	}
	function.BuiltIns = kept
}

// registerFunctions adds GTID_SUBSET, GTID_SUBTRACT, WAIT_FOR_EXECUTED_GTID_SET, RAND and sqlfuncs.Functions.
func registerFunctions(e *sqle.Engine, l *commitlog.Log) {
	two := func(name string, typ sql.Type, fn func(a, b gtid.Set) interface{}) sql.Function {
		return sql.Function2{Name: name, Fn: func(_ *sql.Context, a, b sql.Expression) sql.Expression {
			return &gtidFunc{name: strings.ToUpper(name), args: []sql.Expression{a, b}, typ: typ,
				eval: func(_ *sql.Context, v []interface{}) (interface{}, error) {
					x, err := parseGTIDArg(v[0])
					if err != nil {
						return nil, err
					}
					y, err := parseGTIDArg(v[1])
					if err != nil {
						return nil, err
					}
					return fn(x, y), nil
				}}
		}}
	}
	wait := sql.FunctionN{Name: "wait_for_executed_gtid_set", Fn: func(_ *sql.Context, args ...sql.Expression) (sql.Expression, error) {
		if len(args) < 1 || len(args) > 2 {
			return nil, sql.ErrInvalidArgumentNumber.New("WAIT_FOR_EXECUTED_GTID_SET", "1 or 2", len(args))
		}
		return &gtidFunc{name: "WAIT_FOR_EXECUTED_GTID_SET", args: args, typ: types.Int64,
			eval: func(ctx *sql.Context, v []interface{}) (interface{}, error) {
				set, err := parseGTIDArg(v[0])
				if err != nil {
					return nil, err
				}
				timeout := time.Duration(-1)
				if len(v) == 2 {
					secs, _, err := types.Float64.Convert(ctx, v[1])
					if err != nil {
						return nil, err
					}
					if secs.(float64) < 0 {
						return nil, mysql.NewSQLError(1210, "HY000", "Incorrect arguments to WAIT_FOR_EXECUTED_GTID_SET.")
					}
					timeout = time.Duration(secs.(float64) * float64(time.Second))
				}
				if l == nil {
					if set.IsEmpty() {
						return int64(0), nil
					}
					return nil, mysql.NewSQLError(1782, "HY000", "@@GLOBAL.GTID_MODE = ON is required (the server runs without a binary log).")
				}
				if l.WaitExecuted(set, timeout, ctx.Done()) {
					return int64(0), nil
				}
				if err := ctx.Err(); err != nil {
					return nil, mysql.NewSQLError(mysql.ERQueryInterrupted, mysql.SSQueryInterrupted, "Query execution was interrupted")
				}
				return int64(1), nil
			}}, nil
	}}
	e.Analyzer.Catalog.RegisterFunction(sql.NewEmptyContext(),
		two("gtid_subset", types.Int8, func(a, b gtid.Set) interface{} {
			if b.ContainsSet(a) {
				return int8(1)
			}
			return int8(0)
		}),
		two("gtid_subtract", types.LongText, func(a, b gtid.Set) interface{} { return gtid.Subtract(a, b).String() }),
		wait,
		randFunction,
	)
	e.Analyzer.Catalog.RegisterFunction(sql.NewEmptyContext(), sqlfuncs.Functions...)
}

package server

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// textLiteralsForIgnore gives INSERT IGNORE … VALUES the binary literals (X'…', b'…') bound for
// a string column (CHAR, VARCHAR, TEXT, BINARY, VARBINARY, BLOB) as strings of the same bytes,
// returning the rewritten node (nil: nothing to change). GMS truncates a value too long for such
// a column by asserting that it is a Go string, so a binary literal panicked and closed the
// connection; MySQL truncates it with a warning.
// A string of the same bytes is what GMS's own conversion stores for a value that fits, so
// nothing else changes. It runs from the exec builder (readOnlyGuard), because GMS analyzes an
// INSERT of literals with a fixed rule list that no analyzer rule of RelayDB's joins.
func textLiteralsForIgnore(ctx *sql.Context, n sql.Node) sql.Node {
	ins, ok := n.(*plan.InsertInto)
	if !ok || !ins.Ignore {
		return nil
	}
	// The VALUES tuples are in the order of the statement's column list (ColumnNames); GMS may
	// put a Project over them that orders them as the table's columns.
	src := ins.Source
	proj, _ := src.(*plan.Project)
	if proj != nil {
		src = proj.Child
	}
	values, ok := src.(*plan.Values)
	if !ok {
		return nil
	}
	if !hasBinaryLiteral(values) {
		return nil // the common case: nothing to look up, nothing allocated
	}
	schema := ins.Destination.Schema(ctx)
	target := make([]sql.Type, 0, len(schema))
	if len(ins.ColumnNames) == 0 {
		for _, c := range schema {
			target = append(target, c.Type)
		}
	} else {
		for _, name := range ins.ColumnNames {
			var t sql.Type
			for _, c := range schema {
				if strings.EqualFold(c.Name, name) {
					t = c.Type
					break
				}
			}
			target = append(target, t)
		}
	}
	changed := false
	tuples := make([][]sql.Expression, len(values.ExpressionTuples))
	for i, tuple := range values.ExpressionTuples {
		tuples[i] = tuple
		copied := false
		for j, e := range tuple {
			if j >= len(target) || target[j] == nil || !types.IsText(target[j]) {
				continue
			}
			lit, ok := e.(*expression.Literal)
			if !ok {
				continue
			}
			b, ok := lit.Value().([]byte)
			if !ok {
				continue
			}
			if !copied {
				tuples[i] = append([]sql.Expression(nil), tuple...)
				copied = true
			}
			tuples[i][j] = expression.NewLiteral(string(b), types.LongText)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	nv := *values
	nv.ExpressionTuples = tuples
	if proj != nil {
		wrapped, err := proj.WithChildren(ctx, &nv)
		if err != nil {
			return nil // leave the statement as GMS planned it
		}
		return ins.WithSource(wrapped)
	}
	return ins.WithSource(&nv)
}

func hasBinaryLiteral(v *plan.Values) bool {
	for _, tuple := range v.ExpressionTuples {
		for _, e := range tuple {
			if lit, ok := e.(*expression.Literal); ok {
				if _, ok := lit.Value().([]byte); ok {
					return true
				}
			}
		}
	}
	return false
}

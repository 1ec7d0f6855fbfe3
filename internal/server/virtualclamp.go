package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// clampVirtualColumns makes a table node's VIRTUAL generated columns read as MySQL and MariaDB
// read them: a value out of the column type's range comes back clamped to the range, not as
// error 1264 for the whole statement. INSERT IGNORE and UPDATE IGNORE may store a row whose
// virtual column is out of range (with warnings, as MySQL does); GMS then refused every later
// read of it — every SELECT, UPDATE or dump touching that row. It runs from the exec builder
// (readOnlyGuard) because GMS keeps these projections out of the analyzer's sight.
func clampVirtualColumns(n sql.Node) {
	var table sql.Table
	switch n := n.(type) {
	case *plan.ResolvedTable:
		table = n.Table
	case *plan.IndexedTableAccess:
		table = n.Table
	default:
		return
	}
	vct, ok := plan.FindVirtualColumnTable(table)
	if !ok {
		return
	}
	// In place, once: a plan built again (a prepared statement's) already holds the wrappers.
	for i, p := range vct.Projections {
		if d, ok := p.(*sql.ColumnDefaultValue); ok && d.OutType != nil {
			vct.Projections[i] = clampedGenerated{d}
		}
	}
}

// clampedGenerated is a generated column's expression whose out-of-range result is clamped.
type clampedGenerated struct{ *sql.ColumnDefaultValue }

func (c clampedGenerated) Eval(ctx *sql.Context, row sql.Row) (any, error) {
	v, err := c.ColumnDefaultValue.Eval(ctx, row)
	if err == nil || !sql.ErrValueOutOfRange.Is(err) {
		return v, err
	}
	// The conversion GMS's Eval made, keeping the value it clamped to (GMS's Eval discards it).
	raw, err := c.Expr.Eval(ctx, row)
	if err != nil {
		return nil, err
	}
	if rt, ok := c.OutType.(sql.RoundingNumberType); ok {
		v, _, err = rt.ConvertRound(ctx, raw)
	} else {
		v, _, err = c.OutType.Convert(ctx, raw)
	}
	if err != nil {
		return nil, sql.ErrIncompatibleDefaultType.New()
	}
	return v, nil
}

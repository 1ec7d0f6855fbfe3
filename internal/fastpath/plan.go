package fastpath

import (
	"errors"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/sqlfuncs"
)

// ErrFallback means: run this statement through the general path. Nothing was changed.
var ErrFallback = errors.New("fastpath: statement needs the general path")

// Catalog is the part of GMS's catalog a Plan needs.
type Catalog interface {
	Database(ctx *sql.Context, name string) (sql.Database, error)
}

// Plan is a Shape bound to one table of the catalog.
type Plan struct {
	shape  *Shape
	table  sql.Table
	schema sql.Schema

	// The rows a SELECT, UPDATE or DELETE reads: the key columns of index, in index order, and
	// the operand each is compared with (point), or a range on the first one (between).
	index   sql.Index
	keyCols []int
	keyVals []operand
	ranged  bool

	// SELECT: the table columns projected, and the result schema.
	project []int
	result  sql.Schema
	// ORDER BY, on table rows; distinct drops sorted repeats of the projected columns.
	sortBy   sql.SortConditions
	distinct bool
	// The aggregate, when the select expression is one.
	agg sql.Aggregation
	// readCols are the columns a SELECT reads (nil: all): a backend that can leave the others
	// undecoded is asked to.
	readCols []int

	// UPDATE: the column of each assignment.
	setCols []int

	// INSERT: for each table column, the operand index in a row (-1: omitted), and the values
	// of omitted columns.
	insertFrom []int
	omitted    []any
	autoInc    int // the auto_increment column, or -1
}

// Kind is the plan's statement kind.
func (p *Plan) Kind() Kind { return p.shape.Kind }

// Result is the schema of a SELECT's rows.
func (p *Plan) Result() sql.Schema { return p.result }

// Resolve binds sh to the catalog, with currentDB as the default database. It returns
// ErrFallback when the table or the statement is one the fast path does not run.
func Resolve(ctx *sql.Context, cat Catalog, sh *Shape, currentDB string) (*Plan, error) {
	if sh.table == "" {
		return nil, ErrFallback
	}
	dbName := sh.db
	if dbName == "" {
		dbName = currentDB
	}
	switch strings.ToLower(dbName) {
	case "", "mysql", "information_schema", "performance_schema", "sys":
		return nil, ErrFallback
	}
	db, err := cat.Database(ctx, dbName)
	if err != nil {
		return nil, ErrFallback
	}
	tbl, ok, err := db.GetTableInsensitive(ctx, sh.table)
	if err != nil || !ok {
		return nil, ErrFallback
	}
	if _, ok := tbl.(sql.IndexAddressableTable); !ok {
		return nil, ErrFallback
	}
	p := &Plan{shape: sh, table: tbl, schema: tbl.Schema(ctx), autoInc: -1}
	if sh.Kind != KindSelect && !plainTable(ctx, db, tbl) {
		return nil, ErrFallback
	}
	switch sh.Kind {
	case KindSelect:
		err = p.resolveSelect(ctx)
	case KindUpdate:
		if err = p.resolveKey(ctx, false); err == nil {
			err = p.resolveUpdate()
		}
	case KindDelete:
		err = p.resolveKey(ctx, false)
	case KindInsert:
		err = p.resolveInsert(ctx)
	default:
		err = ErrFallback
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// plainTable reports whether writes to tbl have no effects beyond the row itself: no triggers,
// foreign keys, check constraints, generated columns or ON UPDATE columns.
func plainTable(ctx *sql.Context, db sql.Database, tbl sql.Table) bool {
	if td, ok := db.(sql.TriggerDatabase); ok {
		trigs, err := td.GetTriggers(ctx)
		if err != nil {
			return false
		}
		for _, t := range trigs {
			// Only the table name matters; a false positive just means the general path.
			if strings.Contains(strings.ToLower(t.CreateStatement), strings.ToLower(tbl.Name())) {
				return false
			}
		}
	}
	if fk, ok := tbl.(sql.ForeignKeyTable); ok {
		decl, err := fk.GetDeclaredForeignKeys(ctx)
		if err != nil || len(decl) > 0 {
			return false
		}
		ref, err := fk.GetReferencedForeignKeys(ctx)
		if err != nil || len(ref) > 0 {
			return false
		}
	} else {
		return false
	}
	if ct, ok := tbl.(sql.CheckTable); ok {
		checks, err := ct.GetChecks(ctx)
		if err != nil || len(checks) > 0 {
			return false
		}
	}
	for _, c := range tbl.Schema(ctx) {
		if c.Generated != nil || c.Virtual || c.OnUpdate != nil {
			return false
		}
	}
	return true
}

func (p *Plan) column(name string) int {
	for i, c := range p.schema {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func (p *Plan) resolveSelect(ctx *sql.Context) error {
	if err := p.resolveKey(ctx, true); err != nil {
		return err
	}
	if p.shape.agg != nil {
		// no projected columns: the aggregate is the row
	} else if p.shape.star {
		p.project = make([]int, len(p.schema))
		for i, c := range p.schema {
			if c.Hidden || c.HiddenSystem {
				return ErrFallback // not part of *
			}
			p.project[i] = i
		}
	} else {
		for _, name := range p.shape.cols {
			i := p.column(name)
			if i < 0 {
				return ErrFallback
			}
			p.project = append(p.project, i)
		}
	}
	p.result = make(sql.Schema, len(p.project))
	for i, c := range p.project {
		if p.schema[c].Virtual || p.schema[c].HiddenSystem {
			// GMS computes virtual columns when it reads a row (plan.VirtualColumnTable); what
			// the table stores in their place is not their value.
			return ErrFallback
		}
		p.result[i] = p.schema[c]
	}
	for _, o := range p.shape.order {
		i := p.column(o.col)
		if i < 0 {
			return ErrFallback
		}
		order := sql.Ascending
		if o.desc {
			order = sql.Descending
		}
		p.sortBy = append(p.sortBy, sql.SortCondition{Expr: p.field(i), Order: order})
	}
	p.distinct = p.shape.distinct
	if a := p.shape.agg; a != nil {
		var arg sql.Expression = expression.NewLiteral(int64(1), types.Int64) // COUNT(*), as GMS builds it
		if a.col != "" {
			i := p.column(a.col)
			if i < 0 {
				return ErrFallback
			}
			arg = p.field(i)
		}
		switch a.fn {
		case "sum":
			p.agg = sqlfuncs.NewSum(arg) // typed and summed as the general path does
		case "min":
			p.agg = sqlfuncs.NewMin(arg)
		case "max":
			p.agg = sqlfuncs.NewMax(arg)
		case "count":
			p.agg = aggregation.NewCount(arg)
		default:
			return ErrFallback
		}
		p.result = sql.Schema{{Name: a.fn, Type: p.agg.Type(ctx), Nullable: true}}
	}
	p.readCols = p.columnsRead()
	return nil
}

// columnsRead lists, in schema order, the columns a SELECT needs: projected, sorted on,
// aggregated and compared in the lookup. nil means all of them.
func (p *Plan) columnsRead() []int {
	need := make([]bool, len(p.schema))
	for _, c := range p.project {
		need[c] = true
	}
	for _, c := range p.keyCols {
		need[c] = true
	}
	for _, o := range p.shape.order {
		need[p.column(o.col)] = true
	}
	if a := p.shape.agg; a != nil && a.col != "" {
		need[p.column(a.col)] = true
	}
	var cols []int
	for i, n := range need {
		if n {
			cols = append(cols, i)
		}
	}
	if len(cols) == len(p.schema) {
		return nil
	}
	return cols
}

// field is the expression reading column i of a table row.
func (p *Plan) field(i int) sql.Expression {
	c := p.schema[i]
	return expression.NewGetField(i, c.Type, c.Name, c.Nullable)
}

// resolveKey finds the index the WHERE clause pins down: every column of the primary key or
// of a unique index compared for equality (a point), or a BETWEEN on a one-column primary key.
func (p *Plan) resolveKey(ctx *sql.Context, allowRange bool) error {
	indexes, err := p.table.(sql.IndexAddressableTable).GetIndexes(ctx)
	if err != nil {
		return ErrFallback
	}
	sh := p.shape
	if sh.between != nil {
		if !allowRange {
			return ErrFallback
		}
		col := p.column(sh.between.col)
		if col < 0 || !p.schema[col].PrimaryKey {
			return ErrFallback
		}
		for _, ix := range indexes {
			if strings.EqualFold(ix.ID(), "PRIMARY") && len(ix.Expressions()) == 1 {
				p.index, p.keyCols, p.ranged = ix, []int{col}, true
				p.keyVals = []operand{sh.between.lo, sh.between.hi}
				return nil
			}
		}
		return ErrFallback
	}
	eqCol := make(map[int]operand, len(sh.eq))
	for _, c := range sh.eq {
		i := p.column(c.col)
		if i < 0 {
			return ErrFallback
		}
		if _, dup := eqCol[i]; dup {
			return ErrFallback
		}
		eqCol[i] = c.val
	}
	for _, ix := range indexes {
		if !ix.IsUnique() || ix.IsSpatial() || ix.IsFullText() || ix.IsVector() || len(ix.PrefixLengths()) > 0 {
			continue
		}
		exprs := ix.Expressions()
		if len(exprs) != len(eqCol) {
			continue
		}
		cols := make([]int, 0, len(exprs))
		vals := make([]operand, 0, len(exprs))
		for _, e := range exprs {
			name := strings.Trim(e[strings.LastIndexByte(e, '.')+1:], "`")
			i := p.column(name)
			v, ok := eqCol[i]
			if i < 0 || !ok {
				break
			}
			cols = append(cols, i)
			vals = append(vals, v)
		}
		if len(cols) == len(exprs) {
			p.index, p.keyCols, p.keyVals = ix, cols, vals
			return nil
		}
	}
	return ErrFallback
}

func (p *Plan) resolveUpdate() error {
	seen := map[int]bool{}
	for _, a := range p.shape.sets {
		i := p.column(a.col)
		if i < 0 || seen[i] {
			return ErrFallback
		}
		seen[i] = true
		p.setCols = append(p.setCols, i)
	}
	return nil
}

func (p *Plan) resolveInsert(ctx *sql.Context) error {
	sh := p.shape
	p.insertFrom = make([]int, len(p.schema))
	p.omitted = make([]any, len(p.schema))
	for i := range p.insertFrom {
		p.insertFrom[i] = -1
	}
	if sh.insertCols == nil {
		if len(sh.rows[0]) != len(p.schema) {
			return ErrFallback
		}
		for i := range p.schema {
			p.insertFrom[i] = i
		}
	} else {
		for j, name := range sh.insertCols {
			i := p.column(name)
			if i < 0 || p.insertFrom[i] >= 0 {
				return ErrFallback
			}
			p.insertFrom[i] = j
		}
	}
	for i, c := range p.schema {
		if c.AutoIncrement {
			if _, ok := p.table.(sql.AutoIncrementTable); !ok {
				return ErrFallback
			}
			p.autoInc = i
		}
		if p.insertFrom[i] >= 0 || c.AutoIncrement {
			continue
		}
		switch {
		case c.Default != nil && c.Default.IsLiteral():
			v, err := c.Default.Eval(ctx, nil)
			if err != nil {
				return ErrFallback
			}
			p.omitted[i] = v
		case c.Default == nil && c.Nullable:
			p.omitted[i] = nil
		default:
			return ErrFallback // an expression default, or NOT NULL without one
		}
	}
	return nil
}

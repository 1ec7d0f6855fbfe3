package fastpath

import (
	"strconv"
	"strings"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// Kind is what a statement does.
type Kind int

const (
	KindSelect Kind = iota + 1
	KindUpdate
	KindDelete
	KindInsert
	KindBegin
	KindCommit
	KindRollback
)

// operand is a value in a statement: a bind variable (param != "") or a literal.
type operand struct {
	param string
	lit   any // nil (NULL), int64, uint64 or string
}

// condition is column = operand.
type condition struct {
	col string
	val operand
}

// assignment is col = val, or col = col ± val when op is '+' or '-'.
type assignment struct {
	col string
	op  byte
	val operand
}

// orderCol is one ORDER BY column.
type orderCol struct {
	col  string
	desc bool
}

// aggregate is SUM, MIN, MAX or COUNT of a column, or COUNT(*).
type aggregate struct {
	fn  string // lower case
	col string // "" for COUNT(*)
}

// Shape is a statement classified by Classify: its form, with values left open.
type Shape struct {
	Kind  Kind
	db    string // qualifier as written, "" for the current database
	table string
	alias string
	auth  []ast.AuthInformation

	// SELECT
	star    bool
	cols    []string    // projected columns (when !star)
	eq      []condition // WHERE a = x AND b = y …
	between *struct {   // WHERE col BETWEEN lo AND hi
		col    string
		lo, hi operand
	}

	distinct bool
	order    []orderCol // ORDER BY columns
	agg      *aggregate // the single select expression, when it is an aggregate

	// UPDATE
	sets []assignment

	// INSERT
	insertCols []string // nil: every column, in table order
	rows       [][]operand
}

// Auth is the authorization data the parser attached to the statement's tables.
func Auth(sh *Shape) []ast.AuthInformation { return sh.auth }

// Classify returns the shape of stmt, or nil if it is not one this package runs.
func Classify(stmt ast.Statement) *Shape {
	switch s := stmt.(type) {
	case *ast.Select:
		return classifySelect(s)
	case *ast.Update:
		return classifyUpdate(s)
	case *ast.Delete:
		return classifyDelete(s)
	case *ast.Insert:
		return classifyInsert(s)
	case *ast.Begin:
		if s.TransactionCharacteristic == "" {
			return &Shape{Kind: KindBegin}
		}
	case *ast.Commit:
		return &Shape{Kind: KindCommit}
	case *ast.Rollback:
		return &Shape{Kind: KindRollback}
	}
	return nil
}

// singleTable accepts FROM/UPDATE/DELETE targets that name exactly one base table, without
// hints, partitions, AS OF or lateral joins.
func (sh *Shape) singleTable(exprs ast.TableExprs) bool {
	if len(exprs) != 1 {
		return false
	}
	te, ok := exprs[0].(*ast.AliasedTableExpr)
	if !ok || te.Hints != nil || te.AsOf != nil || len(te.Partitions) > 0 || te.Lateral {
		return false
	}
	tn, ok := te.Expr.(ast.TableName)
	if !ok || !tn.SchemaQualifier.IsEmpty() {
		return false
	}
	sh.db = tn.DbQualifier.String()
	sh.table = tn.Name.String()
	sh.alias = te.As.String()
	sh.auth = append(sh.auth, te.Auth)
	return sh.table != ""
}

// column accepts a column reference, qualified at most by the table's name or alias.
func (sh *Shape) column(e ast.Expr) (string, bool) {
	c, ok := e.(*ast.ColName)
	if !ok || c.StoredProcVal != nil {
		return "", false
	}
	q := c.Qualifier
	if !q.IsEmpty() {
		if !q.DbQualifier.IsEmpty() || !q.SchemaQualifier.IsEmpty() {
			return "", false
		}
		name := q.Name.String()
		if sh.alias != "" {
			if !strings.EqualFold(name, sh.alias) {
				return "", false
			}
		} else if !strings.EqualFold(name, sh.table) {
			return "", false
		}
	}
	return c.Name.String(), true
}

// value accepts a bind variable, an integer or string literal, or NULL.
func value(e ast.Expr) (operand, bool) {
	switch v := e.(type) {
	case *ast.NullVal:
		return operand{}, true
	case *ast.SQLVal:
		switch v.Type {
		case ast.ValArg:
			return operand{param: strings.TrimPrefix(string(v.Val), ":")}, true
		case ast.StrVal:
			return operand{lit: string(v.Val)}, true
		case ast.IntVal:
			if i, err := strconv.ParseInt(string(v.Val), 10, 64); err == nil {
				return operand{lit: i}, true
			}
			if u, err := strconv.ParseUint(string(v.Val), 10, 64); err == nil {
				return operand{lit: u}, true
			}
		}
	}
	return operand{}, false
}

// where accepts a conjunction of column = value, or one column BETWEEN value AND value.
func (sh *Shape) where(w *ast.Where, allowRange bool) bool {
	if w == nil || w.Type != ast.WhereStr {
		return false
	}
	if r, ok := w.Expr.(*ast.RangeCond); ok && allowRange {
		if r.Operator != ast.BetweenStr {
			return false
		}
		col, ok1 := sh.column(r.Left)
		lo, ok2 := value(r.From)
		hi, ok3 := value(r.To)
		if !ok1 || !ok2 || !ok3 {
			return false
		}
		sh.between = &struct {
			col    string
			lo, hi operand
		}{col, lo, hi}
		return true
	}
	return sh.conjunction(w.Expr)
}

func (sh *Shape) conjunction(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.AndExpr:
		return sh.conjunction(x.Left) && sh.conjunction(x.Right)
	case *ast.ParenExpr:
		return sh.conjunction(x.Expr)
	case *ast.ComparisonExpr:
		if x.Operator != ast.EqualStr || x.Escape != nil {
			return false
		}
		col, ok := sh.column(x.Left)
		val, ok2 := value(x.Right)
		if !ok || !ok2 {
			// Also accept value = column.
			col, ok = sh.column(x.Right)
			val, ok2 = value(x.Left)
			if !ok || !ok2 {
				return false
			}
		}
		if val.param == "" && val.lit == nil {
			return false // = NULL: let the general path handle the oddity
		}
		sh.eq = append(sh.eq, condition{col: col, val: val})
		return len(sh.eq) <= 16
	}
	return false
}

func classifySelect(s *ast.Select) *Shape {
	if s.Into != nil || s.With != nil || s.Limit != nil || s.Having != nil || (s.Lock != nil && s.Lock.Type != "") ||
		len(s.GroupBy) > 0 || len(s.Window) > 0 {
		return nil
	}
	q := s.QueryOpts
	if len(q.DistinctOn) > 0 || q.StraightJoinHint || q.SQLCalcFoundRows {
		return nil
	}
	sh := &Shape{Kind: KindSelect, distinct: q.Distinct}
	if !sh.singleTable(s.From) || !sh.where(s.Where, true) {
		return nil
	}
	for _, se := range s.SelectExprs {
		switch e := se.(type) {
		case *ast.StarExpr:
			if !e.TableName.IsEmpty() || len(s.SelectExprs) != 1 {
				return nil
			}
			sh.star = true
		case *ast.AliasedExpr:
			if f, ok := e.Expr.(*ast.FuncExpr); ok && len(s.SelectExprs) == 1 {
				if sh.agg = sh.aggregate(f); sh.agg == nil {
					return nil
				}
				continue
			}
			col, ok := sh.column(e.Expr)
			if !ok {
				return nil
			}
			sh.cols = append(sh.cols, col)
		default:
			return nil
		}
	}
	for _, o := range s.OrderBy {
		col, ok := sh.column(o.Expr)
		if !ok || sh.agg != nil {
			return nil
		}
		sh.order = append(sh.order, orderCol{col: col, desc: o.Direction == ast.DescScr})
	}
	if sh.distinct && !sh.distinctBySort() {
		return nil
	}
	return sh
}

// distinctBySort accepts SELECT DISTINCT only as SELECT DISTINCT a, b … ORDER BY a, b (in that
// order, ascending): sorting then dropping repeats gives exactly the rows and order of GMS's
// hash-based DISTINCT followed by its stable sort.
func (sh *Shape) distinctBySort() bool {
	if sh.star || sh.agg != nil || len(sh.order) != len(sh.cols) {
		return false
	}
	for i, o := range sh.order {
		if o.desc || !strings.EqualFold(o.col, sh.cols[i]) {
			return false
		}
	}
	return true
}

// aggregate accepts SUM(col), MIN(col), MAX(col), COUNT(col) and COUNT(*).
func (sh *Shape) aggregate(f *ast.FuncExpr) *aggregate {
	if f.Distinct || f.Over != nil || !f.Qualifier.IsEmpty() || len(f.Exprs) != 1 {
		return nil
	}
	name := f.Name.Lowered()
	switch name {
	case "sum", "min", "max", "count":
	default:
		return nil
	}
	switch e := f.Exprs[0].(type) {
	case *ast.StarExpr:
		if name != "count" || !e.TableName.IsEmpty() {
			return nil
		}
		return &aggregate{fn: name}
	case *ast.AliasedExpr:
		col, ok := sh.column(e.Expr)
		if !ok {
			return nil
		}
		return &aggregate{fn: name, col: col}
	}
	return nil
}

func classifyUpdate(s *ast.Update) *Shape {
	if s.Ignore != "" || s.With != nil || len(s.OrderBy) > 0 || s.Limit != nil || len(s.Returning) > 0 {
		return nil
	}
	sh := &Shape{Kind: KindUpdate}
	if !sh.singleTable(s.TableExprs) || !sh.where(s.Where, false) || len(s.Exprs) == 0 {
		return nil
	}
	for _, a := range s.Exprs {
		if a.Name == nil {
			return nil
		}
		col, ok := sh.column(a.Name)
		if !ok {
			return nil
		}
		if v, ok := value(a.Expr); ok {
			sh.sets = append(sh.sets, assignment{col: col, val: v})
			continue
		}
		b, ok := a.Expr.(*ast.BinaryExpr)
		if !ok || (b.Operator != ast.PlusStr && b.Operator != ast.MinusStr) {
			return nil
		}
		self, ok := sh.column(b.Left)
		v, ok2 := value(b.Right)
		if !ok || !ok2 || !strings.EqualFold(self, col) {
			return nil
		}
		sh.sets = append(sh.sets, assignment{col: col, op: b.Operator[0], val: v})
	}
	return sh
}

func classifyDelete(s *ast.Delete) *Shape {
	if len(s.Targets) > 0 || s.With != nil || len(s.Partitions) > 0 || len(s.OrderBy) > 0 ||
		s.Limit != nil || len(s.Returning) > 0 {
		return nil
	}
	sh := &Shape{Kind: KindDelete}
	if !sh.singleTable(s.TableExprs) || !sh.where(s.Where, false) {
		return nil
	}
	return sh
}

func classifyInsert(s *ast.Insert) *Shape {
	if s.Action != ast.InsertStr || s.Ignore != "" || s.With != nil || len(s.Partitions) > 0 ||
		len(s.Returning) > 0 || len(s.OnDup) > 0 || !s.Table.SchemaQualifier.IsEmpty() {
		return nil
	}
	var values ast.Values
	switch r := s.Rows.(type) {
	case ast.Values:
		values = r
	case *ast.AliasedValues:
		if !r.As.IsEmpty() || len(r.Columns) > 0 {
			return nil // VALUES … AS alias: only meaningful with ON DUPLICATE KEY UPDATE
		}
		values = r.Values
	}
	if len(values) == 0 {
		return nil
	}
	sh := &Shape{Kind: KindInsert, db: s.Table.DbQualifier.String(), table: s.Table.Name.String(),
		auth: []ast.AuthInformation{s.Auth}}
	for _, c := range s.Columns {
		sh.insertCols = append(sh.insertCols, c.String())
	}
	for _, tuple := range values {
		if sh.insertCols != nil && len(tuple) != len(sh.insertCols) {
			return nil // the general path reports the column count error
		}
		row := make([]operand, len(tuple))
		for i, e := range tuple {
			v, ok := value(e)
			if !ok {
				return nil
			}
			row[i] = v
		}
		sh.rows = append(sh.rows, row)
	}
	return sh
}

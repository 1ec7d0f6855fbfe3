package dumpsql

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// FunctionDatabase is a database that keeps stored functions (package storage's Database). A
// function is kept as GMS's procedure record: its name, the CREATE FUNCTION text SHOW CREATE
// FUNCTION prints, its sql_mode and times.
type FunctionDatabase interface {
	sql.Database
	GetStoredFunction(ctx *sql.Context, name string) (sql.StoredProcedureDetails, bool, error)
	GetStoredFunctions(ctx *sql.Context) ([]sql.StoredProcedureDetails, error)
	SaveStoredFunction(ctx *sql.Context, f sql.StoredProcedureDetails) error
	DropStoredFunction(ctx *sql.Context, name string) error
}

// CharsetRecorder is a database that recorded, for each trigger, procedure and function
// ("trigger", "procedure", "function"), the creating session's character_set_client and
// collation_connection and the database's collation.
type CharsetRecorder interface {
	RecordedCharsets(kind, name string) (client, connection, dbCollation string, ok bool, err error)
}

// Routines is a node's support for what mariadb-dump reads and writes that GMS lacks: stored
// functions (CREATE/DROP/SHOW CREATE FUNCTION, SHOW FUNCTION STATUS, calls), the SHOW CREATE
// TRIGGER/PROCEDURE columns, YEAR(4) and ENUM/SET defaults. See the package comment.
type Routines struct {
	provider sql.DatabaseProvider
	engine   *sqle.Engine // set by Attach

	mu       sync.Mutex
	compiled map[string]*compiled // guarded by mu; "db\x00name" → the latest compiled definition
}

// New returns the routines of the databases of provider; Attach must be called with the engine
// built over it before any statement runs.
func New(provider sql.DatabaseProvider) *Routines {
	return &Routines{provider: provider, compiled: map[string]*compiled{}}
}

// Attach gives the routines the engine that evaluates function bodies.
func (r *Routines) Attach(e *sqle.Engine) { r.engine = e }

var builtins = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range function.BuiltIns {
		m[strings.ToLower(f.FunctionName())] = true
	}
	return m
}()

// Function implements sql.FunctionProvider: a stored function of the named or the current
// database. A built-in function of the same name wins when the call is not qualified, as in
// MySQL.
func (r *Routines) Function(ctx *sql.Context, schema, name string) (sql.Function, bool) {
	lower := strings.ToLower(name)
	if schema == "" && builtins[lower] {
		return nil, false
	}
	db := schema
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return nil, false
	}
	c, ok, err := r.lookup(ctx, db, name)
	if err != nil && ok {
		// Stored but no longer compiles (a type or statement this version refuses): say why.
		return sql.FunctionN{Name: lower, Fn: func(*sql.Context, ...sql.Expression) (sql.Expression, error) {
			return nil, err
		}}, true
	}
	if !ok {
		if schema == "" {
			return nil, false
		}
		// A qualified name is never a built-in: MySQL's error, not GMS's built-in of that name.
		return sql.FunctionN{Name: lower, Fn: func(*sql.Context, ...sql.Expression) (sql.Expression, error) {
			return nil, mysql.NewSQLError(mysql.ERSPDoesNotExist, "42000", "FUNCTION %s.%s does not exist", schema, name)
		}}, true
	}
	return sql.FunctionN{Name: lower, Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
		if len(args) != len(c.params) {
			return nil, mysql.NewSQLError(erSPWrongNoOfArgs, "42000",
				"Incorrect number of arguments for FUNCTION %s.%s; expected %d, got %d", c.db, c.name, len(c.params), len(args))
		}
		return &call{r: r, fn: c, args: args}, nil
	}}, true
}

// statementDatabase is the database a CREATE or DROP FUNCTION acts on: the one it names, else
// the session's current one (ER_NO_DB_ERROR without either).
func (r *Routines) statementDatabase(ctx *sql.Context, db string) (FunctionDatabase, error) {
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return nil, errNoDatabase()
	}
	return r.functionDatabase(ctx, db)
}

func (r *Routines) functionDatabase(ctx *sql.Context, db string) (FunctionDatabase, error) {
	d, err := r.provider.Database(ctx, db)
	if err != nil {
		return nil, err
	}
	fd, ok := d.(FunctionDatabase)
	if !ok {
		return nil, sql.ErrUnsupportedFeature.New("stored functions in database " + db)
	}
	return fd, nil
}

// lookup returns the compiled stored function db.name, compiling it again if it changed. ok is
// true if the function is stored, also when it does not compile (err says why).
func (r *Routines) lookup(ctx *sql.Context, db, name string) (*compiled, bool, error) {
	fd, err := r.functionDatabase(ctx, db)
	if err != nil {
		return nil, false, err
	}
	def, ok, err := fd.GetStoredFunction(ctx, name)
	if err != nil || !ok {
		return nil, false, err
	}
	key := strings.ToLower(fd.Name()) + "\x00" + strings.ToLower(name)
	r.mu.Lock()
	c := r.compiled[key]
	r.mu.Unlock()
	if c != nil && c.created.Equal(def.CreatedAt) && c.statement == def.CreateStatement {
		return c, true, nil
	}
	stmt := stripExecMarkers(def.CreateStatement)
	mode := sql.LoadSqlMode(ctx)
	if def.SqlMode != "" {
		mode = sql.NewSqlModeFromString(def.SqlMode)
	}
	cf, err := parseCreateFunction(stmt, mode.ParserOptions())
	if err != nil {
		return nil, true, fmt.Errorf("stored function %s.%s: %w", db, name, err)
	}
	c, err = compile(fd.Name(), cf)
	if err != nil {
		return nil, true, fmt.Errorf("stored function %s.%s: %w", db, name, err)
	}
	c.created, c.statement = def.CreatedAt, def.CreateStatement
	r.mu.Lock()
	r.compiled[key] = c
	r.mu.Unlock()
	return c, true, nil
}

// compiled is a stored function ready to run: its parameters' and result's types and its body.
type compiled struct {
	db, name  string
	params    []param
	ret       sql.Type
	body      ast.Statement
	created   time.Time
	statement string
}

type param struct {
	name string
	typ  sql.Type
}

// compile checks a parsed CREATE FUNCTION: types MySQL accepts, a body of the statements the
// evaluator runs, and a RETURN (error 1320 otherwise, as in MySQL).
func compile(db string, cf *createFunction) (*compiled, error) {
	c := &compiled{db: db, name: cf.name, body: cf.spec.Body}
	for _, p := range cf.spec.Params {
		t, err := types.ColumnTypeToType(&p.Type)
		if err != nil {
			return nil, err
		}
		c.params = append(c.params, param{name: strings.ToLower(p.Name), typ: t})
	}
	st, err := ast.Parse("CREATE TABLE t (r " + cf.returns + ")")
	if err != nil {
		return nil, fmt.Errorf("RETURNS %s: %w", cf.returns, err)
	}
	ddl, ok := st.(*ast.DDL)
	if !ok || ddl.TableSpec == nil || len(ddl.TableSpec.Columns) != 1 {
		return nil, fmt.Errorf("RETURNS %s: not a type", cf.returns)
	}
	if c.ret, err = types.ColumnTypeToType(&ddl.TableSpec.Columns[0].Type); err != nil {
		return nil, err
	}
	returns, err := checkBody(c.body)
	if err != nil {
		return nil, err
	}
	if !returns {
		return nil, mysql.NewSQLError(erSPNoReturn, "42000", "No RETURN found in FUNCTION %s", cf.name)
	}
	return c, nil
}

// MySQL's error codes vitess does not name.
const (
	erSPAlreadyExists = 1304 // ER_SP_ALREADY_EXISTS
	erSPNoReturn      = 1320 // ER_SP_NORETURN
	erSPNoReturnEnd   = 1321 // ER_SP_NORETURNEND
	erSPWrongNoOfArgs = 1318 // ER_SP_WRONG_NO_OF_ARGS
	erSPNoRecursion   = 1424 // ER_SP_NO_RECURSION
	erSPCaseNotFound  = 1339 // ER_SP_CASE_NOT_FOUND
	erSPFetchNoData   = 1329 // ER_SP_FETCH_NO_DATA

	erSPWrongNoOfFetchArgs = 1328 // ER_SP_WRONG_NO_OF_FETCH_ARGS
)

// checkBody accepts the statements the evaluator runs (BEGIN … END, DECLARE of variables, SET of
// local variables, SELECT … INTO local variables, IF, CASE, LOOP, WHILE, REPEAT, LEAVE, ITERATE and
// RETURN) and reports whether a RETURN occurs; anything else is refused when the function is
// created, not when it is called.
func checkBody(s ast.Statement) (bool, error) {
	all := func(stmts ast.Statements) (bool, error) {
		any := false
		for _, st := range stmts {
			r, err := checkBody(st)
			if err != nil {
				return false, err
			}
			any = any || r
		}
		return any, nil
	}
	switch s := s.(type) {
	case *ast.Return:
		return true, nil
	case *ast.BeginEndBlock:
		return all(s.Statements)
	case *ast.Declare:
		if s.Variables == nil {
			return false, sql.ErrUnsupportedFeature.New("DECLARE of a condition, cursor or handler in a stored function")
		}
		return false, nil
	case *ast.Set:
		for _, e := range s.Exprs {
			if e.Name == nil || e.Scope != ast.SetScope_None || !e.Name.Qualifier.IsEmpty() || strings.HasPrefix(e.Name.Name.String(), "@") {
				return false, sql.ErrUnsupportedFeature.New("SET of a user or system variable in a stored function")
			}
		}
		return false, nil
	case *ast.Select:
		if s.Into == nil || len(s.Into.Variables) == 0 || s.Into.Outfile != "" || s.Into.Dumpfile != "" {
			return false, sql.ErrUnsupportedFeature.New("a SELECT returning rows from a stored function (MySQL's error 1415)")
		}
		for _, v := range s.Into.Variables {
			if strings.HasPrefix(v.String(), "@") {
				return false, sql.ErrUnsupportedFeature.New("SELECT … INTO a user variable in a stored function")
			}
		}
		return false, nil
	case *ast.IfStatement:
		// The branches are checked in order, as one list: a RETURN in any of them counts.
		var branches ast.Statements
		for _, c := range s.Conditions {
			branches = append(branches, c.Statements...)
		}
		return all(append(branches, s.Else...))
	case *ast.CaseStatement:
		var branches ast.Statements
		for _, c := range s.Cases {
			branches = append(branches, c.Statements...)
		}
		return all(append(branches, s.Else...))
	case *ast.Loop:
		return all(s.Statements)
	case *ast.While:
		return all(s.Statements)
	case *ast.Repeat:
		return all(s.Statements)
	case *ast.Leave, *ast.Iterate:
		return false, nil
	}
	return false, sql.ErrUnsupportedFeature.New(fmt.Sprintf("%T statements in a stored function (RelayDB runs BEGIN … END, "+
		"DECLARE, SET, SELECT … INTO, IF, CASE, LOOP, WHILE, REPEAT, LEAVE, ITERATE and RETURN)", s))
}

// call is one call of a stored function in an expression.
type call struct {
	r    *Routines
	fn   *compiled
	args []sql.Expression
}

var _ sql.NonDeterministicExpression = (*call)(nil)

func (c *call) Resolved() bool { return expression.ExpressionsResolved(c.args...) }

func (c *call) String() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", c.fn.name, strings.Join(parts, ","))
}

func (c *call) Type(*sql.Context) sql.Type   { return c.fn.ret }
func (c *call) IsNullable(*sql.Context) bool { return true }
func (c *call) Children() []sql.Expression   { return c.args }
func (c *call) IsNonDeterministic() bool     { return true } // it may read tables: never folded
func (c *call) WithChildren(_ *sql.Context, ch ...sql.Expression) (sql.Expression, error) {
	if len(ch) != len(c.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(c, len(ch), len(c.args))
	}
	return &call{r: c.r, fn: c.fn, args: ch}, nil
}

// variable is a parameter or local variable of a running function.
type variable struct {
	typ sql.Type
	val any
}

// scope is a BEGIN … END block's variables, innermost first when looked up.
type scope struct {
	vars   map[string]*variable
	parent *scope
}

func (s *scope) get(name string) *variable {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[strings.ToLower(name)]; ok {
			return v
		}
	}
	return nil
}

// running is the context key of the stored functions a call is inside of, innermost first.
type running struct{}

type runningFn struct {
	fn     *compiled
	parent *runningFn
}

func (c *call) Eval(ctx *sql.Context, row sql.Row) (any, error) {
	outer, _ := ctx.Value(running{}).(*runningFn)
	for f := outer; f != nil; f = f.parent {
		if f.fn.db == c.fn.db && strings.EqualFold(f.fn.name, c.fn.name) {
			// MySQL refuses recursion in stored functions; here it would never end.
			return nil, mysql.NewSQLError(erSPNoRecursion, "HY000", "Recursive stored functions and triggers are not allowed.")
		}
	}
	top := &scope{vars: map[string]*variable{}}
	for i, p := range c.fn.params {
		v, err := c.args[i].Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		if v, _, err = p.typ.Convert(ctx, v); err != nil {
			return nil, err
		}
		top.vars[p.name] = &variable{typ: p.typ, val: v}
	}
	// The body's names are resolved in the function's database, as in MySQL.
	if cur := ctx.GetCurrentDatabase(); !strings.EqualFold(cur, c.fn.db) {
		ctx.SetCurrentDatabase(c.fn.db)
		defer ctx.SetCurrentDatabase(cur)
	}
	inner := ctx.WithContext(context.WithValue(ctx.Context, running{}, &runningFn{fn: c.fn, parent: outer}))
	f, err := c.run(inner, top, c.fn.body)
	if err != nil {
		return nil, err
	}
	v := f.value
	if f.kind != flowReturn {
		return nil, mysql.NewSQLError(erSPNoReturnEnd, "2F005", "FUNCTION %s ended without RETURN", c.fn.name)
	}
	v, _, err = c.fn.ret.Convert(ctx, v)
	return v, err
}

// flow is how a statement of the body ended: normally, or by RETURN, LEAVE or ITERATE.
type flow struct {
	kind  flowKind
	label string // LEAVE, ITERATE
	value any    // RETURN
}

type flowKind uint8

const (
	flowNext flowKind = iota
	flowReturn
	flowLeave
	flowIterate
)

// run executes one statement of the body.
func (c *call) run(ctx *sql.Context, sc *scope, s ast.Statement) (flow, error) {
	switch s := s.(type) {
	case *ast.Return:
		v, err := c.eval(ctx, sc, s.Expr)
		return flow{kind: flowReturn, value: v}, err
	case *ast.BeginEndBlock:
		inner := &scope{vars: map[string]*variable{}, parent: sc}
		f, err := c.runAll(ctx, inner, s.Statements)
		if f.kind == flowLeave && s.Label != "" && strings.EqualFold(f.label, s.Label) {
			f = flow{}
		}
		return f, err
	case *ast.Declare:
		t, err := types.ColumnTypeToType(&s.Variables.VarType)
		if err != nil {
			return flow{}, err
		}
		var def any
		if d := s.Variables.VarType.Default; d != nil {
			if def, err = c.eval(ctx, sc, d); err != nil {
				return flow{}, err
			}
			if def, _, err = t.Convert(ctx, def); err != nil {
				return flow{}, err
			}
		}
		for _, n := range s.Variables.Names {
			sc.vars[strings.ToLower(n.String())] = &variable{typ: t, val: def}
		}
	case *ast.Set:
		for _, e := range s.Exprs {
			val, err := c.eval(ctx, sc, e.Expr)
			if err != nil {
				return flow{}, err
			}
			if err := assign(ctx, sc, e.Name.Name.String(), val); err != nil {
				return flow{}, err
			}
		}
	case *ast.Select:
		return flow{}, c.selectInto(ctx, sc, s)
	case *ast.IfStatement:
		for _, cond := range s.Conditions {
			ok, err := c.truth(ctx, sc, cond.Expr)
			if err != nil {
				return flow{}, err
			}
			if ok {
				return c.runAll(ctx, sc, cond.Statements)
			}
		}
		return c.runAll(ctx, sc, s.Else)
	case *ast.CaseStatement:
		for _, w := range s.Cases {
			cond := w.Case
			if s.Expr != nil {
				cond = &ast.ComparisonExpr{Operator: ast.EqualStr, Left: s.Expr, Right: w.Case}
			}
			ok, err := c.truth(ctx, sc, cond)
			if err != nil {
				return flow{}, err
			}
			if ok {
				return c.runAll(ctx, sc, w.Statements)
			}
		}
		if s.Else == nil {
			return flow{}, mysql.NewSQLError(erSPCaseNotFound, "20000", "Case not found for CASE statement")
		}
		return c.runAll(ctx, sc, s.Else)
	case *ast.Loop:
		return c.loop(ctx, sc, s.Label, nil, s.Statements, nil)
	case *ast.While:
		return c.loop(ctx, sc, s.Label, s.Condition, s.Statements, nil)
	case *ast.Repeat:
		return c.loop(ctx, sc, s.Label, nil, s.Statements, s.Condition)
	case *ast.Leave:
		return flow{kind: flowLeave, label: s.Label}, nil
	case *ast.Iterate:
		return flow{kind: flowIterate, label: s.Label}, nil
	default:
		return flow{}, sql.ErrUnsupportedFeature.New(fmt.Sprintf("%T in a stored function", s))
	}
	return flow{}, nil
}

func (c *call) runAll(ctx *sql.Context, sc *scope, stmts ast.Statements) (flow, error) {
	for _, st := range stmts {
		if f, err := c.run(ctx, sc, st); err != nil || f.kind != flowNext {
			return f, err
		}
	}
	return flow{}, nil
}

// loop runs LOOP (no conditions), WHILE (while before each round) and REPEAT (until after each
// round). LEAVE and ITERATE of its label end or restart it; a KILL of the statement ends it.
func (c *call) loop(ctx *sql.Context, sc *scope, label string, while ast.Expr, stmts ast.Statements, until ast.Expr) (flow, error) {
	mine := func(f flow) bool { return label != "" && strings.EqualFold(f.label, label) }
	for {
		if err := ctx.Err(); err != nil {
			return flow{}, err
		}
		if while != nil {
			ok, err := c.truth(ctx, sc, while)
			if err != nil || !ok {
				return flow{}, err
			}
		}
		f, err := c.runAll(ctx, sc, stmts)
		if err != nil {
			return flow{}, err
		}
		switch {
		case f.kind == flowLeave && mine(f):
			return flow{}, nil
		case f.kind == flowIterate && mine(f), f.kind == flowNext:
		default:
			return f, nil
		}
		if until != nil {
			ok, err := c.truth(ctx, sc, until)
			if err != nil || ok {
				return flow{}, err
			}
		}
	}
}

// truth evaluates a condition: true only for a non-NULL true value.
func (c *call) truth(ctx *sql.Context, sc *scope, e ast.Expr) (bool, error) {
	v, err := c.eval(ctx, sc, e)
	if err != nil || v == nil {
		return false, err
	}
	return sql.ConvertToBool(ctx, v)
}

// assign sets a local variable or parameter, converted to its type.
func assign(ctx *sql.Context, sc *scope, name string, val any) error {
	v := sc.get(name)
	if v == nil {
		return mysql.NewSQLError(mysql.ERUnknownSystemVariable, "HY000", "Unknown system variable '%s'", name)
	}
	var err error
	v.val, _, err = v.typ.Convert(ctx, val)
	return err
}

// selectInto runs SELECT … INTO local variables: no row leaves them unchanged (MySQL warns 1329),
// more than one is MySQL's error 1172.
func (c *call) selectInto(ctx *sql.Context, sc *scope, s *ast.Select) error {
	q := *s
	q.Into = nil
	rows, err := c.query(ctx, sc, &q)
	if err != nil {
		return err
	}
	switch {
	case len(rows) == 0:
		ctx.Session.Warn(&sql.Warning{Level: "Warning", Code: erSPFetchNoData, Message: "No data - zero rows fetched, selected, or processed"})
		return nil
	case len(rows) > 1:
		return mysql.NewSQLError(mysql.ERTooManyRows, "42000", "Result consisted of more than one row")
	}
	if len(rows[0]) != len(s.Into.Variables) {
		return mysql.NewSQLError(erSPWrongNoOfFetchArgs, "HY000", "Incorrect number of FETCH variables")
	}
	for i, v := range s.Into.Variables {
		if err := assign(ctx, sc, v.String(), rows[0][i]); err != nil {
			return err
		}
	}
	return nil
}

// eval evaluates one expression of the body as SELECT <expr> (see query).
func (c *call) eval(ctx *sql.Context, sc *scope, e ast.Expr) (any, error) {
	rows, err := c.query(ctx, sc, &ast.Select{SelectExprs: ast.SelectExprs{&ast.AliasedExpr{Expr: e}}})
	if err != nil || len(rows) == 0 || len(rows[0]) == 0 {
		return nil, err
	}
	return rows[0][0], nil
}

// query runs a SELECT of the body on the caller's session and transaction: the variables it
// names are replaced by their values written as literals, and the text is analyzed and run by
// the engine.
func (c *call) query(ctx *sql.Context, sc *scope, sel ast.SelectStatement) ([]sql.Row, error) {
	var failed error
	buf := ast.NewTrackedBuffer(func(buf *ast.TrackedBuffer, node ast.SQLNode) {
		if col, ok := node.(*ast.ColName); ok && col.Qualifier.IsEmpty() {
			if v := sc.get(col.Name.String()); v != nil {
				lit, err := literal(ctx, v.typ, v.val)
				if err != nil {
					failed = err
				}
				buf.WriteString(lit)
				return
			}
		}
		node.Format(buf)
	})
	buf.Myprintf("%v", sel)
	if failed != nil {
		return nil, failed
	}
	if c.r.engine == nil {
		return nil, fmt.Errorf("stored functions: no engine attached")
	}
	node, err := c.r.engine.AnalyzeQuery(ctx, buf.String())
	if err != nil {
		return nil, err
	}
	iter, err := c.r.engine.Analyzer.ExecBuilder.Build(ctx, node, nil)
	if err != nil {
		return nil, err
	}
	return sql.RowIterToRows(ctx, iter)
}

// literal writes v, a value of type t, as SQL text that reads back as the same value.
func literal(ctx *sql.Context, t sql.Type, v any) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	sv, err := t.SQL(ctx, nil, v)
	if err != nil {
		return "", err
	}
	if sv.IsNull() {
		return "NULL", nil
	}
	raw := sv.Raw()
	switch {
	case types.IsNumber(t) && !types.IsBit(t):
		return string(raw), nil
	case types.IsBinaryType(t) || types.IsBit(t):
		return "X'" + hex.EncodeToString(raw) + "'", nil
	}
	s := string(raw)
	if !sql.LoadSqlMode(ctx).ModeEnabled("NO_BACKSLASH_ESCAPES") {
		s = strings.ReplaceAll(s, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

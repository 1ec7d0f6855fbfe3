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
	if err != nil || !ok {
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

// lookup returns the compiled stored function db.name, compiling it again if it changed.
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
		return nil, false, fmt.Errorf("stored function %s.%s: %w", db, name, err)
	}
	c, err = compile(fd.Name(), cf)
	if err != nil {
		return nil, false, err
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
)

// checkBody accepts the statements the evaluator runs (BEGIN … END, DECLARE of variables, SET of
// local variables, IF, RETURN) and reports whether a RETURN occurs; anything else is refused
// when the function is created, not when it is called.
func checkBody(s ast.Statement) (bool, error) {
	switch s := s.(type) {
	case *ast.Return:
		return true, nil
	case *ast.BeginEndBlock:
		any := false
		for _, st := range s.Statements {
			r, err := checkBody(st)
			if err != nil {
				return false, err
			}
			any = any || r
		}
		return any, nil
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
	case *ast.IfStatement:
		any := false
		for _, c := range s.Conditions {
			for _, st := range c.Statements {
				r, err := checkBody(st)
				if err != nil {
					return false, err
				}
				any = any || r
			}
		}
		for _, st := range s.Else {
			r, err := checkBody(st)
			if err != nil {
				return false, err
			}
			any = any || r
		}
		return any, nil
	}
	return false, sql.ErrUnsupportedFeature.New(fmt.Sprintf("%T statements in a stored function (RelayDB runs BEGIN … END, DECLARE, SET, IF and RETURN)", s))
}

// call is one call of a stored function in an expression.
type call struct {
	r    *Routines
	fn   *compiled
	args []sql.Expression
}

var _ sql.NonDeterministicExpression = (*call)(nil)

func (c *call) Resolved() bool {
	for _, a := range c.args {
		if !a.Resolved() {
			return false
		}
	}
	return true
}

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
	v, returned, err := c.run(inner, top, c.fn.body)
	if err != nil {
		return nil, err
	}
	if !returned {
		return nil, mysql.NewSQLError(erSPNoReturnEnd, "2F005", "FUNCTION %s ended without RETURN", c.fn.name)
	}
	v, _, err = c.fn.ret.Convert(ctx, v)
	return v, err
}

// run executes one statement of the body; returned is true once a RETURN ran.
func (c *call) run(ctx *sql.Context, sc *scope, s ast.Statement) (any, bool, error) {
	switch s := s.(type) {
	case *ast.Return:
		v, err := c.eval(ctx, sc, s.Expr)
		return v, true, err
	case *ast.BeginEndBlock:
		inner := &scope{vars: map[string]*variable{}, parent: sc}
		for _, st := range s.Statements {
			if v, ret, err := c.run(ctx, inner, st); err != nil || ret {
				return v, ret, err
			}
		}
	case *ast.Declare:
		t, err := types.ColumnTypeToType(&s.Variables.VarType)
		if err != nil {
			return nil, false, err
		}
		var def any
		if d := s.Variables.VarType.Default; d != nil {
			if def, err = c.eval(ctx, sc, d); err != nil {
				return nil, false, err
			}
			if def, _, err = t.Convert(ctx, def); err != nil {
				return nil, false, err
			}
		}
		for _, n := range s.Variables.Names {
			sc.vars[strings.ToLower(n.String())] = &variable{typ: t, val: def}
		}
	case *ast.Set:
		for _, e := range s.Exprs {
			v := sc.get(e.Name.Name.String())
			if v == nil {
				return nil, false, mysql.NewSQLError(mysql.ERUnknownSystemVariable, "HY000", "Unknown system variable '%s'", e.Name.Name.String())
			}
			val, err := c.eval(ctx, sc, e.Expr)
			if err != nil {
				return nil, false, err
			}
			if v.val, _, err = v.typ.Convert(ctx, val); err != nil {
				return nil, false, err
			}
		}
	case *ast.IfStatement:
		for _, cond := range s.Conditions {
			v, err := c.eval(ctx, sc, cond.Expr)
			if err != nil {
				return nil, false, err
			}
			if ok, err := sql.ConvertToBool(ctx, v); err == nil && ok && v != nil {
				return c.runAll(ctx, sc, cond.Statements)
			}
		}
		return c.runAll(ctx, sc, s.Else)
	default:
		return nil, false, sql.ErrUnsupportedFeature.New(fmt.Sprintf("%T in a stored function", s))
	}
	return nil, false, nil
}

func (c *call) runAll(ctx *sql.Context, sc *scope, stmts ast.Statements) (any, bool, error) {
	for _, st := range stmts {
		if v, ret, err := c.run(ctx, sc, st); err != nil || ret {
			return v, ret, err
		}
	}
	return nil, false, nil
}

// eval evaluates one expression of the body: variables are replaced by their values written as
// literals, and the result is SELECT <expr> run on the caller's session and transaction.
func (c *call) eval(ctx *sql.Context, sc *scope, e ast.Expr) (any, error) {
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
	buf.Myprintf("%v", e)
	if failed != nil {
		return nil, failed
	}
	if c.r.engine == nil {
		return nil, fmt.Errorf("stored functions: no engine attached")
	}
	q := "SELECT " + buf.String()
	node, err := c.r.engine.AnalyzeQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	iter, err := c.r.engine.Analyzer.ExecBuilder.Build(ctx, node, nil)
	if err != nil {
		return nil, err
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, nil
	}
	return rows[0][0], nil
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

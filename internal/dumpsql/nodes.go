package dumpsql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// injected makes a node of this package the result of planning an ast.InjectedStatement.
type injected struct{ node sql.Node }

func (i injected) WithResolvedChildren(context.Context, []any) (any, error) {
	return i.node, nil
}

// leaf is the part of sql.Node every statement node here shares: no children, resolved.
type leaf struct{}

func (leaf) Resolved() bool                 { return true }
func (leaf) Children() []sql.Node           { return nil }
func (leaf) Schema(*sql.Context) sql.Schema { return types.OkResultSchema }

func okIter() sql.RowIter { return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))) }

// createFunctionNode is CREATE FUNCTION: the function is checked (types, body), then stored;
// the storage logs the statement's text, so replicas and point-in-time recovery run it again.
type createFunctionNode struct {
	leaf
	r  *Routines
	cf *createFunction
}

func (n *createFunctionNode) String() string   { return "CREATE FUNCTION " + n.cf.name }
func (n *createFunctionNode) IsReadOnly() bool { return false }

// CommitsImplicitly is true: CREATE FUNCTION commits the open transaction first, as in MySQL.
func (n *createFunctionNode) CommitsImplicitly() bool { return true }
func (n *createFunctionNode) WithChildren(_ *sql.Context, ch ...sql.Node) (sql.Node, error) {
	return n, nil
}

func (n *createFunctionNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	fd, err := n.r.statementDatabase(ctx, n.cf.db)
	if err != nil {
		return nil, err
	}
	if _, err := compile(fd.Name(), n.cf); err != nil {
		return nil, err
	}
	// The statement is logged as MySQL logs it: with its definer and database, so a replica or a
	// replay records the same function whoever applies it and whatever its current database.
	definer := n.definer(ctx)
	logged := "CREATE "
	if n.cf.orReplace {
		logged += "OR REPLACE "
	}
	logged += "DEFINER=" + definer + " FUNCTION " + quoteIdent(fd.Name()) + "." + quoteIdent(n.cf.name) + n.cf.tail
	ctx = ctx.WithQuery(logged)
	if _, exists, err := fd.GetStoredFunction(ctx, n.cf.name); err != nil {
		return nil, err
	} else if exists {
		switch {
		case n.cf.ifNotExists:
			ctx.Session.Warn(&sql.Warning{Level: "Note", Code: erSPAlreadyExists,
				Message: fmt.Sprintf("FUNCTION %s already exists", n.cf.name)})
			return okIter(), nil
		case n.cf.orReplace:
			if err := fd.DropStoredFunction(ctx, n.cf.name); err != nil {
				return nil, err
			}
		default:
			return nil, mysql.NewSQLError(erSPAlreadyExists, "42000", "FUNCTION %s already exists", n.cf.name)
		}
	}
	now := time.Now().UTC()
	def := sql.StoredProcedureDetails{
		Name:            n.cf.name,
		CreateStatement: "CREATE DEFINER=" + definer + " FUNCTION " + quoteIdent(n.cf.name) + n.cf.tail,
		CreatedAt:       now,
		ModifiedAt:      now,
		SqlMode:         sql.LoadSqlMode(ctx).String(),
	}
	if err := fd.SaveStoredFunction(ctx, def); err != nil {
		return nil, err
	}
	return okIter(), nil
}

// definer is the function's definer as MySQL prints it, `user`@`host`: the one written, or the
// creating session's user.
func (n *createFunctionNode) definer(ctx *sql.Context) string {
	user, host, _ := strings.Cut(definerOf("DEFINER = "+n.cf.definer), "@")
	if n.cf.definer == "" || strings.HasPrefix(strings.ToLower(n.cf.definer), "current_user") {
		c := ctx.Session.Client()
		user, host = c.User, c.Address
	}
	if host == "" {
		host = "%"
	}
	return quoteIdent(user) + "@" + quoteIdent(host)
}

// dropFunctionNode is DROP FUNCTION [IF EXISTS].
type dropFunctionNode struct {
	leaf
	r *Routines
	d *dropFunction
}

func (n *dropFunctionNode) String() string   { return "DROP FUNCTION " + n.d.name }
func (n *dropFunctionNode) IsReadOnly() bool { return false }

// CommitsImplicitly is true: DROP FUNCTION commits the open transaction first, as in MySQL.
func (n *dropFunctionNode) CommitsImplicitly() bool { return true }
func (n *dropFunctionNode) WithChildren(_ *sql.Context, ch ...sql.Node) (sql.Node, error) {
	return n, nil
}

func (n *dropFunctionNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	fd, err := n.r.statementDatabase(ctx, n.d.db)
	if err != nil {
		return nil, err
	}
	if _, exists, err := fd.GetStoredFunction(ctx, n.d.name); err != nil {
		return nil, err
	} else if !exists {
		if n.d.ifExists {
			ctx.Session.Warn(&sql.Warning{Level: "Note", Code: mysql.ERSPDoesNotExist,
				Message: fmt.Sprintf("FUNCTION %s.%s does not exist", fd.Name(), n.d.name)})
			return okIter(), nil
		}
		return nil, mysql.NewSQLError(mysql.ERSPDoesNotExist, "42000", "FUNCTION %s.%s does not exist", fd.Name(), n.d.name)
	}
	if err := fd.DropStoredFunction(ctx, n.d.name); err != nil {
		return nil, err
	}
	return okIter(), nil
}

// showCreateNode is SHOW CREATE FUNCTION, PROCEDURE, TRIGGER or VIEW (and SHOW CREATE TABLE of a
// view) with MySQL's columns: the sql_mode, character_set_client and collation_connection
// recorded when the object was created and the database's collation (GMS prints the current
// session's and collation_server, which mariadb-dump then writes into the dump, or fails on).
type showCreateNode struct {
	r          *Routines
	kind       string // "function", "procedure" or "trigger"
	db, name   string
	schemaCols sql.Schema
}

func textCol(name string) *sql.Column {
	return &sql.Column{Name: name, Type: types.LongText, Nullable: false}
}

func newShowCreateNode(r *Routines, kind, db, name string) *showCreateNode {
	title := strings.ToUpper(kind[:1]) + kind[1:]
	if kind == "view" {
		sch := sql.Schema{textCol("View"), textCol("Create View"), textCol("character_set_client"), textCol("collation_connection")}
		return &showCreateNode{r: r, kind: kind, db: db, name: name, schemaCols: sch}
	}
	sch := sql.Schema{textCol(title), textCol("sql_mode")}
	if kind == "trigger" {
		sch = append(sch, textCol("SQL Original Statement"))
	} else {
		sch = append(sch, textCol("Create "+title))
	}
	sch = append(sch, textCol("character_set_client"), textCol("collation_connection"), textCol("Database Collation"))
	if kind == "trigger" {
		sch = append(sch, &sql.Column{Name: "Created", Type: types.MustCreateDatetimeType(sqltypes.Timestamp, 2), Nullable: true})
	}
	return &showCreateNode{r: r, kind: kind, db: db, name: name, schemaCols: sch}
}

func (n *showCreateNode) Resolved() bool                 { return true }
func (n *showCreateNode) Children() []sql.Node           { return nil }
func (n *showCreateNode) Schema(*sql.Context) sql.Schema { return n.schemaCols }
func (n *showCreateNode) String() string {
	return "SHOW CREATE " + strings.ToUpper(n.kind) + " " + n.name
}
func (n *showCreateNode) IsReadOnly() bool { return true }
func (n *showCreateNode) WithChildren(_ *sql.Context, ch ...sql.Node) (sql.Node, error) {
	return n, nil
}

func (n *showCreateNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	dbName := n.db
	if dbName == "" {
		dbName = ctx.GetCurrentDatabase()
	}
	if dbName == "" {
		return nil, errNoDatabase()
	}
	db, err := n.r.provider.Database(ctx, dbName)
	if err != nil {
		return nil, err
	}
	var (
		name, mode, stmt string
		created          any
		found            bool
	)
	switch n.kind {
	case "function":
		fd, ok := db.(FunctionDatabase)
		if ok {
			var f sql.StoredProcedureDetails
			if f, found, err = fd.GetStoredFunction(ctx, n.name); err != nil {
				return nil, err
			}
			name, mode, stmt = f.Name, f.SqlMode, f.CreateStatement
		}
		if !found {
			return nil, mysql.NewSQLError(mysql.ERSPDoesNotExist, "42000", "FUNCTION %s does not exist", n.name)
		}
	case "procedure":
		pd, ok := db.(sql.StoredProcedureDatabase)
		if ok {
			var p sql.StoredProcedureDetails
			if p, found, err = pd.GetStoredProcedure(ctx, n.name); err != nil {
				return nil, err
			}
			name, mode, stmt = p.Name, p.SqlMode, p.CreateStatement
		}
		if !found {
			return nil, mysql.NewSQLError(mysql.ERSPDoesNotExist, "42000", "PROCEDURE %s does not exist", n.name)
		}
	case "view":
		vd, ok := db.(sql.ViewDatabase)
		if ok {
			var v sql.ViewDefinition
			if v, found, err = vd.GetViewDefinition(ctx, n.name); err != nil {
				return nil, err
			}
			// GMS's text for SHOW CREATE VIEW.
			name, stmt = v.Name, fmt.Sprintf("CREATE VIEW %s AS %s", quoteIdent(v.Name), v.TextDefinition)
		}
		if !found || strings.TrimSpace(stmt) == "" {
			return nil, sql.ErrTableNotFound.New(n.name)
		}
	case "trigger":
		td, ok := db.(sql.TriggerDatabase)
		if ok {
			trs, err := td.GetTriggers(ctx)
			if err != nil {
				return nil, err
			}
			for _, t := range trs {
				if strings.EqualFold(t.Name, n.name) {
					name, mode, stmt, created, found = t.Name, t.SqlMode, t.CreateStatement, t.CreatedAt, true
				}
			}
		}
		if !found {
			return nil, sql.ErrTriggerDoesNotExist.New(n.name)
		}
	}
	client, conn, dbColl := "", "", ""
	if rec, ok := db.(CharsetRecorder); ok {
		client, conn, dbColl, _, _ = rec.RecordedCharsets(n.kind, name)
	}
	if client == "" {
		v, _ := ctx.GetSessionVariable(ctx, "character_set_client")
		client = fmt.Sprint(v)
	}
	if conn == "" {
		v, _ := ctx.GetSessionVariable(ctx, "collation_connection")
		conn = fmt.Sprint(v)
	}
	if dbColl == "" {
		if cd, ok := db.(sql.CollatedDatabase); ok {
			dbColl = cd.GetCollation(ctx).Name()
		}
	}
	// The text as the server runs it: mariadb-dump wraps it in executable comments itself.
	stmt = strings.TrimSpace(stripExecMarkers(stmt))
	if n.kind == "view" {
		return sql.RowsToRowIter(sql.Row{name, stmt, client, conn}), nil
	}
	row := sql.Row{name, mode, stmt, client, conn, dbColl}
	if n.kind == "trigger" {
		row = append(row, created)
	}
	return sql.RowsToRowIter(row), nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/fastpath"
	"github.com/relaydb/relaydb/internal/readonly"
)

// fastPathVariable switches the fast path per session (or globally). With it OFF every
// statement takes GMS's general path; the differential tests compare the two.
const fastPathVariable = "relaydb_fast_path"

// catalogVersioner is implemented by storage providers whose catalog changes can be detected
// (storage.Provider). Without it there is no fast path: cached plans could not be invalidated.
type catalogVersioner interface{ CatalogVersion() uint64 }

// Process-wide counters behind the Relaydb_fast_path_* status variables.
var fastPathExecutions, fastPathFallbacks atomic.Uint64

// fastPath runs prepared statements of the shapes package fastpath knows without GMS's
// planner, and hands everything else, unchanged, to GMS.
//
// Plan reuse: a prepared statement is classified once (ComPrepare); its Plan is resolved on
// first execution and reused until the current database or the catalog version changes. The
// result metadata of a SELECT is taken from the first execution, which runs through GMS, and
// reused while character_set_results stays the same.
type fastPath struct {
	engine   *sqle.Engine
	catalog  catalogVersioner
	readLock globalReadLocker // may be nil
	pid      atomic.Uint64    // query ids, from fastPathPidBase on
	digests  digestCache      // text statements' digests (textfast.go)
}

// fastPathPidBase keeps the fast path's query ids apart from those GMS's session manager hands
// out (counting from 1): the process list refuses an id that is in use.
const fastPathPidBase = 1 << 62

func newFastPath(e *sqle.Engine, provider sql.DatabaseProvider, readLock globalReadLocker) *fastPath {
	cv, ok := provider.(catalogVersioner)
	if !ok {
		return nil
	}
	return &fastPath{engine: e, catalog: cv, readLock: readLock}
}

// keepFields records the result metadata the general path sent for a prepared SELECT, for the
// fast path's later executions.
func (ps *preparedStatement) keepFields(ctx context.Context, sess sql.Session, fields []*querypb.Field) {
	if ps.plan == nil || ps.shape.Kind != fastpath.KindSelect {
		return
	}
	ps.fields = fields
	ps.fieldsCharset = sql.NewContext(ctx, sql.WithSession(sess)).GetCharacterSetResults()
	if ps.shared != nil {
		ps.shared.fields.Store(&digestFields{db: ps.planDB, version: ps.version, charset: ps.fieldsCharset, fields: fields})
	}
}

// preparedStatement is a connection's fast-path state for one prepared statement.
type preparedStatement struct {
	query string
	shape *fastpath.Shape

	plan     *fastpath.Plan // nil with resolved set: the catalog at version has no plan for it
	resolved bool
	planDB   string
	version  uint64

	fields        []*querypb.Field
	fieldsCharset sql.CharacterSetID

	// shared is the server's state for the digest of a text statement (nil for prepared
	// statements): result metadata one connection took from the general path serves them all.
	shared *learnedDigest
}

// connStatements is kept in mysql.Conn.ClientData; only the connection's goroutine uses it.
type connStatements struct {
	byID map[uint32]*preparedStatement
	text textStatements
}

// maxPreparedPerConn bounds the cache: vitess does not tell the handler when a client closes
// a statement (COM_STMT_CLOSE), so when the cache is full the entries of statements no longer
// in the connection's PrepareData (closed ones) are dropped.
const maxPreparedPerConn = 4096

func statementsOf(c *mysql.Conn) *connStatements {
	cs, ok := c.ClientData.(*connStatements)
	if !ok {
		cs = &connStatements{byID: map[uint32]*preparedStatement{}}
		c.ClientData = cs
	}
	return cs
}

// prepared records the shape of a statement GMS has just prepared. It is parsed under the
// session's sql_mode (ANSI_QUOTES changes what "x" means), as GMS parsed it.
func (f *fastPath) prepared(c *mysql.Conn, sess sql.Session, query string, prepare *mysql.PrepareData) {
	if sess == nil {
		return
	}
	opts := sql.LoadSqlMode(sql.NewContext(context.Background(), sql.WithSession(sess))).ParserOptions()
	stmt, err := ast.ParseWithOptions(context.Background(), query, opts)
	if err != nil {
		return
	}
	sh := fastpath.Classify(stmt)
	if sh == nil {
		return
	}
	cs := statementsOf(c)
	if len(cs.byID) >= maxPreparedPerConn {
		// Forget the statements the client has closed: vitess removes them from PrepareData on
		// COM_STMT_CLOSE. Clearing everything would leave the connection's long-lived
		// statements on the general path for good, since they are classified only here.
		for id := range cs.byID {
			if _, open := c.PrepareData[id]; !open {
				delete(cs.byID, id)
			}
		}
		if len(cs.byID) >= maxPreparedPerConn {
			clear(cs.byID) // thousands of statements open: fall back to dropping them all
		}
	}
	cs.byID[prepare.StatementID] = &preparedStatement{query: prepare.PrepareStmt, shape: sh}
}

// statement returns the fast-path state of a prepared statement, if it has any.
func (f *fastPath) statement(c *mysql.Conn, prepare *mysql.PrepareData) *preparedStatement {
	cs, ok := c.ClientData.(*connStatements)
	if !ok {
		return nil
	}
	ps := cs.byID[prepare.StatementID]
	if ps == nil || ps.query != prepare.PrepareStmt {
		return nil
	}
	return ps
}

// errNotFast is returned by execute when the statement must take the general path. The
// session has not been touched in any way the general path could notice.
var errNotFast = errors.New("not on the fast path")

// execute runs a prepared statement on the fast path. It returns errNotFast to ask for the
// general path.
// query is the statement's text as the client sent it (the prepared text, or a text statement
// whose digest ps was learned from), for the process list and logs.
func (f *fastPath) execute(ctx context.Context, c *mysql.Conn, sess sql.Session, ps *preparedStatement, query string, binds map[string]*querypb.BindVariable, callback func(*sqltypes.Result) error) error {
	sqlCtx := newQueryContext(ctx,
		sql.WithSession(sess),
		sql.WithPid(fastPathPidBase+f.pid.Add(1)),
		sql.WithQuery(query),
		sql.WithMemoryManager(f.engine.MemoryManager),
		sql.WithProcessList(f.engine.ProcessList),
	)
	if !fastPathOn(sqlCtx) {
		return errNotFast
	}
	kind := ps.shape.Kind
	var p *fastpath.Plan
	switch kind {
	case fastpath.KindBegin, fastpath.KindCommit, fastpath.KindRollback:
	default:
		var err error
		if p, err = f.plan(sqlCtx, ps); err != nil {
			return err
		}
	}
	if kind == fastpath.KindSelect {
		if ps.fields == nil && ps.shared != nil {
			ps.shared.fillFields(ps, sqlCtx.GetCharacterSetResults())
		}
		if ps.fields == nil || ps.fieldsCharset != sqlCtx.GetCharacterSetResults() {
			return errNotFast // the general path runs it and the caller keeps its metadata
		}
		if ok, _ := sql.HasDefaultValue(sqlCtx, sess, "sql_select_limit"); !ok {
			return errNotFast
		}
	}
	write := kind == fastpath.KindUpdate || kind == fastpath.KindDelete || kind == fastpath.KindInsert
	if write && !f.writable(sqlCtx) {
		return errNotFast
	}

	qctx, err := sqlCtx.ProcessList.BeginQuery(sqlCtx, query)
	if err != nil {
		return err
	}
	defer sqlCtx.ProcessList.EndQuery(qctx)
	sqlCtx = qctx
	buf := sql.ByteBufPool.Get().(*sql.ByteBuffer)
	defer func() {
		buf.Reset()
		sql.ByteBufPool.Put(buf)
	}()
	res, err := f.command(sqlCtx, sess, ps, query, p, binds, buf)
	if err == errNotFast {
		return err
	}
	if err != nil {
		return sql.CastSQLError(err) // as GMS's handler reports errors
	}
	setStatusFlags(sqlCtx, c)
	fastPathExecutions.Add(1)
	// The result's values point into buf until the callback has written them.
	return callback(res)
}

// command runs the statement as one command of the session. A panic becomes an error for this
// statement (logged with its stack) rather than the end of the connection.
func (f *fastPath) command(ctx *sql.Context, sess sql.Session, ps *preparedStatement, query string, p *fastpath.Plan, binds map[string]*querypb.BindVariable, buf *sql.ByteBuffer) (res *sqltypes.Result, err error) {
	if err := sql.SessionCommandBegin(sess); err != nil {
		return nil, err
	}
	defer sql.SessionCommandEnd(sess)
	defer func() {
		if r := recover(); r != nil {
			ctx.GetLogger().Errorf("fast path: panic running %q: %v\n%s", query, r, debug.Stack())
			res, err = nil, fmt.Errorf("internal error running the statement: %v", r)
		}
	}()
	return f.run(ctx, ps, p, binds, buf)
}

// run executes one fast statement inside the session's command.
func (f *fastPath) run(ctx *sql.Context, ps *preparedStatement, p *fastpath.Plan, binds map[string]*querypb.BindVariable, buf *sql.ByteBuffer) (*sqltypes.Result, error) {
	switch ps.shape.Kind {
	case fastpath.KindBegin:
		return f.begin(ctx)
	case fastpath.KindCommit, fastpath.KindRollback:
		return f.end(ctx, ps.shape.Kind == fastpath.KindCommit)
	}
	if err := f.authorize(ctx, ps.shape); err != nil {
		return nil, errNotFast // the general path reports it, with its own wording
	}
	ctx.ClearWarnings()
	started := false
	if ctx.GetTransaction() == nil {
		ts, ok := ctx.Session.(sql.TransactionSession)
		if !ok {
			return nil, errNotFast
		}
		if err := startTransaction(ctx, ts); err != nil {
			return nil, err
		}
		started = true
	} else if p.Kind() != fastpath.KindSelect && ctx.GetTransaction().IsReadOnly() {
		return nil, errNotFast // START TRANSACTION READ ONLY: the general path refuses the write
	}
	out, err := p.Run(ctx, binds)
	if errors.Is(err, fastpath.ErrFallback) {
		if started {
			// Nothing was written; leave no trace of the transaction the general path would not
			// have started the same way.
			ts := ctx.Session.(sql.TransactionSession)
			_ = ts.Rollback(ctx, ctx.GetTransaction())
			ctx.SetTransaction(nil)
		}
		return nil, errNotFast
	}
	// Counted once the general path can no longer be asked to run it (it counts for itself).
	sql.IncrementStatusVariable(ctx, "Questions", 1)
	switch p.Kind() {
	case fastpath.KindSelect:
		sql.IncrementStatusVariable(ctx, "Com_select", 1)
	case fastpath.KindInsert:
		sql.IncrementStatusVariable(ctx, "Com_insert", 1)
	case fastpath.KindUpdate:
		sql.IncrementStatusVariable(ctx, "Com_update", 1)
	case fastpath.KindDelete:
		sql.IncrementStatusVariable(ctx, "Com_delete", 1)
	}
	if err != nil {
		return nil, err
	}
	if err := autocommit(ctx); err != nil {
		return nil, err
	}
	if p.Kind() != fastpath.KindSelect {
		info := ""
		if out.OK.Info != nil {
			info = out.OK.Info.String()
		}
		return &sqltypes.Result{RowsAffected: out.OK.RowsAffected, InsertID: out.OK.InsertID, Info: info}, nil
	}
	last := ctx.GetLastQueryInfo()
	last.RowCount.Store(-1)
	last.FoundRows.Store(int64(len(out.Rows)))
	rows, err := resultRows(ctx, p.Result(), out.Rows, buf)
	if err != nil {
		return nil, err
	}
	return &sqltypes.Result{Fields: ps.fields, Rows: rows, RowsAffected: uint64(len(out.Rows))}, nil
}

// resultRows converts rows to wire values as GMS's RowToSQL does (each value through its column
// type's SQL, its bytes in buf), with one allocation for all the rows' values instead of one per row.
func resultRows(ctx *sql.Context, sch sql.Schema, rows []sql.Row, buf *sql.ByteBuffer) ([][]sqltypes.Value, error) {
	out := make([][]sqltypes.Value, len(rows))
	if len(sch) == 0 {
		return out, nil
	}
	vals := make([]sqltypes.Value, len(rows)*len(sch))
	for i, r := range rows {
		row := vals[i*len(sch) : (i+1)*len(sch) : (i+1)*len(sch)]
		for j, col := range sch {
			if r[j] == nil {
				row[j] = sqltypes.NULL
				continue
			}
			v, err := col.Type.SQL(ctx, buf.Get(), r[j])
			if err != nil {
				return nil, err
			}
			buf.Grow(v.Len())
			row[j] = v
		}
		out[i] = row
	}
	return out, nil
}

// plan returns the statement's plan for the current database and catalog, resolving it again
// when either changed since it was cached.
func (f *fastPath) plan(ctx *sql.Context, ps *preparedStatement) (*fastpath.Plan, error) {
	version := f.catalog.CatalogVersion()
	db := ctx.GetCurrentDatabase()
	if ps.version == version && ps.planDB == db && ps.resolved {
		if ps.plan == nil {
			return nil, errNotFast // declined for this catalog already
		}
		return ps.plan, nil
	}
	p, err := fastpath.Resolve(ctx, f.engine.Analyzer.Catalog, ps.shape, db)
	ps.resolved, ps.version, ps.planDB = true, version, db
	if err != nil {
		ps.plan = nil
		return nil, errNotFast
	}
	ps.plan, ps.version, ps.planDB = p, version, db
	ps.fields = nil // the result metadata names the table and database: take it again
	return p, nil
}

// authorize checks the statement's privileges with the engine's authorization handler, using
// the authorization data the parser attached, exactly as GMS's planner does.
func (f *fastPath) authorize(ctx *sql.Context, sh *fastpath.Shape) error {
	h := f.engine.Analyzer.Catalog.AuthorizationHandler()
	state := h.NewQueryState(ctx)
	for _, a := range fastpath.Auth(sh) {
		if err := h.HandleAuth(ctx, state, a); err != nil {
			return err
		}
	}
	return nil
}

// writable reports whether a write may take the fast path: no read_only mode (the general
// path's guard decides who may write then), no global read lock held by this session, and
// row-based logging (statement-based logging records the statement's text, which the general
// path handles).
func (f *fastPath) writable(ctx *sql.Context) bool {
	if readonly.CurrentMode().Active() {
		return false
	}
	if f.readLock != nil && f.readLock.HoldsCommitLock(ctx.Session.ID()) {
		return false
	}
	v, err := ctx.GetSessionVariable(ctx, "binlog_format")
	if err != nil || !strings.EqualFold(toString(v), "ROW") {
		return false
	}
	if v, err := ctx.GetSessionVariable(ctx, "transaction_read_only"); err == nil && readonly.IsOn(v) {
		return false
	}
	return true
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

// fastPathOn reads relaydb_fast_path for the session.
func fastPathOn(ctx *sql.Context) bool {
	v, err := ctx.GetSessionVariable(ctx, fastPathVariable)
	return err == nil && readonly.IsOn(v)
}

// begin is START TRANSACTION / BEGIN: commit what is open, start anew, and stop autocommit
// until COMMIT or ROLLBACK (GMS's StartTransaction node does the same).
func (f *fastPath) begin(ctx *sql.Context) (*sqltypes.Result, error) {
	ts, ok := ctx.Session.(sql.TransactionSession)
	if !ok {
		return nil, errNotFast
	}
	if f.readLock != nil && f.readLock.HoldsCommitLock(ctx.Session.ID()) {
		return nil, errNotFast
	}
	sql.IncrementStatusVariable(ctx, "Questions", 1)
	ctx.ClearWarnings()
	if cur := ctx.GetTransaction(); cur != nil {
		if err := ts.CommitTransaction(ctx, cur); err != nil {
			return nil, err
		}
		ctx.SetTransaction(nil)
	}
	if err := startTransaction(ctx, ts); err != nil {
		return nil, err
	}
	ctx.SetIgnoreAutoCommit(true)
	noRowsStatement(ctx)
	return &sqltypes.Result{}, nil
}

// end is COMMIT (commit true) or ROLLBACK.
func (f *fastPath) end(ctx *sql.Context, commit bool) (*sqltypes.Result, error) {
	ts, ok := ctx.Session.(sql.TransactionSession)
	if !ok {
		return nil, errNotFast
	}
	sql.IncrementStatusVariable(ctx, "Questions", 1)
	ctx.ClearWarnings()
	if tx := ctx.GetTransaction(); tx != nil {
		var err error
		if commit {
			err = ts.CommitTransaction(ctx, tx)
		} else {
			err = ts.Rollback(ctx, tx)
		}
		if err != nil {
			return nil, err
		}
	}
	ctx.SetIgnoreAutoCommit(false)
	ctx.SetTransaction(nil)
	noRowsStatement(ctx)
	return &sqltypes.Result{}, nil
}

// noRowsStatement sets ROW_COUNT() and FOUND_ROWS() as the general path leaves them after
// START TRANSACTION, COMMIT or ROLLBACK: GMS tracks those as queries that returned no rows
// (ROW_COUNT() -1, FOUND_ROWS() 0), not as DDL.
func noRowsStatement(ctx *sql.Context) {
	last := ctx.GetLastQueryInfo()
	last.RowCount.Store(-1)
	last.FoundRows.Store(0)
}

// startTransaction opens the session's transaction as GMS's engine does (read-write; a READ ONLY
// start is never on the fast path).
func startTransaction(ctx *sql.Context, ts sql.TransactionSession) error {
	tx, err := ts.StartTransaction(ctx, sql.ReadWrite)
	if err != nil {
		return err
	}
	ctx.SetTransaction(tx)
	return nil
}

// autocommit commits the statement's transaction when the session is in autocommit mode and
// no explicit transaction is open (what GMS's TransactionCommittingIter does).
func autocommit(ctx *sql.Context) error {
	tx := ctx.GetTransaction()
	if tx == nil || ctx.GetIgnoreAutoCommit() {
		return nil
	}
	v, err := ctx.GetSessionVariable(ctx, sql.AutoCommitSessionVar)
	if err != nil {
		return err
	}
	if !readonly.IsOn(v) {
		return nil
	}
	if err := ctx.Session.(sql.TransactionSession).CommitTransaction(ctx, tx); err != nil {
		return err
	}
	ctx.SetTransaction(nil)
	return nil
}

// setStatusFlags sets the OK packet's autocommit and in-transaction flags as GMS's handler does.
func setStatusFlags(ctx *sql.Context, c *mysql.Conn) {
	v, err := ctx.GetSessionVariable(ctx, sql.AutoCommitSessionVar)
	if err == nil && readonly.IsOn(v) {
		c.StatusFlags |= uint16(mysql.ServerStatusAutocommit)
	} else {
		c.StatusFlags &^= uint16(mysql.ServerStatusAutocommit)
	}
	if ctx.GetTransaction() != nil {
		c.StatusFlags |= uint16(mysql.ServerInTransaction)
	} else {
		c.StatusFlags &^= uint16(mysql.ServerInTransaction)
	}
}

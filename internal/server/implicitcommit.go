package server

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/relaydb/relaydb/internal/adminsql"
	"github.com/relaydb/relaydb/internal/readonly"
)

// Implicit commits, as MySQL has them: some statements commit the open transaction before they
// run (DDL, account statements, LOCK TABLES, FLUSH, ANALYZE TABLE, replication control), and
// no other statement ends it.
//
// GMS gets this wrong in three ways, which this file corrects from outside GMS:
//
//   - GMS commits after a statement whose query flags carry QFlagDDL
//     (rowexec.TransactionCommittingIter). The planbuilder sets that flag on the one flag set of
//     the statement being bound, and it binds a view by parsing and binding the view's stored
//     CREATE VIEW with the same builder: the flag of that inner DDL lands on the outer
//     statement. `SELECT * FROM some_view` committed the client's transaction and dropped its
//     savepoints (mariadb-dump --single-transaction then failed with "SAVEPOINT sp does not
//     exist"). PREPARE binds the statement it prepares the same way. implicitCommitRule takes
//     the flag off unless the statement itself is DDL; keepTransaction covers PREPARE, which
//     the analyzer never sees.
//   - GMS commits after DDL, not before, and never for the other statements above: CREATE
//     TABLE … SELECT then ran in the client's old snapshot (error 1412), a GRANT was logged
//     before the transaction it followed. implicitCommitRule commits first (commitBefore), and
//     nodeHandler.commitBeforeText does it for the statements GMS does not run.
//   - After its implicit commit GMS keeps the session in explicit-transaction mode (BEGIN's
//     "ignore autocommit"), so what followed ran in a transaction nobody committed.
//     commitBefore leaves that mode, as does leaveEndedTransaction after every command.

// implicitCommitRuleID names the rule among GMS's own (whose ids are small consecutive numbers).
const implicitCommitRuleID analyzer.RuleId = 1 << 20

// qflagCommitChecked marks a statement's flags as already seen by implicitCommitRule. GMS's
// flags are a small-int set numbered from 0 (about 30 today); 63 is the last number the set
// keeps without allocating, far from GMS's, and a test checks that GMS has not reached it.
const qflagCommitChecked = 63

// implicitCommitRule is a pre-analyzer rule. The engine analyzes a statement when it executes
// it (a COM_STMT_PREPARE only binds), and the pre-analyzer batch runs first on the statement's
// top node, so the rule's first call for a statement sees the statement itself, just before it
// runs. Later calls with the same flags are nested analyses of its parts (the SELECT of a CREATE
// TABLE … SELECT, subqueries, trigger and procedure bodies) and must not judge it by a part.
func implicitCommitRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, qFlags *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if qFlags == nil || qFlags.IsSet(qflagCommitChecked) {
		return n, transform.SameTree, nil
	}
	qFlags.Set(qflagCommitChecked)
	if qFlags.IsSet(sql.QFlagDDL) && !isFlaggedDDL(n) {
		qFlags.Unset(sql.QFlagDDL)
	}
	if qFlags.IsSet(sql.QFlagDDL) || qFlags.IsSet(sql.QFlagAlterTable) || qFlags.IsSet(sql.QFlagDBDDL) || commitsBefore(n) {
		if err := commitBefore(ctx); err != nil {
			return n, transform.SameTree, err
		}
	}
	return n, transform.SameTree, nil
}

// isFlaggedDDL reports whether n is the top node of a statement that the planbuilder itself
// marks QFlagDDL (buildDDL: CREATE/DROP of tables, views, triggers, procedures and events,
// ALTER EVENT, ALTER USER, RENAME TABLE, TRUNCATE), and so commits implicitly as in MySQL.
// A temporary table's CREATE is not flagged by the planbuilder and does not commit in MySQL;
// it is listed here as not DDL so that a view it selects from cannot make it commit.
func isFlaggedDDL(n sql.Node) bool {
	switch n := n.(type) {
	case *plan.CreateTable:
		return !n.Temporary()
	case *plan.CreateView, *plan.CreateTrigger, *plan.CreateProcedure, *plan.CreateEvent,
		*plan.DropTable, *plan.DropView, *plan.DropTrigger, *plan.DropProcedure, *plan.DropEvent,
		*plan.AlterEvent, *plan.AlterUser, *plan.RenameTable, *plan.Truncate:
		return true
	}
	return false
}

// commitsBefore reports whether MySQL commits implicitly before n, a statement GMS does not
// flag as DDL.
func commitsBefore(n sql.Node) bool {
	switch n.(type) {
	case *plan.CreateUser, *plan.DropUser, *plan.RenameUser,
		*plan.CreateRole, *plan.DropRole,
		*plan.Grant, *plan.Revoke, *plan.GrantRole, *plan.RevokeRole, *plan.GrantProxy, *plan.RevokeProxy,
		*plan.FlushPrivileges, *plan.LockTables, *plan.AnalyzeTable:
		return true
	}
	// Statements RelayDB plans itself (CREATE/DROP FUNCTION, package dumpsql) say so.
	if c, ok := n.(interface{ CommitsImplicitly() bool }); ok {
		return c.CommitsImplicitly()
	}
	return false
}

// commitBefore commits the client's open transaction, if there is one, and opens a new one for
// the statement itself, as GMS's engine did before binding it. The session leaves explicit-
// transaction mode: what follows autocommits again, as after COMMIT.
//
// In autocommit mode outside BEGIN the session's transaction is the statement's own, just
// opened, and there is nothing to commit: committing it anyway would, on a replica applier
// running under gtid_next, record the statement's GTID before the statement had run.
func commitBefore(ctx *sql.Context) error {
	ts, ok := ctx.Session.(sql.TransactionSession)
	tx := ctx.GetTransaction()
	if !ok || tx == nil {
		return nil
	}
	if !ctx.GetIgnoreAutoCommit() {
		v, err := ctx.GetSessionVariable(ctx, sql.AutoCommitSessionVar)
		if err != nil || readonly.IsOn(v) {
			return err
		}
	}
	if err := ts.CommitTransaction(ctx, tx); err != nil {
		return err
	}
	ctx.SetTransaction(nil)
	ctx.SetIgnoreAutoCommit(false)
	next, err := ts.StartTransaction(ctx, sql.ReadWrite)
	if err != nil {
		return err
	}
	ctx.SetTransaction(next)
	return nil
}

// commitBeforeText commits the connection's open transaction, through GMS's own COMMIT, before a
// statement that commits implicitly in MySQL and that GMS never analyzes as such
// (adminsql.CommitsImplicitly: FLUSH, and the replication statements the node answers itself). A session holding the global read lock is left alone:
// it cannot have written, and its commit would wait for its own lock.
func (h *nodeHandler) commitBeforeText(ctx context.Context, c *mysql.Conn, query string) error {
	// Every statement passes here: look at its first letter before parsing (a leading
	// comment, rare, goes to the parser too).
	q := strings.TrimLeft(query, " \t\r\n")
	if q == "" || !strings.ContainsRune("FfCcSsRr/#-", rune(q[0])) || !adminsql.CommitsImplicitly(q) {
		return nil
	}
	sess := h.sessions.get(c.ConnectionID)
	if sess == nil || sess.GetTransaction() == nil {
		return nil
	}
	if h.readLock != nil && h.readLock.HoldsCommitLock(c.ConnectionID) {
		return nil
	}
	return h.Handler.ComQuery(ctx, c, "COMMIT", func(*sqltypes.Result, bool) error { return nil })
}

// leaveEndedTransaction takes the session out of explicit-transaction mode when a command has
// left it without a transaction. GMS keeps the mode across its own commit after DDL and across
// a COMMIT that failed (the storage then ends the transaction); the statements after them would
// run in a transaction nobody commits, where MySQL autocommits them.
func leaveEndedTransaction(s sql.Session) {
	if s != nil && s.GetTransaction() == nil && s.GetIgnoreAutoCommit() {
		s.SetIgnoreAutoCommit(false)
	}
}

// keepTransactionSession hides the session's transaction handling from GMS for the rest of one
// statement: GMS's commit after a statement skips a session that is not a
// sql.TransactionSession, and this wrapper is not one. PREPARE runs nothing and never commits
// in MySQL, but GMS flags it as DDL when the statement it prepares is DDL or reads a view.
type keepTransactionSession struct{ sql.Session }

// keepTransaction applies keepTransactionSession to ctx, the context of the PREPARE being built
// (GMS builds the statement, then closes the iterator that commits, with the same context).
// Nothing after the build needs the storage's session: the prepared statement is already
// stored, and the command's end is signalled to the session GMS held before.
func keepTransaction(ctx *sql.Context) {
	if _, ok := ctx.Session.(keepTransactionSession); !ok && ctx.Session != nil {
		ctx.Session = keepTransactionSession{ctx.Session}
	}
}

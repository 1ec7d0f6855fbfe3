package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// GMS commits the session's transaction after a statement whose query flags carry QFlagDDL
// (rowexec.TransactionCommittingIter), MySQL's implicit commit. The planbuilder sets that flag
// on the one flag set of the statement being bound, and it binds a view by parsing and binding
// the view's stored CREATE VIEW statement with the same builder: the flag of that inner DDL
// lands on the outer statement. So `SELECT * FROM some_view` (or an INSERT … SELECT, UPDATE,
// DELETE, CREATE TEMPORARY TABLE … SELECT reading one) committed the client's transaction and
// dropped its savepoints. implicitCommitRule takes the flag off again unless the statement
// itself is one of the DDL statements the planbuilder flags.

// implicitCommitRuleID names the rule among GMS's own (whose ids are small consecutive numbers).
const implicitCommitRuleID analyzer.RuleId = 1 << 20

// qflagCommitChecked marks a statement's flags as already checked by implicitCommitRule. GMS's
// flags are a small-int set numbered from 0 (about 30 today); 63 is the last number the set
// keeps without allocating, far from GMS's, and a test checks that GMS has not reached it.
const qflagCommitChecked = 63

// implicitCommitRule is a pre-analyzer rule. The pre-analyzer batch runs first on the
// statement's top node, so the first call for a statement sees the statement itself; later
// calls with the same flags are nested analyses of its parts (the SELECT of a CREATE TABLE …
// SELECT, subqueries, trigger and procedure bodies) and must not judge the statement by a part.
func implicitCommitRule(_ *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, qFlags *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if qFlags == nil || qFlags.IsSet(qflagCommitChecked) {
		return n, transform.SameTree, nil
	}
	qFlags.Set(qflagCommitChecked)
	if qFlags.IsSet(sql.QFlagDDL) && !isFlaggedDDL(n) {
		qFlags.Unset(sql.QFlagDDL)
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

package readonly

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
)

// MySQL's texts for ER_OPTION_PREVENTS_STATEMENT (1290, SQLSTATE HY000).
const (
	msgReadOnly      = "The MySQL server is running with the --read-only option so it cannot execute this statement"
	msgSuperReadOnly = "The MySQL server is running with the --super-read-only option so it cannot execute this statement"
)

// ErrReadOnly returns the error a client sees when read_only refuses a write.
func ErrReadOnly() error {
	return mysql.NewSQLError(mysql.EROptionPreventsStatement, mysql.SSUnknownSQLState, "%s", msgReadOnly)
}

// ErrSuperReadOnly returns the error a client sees when super_read_only
// refuses a write.
func ErrSuperReadOnly() error {
	return mysql.NewSQLError(mysql.EROptionPreventsStatement, mysql.SSUnknownSQLState, "%s", msgSuperReadOnly)
}

// Mode is the server's current read-only state.
type Mode struct {
	ReadOnly      bool
	SuperReadOnly bool
}

// Active reports whether any write restriction is in force.
func (m Mode) Active() bool { return m.ReadOnly || m.SuperReadOnly }

// CurrentMode reads @@global.read_only and @@global.super_read_only.
// super_read_only implies read_only even if a caller bypassed the coupling.
func CurrentMode() Mode {
	var m Mode
	if _, v, ok := sql.SystemVariables.GetGlobal("super_read_only"); ok {
		m.SuperReadOnly = IsOn(v)
	}
	if m.SuperReadOnly {
		m.ReadOnly = true
		return m
	}
	if _, v, ok := sql.SystemVariables.GetGlobal("read_only"); ok {
		m.ReadOnly = IsOn(v)
	}
	return m
}

// Check returns nil if the statement running in ctx may write, and MySQL's
// error 1290 otherwise:
//   - super_read_only ON refuses everyone except an exempt applier;
//   - read_only ON refuses users that lack both SUPER and CONNECTION_ADMIN,
//     again except an exempt applier.
//
// The privileges are those GMS cached on the session when it checked the
// statement's own privileges (every write statement is checked while it is
// bound), so Check is cheap: two system-variable reads when writes are
// allowed. A session without a cached privilege set counts as unprivileged.
func Check(ctx *sql.Context) error {
	m := CurrentMode()
	if !m.Active() {
		return nil
	}
	if IsExempt(ctx) {
		return nil
	}
	if m.SuperReadOnly {
		return ErrSuperReadOnly()
	}
	if hasAdminPrivilege(ctx) {
		return nil
	}
	return ErrReadOnly()
}

// CheckNode is Check for an analyzed plan: statements that do not write
// (plan.IsReadOnly, plus the exceptions listed on AllowedWhileReadOnly) pass
// without looking at privileges.
func CheckNode(ctx *sql.Context, n sql.Node) error {
	m := CurrentMode()
	if !m.Active() {
		return nil
	}
	if AllowedWhileReadOnly(n) {
		return nil
	}
	return Check(ctx)
}

// AllowedWhileReadOnly reports whether n may run on a read-only server: it
// writes nothing durable, or MySQL allows it under read_only anyway
// (replication control, FLUSH PRIVILEGES, temporary tables).
func AllowedWhileReadOnly(n sql.Node) bool {
	if n == nil || plan.IsReadOnly(n) {
		return true
	}
	switch t := n.(type) {
	case *plan.ChangeReplicationSource, *plan.ChangeReplicationFilter,
		*plan.StartReplica, *plan.StopReplica, *plan.ResetReplica,
		*plan.FlushPrivileges:
		return true
	case *plan.CreateTable:
		return t.Temporary()
	case *plan.DropTable:
		return dropsOnlyTemporaryTables(t)
	}
	if a, ok := n.(AllowedUnderReadOnly); ok {
		return a.AllowedUnderReadOnly()
	}
	return false
}

// AllowedUnderReadOnly may be implemented by plan nodes defined outside GMS
// (for example replication administration statements) that MySQL allows on a
// read-only server even though they are not read-only in GMS's sense.
type AllowedUnderReadOnly interface {
	AllowedUnderReadOnly() bool
}

// Exempter may be implemented by a session. A session whose
// ReadOnlyExempt returns true bypasses read_only and super_read_only, as
// MySQL's replication applier threads do.
type Exempter interface {
	ReadOnlyExempt() bool
}

type applierKey struct{}

// MarkApplier returns a context whose derived *sql.Context values are exempt
// from read_only and super_read_only. The replication applier builds the
// sql.Context for each event it applies from such a context. Nothing reachable
// from a client connection can set this mark.
func MarkApplier(parent context.Context) context.Context {
	return context.WithValue(parent, applierKey{}, true)
}

// IsExempt reports whether ctx belongs to the replication applier, either
// through MarkApplier or a session implementing Exempter.
func IsExempt(ctx *sql.Context) bool {
	if ctx == nil {
		return false
	}
	if v, _ := ctx.Value(applierKey{}).(bool); v {
		return true
	}
	if e, ok := ctx.Session.(Exempter); ok && e.ReadOnlyExempt() {
		return true
	}
	return false
}

func dropsOnlyTemporaryTables(d *plan.DropTable) bool {
	if len(d.Tables) == 0 {
		return false
	}
	for _, child := range d.Tables {
		rt, ok := child.(*plan.ResolvedTable)
		if !ok {
			return false
		}
		tt, ok := rt.Table.(sql.TemporaryTable)
		if !ok || !tt.IsTemporary() {
			return false
		}
	}
	return true
}

func hasAdminPrivilege(ctx *sql.Context) bool {
	if ctx.Session == nil {
		return false
	}
	ps, _ := ctx.Session.GetPrivilegeSet()
	if ps == nil {
		return false
	}
	if ps.Has(sql.PrivilegeType_Super) {
		return true
	}
	if dyn, ok := ps.(mysql_db.PrivilegeSet); ok && dyn.HasDynamic("connection_admin") {
		return true
	}
	return false
}

// IsOn reports whether a boolean system variable's value (as GMS stores it: int8, bool,
// or a string such as "ON") is on.
func IsOn(v interface{}) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int8:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case uint64:
		return x != 0
	case string:
		s := strings.ToLower(x)
		return s == "1" || s == "on" || s == "true"
	}
	return false
}

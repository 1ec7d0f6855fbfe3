package readonly

import (
	"context"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/variables"
	"github.com/dolthub/vitess/go/mysql"
)

func setMode(t *testing.T, ro, super int8) {
	t.Helper()
	variables.InitSystemVariables()
	t.Cleanup(variables.InitSystemVariables)
	if err := sql.SystemVariables.AssignValues(map[string]interface{}{"read_only": ro, "super_read_only": super}); err != nil {
		t.Fatal(err)
	}
}

type exemptSession struct{ *sql.BaseSession }

func (exemptSession) ReadOnlyExempt() bool { return true }

func newCtx(parent context.Context, privs ...sql.PrivilegeType) *sql.Context {
	sess := sql.NewBaseSession()
	ps := mysql_db.NewPrivilegeSet()
	ps.AddGlobalStatic(privs...)
	sess.SetPrivilegeSet(ps, 1)
	return sql.NewContext(parent, sql.WithSession(sess))
}

func code(err error) int {
	if e, ok := err.(*mysql.SQLError); ok {
		return e.Num
	}
	return -1
}

func TestWritable(t *testing.T) {
	setMode(t, 0, 0)
	if err := Check(newCtx(context.Background())); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	setMode(t, 1, 0)
	err := Check(newCtx(context.Background(), sql.PrivilegeType_Insert))
	if code(err) != 1290 || err.(*mysql.SQLError).SQLState() != "HY000" {
		t.Fatalf("plain user: %v", err)
	}
	if err := Check(newCtx(context.Background(), sql.PrivilegeType_Super)); err != nil {
		t.Fatalf("SUPER user refused: %v", err)
	}
	ctx := newCtx(context.Background())
	ps := mysql_db.NewPrivilegeSet()
	ps.AddGlobalDynamic(false, "CONNECTION_ADMIN")
	ctx.Session.SetPrivilegeSet(ps, 1)
	if err := Check(ctx); err != nil {
		t.Fatalf("CONNECTION_ADMIN user refused: %v", err)
	}
	if err := Check(newCtx(MarkApplier(context.Background()))); err != nil {
		t.Fatalf("applier refused: %v", err)
	}
	// A session with no cached privileges counts as unprivileged.
	bare := sql.NewContext(context.Background(), sql.WithSession(sql.NewBaseSession()))
	if code(Check(bare)) != 1290 {
		t.Fatal("bare session allowed")
	}
}

func TestSuperReadOnly(t *testing.T) {
	setMode(t, 0, 1) // super_read_only implies read_only
	err := Check(newCtx(context.Background(), sql.PrivilegeType_Super))
	if code(err) != 1290 || err.Error() == "" {
		t.Fatalf("SUPER user under super_read_only: %v", err)
	}
	if want := msgSuperReadOnly; err.(*mysql.SQLError).Message != want {
		t.Fatalf("message %q", err.(*mysql.SQLError).Message)
	}
	if err := Check(newCtx(MarkApplier(context.Background()))); err != nil {
		t.Fatalf("applier refused: %v", err)
	}
	ctx := sql.NewContext(context.Background(), sql.WithSession(exemptSession{sql.NewBaseSession()}))
	if err := Check(ctx); err != nil {
		t.Fatalf("exempt session refused: %v", err)
	}
}

func TestCheckNodeLetsReadsThrough(t *testing.T) {
	setMode(t, 0, 1)
	ctx := newCtx(context.Background())
	if err := CheckNode(ctx, plan.NewShowDatabases()); err != nil {
		t.Fatalf("read refused: %v", err)
	}
	if err := CheckNode(ctx, plan.NewStopReplica()); err != nil {
		t.Fatalf("STOP REPLICA refused: %v", err)
	}
	if code(CheckNode(ctx, plan.NewCreateDatabase("x", false, sql.Collation_Default))) != 1290 {
		t.Fatal("CREATE DATABASE allowed")
	}
}

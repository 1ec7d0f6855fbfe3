package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/readonly"
)

func TestReadOnlyAndSuperReadOnly(t *testing.T) {
	tn := startNode(t, t.TempDir())
	root := tn.mustConnect(t, "root", "rootpw")
	exec(t, root,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO app.t VALUES (1, 1)",
		"CREATE USER 'writer'@'%' IDENTIFIED BY 'w'",
		"GRANT ALL ON app.* TO 'writer'@'%'",
		"CREATE USER 'admin'@'%' IDENTIFIED BY 'a'",
		"GRANT ALL ON app.* TO 'admin'@'%'",
		"GRANT SUPER ON *.* TO 'admin'@'%'", // GMS cannot grant CONNECTION_ADMIN yet
	)
	writer := tn.mustConnect(t, "writer", "w")
	admin := tn.mustConnect(t, "admin", "a")

	writes := []string{
		"INSERT INTO app.t VALUES (2, 2)",
		"REPLACE INTO app.t VALUES (1, 5)",
		"UPDATE app.t SET v = 3 WHERE id = 1",
		"DELETE FROM app.t WHERE id = 1",
		"CREATE TABLE app.u (id INT PRIMARY KEY)",
		"ALTER TABLE app.t ADD COLUMN w INT",
		"DROP TABLE app.t",
		"TRUNCATE TABLE app.t",
	}

	exec(t, root, "SET GLOBAL read_only = ON")
	if v := queryString(t, writer, "SELECT @@GLOBAL.read_only"); v != "1" {
		t.Fatalf("read_only = %s", v)
	}
	for _, w := range writes {
		_, err := writer.Exec(w)
		me := wantErrCode(t, err, 1290, "non-SUPER "+w)
		if string(me.SQLState[:]) != "HY000" || !strings.Contains(me.Message, "--read-only option") {
			t.Errorf("%s: %s %q", w, me.SQLState, me.Message)
		}
	}
	// A prepared statement is refused too.
	if stmt, err := writer.Prepare("INSERT INTO app.t VALUES (?, ?)"); err != nil {
		t.Fatal(err)
	} else {
		_, err = stmt.Exec(9, 9)
		wantErrCode(t, err, 1290, "prepared insert")
		stmt.Close()
	}
	// Reads, SET and transactions still work.
	if v := queryString(t, writer, "SELECT COUNT(*) FROM app.t"); v != "1" {
		t.Errorf("count = %s", v)
	}
	exec(t, writer, "SET @x = 1", "BEGIN", "COMMIT")
	// SUPER holders (root, admin) may write, including account changes.
	exec(t, root,
		"INSERT INTO app.t VALUES (2, 2)",
		"CREATE USER 'late'@'%' IDENTIFIED BY 'l'",
		"GRANT SELECT ON app.* TO 'late'@'%'",
	)
	exec(t, admin, "INSERT INTO app.t VALUES (3, 3)", "UPDATE app.t SET v = 4 WHERE id = 3")
	// Account statements by an unprivileged user are refused as well.
	exec(t, root, "GRANT CREATE USER ON *.* TO 'writer'@'%'")
	_, err := writer.Exec("CREATE USER 'sneaky'@'%'")
	wantErrCode(t, err, 1290, "CREATE USER by non-SUPER")

	// super_read_only refuses everyone and implies read_only.
	exec(t, root, "SET GLOBAL read_only = OFF", "SET GLOBAL super_read_only = ON")
	if v := queryString(t, root, "SELECT @@GLOBAL.read_only"); v != "1" {
		t.Errorf("super_read_only=ON left read_only = %s", v)
	}
	for _, w := range append(writes,
		"CREATE DATABASE other",
		"CREATE USER 'x'@'%'",
		"GRANT SELECT ON app.* TO 'writer'@'%'",
		"REVOKE SELECT ON app.* FROM 'late'@'%'",
		"DROP USER 'late'@'%'",
		"ALTER USER 'late'@'%' IDENTIFIED BY 'z'",
	) {
		_, err := root.Exec(w)
		me := wantErrCode(t, err, 1290, "root under super_read_only: "+w)
		if !strings.Contains(me.Message, "--super-read-only option") {
			t.Errorf("%s: %q", w, me.Message)
		}
	}
	_, err = admin.Exec("INSERT INTO app.t VALUES (7, 7)")
	wantErrCode(t, err, 1290, "SUPER user under super_read_only")

	// The replication applier is exempt.
	ctx := applierContext(t, tn)
	_, iter, _, err := tn.Engine().Query(ctx, "INSERT INTO app.t VALUES (100, 100)")
	if err != nil {
		t.Fatalf("applier insert: %v", err)
	}
	if _, err := sql.RowIterToRows(ctx, iter); err != nil {
		t.Fatalf("applier insert: %v", err)
	}
	if v := queryString(t, root, "SELECT v FROM app.t WHERE id = 100"); v != "100" {
		t.Errorf("applier row = %q", v)
	}

	// read_only=OFF turns super_read_only off as well.
	exec(t, root, "SET GLOBAL read_only = OFF")
	if v := queryString(t, root, "SELECT @@GLOBAL.super_read_only"); v != "0" {
		t.Errorf("read_only=OFF left super_read_only = %s", v)
	}
	exec(t, writer, "INSERT INTO app.t VALUES (50, 50)")
}

// applierContext builds a context the way the replication applier will: a
// root session, marked with readonly.MarkApplier.
func applierContext(t *testing.T, tn *testNode) *sql.Context {
	t.Helper()
	base := sql.NewBaseSessionWithClientServer("applier", sql.Client{User: "root", Address: "localhost"}, 999999)
	sess := tn.Storage().NewSession(base)
	parent, cancel := context.WithTimeout(readonly.MarkApplier(context.Background()), 20*time.Second)
	t.Cleanup(cancel)
	ctx := sql.NewContext(parent, sql.WithSession(sess))
	if !readonly.IsExempt(ctx) {
		t.Fatal("context not exempt")
	}
	return ctx
}

func TestPersistedSuperReadOnlyAppliesAtStartup(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, dir)
	root := tn.mustConnect(t, "root", "rootpw")
	exec(t, root, "CREATE DATABASE app", "SET PERSIST super_read_only = ON")
	tn.stop(t)

	tn = startNode(t, dir)
	root = tn.mustConnect(t, "root", "rootpw")
	if v := queryString(t, root, "SELECT CONCAT(@@GLOBAL.read_only, @@GLOBAL.super_read_only)"); v != "11" {
		t.Fatalf("read_only, super_read_only after restart = %s", v)
	}
	_, err := root.Exec("CREATE DATABASE other")
	wantErrCode(t, err, 1290, "write after restart with persisted super_read_only")
	exec(t, root, "SET PERSIST read_only = OFF")
	exec(t, root, "CREATE DATABASE other")
}

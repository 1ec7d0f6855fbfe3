package server

import (
	"bytes"
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// logBuffer is a goroutine-safe log sink the tests can search.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testNode struct {
	*Node
	log  *logBuffer
	done chan error
}

// startNode opens and serves a node on a free loopback port with the memory
// backend. It is closed at the end of the test unless the test closes it.
func startNode(t *testing.T, dir string, mods ...func(*Config)) *testNode {
	t.Helper()
	lb := &logBuffer{}
	cfg := Config{
		DataDir:      dir,
		Host:         "127.0.0.1",
		Port:         0,
		ServerID:     1,
		RootPassword: "rootpw",
		Logger:       slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})),
		OpenStorage:  OpenMemoryStorage,
	}
	for _, m := range mods {
		m(&cfg)
	}
	n, err := Open(cfg)
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	tn := &testNode{Node: n, log: lb, done: make(chan error, 1)}
	go func() { tn.done <- n.Serve() }()
	t.Cleanup(func() { tn.stop(t) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node log:\n%s", lb.String())
		}
	})
	return tn
}

func (tn *testNode) stop(t *testing.T) {
	t.Helper()
	if err := tn.Close(); err != nil {
		t.Errorf("close node: %v", err)
	}
	select {
	case err := <-tn.done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		tn.done <- nil // let a second stop return at once
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

func (tn *testNode) dsn(user, pass string, params ...string) string {
	p := append([]string{"timeout=5s", "readTimeout=20s", "writeTimeout=20s"}, params...)
	return fmt.Sprintf("%s:%s@tcp(%s)/?%s", user, pass, tn.Addr().String(), strings.Join(p, "&"))
}

// connect opens a pool and pings it, so authentication errors surface here.
func (tn *testNode) connect(t *testing.T, user, pass string, params ...string) (*gosql.DB, error) {
	t.Helper()
	db, err := gosql.Open("mysql", tn.dsn(user, pass, params...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	t.Cleanup(func() { db.Close() })
	return db, nil
}

func (tn *testNode) mustConnect(t *testing.T, user, pass string, params ...string) *gosql.DB {
	t.Helper()
	db, err := tn.connect(t, user, pass, params...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	return db
}

func exec(t *testing.T, db *gosql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := db.ExecContext(ctx, s)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func queryString(t *testing.T, db *gosql.DB, q string) string {
	t.Helper()
	var s gosql.NullString
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func mysqlErr(err error) *mysql.MySQLError {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

func wantErrCode(t *testing.T, err error, code uint16, what string) *mysql.MySQLError {
	t.Helper()
	me := mysqlErr(err)
	if me == nil || me.Number != code {
		t.Fatalf("%s: want error %d, got %v", what, code, err)
	}
	return me
}

func TestReadyLineIdentityAndSyntaxErrors(t *testing.T) {
	tn := startNode(t, t.TempDir(), func(c *Config) { c.ServerID = 42 })
	db := tn.mustConnect(t, "root", "rootpw")

	if got := strings.Count(tn.log.String(), "ready for connections"); got != 1 {
		t.Fatalf("%d ready lines in log:\n%s", got, tn.log.String())
	}
	if !strings.Contains(tn.log.String(), "addr="+tn.Addr().String()) {
		t.Fatalf("ready line lacks the address:\n%s", tn.log.String())
	}
	if v := queryString(t, db, "SELECT @@version"); v != "8.0.36-relaydb" {
		t.Errorf("@@version = %q", v)
	}
	if v := queryString(t, db, "SELECT VERSION()"); v != "8.0.36-relaydb" {
		t.Errorf("VERSION() = %q", v)
	}
	if v := queryString(t, db, "SELECT @@server_id"); v != "42" {
		t.Errorf("@@server_id = %q", v)
	}
	if v := queryString(t, db, "SELECT @@server_uuid"); v != tn.ServerUUID() {
		t.Errorf("@@server_uuid = %q, node says %q", v, tn.ServerUUID())
	}
	_, err := db.Exec("SET GLOBAL server_uuid = 'x'")
	if err == nil {
		t.Error("server_uuid is writable")
	}

	_, err = db.Exec("SELEC 1 FROM dual")
	me := wantErrCode(t, err, 1064, "malformed SQL")
	if me.SQLState != [5]byte{'4', '2', '0', '0', '0'} ||
		!strings.HasPrefix(me.Message, "You have an error in your SQL syntax") ||
		!strings.Contains(me.Message, "near 'SELEC 1 FROM dual' at line 1") {
		t.Errorf("syntax error: state %s message %q", me.SQLState, me.Message)
	}
	_, err = db.Exec("SELECT 1,\n 2 FROM WHERE")
	me = wantErrCode(t, err, 1064, "malformed SQL on line 2")
	if !strings.Contains(me.Message, "at line 2") {
		t.Errorf("message %q", me.Message)
	}
	// The connection still works after a syntax error.
	if v := queryString(t, db, "SELECT 1"); v != "1" {
		t.Errorf("SELECT 1 = %q", v)
	}
}

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	startNode(t, dir)
	_, err := Open(Config{DataDir: dir, Port: 0, OpenStorage: OpenMemoryStorage,
		Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil))})
	if !errors.Is(err, ErrDataDirLocked) {
		t.Fatalf("second open: %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("error does not name the holder: %v", err)
	}
}

func TestDataDirIsCreatedAndReleased(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	tn := startNode(t, dir)
	for _, f := range []string{lockFileName, autoCnfName, mysqlDbFileName, tlsCertFileName, storageDirName} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	tn.stop(t)
	// Released: a new node can take the datadir.
	startNode(t, dir)
}

func TestServerUUIDStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, dir)
	first := queryString(t, tn.mustConnect(t, "root", "rootpw"), "SELECT @@server_uuid")
	tn.stop(t)

	data, err := os.ReadFile(filepath.Join(dir, autoCnfName))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "[auto]\nserver-uuid="+first+"\n" {
		t.Fatalf("auto.cnf = %q", data)
	}

	tn = startNode(t, dir)
	second := queryString(t, tn.mustConnect(t, "root", "rootpw"), "SELECT @@server_uuid")
	if first != second {
		t.Fatalf("server_uuid changed across restart: %s -> %s", first, second)
	}
}

func TestWrongPasswordIsAccessDenied(t *testing.T) {
	tn := startNode(t, t.TempDir())
	for _, c := range []struct{ user, pass string }{
		{"root", "nope"},
		{"root", ""},
		{"nobody", "x"},
	} {
		_, err := tn.connect(t, c.user, c.pass)
		me := wantErrCode(t, err, 1045, c.user+"/"+c.pass)
		if !strings.Contains(me.Message, "Access denied for user") {
			t.Errorf("message %q", me.Message)
		}
	}
}

func TestUsersAndPrivilegesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, dir)
	root := tn.mustConnect(t, "root", "rootpw")
	exec(t, root,
		"CREATE DATABASE app",
		"CREATE USER 'alice'@'%' IDENTIFIED BY 'alice1'",
		"CREATE USER 'bob'@'%' IDENTIFIED BY 'bob1'",
		"CREATE USER 'carol'@'%' IDENTIFIED BY 'carol1'",
		"CREATE USER 'dave'@'%' IDENTIFIED WITH caching_sha2_password BY 'dave1'",
		"GRANT SELECT, INSERT ON app.* TO 'alice'@'%'",
		"GRANT ALL ON app.* TO 'bob'@'%'",
		"REVOKE INSERT ON app.* FROM 'alice'@'%'",
		"ALTER USER 'bob'@'%' IDENTIFIED BY 'bob2'",
		"SET PASSWORD FOR 'carol'@'%' = 'carol2'",
		"CREATE USER 'erin'@'%' IDENTIFIED BY 'erin1'",
		"DROP USER 'dave'@'%'",
	)
	tn.stop(t)

	tn = startNode(t, dir, func(c *Config) { c.RootPassword = "ignored-now" })
	if !strings.Contains(tn.log.String(), "differs from root@localhost") {
		t.Errorf("no warning about an ignored --root-password:\n%s", tn.log.String())
	}
	root = tn.mustConnect(t, "root", "rootpw")
	alice := tn.mustConnect(t, "alice", "alice1")
	if v := queryString(t, alice, "SELECT CURRENT_USER()"); v != "alice@%" {
		t.Errorf("alice is %q", v)
	}
	rows, err := root.Query("SHOW GRANTS FOR 'alice'@'%'")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		all = append(all, g)
	}
	rows.Close()
	joined := strings.Join(all, "\n")
	if !strings.Contains(joined, "GRANT SELECT ON `app`.*") || strings.Contains(joined, "INSERT") {
		t.Errorf("alice's grants after restart:\n%s", joined)
	}
	if _, err := tn.connect(t, "bob", "bob1"); mysqlErr(err) == nil || mysqlErr(err).Number != 1045 {
		t.Errorf("bob's old password still works: %v", err)
	}
	tn.mustConnect(t, "bob", "bob2")
	tn.mustConnect(t, "carol", "carol2")
	erin := tn.mustConnect(t, "erin", "erin1")
	exec(t, root, "GRANT CREATE USER ON *.* TO 'erin'@'%'")
	exec(t, erin, "SET PASSWORD = 'erin2'")
	tn.stop(t)
	tn = startNode(t, dir)
	tn.mustConnect(t, "erin", "erin2")
	if _, err := tn.connect(t, "dave", "dave1", "tls=skip-verify"); mysqlErr(err) == nil || mysqlErr(err).Number != 1045 {
		t.Errorf("dropped user logs in: %v", err)
	}
}

func TestNativeAndCachingSha2Logins(t *testing.T) {
	tn := startNode(t, t.TempDir())
	root := tn.mustConnect(t, "root", "rootpw")
	exec(t, root,
		"CREATE USER 'nat'@'%' IDENTIFIED WITH mysql_native_password BY 'natpw'",
		"CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'shapw'",
		"CREATE USER 'shaempty'@'%' IDENTIFIED WITH caching_sha2_password",
	)

	// mysql_native_password works with and without TLS.
	tn.mustConnect(t, "nat", "natpw")
	tn.mustConnect(t, "nat", "natpw", "tls=skip-verify")

	// caching_sha2_password: the first login needs TLS (full authentication
	// sends the password); vitess offers no RSA exchange.
	_, err := tn.connect(t, "sha", "shapw")
	wantErrCode(t, err, 1045, "caching_sha2 without TLS and a cold cache")
	db := tn.mustConnect(t, "sha", "shapw", "tls=skip-verify")
	if u := queryString(t, db, "SELECT CURRENT_USER()"); u != "sha@%" {
		t.Errorf("current_user = %q", u)
	}
	_, err = tn.connect(t, "sha", "wrong", "tls=skip-verify")
	wantErrCode(t, err, 1045, "caching_sha2 wrong password over TLS")

	// After a successful full login the fast-auth cache serves plain TCP.
	tn.mustConnect(t, "sha", "shapw")
	_, err = tn.connect(t, "sha", "wrong")
	wantErrCode(t, err, 1045, "caching_sha2 wrong password, warm cache")

	// A password change invalidates the cache entry.
	// GMS switches an account to mysql_native_password on ALTER USER
	// without WITH, so name the plugin.
	exec(t, root, "ALTER USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'newpw'")
	_, err = tn.connect(t, "sha", "shapw")
	wantErrCode(t, err, 1045, "old password after ALTER USER")
	_, err = tn.connect(t, "sha", "newpw")
	wantErrCode(t, err, 1045, "new password before any TLS login")
	tn.mustConnect(t, "sha", "newpw", "tls=skip-verify")
	tn.mustConnect(t, "sha", "newpw")

	// An account without a password needs no TLS.
	tn.mustConnect(t, "shaempty", "")
}

func TestSetPersistSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, dir)
	root := tn.mustConnect(t, "root", "rootpw")
	exec(t, root,
		"SET PERSIST max_connections = 321",
		"SET PERSIST_ONLY net_read_timeout = 77",
		"SET GLOBAL wait_timeout = 999", // not persisted
	)
	if v := queryString(t, root, "SELECT @@GLOBAL.max_connections"); v != "321" {
		t.Errorf("max_connections before restart = %s", v)
	}
	if v := queryString(t, root, "SELECT @@GLOBAL.net_read_timeout"); v == "77" {
		t.Errorf("PERSIST_ONLY changed the running value")
	}
	_, err := root.Exec("SET PERSIST max_connections = 'lots'")
	if err == nil {
		t.Error("invalid persisted value accepted")
	}
	tn.stop(t)

	data, err := os.ReadFile(filepath.Join(dir, persistedFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"max_connections": 321`) {
		t.Fatalf("%s:\n%s", persistedFileName, data)
	}

	tn = startNode(t, dir)
	root = tn.mustConnect(t, "root", "rootpw")
	for q, want := range map[string]string{
		"SELECT @@GLOBAL.max_connections":  "321",
		"SELECT @@GLOBAL.net_read_timeout": "77",
		"SELECT @@GLOBAL.wait_timeout":     "28800",
	} {
		if v := queryString(t, root, q); v != want {
			t.Errorf("%s = %s after restart, want %s", q, v, want)
		}
	}
}

func TestPersistedGlobalsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), persistedFileName)
	p, err := LoadPersistedGlobals(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.set("a_number", int64(5)); err != nil {
		t.Fatal(err)
	}
	if err := p.set("a_string", "x y"); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPersistedGlobals(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := q.GetPersistedValue("A_NUMBER"); v != int64(5) {
		t.Errorf("a_number = %#v", v)
	}
	if v, _ := q.GetPersistedValue("a_string"); v != "x y" {
		t.Errorf("a_string = %#v", v)
	}
	if err := q.RemoveAllPersistedGlobals(); err != nil {
		t.Fatal(err)
	}
	r, _ := LoadPersistedGlobals(path)
	if len(r.Values()) != 0 {
		t.Errorf("values after reset: %v", r.Values())
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPersistedGlobals(path); err == nil {
		t.Error("corrupt file accepted")
	}
}

func TestMain(m *testing.M) {
	// The driver logs connections the server closes on purpose.
	_ = mysql.SetLogger(stdlog.New(io.Discard, "", 0))
	os.Exit(m.Run())
}

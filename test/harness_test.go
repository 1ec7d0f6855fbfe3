package test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/cluster"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the server binary the tests built (each run builds its own, about 90 MB).
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// relaydbBinary builds cmd/relaydb once per test process.
func relaydbBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relaydb-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "relaydb")
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(self))
		args := []string{"build", "-o", binPath}
		if os.Getenv("RELAYDB_TEST_RACE") != "" {
			// Servers built with the race detector; a report in a server's log fails its test.
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/relaydb")...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// node is one relaydb server process.
type node struct {
	t       testing.TB
	dataDir string
	port    int
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

func freePort(t testing.TB) int {
	t.Helper()
	ps, err := cluster.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// startNode starts relaydb on dataDir (a fresh temporary one if empty) and waits until it is
// ready for connections. The process is killed when the test ends.
func startNode(t testing.TB, dataDir string, extraArgs ...string) *node {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	n := &node{t: t, dataDir: dataDir, port: freePort(t), logPath: filepath.Join(t.TempDir(), "server.log")}
	n.start(extraArgs...)
	t.Cleanup(func() {
		n.kill()
		if strings.Contains(n.log(), "WARNING: DATA RACE") {
			t.Errorf("data race in the server:\n%s", n.log())
		}
	})
	return n
}

func (n *node) start(extraArgs ...string) {
	n.t.Helper()
	args := append([]string{"server", "--datadir", n.dataDir, "--host", "127.0.0.1",
		"--port", fmt.Sprint(n.port), "--log-level", "info"}, extraArgs...)
	cmd := exec.Command(relaydbBinary(n.t), args...)
	cmd.SysProcAttr = nodeSysProcAttr()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(logf, pw)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start relaydb: %v", err)
	}
	n.cmd = cmd
	n.exited = make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "ready for connections") {
				close(ready)
				signalled = true
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		logf.Close()
		close(n.exited)
	}()
	select {
	case <-ready:
	case <-n.exited:
		n.t.Fatalf("relaydb exited before it was ready; log:\n%s", n.log())
	case <-time.After(60 * time.Second):
		n.kill()
		n.t.Fatalf("relaydb not ready after 60s; log:\n%s", n.log())
	}
}

func (n *node) log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// kill sends SIGKILL (kill -9) and waits for the process to go.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.t.Errorf("relaydb pid %d did not die after SIGKILL", n.cmd.Process.Pid)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(60 * time.Second):
		n.kill()
		n.t.Fatalf("relaydb did not stop after SIGTERM; log:\n%s", n.log())
	}
}

// restart starts the process again on the same datadir and port.
func (n *node) restart(extraArgs ...string) {
	n.t.Helper()
	n.start(extraArgs...)
}

// db opens a connection pool to the node as root.
func (n *node) db(database string) *sql.DB {
	n.t.Helper()
	dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?timeout=10s&readTimeout=60s&writeTimeout=60s", n.port, database)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// scanNullStrings reads every remaining row of rows as strings (invalid for NULL).
func scanNullStrings(rows *sql.Rows) ([][]sql.NullString, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]sql.NullString
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

package main

import (
	"bufio"
	"context"
	gosql "database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds relaydb once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relaydb-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "relaydb")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running relaydb server process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr strings.Builder
	exited chan struct{}
	err    error
}

var readyRe = regexp.MustCompile(`ready for connections"? addr=(\S+)`)

// startServer runs `relaydb server` and waits for its ready line.
func startServer(t *testing.T, args ...string) *proc {
	t.Helper()
	return startServerEnv(t, []string{"RELAYDB_ROOT_PASSWORD="}, args...)
}

// startServerEnv is startServer with extra environment variables.
func startServerEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"server"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyRe.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", p.log())
		}
	})
	select {
	case p.addr = <-ready:
	case <-p.exited:
		t.Fatalf("server exited before it was ready: %v\n%s", p.err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("server not ready after 60s:\n%s", p.log())
	}
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop sends sig and returns the exit code.
func (p *proc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not exit after %v", sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runOnce runs the binary to completion and returns its exit code and output.
func runOnce(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestServeQueryAndStopOnSignals(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			p := startServer(t, "--storage=memory", "--datadir", dir, "--port", "0", "--root-password", "pw", "--server-id", "9")
			if n := strings.Count(p.log(), "ready for connections"); n != 1 {
				t.Fatalf("%d ready lines", n)
			}
			db, err := gosql.Open("mysql", "root:pw@tcp("+p.addr+")/?timeout=5s")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var id, version string
			if err := db.QueryRow("SELECT @@server_id, @@version").Scan(&id, &version); err != nil {
				t.Fatal(err)
			}
			if id != "9" || version != "8.0.36-relaydb" {
				t.Fatalf("server_id %s version %s", id, version)
			}
			if code := p.stop(t, sig); code != 0 {
				t.Fatalf("exit code %d after %v", code, sig)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, "relaydb.pid")); len(data) != 0 {
				t.Errorf("pid file not emptied at shutdown: %q", data)
			}
		})
	}
}

func TestSecondServerOnSameDatadirRefuses(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, "--storage=memory", "--datadir", dir, "--port", "0")
	code, out := runOnce(t, nil, "server", "--storage=memory", "--datadir", dir, "--port", "0")
	if code == 0 {
		t.Fatalf("second server started:\n%s", out)
	}
	want := fmt.Sprintf("pid %d", p.cmd.Process.Pid)
	if !strings.Contains(out, want) || !strings.Contains(out, "locked") {
		t.Fatalf("refusal does not name %q:\n%s", want, out)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("first server exit code %d", code)
	}
}

func TestConfigFileAndFlagPrecedence(t *testing.T) {
	dir := t.TempDir()
	cnf := filepath.Join(t.TempDir(), "relaydb.cnf")
	body := fmt.Sprintf("[relaydb]\ndatadir = %s\nserver_id = 5\nport = 1\nlog-level = debug\nstorage = memory\n", dir)
	if err := os.WriteFile(cnf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServer(t, "--config", cnf, "--port", "0")
	db, err := gosql.Open("mysql", "root:@tcp("+p.addr+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id string
	if err := db.QueryRow("SELECT @@server_id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != "5" {
		t.Fatalf("server_id from file = %s", id)
	}
	if !strings.Contains(p.log(), "level=DEBUG") {
		t.Error("log-level from the file not applied")
	}
	p.stop(t, syscall.SIGTERM)

	bad := filepath.Join(t.TempDir(), "bad.cnf")
	if err := os.WriteFile(bad, []byte("[relaydb]\n\nfrobnicate = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runOnce(t, nil, "server", "--config", bad)
	if code != 2 || !strings.Contains(out, bad+":3") || !strings.Contains(out, "frobnicate") {
		t.Fatalf("unknown key: exit %d\n%s", code, out)
	}
}

func TestHelpAndRefusals(t *testing.T) {
	code, out := runOnce(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "relaydb server") {
		t.Fatalf("relaydb --help: %d\n%s", code, out)
	}
	code, out = runOnce(t, nil, "server", "--help")
	if code != 0 {
		t.Fatalf("relaydb server --help: exit %d", code)
	}
	for _, name := range []string{"datadir", "host", "port", "server-id", "root-password", "cache-size",
		"log-level", "config", "max-allowed-packet", "pprof-addr"} {
		if !strings.Contains(out, "--"+name) {
			t.Errorf("server --help lacks --%s", name)
		}
	}
	if strings.Contains(out, "--storage") {
		t.Error("server --help shows the hidden --storage option")
	}

	code, out = runOnce(t, []string{"RELAYDB_ROOT_PASSWORD="}, "server", "--storage=memory", "--host", "0.0.0.0",
		"--datadir", t.TempDir())
	if code != 2 || !strings.Contains(out, "empty root password") {
		t.Fatalf("non-loopback without password: exit %d\n%s", code, out)
	}
	code, out = runOnce(t, nil, "bogus")
	if code != 2 || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: exit %d\n%s", code, out)
	}
}

func TestRootPasswordFromEnvironmentAndPprof(t *testing.T) {
	dir := t.TempDir()
	p := startServerEnv(t, []string{"RELAYDB_ROOT_PASSWORD=envpw"}, "--storage=memory", "--datadir", dir, "--port", "0",
		"--pprof-addr", "127.0.0.1:0")
	db, err := gosql.Open("mysql", "root:envpw@tcp("+p.addr+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("root with the password from the environment: %v", err)
	}
	if !strings.Contains(p.log(), "serving pprof") {
		t.Error("pprof not started")
	}
	p.stop(t, syscall.SIGTERM)
}

// TestDurableStorageRestart runs the binary over its default (Pebble)
// storage: data, users and persisted variables survive a restart, and
// read_only is enforced for a non-SUPER user but not for root.
func TestDurableStorageRestart(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, "--datadir", dir, "--port", "0", "--root-password", "pw", "--cache-size", "16MiB")
	root, err := gosql.Open("mysql", "root:pw@tcp("+p.addr+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO app.t VALUES (1, 'one'), (2, 'two')",
		"CREATE USER 'w'@'%' IDENTIFIED BY 'wpw'",
		"GRANT ALL ON app.* TO 'w'@'%'",
		"SET PERSIST max_connections = 222",
	} {
		if _, err := root.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	root.Close()
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	p = startServer(t, "--datadir", dir, "--port", "0", "--cache-size", "16MiB")
	root, err = gosql.Open("mysql", "root:pw@tcp("+p.addr+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var n, maxConn string
	if err := root.QueryRow("SELECT COUNT(*) FROM app.t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := root.QueryRow("SELECT @@GLOBAL.max_connections").Scan(&maxConn); err != nil {
		t.Fatal(err)
	}
	if n != "2" || maxConn != "222" {
		t.Fatalf("after restart: rows %s, max_connections %s", n, maxConn)
	}
	w, err := gosql.Open("mysql", "w:wpw@tcp("+p.addr+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec("INSERT INTO app.t VALUES (3, 'three')"); err != nil {
		t.Fatalf("user w after restart: %v", err)
	}
	if _, err := root.Exec("SET GLOBAL read_only = ON"); err != nil {
		t.Fatal(err)
	}
	_, err = w.Exec("INSERT INTO app.t VALUES (4, 'four')")
	if err == nil || !strings.Contains(err.Error(), "1290") {
		t.Fatalf("non-SUPER write under read_only: %v", err)
	}
	if _, err := root.Exec("INSERT INTO app.t VALUES (5, 'five')"); err != nil {
		t.Fatalf("root write under read_only: %v", err)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// Package mariadb starts a throwaway MariaDB server for differential tests: RelayDB and MariaDB
// run the same statements side by side and must answer alike.
//
// Invariants: the server listens on 127.0.0.1 on a free port, keeps its data in a temporary
// directory of the test, is durable as the reference figures assume (sync_binlog=1,
// innodb_flush_log_at_trx_commit=1, row-format binary log), and is killed when the test ends,
// also when it fails.
package mariadb

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/cluster"
)

// Server is a running MariaDB.
type Server struct {
	Port    int
	DataDir string
	LogPath string
	cmd     *exec.Cmd
}

// Available reports whether mariadbd and mariadb-install-db are installed (package
// mariadb-server; CI installs it).
func Available() bool {
	_, e1 := exec.LookPath("mariadbd")
	_, e2 := exec.LookPath("mariadb-install-db")
	return e1 == nil && e2 == nil
}

// Start starts a MariaDB server with extra server options (e.g. "--transaction-isolation=...")
// and waits until it accepts connections as root without a password. It fails the test if
// MariaDB is not installed: differential tests are not optional.
func Start(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	if !Available() {
		t.Fatal("mariadbd not found: install mariadb-server (apt-get install -y mariadb-server); .ci/run does")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	// A tmpdir of its own: servers of concurrent tests (and their installs) sharing /tmp
	// collide on temporary table names ("Could not remove temporary table … ERROR: 1051").
	install := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--tmpdir="+tmp)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	s := &Server{Port: freePort(t), DataDir: data, LogPath: filepath.Join(dir, "mariadb.log")}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, fmt.Sprintf("--port=%d", s.Port),
		"--bind-address=127.0.0.1", "--socket=" + filepath.Join(dir, "sock"),
		"--pid-file=" + filepath.Join(dir, "pid"), "--tmpdir=" + tmp, "--user=root", "--skip-name-resolve",
		"--server-id=1", "--log-bin=" + filepath.Join(data, "bin"), "--binlog-format=ROW",
		"--sync-binlog=1", "--innodb-flush-log-at-trx-commit=1", "--innodb-buffer-pool-size=256M",
		"--max-connections=500", "--skip-log-error"}, extraArgs...)
	s.cmd = exec.Command("mariadbd", args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start mariadbd: %v", err)
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", s.DSN(""))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return s
		}
		select {
		case <-exited:
			t.Fatalf("mariadbd exited before it was ready; log:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd not ready after 60s: %v; log:\n%s", err, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DSN is a go-sql-driver/mysql data source name for root on database db ("" for none).
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?multiStatements=true", s.Port, db)
}

// Log returns the server's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return strings.TrimSpace(string(b))
}

func freePort(t testing.TB) int {
	t.Helper()
	ps, err := cluster.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

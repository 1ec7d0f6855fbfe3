package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownWatchdogEndsAHungShutdown: a shutdown that never finishes (the failpoint
// shutdown:hang stands for a Close stuck on a busy handler or commit) is ended by the watchdog
// after RELAYDB_SHUTDOWN_BOUND: exit status 1, every goroutine's stack in the datadir, and the
// next start recovers every committed row, as after kill -9.
func TestShutdownWatchdogEndsAHungShutdown(t *testing.T) {
	t.Setenv("RELAYDB_FAILPOINT", "shutdown:hang")
	t.Setenv("RELAYDB_SHUTDOWN_BOUND", "2s")
	n := startNode(t, "")
	db := n.db("")
	for _, s := range []string{"CREATE DATABASE wd", "CREATE TABLE wd.t (id INT PRIMARY KEY)", "INSERT INTO wd.t VALUES (1), (2), (3)"} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()
	start := time.Now()
	n.stop()
	took := time.Since(start)
	if code := n.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit status %d after a hung shutdown, want 1; log:\n%s", code, n.log())
	}
	if !strings.Contains(n.log(), "shutdown did not finish") {
		t.Fatalf("no watchdog message in the log:\n%s", n.log())
	}
	stacks, _ := filepath.Glob(filepath.Join(n.dataDir, "stuck-shutdown-stacks-*.txt"))
	if len(stacks) != 1 {
		t.Fatalf("stack files in the datadir: %v", stacks)
	}
	b, err := os.ReadFile(stacks[0])
	if err != nil || !strings.Contains(string(b), "goroutine ") {
		t.Fatalf("stack file %s: %v, %d bytes", stacks[0], err, len(b))
	}
	t.Logf("hung shutdown ended after %s; stacks in %s (%d bytes)", took.Round(100*time.Millisecond), filepath.Base(stacks[0]), len(b))

	os.Unsetenv("RELAYDB_FAILPOINT")
	n.restart()
	var count int
	if err := n.db("").QueryRow("SELECT COUNT(*) FROM wd.t").Scan(&count); err != nil || count != 3 {
		t.Fatalf("after the restart: %d rows, %v; want 3", count, err)
	}
}

// TestShutdownReleasesSemiSyncWaiters: a commit waiting for a semi-sync acknowledgement that
// cannot come (no replica, no timeout to speak of) does not hold the shutdown up: it is
// released unacknowledged with an error, and the server stops cleanly at once instead of
// waiting for its busy connection and then hanging in the storage's close. The commit was
// logged before the wait (AFTER_SYNC), so the next start has it, as after kill -9.
func TestShutdownReleasesSemiSyncWaiters(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	for _, s := range []string{"CREATE DATABASE ss", "CREATE TABLE ss.t (id INT PRIMARY KEY)",
		"SET GLOBAL rpl_semi_sync_source_timeout = 3600000", "SET GLOBAL rpl_semi_sync_source_enabled = 1"} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.Exec("INSERT INTO ss.t VALUES (1)")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the commit did not wait for an acknowledgement (err %v)", err)
	case <-time.After(time.Second):
	}
	start := time.Now()
	n.stop()
	took := time.Since(start)
	if err := <-done; err == nil {
		t.Fatal("a commit no replica acknowledged was reported committed")
	} else {
		t.Logf("the waiting commit got: %v", err)
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(n.log(), "still busy") || took > 20*time.Second {
		t.Fatalf("shutdown took %s, exit status %d; log:\n%s", took, code, n.log())
	}
	t.Logf("shutdown with a commit waiting for an acknowledgement took %s", took.Round(10*time.Millisecond))
	n.restart()
	var count int
	if err := n.db("").QueryRow("SELECT COUNT(*) FROM ss.t").Scan(&count); err != nil || count != 1 {
		t.Fatalf("after the restart: %d rows, %v; want the logged commit (1)", count, err)
	}
}

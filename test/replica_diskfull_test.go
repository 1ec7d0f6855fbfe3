package test

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size (mount's syntax, e.g. "1m") on a new directory
// and unmounts it when the test ends, after the servers started later are stopped. Mounting
// needs root, which CI has (.ci/run).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test puts the relay log on a small tmpfs to fill it, and mounting needs root (CI runs as root); run it with sudo")
	}
	dir := filepath.Join(t.TempDir(), "relay")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount -l %s: %v: %s", dir, err, out)
			}
		}
	})
	return dir
}

func remountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s with size %s: %v: %s", dir, size, err, out)
	}
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// waitDiskFull waits until the replica's receiver reports the full relay log disk, and checks
// that it waits rather than stops, and that the applier has no error.
func waitDiskFull(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	st := waitIOError(t, db, "1021")
	if st["Replica_IO_State"] != "Waiting for disk space" || st["Replica_IO_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" ||
		!strings.Contains(st["Last_IO_Error"], "Disk is full writing") || !strings.Contains(st["Last_IO_Error"], "Waiting for someone to free space") {
		t.Fatalf("full relay log disk: %v", st)
	}
	return st
}

// TestReplicaRelayLogDiskFull: a replica whose relay log disk fills up reports error 1021 and
// waits, applying whole transactions only; when space comes back (the file system grows, or
// the applier purges relay log files) it receives again and ends identical to the primary,
// with the applier never stopped by an error.
func TestReplicaRelayLogDiskFull(t *testing.T) {
	relay := mountTmpfs(t, "1m")
	p := startNode(t, "", "--server-id", "1")
	replicaArgs := []string{"--server-id", "2", "--relay-log", filepath.Join(relay, "relay-bin")}
	r := startNode(t, "", replicaArgs...)
	pdb := p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY, txn INT, v VARCHAR(1200))")
	replicaOf(t, r, p, "")
	rdb := r.db("")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)

	// Transactions of 10 rows of about 1 KiB: 200 of them are about twice the relay log disk.
	const rowsPerTxn = 10
	next := 0
	load := func(txns int) {
		t.Helper()
		for i := 0; i < txns; i++ {
			var vals []string
			for j := 0; j < rowsPerTxn; j++ {
				next++
				vals = append(vals, fmt.Sprintf("(%d, %d, REPEAT('%c', 1000))", next, next/rowsPerTxn, 'a'+next%26))
			}
			mustExec(t, pdb, "INSERT INTO d.t VALUES "+strings.Join(vals, ", "))
		}
	}
	replicaRows := func() int {
		t.Helper()
		var n int
		if err := rdb.QueryRow("SELECT COUNT(*) FROM d.t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	checkIdentical := func(when string) {
		t.Helper()
		took := waitCaughtUp(t, pdb, rdb, 60*time.Second)
		pd, rd := p.db("d"), r.db("d")
		if got, want := dumpTables(t, rd, "t"), dumpTables(t, pd, "t"); got != want {
			t.Fatalf("%s: the replica differs from the primary (%d vs %d bytes)", when, len(got), len(want))
		}
		if n := replicaRows(); n != next {
			t.Fatalf("%s: the replica has %d rows, the primary %d", when, n, next)
		}
		st := replicaStatus(t, rdb)
		if st["Last_IO_Errno"] != "0" || st["Last_SQL_Errno"] != "0" || st["Replica_IO_Running"] != "Yes" || st["Replica_SQL_Running"] != "Yes" ||
			st["Replica_IO_State"] != "Waiting for source to send event" {
			t.Fatalf("%s: %v", when, st)
		}
		t.Logf("%s: caught up %s later, identical to the primary (%d rows); IO %s (%s), SQL %s, Last_IO_Errno %s, Last_SQL_Errno %s, Relay_Log_Space %s, Executed_Gtid_Set %s",
			when, took.Round(time.Millisecond), next, st["Replica_IO_Running"], st["Replica_IO_State"], st["Replica_SQL_Running"], st["Last_IO_Errno"], st["Last_SQL_Errno"], st["Relay_Log_Space"], st["Executed_Gtid_Set"])
	}

	// The file system grows back.
	load(200)
	st := waitDiskFull(t, rdb)
	t.Logf("relay log disk full: Last_IO_Errno %s, Replica_IO_State %q, Replica_IO_Running %s, Replica_SQL_Running %s, Relay_Log_Space %s, %d bytes free: %s",
		st["Last_IO_Errno"], st["Replica_IO_State"], st["Replica_IO_Running"], st["Replica_SQL_Running"], st["Relay_Log_Space"], freeBytes(t, relay), st["Last_IO_Error"])
	// It keeps waiting, applying what it has, whole transactions only.
	time.Sleep(2500 * time.Millisecond)
	st = replicaStatus(t, rdb)
	if st["Last_IO_Errno"] != "1021" || st["Replica_IO_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes" {
		t.Fatalf("2.5 s into the full disk: %v", st)
	}
	applied := replicaRows()
	if applied == 0 || applied >= next || applied%rowsPerTxn != 0 {
		t.Fatalf("while the disk is full the replica has %d rows of %d: want a part of them, in whole transactions of %d rows", applied, next, rowsPerTxn)
	}
	t.Logf("still waiting 2.5 s later: %d of %d rows applied (whole transactions), Retrieved_Gtid_Set %s", applied, next, st["Retrieved_Gtid_Set"])
	remountTmpfs(t, relay, "64m")
	checkIdentical("after the relay log file system grew to 64 MiB")
	if !strings.Contains(r.log(), "relay log disk has room again") {
		t.Fatal("the replica's log does not say it resumed")
	}

	// The applier frees the space: with 64 KiB relay log files and the applier stopped, the
	// disk fills; started again, the applier purges the files it has applied and the receiver
	// goes on by itself.
	r.stop()
	r.restart(append(replicaArgs, "--max-relay-log-size", "64KiB")...) // the relay log is discarded at startup
	remountTmpfs(t, relay, "1m")
	rdb = r.db("")
	mustExec(t, rdb, "STOP REPLICA SQL_THREAD")
	load(200)
	st = waitDiskFull(t, rdb)
	t.Logf("applier stopped, relay log disk full again: Relay_Log_Space %s, %d bytes free: %s", st["Relay_Log_Space"], freeBytes(t, relay), st["Last_IO_Error"])
	// The wait is bounded by STOP REPLICA; the transaction it held is fetched again.
	stopAt := time.Now()
	mustExec(t, rdb, "STOP REPLICA IO_THREAD")
	stopped := time.Since(stopAt)
	if st = replicaStatus(t, rdb); st["Replica_IO_Running"] != "No" {
		t.Fatalf("STOP REPLICA IO_THREAD during the wait: %v", st)
	}
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	st = waitDiskFull(t, rdb)
	t.Logf("STOP REPLICA IO_THREAD returned %s into the wait; started again, the receiver waits again: %s", stopped.Round(time.Millisecond), st["Replica_IO_State"])
	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	checkIdentical("after the applier purged what it applied, on the same 1 MiB file system")
}

package storage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull fills a small tmpfs under the store: writes must fail with a clear error, what
// was committed must stay intact, and writes must work again once space is freed. It needs root
// (to mount the tmpfs) and skips otherwise.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })

	h := &harness{t: t, dir: filepath.Join(mnt, "store")}
	h.open()
	t.Cleanup(func() { h.close() })
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id INT PRIMARY KEY, v LONGTEXT)")
	s.mustExec("INSERT INTO t VALUES (1, 'kept')")

	// Take most of the space with a filler file (all but 6 MiB of what the store left free: its
	// files' size depends on the memtable size), then write until the disk is full.
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < 8<<20 {
		t.Fatalf("only %d bytes free on the %s tmpfs after opening the store", free, "48 MiB")
	}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, free-6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var failure error
	for i := 2; i < 10000 && failure == nil; i++ {
		_, failure = s.query("INSERT INTO t VALUES (" + strconv.Itoa(i) + ", REPEAT('x', 200000))")
	}
	if failure == nil {
		t.Fatal("writes never failed on a full disk")
	}
	if c := errCode(failure); c != 1021 && c != 1026 {
		t.Fatalf("full disk: want error 1021 or 1026, got %d: %v", c, failure)
	}
	t.Logf("full disk error: %v", failure)
	if !strings.Contains(strings.ToLower(failure.Error()), "space") && !strings.Contains(failure.Error(), "Disk full") {
		t.Logf("note: error text does not mention space: %v", failure)
	}
	s.expect("SELECT v FROM t WHERE id = 1", "[kept]")

	// Free the space: writes work again, and everything acknowledged survives a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s.mustExec("DELETE FROM t WHERE id > 1")
	s.mustExec("INSERT INTO t VALUES (2, 'after')")
	h.reopen()
	s = h.session()
	s.db = "d"
	s.expect("SELECT id, v FROM t ORDER BY id", "[1 kept] [2 after]")
}

package binlog

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted when the test ends.
// Mounting needs root; CI runs as root (.ci/run).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs to fill it and needs root (CI runs as root); run it with sudo")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			// Still busy (a file left open by a failed test): detach it anyway.
			t.Errorf("umount %s: %v: %s", dir, err, out)
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount -l %s: %v: %s", dir, err, out)
			}
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestWriterFullDisk: on a full file system neither an append nor a rotation stops the writer
// or leaves bytes the position does not cover; once there is room again it goes on, and the
// binlog holds every acknowledged transaction once. A disposable writer (a relay log) purges
// even when the new index has no room before the files are gone.
func TestWriterFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "64k")
	w := openTestWriter(t, dir, Options{MaxSize: 4096})
	defer w.Close()
	f := w.Format()
	gno := int64(0)
	var acked int64
	appendOK := func() {
		t.Helper()
		gno++
		if _, err := w.Append(rowTxn(t, f, gno, 1, 2)); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	onDisk := func() int64 {
		st, err := os.Stat(filepath.Join(dir, w.Position().File))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	appendOK()

	// An append bigger than the room left in the last page.
	filler := fill(t, dir)
	before := w.Position()
	big := make([]int32, 3000)
	_, err := w.Append(rowTxn(t, f, gno+1, big...))
	if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrStopped) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if w.Position() != before || onDisk() != int64(before.Offset) {
		t.Fatalf("failed append: position %v (was %v), %d bytes on disk", w.Position(), before, onDisk())
	}
	os.Remove(filler)
	if _, err := w.Append(rowTxn(t, f, gno+1, big...)); err != nil {
		t.Fatalf("append once there is room: %v", err)
	}
	gno++
	acked++

	// A rotation whose new file has no room: the ROTATE fits in the old file's last page, the
	// new file's header does not.
	for w.Position().Offset < 4096 || w.Position().File != FileName(DefaultPrefix, 1) {
		if w.Position().File != FileName(DefaultPrefix, 1) {
			t.Fatal("rotated before the test filled the disk")
		}
		appendOK()
	}
	if room := 4096 - w.Position().Offset%4096; room < 100 {
		t.Fatalf("test setup: only %d bytes left in the last page for the ROTATE event", room)
	}
	filler = fill(t, dir)
	before = w.Position()
	_, err = w.Append(rowTxn(t, f, gno+1, 7))
	if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "start "+FileName(DefaultPrefix, 2)) {
		t.Fatalf("rotation on a full disk: %v (want the new file's creation to fail with ENOSPC)", err)
	}
	if w.Position() != before || onDisk() != int64(before.Offset) {
		t.Fatalf("failed rotation: position %v (was %v), %d bytes on disk", w.Position(), before, onDisk())
	}
	if r, err := OpenFile(filepath.Join(dir, before.File)); err != nil || !r.InUse() {
		t.Fatalf("the old file is not active again: %v", err)
	} else {
		r.Close()
	}
	os.Remove(filler)
	appendOK()
	if w.Position().File != FileName(DefaultPrefix, 2) {
		t.Fatalf("no rotation once there is room: %v", w.Position())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var found int64
	for _, name := range []string{FileName(DefaultPrefix, 1), FileName(DefaultPrefix, 2)} {
		_, evs, _ := readAll(t, filepath.Join(dir, name))
		for _, ev := range evs {
			if ev.Type() == TypeGTID {
				found++
				if g, _ := DecodeGTID(f, ev); g.GTID.Sequence != found {
					t.Fatalf("%s: transaction %d where %d was expected", name, g.GTID.Sequence, found)
				}
			}
		}
	}
	if found != acked {
		t.Fatalf("%d transactions in the binlog, %d acknowledged", found, acked)
	}

	// Purge with no room for the new index.
	relay := filepath.Join(dir, "relay")
	for _, disposable := range []bool{false, true} {
		os.RemoveAll(relay)
		rw := openTestWriter(t, relay, Options{Disposable: disposable})
		defer rw.Close()
		for g := int64(1); g <= 3; g++ {
			if _, err := rw.Append(rowTxn(t, rw.Format(), g, big[:500]...)); err != nil {
				t.Fatal(err)
			}
			if err := rw.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
		filler = fill(t, dir)
		purged, purgeErr := rw.PurgeTo(rw.Position().File)
		switch {
		case !disposable && (!errors.Is(purgeErr, syscall.ENOSPC) || len(purged) != 0):
			t.Fatalf("purge of a binlog on a full disk: %v, %v (want ENOSPC, nothing purged)", purged, purgeErr)
		case disposable && (purgeErr != nil || len(purged) != 3):
			t.Fatalf("purge of a disposable log on a full disk: %v, %v", purged, purgeErr)
		}
		files, err := rw.Files()
		if err != nil || len(files) != 4-len(purged) {
			t.Fatalf("after purge: %v, %v", files, err)
		}
		os.Remove(filler)
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("disposable=%v: purge on a full disk removed %d files (%v)", disposable, len(purged), purgeErr)
	}
}

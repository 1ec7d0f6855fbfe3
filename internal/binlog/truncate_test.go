package binlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relaydb/relaydb/internal/gtid"
)

// TestTruncateTail cuts a binlog in the middle of its second-to-last file, as a rewind does after
// a crash left a new file behind (the crashed file still marked in use), and checks that a second
// call changes nothing, that recovery and a new writer accept the result, and that the new file
// continues from the transactions kept.
func TestTruncateTail(t *testing.T) {
	dir := t.TempDir()
	path, ends := crashedLog(t, dir, 6, Options{}) // 1..6 in file 1, left in use
	first := filepath.Base(path)
	rec, err := recoverDir(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	w := openTestWriter(t, dir, Options{Previous: rec.Executed}) // file 2, as a restart makes it
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cut := ends[3] // keep 1..4
	for i := 0; i < 2; i++ {
		removed, err := TruncateTail(dir, "", cut)
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if i == 0 && (len(removed) != 1 || removed[0] != FileName(DefaultPrefix, 2)) {
			t.Fatalf("removed %v, want the second file", removed)
		}
		if got := fileSize(t, path); got != int64(cut.Offset) {
			t.Fatalf("call %d: %s is %d bytes, want %d", i+1, first, got, cut.Offset)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName(DefaultPrefix, 2))); !os.IsNotExist(err) {
		t.Fatalf("the later file is still there: %v", err)
	}
	rec, err = Recover(RecoverOptions{Dir: dir, FullScan: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	want := gtid.Set{}
	if err := want.AddInterval(testSID, 1, 4); err != nil {
		t.Fatal(err)
	}
	if !rec.Executed.Equal(want) {
		t.Fatalf("binlog holds %s after the cut, want %s", rec.Executed, want)
	}
	w = openTestWriter(t, dir, Options{Previous: rec.Executed})
	defer w.Close()
	if w.Position().File != FileName(DefaultPrefix, 2) {
		t.Fatalf("the next file is %s, want %s", w.Position().File, FileName(DefaultPrefix, 2))
	}
	if _, err := TruncateTail(dir, "", Position{File: FileName(DefaultPrefix, 9), Offset: 4}); err == nil {
		t.Fatal("a cut in a file that is not in the index was accepted")
	}
}

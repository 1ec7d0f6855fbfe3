package binlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// TruncateTail removes everything the binlog holds from cut (a transaction boundary) to its end:
// the file cut names is truncated to cut.Offset and every later file is deleted. A rewind uses
// it after the store has undone those transactions and the caller has copied the files it
// deletes elsewhere (the lost-and-found). It returns the names of the deleted files.
//
// It is idempotent, so that a crash in its middle is finished by calling it again: the index
// is rewritten first (a later file that is gone from the index but still on disk is deleted by
// the next call, never read), then the later files are deleted, then the cut file is truncated.
// No Writer may have the directory open.
func TruncateTail(dir, prefix string, cut Position) ([]string, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	names, exists, err := readIndex(dir, prefix)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("binlog truncate: no index in %s", dir)
	}
	cutNum, ok := fileNumber(prefix, cut.File)
	if !ok {
		return nil, fmt.Errorf("binlog truncate: %q is not a %s.NNNNNN file", cut.File, prefix)
	}
	i := slices.Index(names, cut.File)
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownLog, cut.File)
	}
	if i < len(names)-1 {
		if err := writeIndex(dir, prefix, names[:i+1]); err != nil {
			return nil, err
		}
	}
	present, err := listFiles(dir, prefix)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range present {
		if n <= cutNum {
			continue
		}
		name := FileName(prefix, n)
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("binlog truncate: %w", err)
		}
		removed = append(removed, name)
	}
	path := filepath.Join(dir, cut.File)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return removed, fmt.Errorf("binlog truncate: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return removed, fmt.Errorf("binlog truncate: %w", err)
	}
	if uint64(fi.Size()) < cut.Offset {
		return removed, fmt.Errorf("binlog truncate: %s is %d bytes, shorter than the cut at %d", cut.File, fi.Size(), cut.Offset)
	}
	if uint64(fi.Size()) > cut.Offset {
		if err := f.Truncate(int64(cut.Offset)); err != nil {
			return removed, fmt.Errorf("binlog truncate: %w", err)
		}
	}
	// The file becomes the last one: a new Writer refuses a last file still marked in use (the
	// active file of a process that crashed, which Recover does not clear once it is not last).
	if err := clearInUse(f); err != nil {
		return removed, fmt.Errorf("binlog truncate: %w", err)
	}
	if err := f.Sync(); err != nil {
		return removed, fmt.Errorf("binlog truncate: %w", err)
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return removed, fmt.Errorf("binlog truncate: %w", err)
	}
	return removed, nil
}

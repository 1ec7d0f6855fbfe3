package storage

import (
	"fmt"
	"syscall"
)

// Running out of disk. Pebble treats a failed write to its log as fatal (the process stops),
// so the engine refuses a write before it is attempted when the store's filesystem would be left
// with less than Options.MinFreeBytes. The refused transaction gets ER_DISK_FULL (1021) and
// changes nothing; once space is freed, writes succeed again. The reserve also leaves room for
// Pebble's own flushes and compactions.

// errNoSpace is wrapped by space check failures so that storageWriteError reports 1021.
type errNoSpace struct{ free, need uint64 }

func (e errNoSpace) Error() string {
	return fmt.Sprintf("only %d bytes free on the data directory's filesystem, %d needed (reserve included)", e.free, e.need)
}

func (e errNoSpace) Is(target error) bool { return target == syscall.ENOSPC }

// checkSpace fails if writing n more bytes would leave less than the reserve free.
func (e *Engine) checkSpace(n int) error {
	if e.opts.MinFreeBytes < 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.opts.Dir, &st); err != nil {
		return nil // cannot tell; let the write decide
	}
	free := st.Bavail * uint64(st.Bsize)
	need := uint64(e.opts.MinFreeBytes) + uint64(n)
	if free < need {
		return errNoSpace{free: free, need: need}
	}
	return nil
}

package server

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"
)

// writeGoroutineStacks writes every goroutine's stack to <dir>/<what>-stacks-<time>.txt and
// returns the file's path (or why it could not be written). A shutdown that hangs leaves this
// behind, so the next engineer sees what the busy goroutines were waiting for.
func writeGoroutineStacks(dir, what string) string {
	path := filepath.Join(dir, fmt.Sprintf("%s-stacks-%s.txt", what, time.Now().UTC().Format("20060102T150405")))
	f, err := os.Create(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		return err.Error()
	}
	return path
}

// WriteGoroutineStacks is writeGoroutineStacks for the process's own watchdogs.
func (n *Node) WriteGoroutineStacks(what string) string { return writeGoroutineStacks(n.dataDir, what) }

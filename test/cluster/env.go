package cluster

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// TB is the part of testing.TB the harness needs: somewhere to log and a place to register
// cleanups. *testing.T and *testing.B satisfy it; programs that are not tests use a Scope.
type TB interface {
	Logf(format string, args ...any)
	Cleanup(func())
}

// Scope is a TB for benchmarks' main programs and tools: it logs through slog and runs the
// registered cleanups, last registered first, when Close is called. Close must be called
// (defer it); it is idempotent.
type Scope struct {
	log *slog.Logger

	mu       sync.Mutex
	cleanups []func() // guarded by mu; nil after Close
	closed   bool     // guarded by mu
}

// NewScope returns a Scope logging to log (slog's default logger when nil).
func NewScope(log *slog.Logger) *Scope {
	if log == nil {
		log = slog.Default()
	}
	return &Scope{log: log}
}

// Logf logs one message at info level.
func (s *Scope) Logf(format string, args ...any) { s.log.Info(fmt.Sprintf(format, args...)) }

// Cleanup registers f to run at Close. After Close, f runs at once.
func (s *Scope) Cleanup(f func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		f()
		return
	}
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}

// TempDir returns a new directory, removed at Close (as testing.T's TempDir). It panics if the
// directory cannot be made.
func (s *Scope) TempDir() string {
	d, err := os.MkdirTemp("", "relaydb-cluster")
	if err != nil {
		panic(fmt.Sprintf("cluster: temporary directory: %v", err))
	}
	s.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Close runs every registered cleanup, last registered first.
func (s *Scope) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups, s.closed = nil, true
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// tempDirer is implemented by testing.TB; when the TB has it, logs go in the test's directory.
type tempDirer interface{ TempDir() string }

// tempDir returns a directory for files the harness writes (process logs): the test's own
// temporary directory when tb has one, otherwise a new one removed at cleanup.
func tempDir(tb TB) (string, error) {
	if td, ok := tb.(tempDirer); ok {
		return td.TempDir(), nil
	}
	d, err := os.MkdirTemp("", "relaydb-cluster")
	if err != nil {
		return "", fmt.Errorf("temporary directory: %w", err)
	}
	tb.Cleanup(func() { os.RemoveAll(d) })
	return d, nil
}

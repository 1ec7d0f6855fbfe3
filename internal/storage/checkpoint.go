package storage

import (
	"bytes"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint writes a consistent copy of the store to dir (which must not exist; it should be
// on the store's filesystem, so that data files are hard links rather than copies) and returns
// the commit log state that copy holds (nil if none): exactly the transactions the copy
// contains, since the state is written atomically with each commit group's data. The WAL is
// flushed first, so the copy holds every commit group applied before the call.
//
// The copy is a complete Pebble store; a node may open it as its own (physical clone).
func (e *Engine) Checkpoint(dir string) ([]byte, error) {
	if err := e.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return nil, fmt.Errorf("checkpoint store to %s: %w", dir, err)
	}
	state, err := ReadLogState(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return state, nil
}

// ReadLogState opens the closed store in dir read-only and returns the commit log state it
// holds (nil if none), without changing any of its files.
func ReadLogState(dir string) ([]byte, error) {
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Cache: cache, Logger: pebbleLogger{slog.Default()}})
	if err != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", dir, err)
	}
	defer db.Close()
	v, closer, err := db.Get(logStateKey())
	if err == pebble.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read commit log state in %s: %w", dir, err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

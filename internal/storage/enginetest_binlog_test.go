package storage_test

import (
	"io"
	"log/slog"
	"os"

	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/storage"
)

// The GMS engine suites run with the binary log as commit log, as the server does, so every row
// any suite commits, of every type, is also encoded as binlog row events (a row the encoder
// refuses fails the commit, and the suite with it). RELAYDB_ENGINETEST_BINLOG=0 runs them on the
// bare store.
func init() {
	if os.Getenv("RELAYDB_ENGINETEST_BINLOG") == "0" {
		return
	}
	storage.AttachEngineTestLog = func(e *storage.Engine, dir string) (func() error, error) {
		state, err := e.LogState()
		if err != nil {
			return nil, err
		}
		l, _, err := commitlog.Open(commitlog.Options{
			Dir: dir, ServerID: 1, ServerUUID: "3e11fa47-71ca-11e1-9e33-c80aa9429562", SyncBinlog: 0,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, state)
		if err != nil {
			return nil, err
		}
		e.AttachLog(l)
		return l.Close, nil
	}
}

package main

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/config"
	"github.com/relaydb/relaydb/internal/readonly"
	"github.com/relaydb/relaydb/internal/server"
	"github.com/relaydb/relaydb/internal/storage"
)

// pebbleStorageOpener returns the opener of the durable storage engine, with the engine's own
// options from the command line.
func pebbleStorageOpener(opts config.Options) server.OpenStorageFunc {
	return func(o server.StorageOptions) (server.Storage, error) {
		idle := opts.TxnIdleTimeout
		if idle == 0 {
			idle = -1 // disabled
		}
		e, err := storage.Open(storage.Options{
			Dir:            o.Dir,
			CacheSize:      o.CacheSize,
			Logger:         o.Logger,
			WriteGuard:     readonly.Check,
			TxnIdleTimeout: idle,
		})
		if err != nil {
			return nil, err
		}
		return pebbleStorage{e: e, globals: o.Globals}, nil
	}
}

// pebbleStorage adapts *storage.Engine to server.Storage.
type pebbleStorage struct {
	e       *storage.Engine
	globals *server.PersistedGlobals
}

func (p pebbleStorage) Provider() sql.DatabaseProvider { return p.e.Provider() }

func (p pebbleStorage) NewSession(base *sql.BaseSession) sql.Session {
	if p.globals == nil {
		return p.e.NewSession(base, nil)
	}
	return p.e.NewSession(base, p.globals)
}

func (p pebbleStorage) Close() error { return p.e.Close() }

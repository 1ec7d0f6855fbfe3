package server

import (
	"log/slog"

	"github.com/dolthub/go-mysql-server/sql"
)

// Storage is the durable backend a node serves.
type Storage interface {
	Provider() sql.DatabaseProvider               // also implements sql.MutableDatabaseProvider
	NewSession(base *sql.BaseSession) sql.Session // the session implements sql.TransactionSession
	Close() error
}

// StorageOptions is what a node hands to its storage backend when it opens it.
type StorageOptions struct {
	// Dir is the backend's own directory, <datadir>/data. The node creates it
	// and holds the datadir lock for as long as the backend is open, so the
	// backend needs no lock of its own.
	Dir string
	// CacheSize is the block cache budget in bytes (--cache-size).
	CacheSize int64
	// Globals stores SET PERSIST values. Sessions returned by NewSession
	// should implement sql.PersistableSession by delegating to it (embedding
	// *PersistedGlobals in the session struct does exactly that).
	Globals *PersistedGlobals
	// Logger is the node's logger.
	Logger *slog.Logger
	// DataDir is the node's datadir (the binary log lives there); ServerID and ServerUUID
	// identify the node in the events it logs.
	DataDir    string
	ServerID   uint32
	ServerUUID string
}

// OpenStorageFunc opens (creating if needed) a storage backend. cmd/relaydb
// picks the implementation; internal/server never imports one.
type OpenStorageFunc func(StorageOptions) (Storage, error)

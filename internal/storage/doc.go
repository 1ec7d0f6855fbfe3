// Package storage is RelayDB's storage engine: go-mysql-server's backend interfaces (provider,
// databases, tables, indexes, sessions and transactions) implemented on Pebble.
//
// Data model. Each table has an immutable id; its rows live under the primary index (key: the
// encoded primary key, or for a table without one, the row's own bytes plus a hidden row id;
// value: the encoded row) and each secondary index stores the encoded index columns followed by
// the primary key. Key encodings (package codec) sort exactly as MySQL compares the values, so
// point lookups and range scans are Pebble seeks. The catalog (databases, table definitions,
// views, triggers, procedures, events) lives in the same store under its own prefix.
//
// Transactions. A transaction reads one Pebble snapshot (refreshed per statement under READ
// COMMITTED) merged with its own buffered writes. Before writing a row (or claiming a unique
// value) it takes that key's lock, waiting for another holder (deadlocks and lock-wait timeouts
// fail with MySQL's 1213 and 1205); holding the lock, a row committed after the snapshot fails
// the writer with 1213 instead of being silently overwritten. Locks are held until commit or
// rollback. A statement that fails is undone without ending its transaction; SAVEPOINTs use the
// same undo log. A transaction idle longer than Options.TxnIdleTimeout is rolled back so that
// no snapshot pins old versions forever.
//
// Commit. All writes reach Pebble through package commit, the single place where commits are
// ordered, made durable (one fsync per group of concurrent commits) and made visible; locks are
// released only after that. DDL is not transactional (as in MySQL): it is durable when the
// statement returns and passes through the same pipeline, so a snapshot older than a DDL change
// to a table gets error 1412 rather than an inconsistent view.
//
// Global read lock. FLUSH TABLES WITH READ LOCK is the engine's commit gate (gate.go): every
// transaction commit with writes and every catalog write passes it. Taking the lock waits for
// the changes already past the gate; while it is held, the others wait at the gate (before the
// catalog lock, so readers of the catalog never wait for them), and the holder's own are
// refused with 1223. So while it is held, the store and the binary log stand still.
//
// Invariants:
//   - Nothing a transaction wrote is visible to others before its commit is durable.
//   - A row key is written only by the holder of its lock, and only if no commit newer than the
//     writer's snapshot touched it.
//   - Table data is reachable only through the catalog entry of its id; a table id whose catalog
//     entry is gone holds no data that can be read (dropped ranges are deleted).
//   - While an AutoIncrementReserver is set, every generated AUTO_INCREMENT value lies in a range
//     the reserver granted for that table name, so no value is issued twice across failovers.
package storage

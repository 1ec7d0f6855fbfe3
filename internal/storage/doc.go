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
// Transactions behave as InnoDB's (locks.go, current_read.go). A plain read sees the
// transaction's snapshot, taken by its first plain read (REPEATABLE READ and SERIALIZABLE outside
// locking reads) or refreshed per statement (READ COMMITTED; READ UNCOMMITTED is READ COMMITTED:
// no dirty reads). Locking reads (FOR UPDATE, FOR SHARE / LOCK IN SHARE MODE, SERIALIZABLE
// reads in a transaction, INSERT … SELECT's source rows) and the scans of UPDATE and DELETE are
// current reads: each row is locked (shared or exclusive) and then read at its newest committed
// version, so a statement that waited for a lock acts on what the holder committed and its
// predicate is evaluated on that version. In REPEATABLE READ and SERIALIZABLE such scans also
// lock the gaps of the index ranges they read, up to the next row (next-key locks), and an insert
// into a locked gap waits; at every level a locking scan waits for another transaction's
// uncommitted insert into the range it reads, as InnoDB's scan waits on the uncommitted record. Locks live in memory until commit or rollback; a wait that would
// close a cycle is a deadlock (1213: the lighter transaction is rolled back whole), a wait past
// innodb_lock_wait_timeout fails the statement (1205). A statement that fails is undone without
// ending its transaction; SAVEPOINTs use the same undo log. A transaction idle longer than
// Options.TxnIdleTimeout is rolled back so that no snapshot pins old versions forever.
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
// Errors keep GMS's kinds and texts (GMS's engine tests assert them); what MySQL's texts add is
// noted beside them for the client boundary: the key and entry of a refused duplicate
// (dupkey.go, Session.TakeDuplicateKey). An index GMS creates for a foreign key that had none is
// marked, and replaced by a later index that can serve the key, as MySQL replaces it.
//
// Invariants:
//   - Nothing a transaction wrote is visible to others before its commit is durable.
//   - A row key is written only by the holder of its exclusive lock, and the row written is
//     computed from the newest committed version (a current read), never from an older
//     snapshot: no lost updates. (A write computed from a snapshot read, e.g. in a stored
//     routine, of a row changed since fails with 1213 instead.)
//   - Another transaction's insert never lands in a gap a REPEATABLE READ locking read locked:
//     an insert checks the gaps before it registers its key (lockTable.inserts), a scan checks
//     the registered keys after it locks a gap, both under the lock table's mutex.
//   - Table data is reachable only through the catalog entry of its id; a table id whose catalog
//     entry is gone holds no data that can be read (dropped ranges are deleted).
//   - While an AutoIncrementReserver is set, every generated AUTO_INCREMENT value lies in a range
//     the reserver granted for that table name, so no value is issued twice across failovers.
package storage

package storage

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/relaydb/relaydb/internal/commit"
	"github.com/relaydb/relaydb/internal/storage/codec"

	"github.com/dolthub/go-mysql-server/sql"
)

// CommitLogger turns what storage commits into binary log entries. The server supplies it
// (internal/commitlog); storage knows nothing of the log format. Entries are opaque to storage:
// they ride on the commit request to the pipeline's Log, which writes them in commit order.
type CommitLogger interface {
	// TxnEntry is called on the committing session's goroutine with the transaction's row
	// changes in the order they were made (possibly none: an empty transaction may still need
	// logging, with an explicit gtid_next) and its statements that changed rows. It returns the
	// entry to log (nil: nothing), or skip=true when the transaction must be discarded instead
	// of committed (its GTID has already been executed).
	TxnEntry(ctx *sql.Context, changes []RowChange, statements []StatementLog) (entry any, skip bool, err error)
	// StatementStarted is called when a statement changes its first row, while it runs (so it
	// can raise warnings), and returns what the logger wants to keep about it.
	StatementStarted(ctx *sql.Context) any
	// DDLEntry is called once per statement, at the first catalog write the statement makes, and
	// returns the entry recording the statement (nil: nothing to log). created is the table
	// being created when that write is a CREATE TABLE (nil otherwise).
	DDLEntry(ctx *sql.Context, created *LoggedTable) (any, error)
	// Committed is called on the session's goroutine once entry's commit is durable and visible,
	// before the client hears of it (where semi-sync's AFTER_COMMIT waits for replicas). An error
	// goes to the client, but the transaction stays committed.
	Committed(ctx *sql.Context, entry any) error
}

// RowChange is one row a transaction wrote: Before is nil for an insert, After for a delete.
type RowChange struct {
	Table *LoggedTable
	// Stmt numbers the transaction's statements from 1; changes of one statement are adjacent.
	Stmt          int
	Before, After sql.Row
}

// StatementLog is one statement of a transaction that changed rows.
type StatementLog struct {
	Stmt int // as in RowChange
	// Info is what CommitLogger.StatementStarted returned.
	Info any
	// InsertID is the first AUTO_INCREMENT value the statement generated (0: none).
	InsertID uint64
}

// LoggedTable identifies a table version for the log: a table's definition changes identity
// (a new *LoggedTable) whenever DDL changes it, so callers may cache per pointer.
type LoggedTable struct {
	ID             uint64
	Database, Name string
	Schema         sql.PrimaryKeySchema
}

// logRow records a row change for the binary log when the engine has a commit log.
func (t *txn) logRow(ctx *sql.Context, d *tableDef, before, after sql.Row) {
	if t.e.commitLog == nil {
		return
	}
	if n := len(t.statements); n == 0 || t.statements[n-1].Stmt != t.stmtNo {
		t.statements = append(t.statements, StatementLog{Stmt: t.stmtNo, Info: t.e.commitLog.StatementStarted(ctx), InsertID: t.stmtInsertID})
	}
	if before != nil {
		before = append(sql.Row(nil), before...)
	}
	if after != nil {
		after = append(sql.Row(nil), after...)
	}
	t.changes = append(t.changes, RowChange{Table: d.logged, Stmt: t.stmtNo, Before: before, After: after})
}

// truncateChanges forgets the changes recorded after the first n, and the statements that made
// them (statement or savepoint rollback).
func (t *txn) truncateChanges(n int) {
	if n < len(t.changes) {
		clear(t.changes[n:])
		t.changes = t.changes[:n]
	}
	keep := len(t.statements)
	for keep > 0 && (n == 0 || t.statements[keep-1].Stmt > t.changes[n-1].Stmt) {
		keep--
	}
	clear(t.statements[keep:])
	t.statements = t.statements[:keep]
}

// noteInsertID records the first AUTO_INCREMENT value the running statement generated.
func (t *txn) noteInsertID(v uint64) {
	if t.stmtInsertID == 0 {
		t.stmtInsertID = v
		if n := len(t.statements); n > 0 && t.statements[n-1].Stmt == t.stmtNo && t.statements[n-1].InsertID == 0 {
			t.statements[n-1].InsertID = v
		}
	}
}

// LogState returns the state the commit log last stored with a commit (nil if none): what the
// store holds, so recovery knows which logged transactions it must replay.
func (e *Engine) LogState() ([]byte, error) {
	v, closer, err := e.db.Get(logStateKey())
	if err == pebble.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read commit log state: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// CommitLog is a binary log that is the store's commit log.
type CommitLog interface {
	commit.Log
	CommitLogger
}

// AttachLog makes l the commit log (see commit.Pipeline.SetLog) and the recorder of every
// commit and DDL statement. Call it before the first commit.
func (e *Engine) AttachLog(l CommitLog) {
	e.commitLog = l
	e.pipeline.SetLog(l, logStateKey())
}

// LookupRow returns the stored row whose primary key columns equal key's (other columns of key
// are ignored), as the session's transaction sees it. The binlog applier uses it to complete
// the partial before image of a row event logged with binlog_row_image=MINIMAL. Tables without
// a primary key cannot be looked up this way (MySQL logs every column for them).
func (t *Table) LookupRow(ctx *sql.Context, key sql.Row) (sql.Row, bool, error) {
	tx, ok := ctx.GetTransaction().(*txn)
	if !ok || tx == nil || tx.e != t.e {
		return nil, false, fmt.Errorf("lookup in %s outside a transaction", t.Name())
	}
	d := t.def
	if d.hasHiddenPK() {
		return nil, false, fmt.Errorf("table %s has no primary key to look rows up by", t.Name())
	}
	pk, err := d.pkKey(nil, key)
	if err != nil {
		return nil, false, err
	}
	v, exists, err := tx.get(pk)
	if err != nil || !exists {
		return nil, false, err
	}
	row, err := codec.DecodeRow(d.schema.Schema, v, nil)
	return row, err == nil, err
}

// SyncLogState commits an empty transaction durably, so the store records the commit log's
// current state (after RESET MASTER, say).
func (e *Engine) SyncLogState() error {
	b := e.db.NewBatch()
	defer b.Close()
	if _, err := e.pipeline.Commit(&commit.Request{Batch: b, Durable: true}); err != nil {
		return storageWriteError(err)
	}
	return nil
}

// CommitLogEntry commits entry, a binary log entry the commit log built for a change that is
// not in the store (an account statement: users and privileges live in the node's own file),
// durably through the commit pipeline: it gets a GTID and its place in commit order like any
// transaction, and the store records the log's state with it.
func (e *Engine) CommitLogEntry(ctx *sql.Context, entry any) error {
	if entry == nil {
		return nil
	}
	b := e.db.NewBatch()
	defer b.Close()
	if _, err := e.pipeline.Commit(&commit.Request{Batch: b, Log: entry, Durable: true}); err != nil {
		return storageWriteError(err)
	}
	if cl := e.commitLog; cl != nil {
		return cl.Committed(ctx, entry)
	}
	return nil
}

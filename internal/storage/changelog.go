package storage

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/relaydb/relaydb/internal/commit"

	"github.com/dolthub/go-mysql-server/sql"
)

// CommitLogger turns what storage commits into binary log entries. The server supplies it
// (internal/commitlog); storage knows nothing of the log format. Entries are opaque to storage:
// they ride on the commit request to the pipeline's Log, which writes them in commit order.
type CommitLogger interface {
	// TxnEntry is called on the committing session's goroutine with the transaction's row
	// changes in the order they were made (possibly none: an empty transaction may still need
	// logging, with an explicit gtid_next). It returns the entry to log (nil: nothing), or
	// skip=true when the transaction must be discarded instead of committed (its GTID has
	// already been executed).
	TxnEntry(ctx *sql.Context, changes []RowChange) (entry any, skip bool, err error)
	// DDLEntry is called once per statement, at the first catalog write the statement makes, and
	// returns the entry recording the statement (nil: nothing to log).
	DDLEntry(ctx *sql.Context) (any, error)
}

// RowChange is one row a transaction wrote: Before is nil for an insert, After for a delete.
type RowChange struct {
	Table *LoggedTable
	// Stmt numbers the transaction's statements from 1; changes of one statement are adjacent.
	Stmt          int
	Before, After sql.Row
}

// LoggedTable identifies a table version for the log: a table's definition changes identity
// (a new *LoggedTable) whenever DDL changes it, so callers may cache per pointer.
type LoggedTable struct {
	ID             uint64
	Database, Name string
	Schema         sql.PrimaryKeySchema
}

// loggedTable returns the definition's LoggedTable, made once.
func (d *tableDef) loggedTable() *LoggedTable {
	d.logOnce.Do(func() {
		d.logged = &LoggedTable{ID: d.meta.ID, Database: d.meta.DB, Name: d.meta.Name, Schema: d.schema}
	})
	return d.logged
}

// logTable is the lazily made LoggedTable of a tableDef (embedded there).
type logTable struct {
	logOnce sync.Once
	logged  *LoggedTable
}

// logRow records a row change for the binary log when the engine has a CommitLogger.
func (t *txn) logRow(d *tableDef, before, after sql.Row) {
	if t.e.opts.CommitLog == nil {
		return
	}
	if before != nil {
		before = append(sql.Row(nil), before...)
	}
	if after != nil {
		after = append(sql.Row(nil), after...)
	}
	t.changes = append(t.changes, RowChange{Table: d.loggedTable(), Stmt: t.stmtNo, Before: before, After: after})
}

// truncateChanges forgets the changes recorded after the first n (statement or savepoint
// rollback).
func (t *txn) truncateChanges(n int) {
	if n < len(t.changes) {
		clear(t.changes[n:])
		t.changes = t.changes[:n]
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

// AttachLog makes l the commit log (see commit.Pipeline.SetLog). Call it before the first
// commit.
func (e *Engine) AttachLog(l commit.Log) { e.pipeline.SetLog(l, logStateKey()) }

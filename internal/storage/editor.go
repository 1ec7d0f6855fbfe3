package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/storage/codec"
)

// WriteGuard decides whether a session may write (read_only enforcement); the server supplies it.
type WriteGuard func(ctx *sql.Context) error

// editor applies INSERT, UPDATE, DELETE and REPLACE rows to the session's transaction. Every
// row key it writes is locked first; unique indexes are checked against the transaction's view
// and locked by value, so two transactions cannot both insert the same unique value.
type editor struct {
	t *Table
}

var (
	_ sql.TableEditor      = (*editor)(nil)
	_ sql.ForeignKeyEditor = (*editor)(nil)
)

func (t *Table) Inserter(*sql.Context) sql.RowInserter { return &editor{t: t} }
func (t *Table) Updater(*sql.Context) sql.RowUpdater   { return &editor{t: t} }
func (t *Table) Deleter(*sql.Context) sql.RowDeleter   { return &editor{t: t} }
func (t *Table) Replacer(*sql.Context) sql.RowReplacer { return &editor{t: t} }

// GetForeignKeyEditor implements sql.ForeignKeyTable.
func (t *Table) GetForeignKeyEditor(*sql.Context) sql.ForeignKeyEditor { return &editor{t: t} }

// IndexedAccess implements sql.IndexAddressable for foreign key checks and cascades, which must
// see every write so far, including the running statement's own (a self-referencing row).
func (ed *editor) IndexedAccess(ctx *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	return &indexedTable{Table: ed.t, lookup: lookup, view: viewLatest}
}
func (ed *editor) GetIndexes(ctx *sql.Context) ([]sql.Index, error) { return ed.t.GetIndexes(ctx) }
func (ed *editor) PreciseMatch() bool                               { return true }

func (ed *editor) txn(ctx *sql.Context) (*txn, error) {
	tx, ok := ctx.GetTransaction().(*txn)
	if !ok || tx == nil || tx.e != ed.t.e {
		return nil, fmt.Errorf("write to %s outside a transaction", ed.t.Name())
	}
	if tx.done.Load() {
		return nil, errTxnExpired
	}
	if tx.snap != nil {
		// Writes take no snapshot (only a plain read establishes the read view, as in InnoDB);
		// one already taken must not predate the table.
		if err := ed.t.checkVisible(tx); err != nil {
			return nil, err
		}
	}
	return tx, nil
}

func (ed *editor) StatementBegin(ctx *sql.Context) {
	if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil {
		tx.beginStatement()
	}
}

func (ed *editor) DiscardChanges(ctx *sql.Context, _ error) error {
	if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil {
		tx.discardStatement()
	}
	return nil
}

func (ed *editor) StatementComplete(ctx *sql.Context) error {
	if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil {
		tx.completeStatement()
	}
	return nil
}

func (ed *editor) Close(*sql.Context) error { return nil }

func (ed *editor) guard(ctx *sql.Context) error {
	if g := ed.t.e.opts.WriteGuard; g != nil {
		return g(ctx)
	}
	return nil
}

// lock takes key's exclusive lock for tx. The editor then reads the key's newest committed
// version (getLatest): InnoDB's current read, so a writer that waited acts on what the holder
// committed.
func (ed *editor) lock(ctx *sql.Context, tx *txn, key []byte) error {
	_, err := ed.t.e.locks.acquire(tx, string(key), lockExclusive, lockWaitTimeout(ctx, ed.t.e.opts.LockWaitTimeout))
	return err
}

// mayInsert waits while another transaction holds a gap lock around key (an index key about to
// be inserted): InnoDB's insert intention.
func (ed *editor) mayInsert(ctx *sql.Context, tx *txn, key []byte) error {
	return ed.t.e.locks.waitInsert(tx, key, lockWaitTimeout(ctx, ed.t.e.opts.LockWaitTimeout))
}

// Insert implements sql.RowInserter.
func (ed *editor) Insert(ctx *sql.Context, row sql.Row) error {
	if err := ed.guard(ctx); err != nil {
		return err
	}
	tx, err := ed.txn(ctx)
	if err != nil {
		return err
	}
	if err := ed.insert(ctx, tx, row); err != nil {
		return err
	}
	tx.logRow(ctx, ed.t.def, nil, row)
	return nil
}

func (ed *editor) insert(ctx *sql.Context, tx *txn, row sql.Row) error {
	d := ed.t.def
	var pk []byte
	var err error
	if d.hasHiddenPK() {
		id, err := ed.t.nextRowID(ctx)
		if err != nil {
			return err
		}
		if pk, err = d.hiddenRowPrefix(nil, row); err != nil {
			return err
		}
		pk = binary.BigEndian.AppendUint64(pk, id)
	} else {
		if pk, err = d.pkKey(nil, row); err != nil {
			return err
		}
		if err := ed.lock(ctx, tx, pk); err != nil {
			return err
		}
		v, exists, err := tx.getLatest(pk, true)
		if err != nil {
			return err
		}
		if exists {
			existing, err := codec.DecodeRow(d.schema.Schema, v, nil)
			if err != nil {
				return err
			}
			return d.uniqueKeyErr(ctx, row, nil, existing)
		}
	}
	for _, idx := range d.indexes {
		if err := ed.checkUnique(ctx, tx, idx, row, nil); err != nil {
			return err
		}
	}
	val, err := codec.AppendRow(nil, d.schema.Schema, row)
	if err != nil {
		return err
	}
	if err := ed.mayInsert(ctx, tx, pk); err != nil {
		return err
	}
	entries := make([][]byte, 0, len(d.indexes))
	for _, idx := range d.indexes {
		k, _, err := d.indexEntryPrefix(nil, idx, row)
		if err != nil {
			return err
		}
		k = append(k, pkSuffix(pk)...)
		if err := ed.mayInsert(ctx, tx, k); err != nil {
			return err
		}
		entries = append(entries, k)
	}
	tx.put(pk, val)
	d.state.rows.Add(1)
	for _, k := range entries {
		tx.put(k, nil)
	}
	return nil
}

// checkUnique locks row's value in a unique index and fails with GMS's unique-key error (carrying
// the existing row) if another row holds it. self is the row's own primary key when updating.
func (ed *editor) checkUnique(ctx *sql.Context, tx *txn, idx *indexDef, row sql.Row, self []byte) error {
	if !idx.unique {
		return nil
	}
	d := ed.t.def
	p, hasNull, err := d.indexEntryPrefix(nil, idx, row)
	if err != nil {
		return err
	}
	if hasNull {
		return nil // NULLs never collide in a unique index
	}
	if err := ed.lock(ctx, tx, p); err != nil {
		return err
	}
	it, err := tx.iterOver(p, prefixEnd(p), viewLive, true)
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		suffix, err := d.indexSuffix(idx, it.Key())
		if err != nil {
			return err
		}
		if self != nil && bytes.Equal(suffix, pkSuffix(self)) {
			continue
		}
		pk := append(indexPrefix(nil, d.id(), primaryIndexID), suffix...)
		v, ok, err := tx.getLatest(pk, true)
		if err != nil {
			return err
		}
		var existing sql.Row
		if ok {
			if existing, err = codec.DecodeRow(d.schema.Schema, v, nil); err != nil {
				return err
			}
		}
		return d.uniqueKeyErr(ctx, row, idx, existing)
	}
	return it.Close()
}

// rowKey finds the stored key of row: its primary key, or for a keyless table the key of one
// stored copy of it.
func (ed *editor) rowKey(tx *txn, row sql.Row) ([]byte, bool, error) {
	d := ed.t.def
	if !d.hasHiddenPK() {
		pk, err := d.pkKey(nil, row)
		return pk, true, err
	}
	p, err := d.hiddenRowPrefix(nil, row)
	if err != nil {
		return nil, false, err
	}
	it, err := tx.iterOver(p, prefixEnd(p), viewLive, true)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(it.Key()) == len(p)+8 {
			return bytes.Clone(it.Key()), true, nil
		}
	}
	return nil, false, it.Close()
}

// Delete implements sql.RowDeleter.
func (ed *editor) Delete(ctx *sql.Context, row sql.Row) error {
	if err := ed.guard(ctx); err != nil {
		return err
	}
	tx, err := ed.txn(ctx)
	if err != nil {
		return err
	}
	stored, err := ed.delete(ctx, tx, row)
	if stored != nil {
		tx.logRow(ctx, ed.t.def, stored, nil)
	}
	return err
}

// delete removes row and returns it as it was stored; nil when there was nothing to delete.
func (ed *editor) delete(ctx *sql.Context, tx *txn, row sql.Row) (sql.Row, error) {
	d := ed.t.def
	pk, found, err := ed.rowKey(tx, row)
	if err != nil || !found {
		return nil, err
	}
	if err := ed.lock(ctx, tx, pk); err != nil {
		return nil, err
	}
	// Delete what is stored (the row given may differ in ways the key does not capture).
	v, exists, err := tx.getLatest(pk, true)
	if err != nil || !exists {
		return nil, err
	}
	stored, err := codec.DecodeRow(d.schema.Schema, v, nil)
	if err != nil {
		return nil, err
	}
	tx.del(pk)
	d.state.rows.Add(-1)
	for _, idx := range d.indexes {
		k, _, err := d.indexEntryPrefix(nil, idx, stored)
		if err != nil {
			return nil, err
		}
		tx.del(append(k, pkSuffix(pk)...))
	}
	return stored, nil
}

// Update implements sql.RowUpdater.
func (ed *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	if err := ed.guard(ctx); err != nil {
		return err
	}
	tx, err := ed.txn(ctx)
	if err != nil {
		return err
	}
	before, err := ed.update(ctx, tx, old, new)
	if err == nil && before != nil {
		tx.logRow(ctx, ed.t.def, before, new)
	}
	return err
}

// update replaces old by new and returns the row as it was stored (nil when it was gone).
func (ed *editor) update(ctx *sql.Context, tx *txn, old, new sql.Row) (sql.Row, error) {
	d := ed.t.def
	if d.hasHiddenPK() {
		return ed.moveRow(ctx, tx, old, new)
	}
	oldPK, err := d.pkKey(nil, old)
	if err != nil {
		return nil, err
	}
	newPK, err := d.pkKey(nil, new)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(oldPK, newPK) {
		return ed.moveRow(ctx, tx, old, new)
	}
	if err := ed.lock(ctx, tx, oldPK); err != nil {
		return nil, err
	}
	v, exists, err := tx.getLatest(oldPK, true)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil // deleted earlier in this statement
	}
	if err := ed.checkNotStale(tx, old, v); err != nil {
		return nil, err
	}
	stored, err := codec.DecodeRow(d.schema.Schema, v, nil)
	if err != nil {
		return nil, err
	}
	for _, idx := range d.indexes {
		oldK, _, err := d.indexEntryPrefix(nil, idx, stored)
		if err != nil {
			return nil, err
		}
		nk, _, err := d.indexEntryPrefix(nil, idx, new)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(oldK, nk) {
			continue
		}
		if err := ed.checkUnique(ctx, tx, idx, new, oldPK); err != nil {
			return nil, err
		}
		if err := ed.mayInsert(ctx, tx, append(nk, pkSuffix(oldPK)...)); err != nil {
			return nil, err
		}
		tx.del(append(oldK, pkSuffix(oldPK)...))
		tx.put(append(nk, pkSuffix(oldPK)...), nil)
	}
	val, err := codec.AppendRow(nil, d.schema.Schema, new)
	if err != nil {
		return nil, err
	}
	tx.put(oldPK, val)
	return stored, nil
}

// checkNotStale refuses (1213) to update a row the statement read from its snapshot when the
// row changed since: the new row was computed from a version that is no longer the newest.
// Statements that read with current reads (every UPDATE and DELETE scan) never meet this; it
// guards the paths that read consistently (stored routines, triggers) from losing an update.
func (ed *editor) checkNotStale(tx *txn, old sql.Row, stored []byte) error {
	if n, ok := tx.consistentScan[ed.t.def.id()]; !ok || n != tx.stmtNo {
		return nil
	}
	enc, err := codec.AppendRow(nil, ed.t.def.schema.Schema, old)
	if err != nil || bytes.Equal(enc, stored) {
		return nil
	}
	return errWriteConflict
}

// moveRow updates a row whose key changes (or that has no primary key) as a delete and an insert.
func (ed *editor) moveRow(ctx *sql.Context, tx *txn, old, new sql.Row) (sql.Row, error) {
	stored, err := ed.delete(ctx, tx, old)
	if err != nil {
		return nil, err
	}
	if err := ed.insert(ctx, tx, new); err != nil {
		return nil, err
	}
	if stored == nil {
		stored = old
	}
	return stored, nil
}

// Truncate implements sql.TruncateableTable: the table gets a new, empty id (not transactional,
// as in MySQL where TRUNCATE is DDL).
//
// GMS also turns DELETE FROM t without a WHERE into a Truncate. In MySQL that DELETE is DML: it
// takes row locks, is undone by ROLLBACK and is logged as row deletions. So when the statement
// is a DELETE, the rows are deleted one by one in the transaction instead.
func (t *Table) Truncate(ctx *sql.Context) (int, error) {
	if firstWord(ctx.Query()) == "delete" {
		return t.deleteAllRows(ctx)
	}
	if g := t.e.opts.WriteGuard; g != nil {
		if err := g(ctx); err != nil {
			return 0, err
		}
	}
	n, err := t.countRows(ctx)
	if err != nil {
		return 0, err
	}
	def, err := t.current()
	if err != nil {
		return 0, err
	}
	nd, err := t.e.cloneDef(def, t.e.newTableID())
	if err != nil {
		return 0, err
	}
	nd.meta.AutoIncFloor = 0
	if err := t.e.putTable(ctx, nd, "", def.id()); err != nil {
		return 0, err
	}
	t.e.afterDDL(ctx)
	return int(n), nil
}

func formatKey(row sql.Row, ords []int) string {
	parts := make([]string, len(ords))
	for i, o := range ords {
		parts[i] = fmt.Sprint(row[o])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// deleteAllRows deletes every row of the table in the session's transaction, as one statement
// (undone as a whole if it fails), and returns how many it deleted.
func (t *Table) deleteAllRows(ctx *sql.Context) (n int, err error) {
	ed := &editor{t: t}
	ed.StatementBegin(ctx)
	defer func() {
		if err != nil {
			_ = ed.DiscardChanges(ctx, err)
		} else {
			err = ed.StatementComplete(ctx)
		}
	}()
	part, err := t.Partitions(ctx)
	if err != nil {
		return 0, err
	}
	p, err := part.Next(ctx)
	if err != nil {
		return 0, err
	}
	it, err := t.PartitionRows(ctx, p)
	if err != nil {
		return 0, err
	}
	defer it.Close(ctx)
	for {
		row, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := ed.Delete(ctx, row); err != nil {
			return n, err
		}
		n++
	}
}

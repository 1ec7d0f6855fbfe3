package storage

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/storage/codec"

	"github.com/relaydb/relaydb/internal/sqlval"
)

// Table is a GMS table backed by the engine. A Table value captures the table definition as of
// the statement that obtained it; DDL methods always act on the catalog's current definition.
type Table struct {
	e   *Engine
	db  *Database
	def *tableDef
}

var (
	_ sql.Table                    = (*Table)(nil)
	_ sql.InsertableTable          = (*Table)(nil)
	_ sql.UpdatableTable           = (*Table)(nil)
	_ sql.DeletableTable           = (*Table)(nil)
	_ sql.ReplaceableTable         = (*Table)(nil)
	_ sql.TruncateableTable        = (*Table)(nil)
	_ sql.IndexAddressableTable    = (*Table)(nil)
	_ sql.AutoIncrementTable       = (*Table)(nil)
	_ sql.CommentedTable           = (*Table)(nil)
	_ sql.PrimaryKeyTable          = (*Table)(nil)
	_ sql.StatisticsTable          = (*Table)(nil)
	_ sql.Databaseable             = (*Table)(nil)
	_ sql.ForeignKeyTable          = (*Table)(nil)
	_ sql.CheckTable               = (*Table)(nil)
	_ sql.CheckAlterableTable      = (*Table)(nil)
	_ sql.AlterableTable           = (*Table)(nil)
	_ sql.RewritableTable          = (*Table)(nil)
	_ sql.IndexAlterableTable      = (*Table)(nil)
	_ sql.PrimaryKeyAlterableTable = (*Table)(nil)
	_ sql.CollationAlterableTable  = (*Table)(nil)
	_ sql.CommentAlterableTable    = (*Table)(nil)
)

func (t *Table) Name() string                                       { return t.def.meta.Name }
func (t *Table) String() string                                     { return t.def.meta.Name }
func (t *Table) Database() string                                   { return t.def.meta.DB }
func (t *Table) Schema(*sql.Context) sql.Schema                     { return t.def.schema.Schema }
func (t *Table) PrimaryKeySchema(*sql.Context) sql.PrimaryKeySchema { return t.def.schema }
func (t *Table) Collation() sql.CollationID                         { return sql.CollationID(t.def.meta.Collation) }
func (t *Table) Comment() string                                    { return t.def.meta.Comment }

// CreateTime is when CREATE TABLE made the table; ok is false for tables made before RelayDB
// recorded it.
func (t *Table) CreateTime() (created time.Time, ok bool) {
	if t.def.meta.Created == 0 {
		return time.Time{}, false
	}
	return time.Unix(t.def.meta.Created, 0), true
}

// IsTemporary implements sql.TemporaryTable. Our tables are never temporary; GMS's read-only
// transaction check assumes every table implements this interface.
func (t *Table) IsTemporary() bool { return false }

// Partitions implements sql.Table: a table is one partition.
func (t *Table) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return &partitionIter{parts: []sql.Partition{scanPartition{}}}, nil
}

// PartitionRows implements sql.Table.
func (t *Table) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	switch p := p.(type) {
	case scanPartition:
		lo := indexPrefix(nil, t.def.id(), primaryIndexID)
		return t.newRowIter(ctx, []keySpan{{lo: lo, hi: prefixEnd(lo)}}, nil, nil)
	case *lookupPartition:
		return t.lookupRows(ctx, p)
	default:
		return nil, fmt.Errorf("unexpected partition %T", p)
	}
}

// RowCount implements sql.StatisticsTable with an estimate for the planner (never reported as
// exact, so COUNT(*) still reads the transaction's snapshot). The first call counts the table;
// afterwards inserts and deletes adjust the estimate (rolled-back ones too, so it can drift).
func (t *Table) RowCount(ctx *sql.Context) (uint64, bool, error) {
	st := t.def.state
	if !st.rowsKnown.Load() {
		n, err := t.countCommittedRows()
		if err != nil {
			return 0, false, err
		}
		if st.rowsKnown.CompareAndSwap(false, true) {
			st.rows.Store(int64(n))
		}
	}
	n := st.rows.Load()
	if n < 0 {
		n = 0
	}
	return uint64(n), false, nil
}

// countCommittedRows counts the table's committed rows, for the planner's estimate. It reads the
// newest data, not the transaction's snapshot: planning must not establish the read view (in
// InnoDB, a transaction's first plain read does).
func (t *Table) countCommittedRows() (uint64, error) {
	lo := indexPrefix(nil, t.def.id(), primaryIndexID)
	it, err := t.e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return 0, err
	}
	var n uint64
	for ok := it.First(); ok; ok = it.NextPrefix() {
		n++
	}
	return n, it.Close()
}

// countRows counts the rows visible to the statement's transaction.
func (t *Table) countRows(ctx *sql.Context) (uint64, error) {
	tx, temp := txnFor(ctx, t.e)
	if temp {
		defer t.e.rollbackTxn(tx)
	}
	lo := indexPrefix(nil, t.def.id(), primaryIndexID)
	it, err := tx.iter(lo, prefixEnd(lo))
	if err != nil {
		return 0, err
	}
	var n uint64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Close()
}

// DataLength implements sql.StatisticsTable with an estimate from the row count.
func (t *Table) DataLength(ctx *sql.Context) (uint64, error) {
	n, _, err := t.RowCount(ctx)
	if err != nil {
		return 0, err
	}
	return n * uint64(16+8*len(t.def.schema.Schema)), nil
}

type scanPartition struct{}

func (scanPartition) Key() []byte { return []byte("all") }

type partitionIter struct {
	parts []sql.Partition
	i     int
}

func (p *partitionIter) Next(*sql.Context) (sql.Partition, error) {
	if p.i >= len(p.parts) {
		return nil, io.EOF
	}
	p.i++
	return p.parts[p.i-1], nil
}

func (p *partitionIter) Close(*sql.Context) error { return nil }

type keySpan struct {
	lo, hi []byte
	point  bool // lo is the only key the span can hold
	exact  bool // every key in the span matches the lookup (no row filter needed)
	// equal: every index column given is compared for equality (a locking read then locks only
	// the gap after the matches, not the next row); uniqueEqual: and the index is a unique
	// secondary index with all its columns given (a match locks only its row).
	equal, uniqueEqual bool
}

// rowIter walks key spans of one index in order and returns table rows. For a secondary index
// it fetches each row by primary key. filter, if set, drops rows outside the lookup's ranges.
type rowIter struct {
	t         *Table
	tx        *txn
	temporary bool
	spans     []keySpan
	idx       *indexDef
	filter    sql.Expression
	mode      readMode // a snapshot read, or a current read locking each row
	view      viewMode // which of the transaction's own writes the scan sees
	cols      []int    // if set, only these columns are decoded
	it        *mergeIter
	started   bool
	row       sql.Row
	blocks    codec.RowBlocks // where decoded rows live
	// Current reads only: the span being scanned, whether the iterator's position has not been
	// returned yet (after a reopen), whether the span matched a row, and the key just after the
	// span, locked when the span ends (next-key locking).
	span      keySpan
	primed    bool
	spanFound bool
	nextAfter []byte
	gapFrom   []byte // the lower end of the next gap to lock (nil: no gap locking)
}

func (t *Table) newRowIter(ctx *sql.Context, spans []keySpan, idx *indexDef, filter sql.Expression) (*rowIter, error) {
	tx, temp := txnFor(ctx, t.e)
	mode := readConsistent
	if !temp {
		mode = statementReadMode(ctx, tx)
	}
	if mode == readConsistent || tx.snap != nil {
		if err := t.checkVisible(tx); err != nil {
			if temp {
				t.e.rollbackTxn(tx)
			}
			return nil, err
		}
	}
	if mode == readConsistent && !temp && tx.stmtMark >= 0 {
		// A writing statement reading this table from its snapshot (e.g. inside a stored
		// routine): the editor must not write rows of it that changed since.
		if tx.consistentScan == nil {
			tx.consistentScan = make(map[uint64]int)
		}
		tx.consistentScan[t.def.id()] = tx.stmtNo
	}
	return &rowIter{t: t, tx: tx, temporary: temp, spans: spans, idx: idx, filter: filter, mode: mode}, nil
}

// checkVisible refuses to read a table created or rewritten after the transaction's snapshot.
func (t *Table) checkVisible(tx *txn) error {
	if err := tx.ensureSnapshot(); err != nil {
		return err
	}
	if t.def.createdSeq > tx.snapSeq {
		return errTableDefChanged
	}
	return nil
}

func (r *rowIter) Next(ctx *sql.Context) (sql.Row, error) {
	if r.mode != readConsistent {
		return r.nextLocked(ctx)
	}
	for {
		if r.it == nil {
			sp, row, err := r.startSpan(ctx)
			if err != nil || row != nil {
				return row, err
			}
			if sp == nil {
				continue // a point span, done
			}
			it, err := r.tx.iterView(sp.lo, sp.hi, r.view)
			if err != nil {
				return nil, err
			}
			r.it = it
			if !it.First() {
				if err := r.closeIter(); err != nil {
					return nil, err
				}
				continue
			}
		} else if !r.it.Next() {
			if err := r.closeIter(); err != nil {
				return nil, err
			}
			continue
		}
		row, err := r.current()
		if err != nil {
			return nil, err
		}
		if row == nil {
			continue
		}
		if row, err = r.filtered(ctx, row); err != nil || row != nil {
			return row, err
		}
	}
}

// startSpan takes the next span. A point span is read at once (a snapshot or a current read,
// as the scan reads): startSpan returns its row, or neither row nor span when it holds none.
// Otherwise it returns the span, for the caller to scan. With no span left it returns io.EOF.
func (r *rowIter) startSpan(ctx *sql.Context) (*keySpan, sql.Row, error) {
	if len(r.spans) == 0 {
		return nil, nil, io.EOF
	}
	sp := r.spans[0]
	r.spans = r.spans[1:]
	if !sp.point {
		return &sp, nil, nil
	}
	var row sql.Row
	var err error
	if r.mode == readConsistent {
		row, err = r.pointRow(ctx, sp.lo)
	} else {
		row, err = r.lockedPoint(ctx, sp.lo)
	}
	return nil, row, err
}

// pointRow reads the row stored under key, if any, and applies the filter and locking.
func (r *rowIter) pointRow(ctx *sql.Context, key []byte) (sql.Row, error) {
	var row sql.Row
	ok, err := r.tx.getWith(key, func(v []byte) (err error) {
		row, err = r.decode(v) // the decoded row copies what it keeps of v
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return r.filtered(ctx, row)
}

// current decodes the row at the iterator position.
func (r *rowIter) current() (sql.Row, error) {
	d := r.t.def
	if r.idx == nil {
		return r.decode(r.it.Value())
	}
	key := r.it.Key()
	suffix, err := d.indexSuffix(r.idx, key)
	if err != nil {
		return nil, err
	}
	pk := append(indexPrefix(nil, d.id(), primaryIndexID), suffix...)
	var row sql.Row
	ok, err := r.tx.getWith(pk, func(v []byte) (err error) {
		row, err = r.decode(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("table %s: index %s entry %x points at a missing row", d.name(), r.idx.meta.Name, key)
	}
	return row, nil
}

// decodeFull decodes every column of a stored row.
func (r *rowIter) decodeFull(v []byte) (sql.Row, error) {
	return codec.DecodeRow(r.t.def.schema.Schema, v, nil)
}

// decode decodes a stored row: all of it, or only r.cols.
func (r *rowIter) decode(v []byte) (sql.Row, error) {
	if r.cols != nil {
		return r.blocks.DecodeRowColumns(r.t.def.schema.Schema, v, r.cols)
	}
	return r.blocks.DecodeRow(r.t.def.schema.Schema, v)
}

// indexSuffix returns the primary key suffix stored after the index columns of an index key.
func (d *tableDef) indexSuffix(idx *indexDef, key []byte) ([]byte, error) {
	p := key[indexPrefixLen:]
	for _, o := range idx.cols {
		n, err := codec.KeyLen(d.schema.Schema[o].Type, p)
		if err != nil {
			return nil, fmt.Errorf("table %s index %s: corrupt entry %x: %w", d.name(), idx.meta.Name, key, err)
		}
		p = p[n:]
	}
	return p, nil
}

func (r *rowIter) closeIter() error {
	if r.it == nil {
		return nil
	}
	err := r.it.Close()
	r.it = nil
	return err
}

func (r *rowIter) Close(*sql.Context) error {
	err := r.closeIter()
	if r.temporary {
		r.t.e.rollbackTxn(r.tx)
	}
	return err
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable. Given nil it hands out the next
// value honouring auto_increment_increment and auto_increment_offset; given an explicit value
// it moves the counter past it. The counter is not transactional (as in MySQL). While the engine
// has an AutoIncrementReserver, a generated value (not one forced by SET INSERT_ID) always lies
// in a range the reserver granted this table; explicit and replicated values never reserve.
func (t *Table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	st := t.def.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := t.loadCountersLocked(ctx); err != nil {
		return 0, err
	}
	if insertVal != nil {
		// GMS uses the given value and checks its range afterwards; a value the column cannot
		// hold must not move the counter, or every later generated value would fail too.
		if t.def.autoIncOr >= 0 {
			if _, inRange, err := t.def.schema.Schema[t.def.autoIncOr].Type.Convert(ctx, insertVal); err != nil || inRange != sql.InRange {
				return 0, nil
			}
		}
		v, err := toUint64(insertVal)
		if err != nil {
			return 0, nil
		}
		if v >= st.nextAuto {
			st.nextAuto = v + 1
		}
		return v, nil
	}
	inc, off := autoIncrementSettings(ctx)
	v := nextInSeries(st.nextAuto, inc, off)
	if forced := takeInsertID(ctx); forced > 0 {
		v = forced // SET INSERT_ID (statement-based replication): the value the source generated
	} else if r := t.e.reserver.Load(); r != nil {
		var err error
		if v, err = t.reserveLocked(ctx, r, v, inc, off); err != nil {
			return 0, err
		}
	}
	if v >= st.nextAuto {
		st.nextAuto = v + 1
	}
	if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil {
		tx.noteInsertID(v)
	}
	return v, nil
}

// takeInsertID returns the session's insert_id (the value SET INSERT_ID gave the next
// generated AUTO_INCREMENT value) and clears it, as MySQL uses it once.
func takeInsertID(ctx *sql.Context) uint64 {
	if ctx == nil || ctx.Session == nil {
		return 0
	}
	v, err := ctx.GetSessionVariable(ctx, "insert_id")
	if err != nil {
		return 0
	}
	n, err := toUint64(v)
	if err != nil || n == 0 {
		return 0
	}
	_ = ctx.SetSessionVariable(ctx, "insert_id", int64(0))
	return n
}

// nextInSeries returns the smallest value >= from of the form offset + k*increment (k >= 0).
func nextInSeries(from, inc, off uint64) uint64 {
	if inc <= 1 {
		if from < 1 {
			return 1
		}
		return from
	}
	if off > inc {
		off = 1 // MySQL ignores an offset larger than the increment
	}
	if from <= off {
		return off
	}
	k := (from - off + inc - 1) / inc
	return off + k*inc
}

func autoIncrementSettings(ctx *sql.Context) (inc, off uint64) {
	inc, off = 1, 1
	if ctx == nil || ctx.Session == nil {
		return
	}
	if v, err := ctx.GetSessionVariable(ctx, "auto_increment_increment"); err == nil {
		if n, err := toUint64(v); err == nil && n > 0 {
			inc = n
		}
	}
	if v, err := ctx.GetSessionVariable(ctx, "auto_increment_offset"); err == nil {
		if n, err := toUint64(v); err == nil && n > 0 {
			off = n
		}
	}
	return
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *Table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	st := t.def.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := t.loadCountersLocked(ctx); err != nil {
		return 0, err
	}
	if t.def.autoIncOr < 0 {
		return 0, nil
	}
	// Once the counter passes the column's maximum, MySQL shows the maximum.
	if _, inRange, err := t.def.schema.Schema[t.def.autoIncOr].Type.Convert(ctx, st.nextAuto); err == nil && inRange != sql.InRange && st.nextAuto > 0 {
		return st.nextAuto - 1, nil
	}
	return st.nextAuto, nil
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(ctx *sql.Context) sql.AutoIncrementSetter {
	return &autoIncSetter{t: t}
}

type autoIncSetter struct{ t *Table }

func (s *autoIncSetter) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	return s.t.setAutoIncrement(ctx, v)
}
func (s *autoIncSetter) AcquireAutoIncrementLock(ctx *sql.Context) (func(), error) {
	return func() {}, nil
}
func (s *autoIncSetter) Close(*sql.Context) error { return nil }

// setAutoIncrement handles ALTER TABLE … AUTO_INCREMENT = v: the counter never goes below the
// largest existing value, and the floor is persisted.
func (t *Table) setAutoIncrement(ctx *sql.Context, v uint64) error {
	def, err := t.current()
	if err != nil {
		return err
	}
	st := def.state
	st.mu.Lock()
	if err := t.loadCountersLocked(ctx); err != nil {
		st.mu.Unlock()
		return err
	}
	if v > st.nextAuto {
		st.nextAuto = v
	}
	st.mu.Unlock()
	nd := *def
	nd.meta.AutoIncFloor = v
	return t.e.putTable(ctx, &nd, "", 0)
}

// loadCountersLocked initialises the table's counters from its data on first use: the
// AUTO_INCREMENT counter continues after the largest stored value (and at least at the persisted
// floor), the hidden row id after the largest stored id.
func (t *Table) loadCountersLocked(ctx *sql.Context) error {
	st := t.def.state
	if st.loaded {
		return nil
	}
	d := t.def
	st.nextAuto = 1
	if d.meta.AutoIncFloor > st.nextAuto {
		st.nextAuto = d.meta.AutoIncFloor
	}
	st.nextRowID = 1
	if d.autoIncOr < 0 && !d.hasHiddenPK() {
		st.loaded = true
		return nil
	}
	snap := t.e.db.NewSnapshot()
	defer snap.Close()
	lo := indexPrefix(nil, d.id(), primaryIndexID)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	if !d.hasHiddenPK() && d.pkOrds[0] == d.autoIncOr {
		// The counter column leads the primary key: the last key holds the largest value.
		if it.Last() {
			if err := t.observeCounters(st, it.Key(), it.Value()); err != nil {
				return err
			}
		}
	} else {
		for ok := it.First(); ok; ok = it.Next() {
			if err := t.observeCounters(st, it.Key(), it.Value()); err != nil {
				return err
			}
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	st.loaded = true
	return nil
}

// observeCounters raises the counters past one stored row.
func (t *Table) observeCounters(st *tableState, key, val []byte) error {
	d := t.def
	if d.autoIncOr >= 0 {
		row, err := codec.DecodeRow(d.schema.Schema, val, nil)
		if err != nil {
			return fmt.Errorf("table %s: %w", d.name(), err)
		}
		if row[d.autoIncOr] != nil {
			if v, err := toUint64(row[d.autoIncOr]); err == nil && v >= st.nextAuto {
				st.nextAuto = v + 1
			}
		}
	}
	if d.hasHiddenPK() && len(key) >= indexPrefixLen+8 {
		if id := binary.BigEndian.Uint64(key[len(key)-8:]); id >= st.nextRowID {
			st.nextRowID = id + 1
		}
	}
	return nil
}

func (t *Table) nextRowID(ctx *sql.Context) (uint64, error) {
	st := t.def.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := t.loadCountersLocked(ctx); err != nil {
		return 0, err
	}
	id := st.nextRowID
	st.nextRowID++
	return id, nil
}

// toUint64 reads a counter value (AUTO_INCREMENT, session variables) as an unsigned number;
// negative values count as 0.
func toUint64(v interface{}) (uint64, error) {
	if x, neg, ok := sqlval.Int(v); ok {
		if neg {
			return 0, nil
		}
		return x, nil
	}
	switch n := v.(type) {
	case float32:
		if n < 0 {
			return 0, nil
		}
		return uint64(n), nil
	case float64:
		if n < 0 {
			return 0, nil
		}
		return uint64(n), nil
	}
	var u uint64
	if _, err := fmt.Sscan(strings.TrimSpace(fmt.Sprint(v)), &u); err != nil {
		return 0, fmt.Errorf("auto_increment value %v: %w", v, err)
	}
	return u, nil
}

// current returns the catalog's present definition of this table.
func (t *Table) current() (*tableDef, error) {
	def, ok := t.e.table(t.def.meta.DB, t.def.meta.Name)
	if !ok || def.id() != t.def.id() {
		// Renamed or rewritten since: look up by id.
		if d := t.e.tableByID(t.def.meta.DB, t.def.id()); d != nil {
			return d, nil
		}
		if ok {
			return def, nil
		}
		return nil, sql.ErrTableNotFound.New(t.def.meta.Name)
	}
	return def, nil
}

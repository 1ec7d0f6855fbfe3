package storage

import (
	"bytes"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// txn is one transaction: a consistent snapshot of the store, the transaction's own writes
// (buffered in memory and merged into its reads), an undo log for statement and savepoint
// rollback, and the row locks it holds. A txn is used by one session goroutine at a time.
type txn struct {
	e  *Engine
	id uint64

	snap    *sharedSnap // nil until the first read or write
	snapSeq uint64      // commits up to snapSeq are in snap

	iso           Isolation
	readCommitted bool // iso is READ COMMITTED or READ UNCOMMITTED: a fresh snapshot per statement
	readOnly      bool

	writes *btree.BTreeG[bufEntry]
	undo   []undoRec

	stmtMark   int // undo length at statement start, -1 outside a statement
	savepoints []savepoint
	// stmtView is the write buffer as the running statement's scans see it: cloned once, when
	// the statement opens its first scan, so no scan sees rows the statement itself wrote.
	stmtView    *btree.BTreeG[bufEntry]
	stmtViewSet bool

	// changes are the rows written, for the binary log (only with a CommitLogger); stmtNo counts
	// statements and stmtChanges is len(changes) when the running statement began.
	changes     []RowChange
	stmtNo      int
	stmtChanges int
	// statements are the statements that changed rows; stmtInsertID is the first
	// AUTO_INCREMENT value the running statement generated.
	statements   []StatementLog
	stmtInsertID uint64

	// Lock state, guarded by Engine.locks.mu: the row keys and gaps held, the transactions this
	// one waits for, the channel that wakes it to fail as a deadlock victim, and whether it was
	// chosen as one (it is then rolled back).
	locks          []string
	gaps           []*gapLock
	intents        []*insertIntent
	ended          chan struct{} // closed when the locks are released; made by a waiter
	waitFor        []*txn
	abortWait      chan struct{}
	deadlockVictim bool
	// nWrites counts buffered row writes, for the deadlock victim's weight (read by others).
	nWrites atomic.Int64

	// mode caches the read mode of the running statement (see statementReadMode).
	modeQuery                  string
	modeStmt                   readMode
	modeNoWait, modeSkipLocked bool // the locking read says NOWAIT / SKIP LOCKED
	// stmtFresh are row keys a READ COMMITTED UPDATE or DELETE locked while scanning in the
	// running statement; those it did not change are released when the statement ends.
	stmtFresh []string
	// consistentScan is the table a writing statement read from its snapshot (not a current
	// read): the editor then refuses to write a row of it that changed since (1213).
	consistentScan map[uint64]int

	writer atomic.Bool // counted in Engine.openWriters (the idle reaper may end the transaction)

	done atomic.Bool
}

type bufEntry struct {
	key []byte
	val []byte
	del bool
}

type undoRec struct {
	key  []byte
	had  bool
	prev bufEntry
}

type savepoint struct {
	name    string
	mark    int
	changes int // len(txn.changes) at the savepoint
}

func bufLess(a, b bufEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

var _ sql.Transaction = (*txn)(nil)

func (t *txn) String() string   { return fmt.Sprintf("relaydb transaction %d", t.id) }
func (t *txn) IsReadOnly() bool { return t.readOnly }

// ensureSnapshot takes the transaction's snapshot on first use.
func (t *txn) ensureSnapshot() error {
	if t.done.Load() {
		return errTxnExpired
	}
	if t.snap == nil {
		t.snapSeq, t.snap = t.e.takeSnapshot(t)
	}
	return nil
}

// refreshSnapshot gives a READ COMMITTED transaction a new snapshot for its next statement.
func (t *txn) refreshSnapshot() {
	if t.snap != nil {
		t.e.releaseSnapshot(t)
	}
	t.snapSeq, t.snap = t.e.takeSnapshot(t)
}

func (t *txn) hasWrites() bool { return t.writes != nil && t.writes.Len() > 0 }

func (t *txn) get(key []byte) ([]byte, bool, error) {
	if err := t.ensureSnapshot(); err != nil {
		return nil, false, err
	}
	return readThrough(t.writes, t.snap.s, key)
}

// getWith reads key as get does, but hands the value to use instead of returning a copy: use
// runs before the store's buffer is released, and must not keep v.
func (t *txn) getWith(key []byte, use func(v []byte) error) (bool, error) {
	if err := t.ensureSnapshot(); err != nil {
		return false, err
	}
	return readThroughWith(t.writes, t.snap.s, key, use)
}

// getLatest reads key as a current read sees it: the transaction's own writes (as the running
// statement's scans see them, or all of them with live), else the newest committed version. It
// takes no snapshot: in InnoDB only a plain read establishes the read view.
func (t *txn) getLatest(key []byte, live bool) ([]byte, bool, error) {
	if t.done.Load() {
		return nil, false, errTxnExpired
	}
	buf := t.writes
	if !live && t.stmtMark >= 0 && t.stmtViewSet {
		buf = t.stmtView
	}
	return readThrough(buf, t.e.db, key)
}

// readThrough reads key from a write buffer (nil: none), else from the store r. A value from the
// store is copied (its buffer is released); one from the write buffer is returned as it is.
func readThrough(buf *btree.BTreeG[bufEntry], r pebble.Reader, key []byte) ([]byte, bool, error) {
	if val, live, decided := buffered(buf, key); decided {
		return val, live, nil
	}
	var out []byte
	ok, err := storeGet(r, key, func(v []byte) error {
		out = append([]byte(nil), v...)
		return nil
	})
	return out, ok, err
}

// readThroughWith reads key as readThrough does and hands its value to use, which must not keep
// it, instead of copying it.
func readThroughWith(buf *btree.BTreeG[bufEntry], r pebble.Reader, key []byte, use func(v []byte) error) (bool, error) {
	if val, live, decided := buffered(buf, key); decided {
		if !live {
			return false, nil
		}
		return true, use(val)
	}
	return storeGet(r, key, use)
}

// buffered looks key up in a write buffer (nil: none). decided reports whether the buffer holds
// it: its value, or (live false) its deletion.
func buffered(buf *btree.BTreeG[bufEntry], key []byte) (val []byte, live, decided bool) {
	if buf == nil {
		return nil, false, false
	}
	e, ok := buf.Get(bufEntry{key: key})
	if !ok {
		return nil, false, false
	}
	if e.del {
		return nil, false, true
	}
	return e.val, true, true
}

// storeGet hands the stored value of key to use before releasing Pebble's buffer.
func storeGet(r pebble.Reader, key []byte, use func(v []byte) error) (bool, error) {
	v, closer, err := r.Get(key)
	if err == pebble.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %x: %w", key, err)
	}
	defer closer.Close()
	return true, use(v)
}

// startWriting creates the write buffer and counts the transaction among the open writers the
// commit pipeline may wait for (see commit.Options.OpenWriters).
func (t *txn) startWriting() {
	t.writes = btree.NewBTreeGOptions(bufLess, btree.Options{NoLocks: true})
	if t.writer.CompareAndSwap(false, true) {
		t.e.openWriters.Add(1)
	}
}

// stopWriting removes the transaction from the open writers once it is over.
func (t *txn) stopWriting() {
	if t.writer.CompareAndSwap(true, false) {
		t.e.openWriters.Add(-1)
	}
}

func (t *txn) record(key []byte) {
	prev, had := t.writes.Get(bufEntry{key: key})
	t.undo = append(t.undo, undoRec{key: key, had: had, prev: prev})
}

// lockWeight is the transaction's weight for choosing a deadlock victim (the lighter one is
// rolled back): rows written plus locks held. Caller holds Engine.locks.mu.
func (t *txn) lockWeight() int64 { return t.nWrites.Load() + int64(len(t.locks)) }

func (t *txn) put(key, val []byte) {
	if t.writes == nil {
		t.startWriting()
	}
	t.nWrites.Add(1)
	key = bytes.Clone(key)
	t.record(key)
	t.writes.Set(bufEntry{key: key, val: bytes.Clone(val)})
}

func (t *txn) del(key []byte) {
	if t.writes == nil {
		t.startWriting()
	}
	t.nWrites.Add(1)
	key = bytes.Clone(key)
	t.record(key)
	t.writes.Set(bufEntry{key: key, del: true})
}

// rollbackTo undoes every write made after the undo log had length mark.
func (t *txn) rollbackTo(mark int) {
	for i := len(t.undo) - 1; i >= mark; i-- {
		u := t.undo[i]
		if u.had {
			t.writes.Set(u.prev)
		} else {
			t.writes.Delete(bufEntry{key: u.key})
		}
	}
	clear(t.undo[mark:])
	t.undo = t.undo[:mark]
}

func (t *txn) beginStatement() {
	if t.stmtMark < 0 {
		t.stmtMark = len(t.undo)
		t.stmtView, t.stmtViewSet = nil, false
		t.stmtNo++
		t.stmtChanges = len(t.changes)
		t.stmtInsertID = 0
	}
}

func (t *txn) discardStatement() {
	t.releaseUnchanged()
	if t.stmtMark >= 0 {
		t.rollbackTo(t.stmtMark)
		t.truncateChanges(t.stmtChanges)
		t.stmtMark = -1
	}
	t.stmtView, t.stmtViewSet = nil, false
}

func (t *txn) completeStatement() {
	t.releaseUnchanged()
	t.stmtMark = -1
	t.stmtView, t.stmtViewSet = nil, false
	if len(t.savepoints) == 0 {
		// Nothing can roll back to an earlier point any more.
		clear(t.undo)
		t.undo = t.undo[:0]
	}
}

// releaseUnchanged releases the rows a READ COMMITTED UPDATE or DELETE locked while scanning but
// did not change (InnoDB keeps locks only on the rows such a statement changes).
func (t *txn) releaseUnchanged() {
	for _, k := range t.stmtFresh {
		if t.writes != nil {
			if _, ok := t.writes.Get(bufEntry{key: []byte(k)}); ok {
				continue
			}
		}
		t.e.locks.releaseRow(t, k)
	}
	t.stmtFresh = t.stmtFresh[:0]
}

// iter returns an iterator over [lower, upper) that merges the transaction's writes into its
// snapshot, as a scan of the running statement sees them: inside a writing statement, the
// writes made before its first scan opened; otherwise all of them.
func (t *txn) iter(lower, upper []byte) (*mergeIter, error) {
	return t.iterView(lower, upper, viewStatement)
}

// viewMode says which of the transaction's writes an iterator sees.
type viewMode int

const (
	viewStatement viewMode = iota // as the statement's scans see them (see iter)
	viewLive                      // the buffer itself; no writes while the iterator is open
	viewLatest                    // a clone of every write so far (foreign key checks)
)

func (t *txn) iterView(lower, upper []byte, mode viewMode) (*mergeIter, error) {
	return t.iterOver(lower, upper, mode, false)
}

// iterOver is iterView over the transaction's snapshot, or with latest over the newest
// committed data (a current read, which takes no snapshot).
func (t *txn) iterOver(lower, upper []byte, mode viewMode, latest bool) (*mergeIter, error) {
	var pi *pebble.Iterator
	var err error
	if latest {
		if t.done.Load() {
			return nil, errTxnExpired
		}
		pi, err = t.e.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	} else {
		if err := t.ensureSnapshot(); err != nil {
			return nil, err
		}
		pi, err = t.snap.s.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	}
	if err != nil {
		return nil, fmt.Errorf("open iterator: %w", err)
	}
	m := &mergeIter{p: pi, lower: lower, upper: upper}
	var view *btree.BTreeG[bufEntry]
	switch {
	case mode == viewLive:
		view = t.writes
	case mode == viewStatement && t.stmtMark >= 0:
		// A writing statement: its scans share one copy-on-write clone of the buffer taken when
		// the first opened (even if empty then), so UPDATE t SET id = id + 10 never meets the
		// rows it moved.
		if !t.stmtViewSet {
			if t.writes != nil {
				t.stmtView = t.writes.Copy()
			}
			t.stmtViewSet = true
		}
		view = t.stmtView
	case t.writes != nil:
		view = t.writes.Copy()
	}
	if view != nil && view.Len() > 0 {
		m.b = view.Iter()
		m.hasB = true
	}
	return m, nil
}

// mergeIter walks a snapshot iterator and a transaction's write buffer together in key order;
// where both hold a key, the buffer wins, and buffered deletions hide snapshot rows.
type mergeIter struct {
	p            *pebble.Iterator
	b            btree.IterG[bufEntry]
	hasB         bool
	lower, upper []byte

	pValid, bValid bool
	key, val       []byte
	kbuf           []byte
	closed         bool
}

func (m *mergeIter) bInRange() bool {
	return m.bValid && (m.upper == nil || bytes.Compare(m.b.Item().key, m.upper) < 0)
}

// First positions at the first live key; it reports whether there is one.
func (m *mergeIter) First() bool {
	if m.lower != nil {
		m.pValid = m.p.SeekGE(m.lower)
	} else {
		m.pValid = m.p.First()
	}
	if m.hasB {
		if m.lower != nil {
			m.bValid = m.b.Seek(bufEntry{key: m.lower})
		} else {
			m.bValid = m.b.First()
		}
	}
	return m.settle()
}

// Next advances to the next live key.
func (m *mergeIter) Next() bool {
	if m.key == nil {
		return false
	}
	// Copy the key: when it came from Pebble, advancing Pebble reuses its buffer, and comparing
	// the buffer side against the overwritten key would skip a buffered deletion.
	m.kbuf = append(m.kbuf[:0], m.key...)
	m.advancePast(m.kbuf)
	return m.settle()
}

func (m *mergeIter) advancePast(k []byte) {
	if m.pValid && bytes.Equal(m.p.Key(), k) {
		// NextPrefix, not Next: the store's keys have no version suffix, so the next prefix is
		// the next key, and Pebble seeks to it in the memtable instead of stepping over every
		// older version of k (and every version newer than the snapshot) one at a time. Hot
		// rows collect thousands of versions before a flush.
		m.pValid = m.p.NextPrefix()
	}
	if m.bInRange() && bytes.Equal(m.b.Item().key, k) {
		m.bValid = m.b.Next()
	}
}

// settle makes the current position a live key, skipping buffered deletions.
func (m *mergeIter) settle() bool {
	for {
		bOK := m.bInRange()
		if !m.pValid && !bOK {
			m.key, m.val = nil, nil
			return false
		}
		if bOK && (!m.pValid || bytes.Compare(m.b.Item().key, m.p.Key()) <= 0) {
			e := m.b.Item()
			if e.del {
				m.advancePast(e.key)
				continue
			}
			m.key, m.val = e.key, e.val
			return true
		}
		m.key = m.p.Key()
		v, err := m.p.ValueAndErr()
		if err != nil {
			m.key, m.val = nil, nil
			m.pValid = false
			return false
		}
		m.val = v
		return true
	}
}

// Key and Value are valid until the next call to Next or Close.
func (m *mergeIter) Key() []byte   { return m.key }
func (m *mergeIter) Value() []byte { return m.val }

// Close releases the iterator. It may be called more than once (a deferred Close after an
// explicit one): Pebble hands a closed iterator's memory to the next one it opens, possibly on
// another goroutine, so a second Pebble Close would act on someone else's iterator.
func (m *mergeIter) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	if m.hasB {
		m.b.Release()
	}
	err := m.p.Error()
	if cerr := m.p.Close(); err == nil {
		err = cerr
	}
	return err
}

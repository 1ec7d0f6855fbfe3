package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/commit"
)

// Options configure an Engine.
type Options struct {
	// Dir is the directory holding the store (created if missing).
	Dir string
	// CacheSize is the block cache size in bytes (0 = 256 MiB).
	CacheSize int64
	// NoSync acknowledges commits before they reach stable storage. For tests and benchmarks only.
	NoSync bool
	// LockWaitTimeout bounds how long a writer waits for a row lock (0 = 50 s, MySQL's
	// innodb_lock_wait_timeout default); a session's innodb_lock_wait_timeout overrides it.
	LockWaitTimeout time.Duration
	// TxnIdleTimeout rolls back a transaction that has been idle (no statement running) for this
	// long, releasing its snapshot and locks so that it cannot pin old versions forever
	// (0 = 10 minutes; negative disables).
	TxnIdleTimeout time.Duration
	// Logger receives recovery and maintenance messages (nil = slog.Default()).
	Logger *slog.Logger
	// WriteGuard, if set, is asked before every write and DDL (read_only enforcement).
	WriteGuard WriteGuard
	// MinFreeBytes is the free space the store's filesystem must keep after a write; writes
	// that would go below it fail with ER_DISK_FULL (0 = 64 MiB; negative disables the check).
	MinFreeBytes int64
}

// Engine is the Pebble-backed storage engine: the catalog, the MVCC transaction layer and the
// commit pipeline. One Engine owns one directory for the life of the process.
type Engine struct {
	opts  Options
	db    *pebble.DB
	cache interface{ Unref() }
	log   *slog.Logger

	pipeline    *commit.Pipeline
	openWriters atomic.Int64 // transactions with writes, not yet over
	commitLog   CommitLogger // set by AttachLog before the first commit
	locks       *lockTable
	gate        *commitGate // the global read lock: commits and catalog writes pass it

	catMu  sync.RWMutex
	dbs    map[string]*dbEntry // by lower-case name
	nextID uint64

	snapMu   sync.Mutex
	active   map[*txn]uint64 // open snapshots and their sequence
	latest   *sharedSnap     // the snapshot new transactions share while no commit happens
	nextTxn  atomic.Uint64
	sessions sync.Map // *Session → struct{}

	eventsVersion atomic.Uint64
	// catalogVersion changes after every catalog write, once the in-memory catalog shows it:
	// a cache keyed by the version read before a lookup can never keep an older definition.
	catalogVersion atomic.Uint64

	objMu    sync.Mutex
	objCache map[string]objectSet

	reserverState // the AUTO_INCREMENT reserver, if any (autoinc.go)

	closed   atomic.Bool
	stopReap chan struct{}
	reapDone chan struct{}
}

type dbEntry struct {
	meta   dbMeta
	tables map[string]*tableDef // by lower-case name
}

// Open opens (or creates) the store in opts.Dir and recovers it.
func Open(opts Options) (*Engine, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 256 << 20
	}
	if opts.LockWaitTimeout <= 0 {
		opts.LockWaitTimeout = 50 * time.Second
	}
	if opts.TxnIdleTimeout == 0 {
		opts.TxnIdleTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = 64 << 20
	}
	cache := pebble.NewCache(opts.CacheSize)
	po := &pebble.Options{
		Cache: cache,
		// 16 MiB, not 64: a memtable holds every version of a hot row written since its last
		// flush, and range scans pay for them (seeks in a larger skiplist, versions to step
		// over). oltp_read_write after a minute of writes: 980 tps at 64 MiB, 1,343 at 16 MiB.
		MemTableSize:                16 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
		MaxOpenFiles:                4096,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{opts.Logger},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].BlockSize = 16 << 10
	}
	start := time.Now()
	db, err := pebble.Open(opts.Dir, po)
	cache.Unref()
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	e := &Engine{
		opts:     opts,
		db:       db,
		gate:     newCommitGate(),
		log:      opts.Logger,
		locks:    newLockTable(),
		dbs:      make(map[string]*dbEntry),
		active:   make(map[*txn]uint64),
		objCache: make(map[string]objectSet),
		stopReap: make(chan struct{}),
		reapDone: make(chan struct{}),
	}
	if err := verifyDataFiles(db, opts.Dir, po); err != nil {
		db.Close()
		return nil, err
	}
	if err := e.loadCatalog(); err != nil {
		db.Close()
		return nil, err
	}
	e.pipeline = commit.New(db, 0, commit.Options{NoSync: opts.NoSync, SpaceCheck: e.checkSpace,
		OpenWriters: func() int { return int(e.openWriters.Load()) }})
	m := db.Metrics()
	e.log.Info("storage recovered", "dir", opts.Dir, "databases", len(e.dbs),
		"wal_bytes_replayed", m.WAL.Size, "duration", time.Since(start).Round(time.Millisecond))
	go e.reaper()
	return e, nil
}

// Close stops the engine: open transactions are rolled back, pending commits finish, and the
// store is flushed and closed.
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(e.stopReap)
	<-e.reapDone
	e.pipeline.Close()
	e.snapMu.Lock()
	open := map[*sharedSnap]bool{}
	if e.latest != nil {
		open[e.latest] = true
	}
	for t := range e.active {
		if t.snap != nil {
			open[t.snap] = true
			t.snap = nil
		}
		delete(e.active, t)
	}
	for ss := range open {
		ss.s.Close()
	}
	e.latest = nil
	e.snapMu.Unlock()
	if err := e.db.Flush(); err != nil {
		e.log.Warn("flush on close", "err", err)
	}
	return e.db.Close()
}

// Metrics returns Pebble's metrics (for status output and tests).
func (e *Engine) Metrics() *pebble.Metrics { return e.db.Metrics() }

// SetCommitFence installs the check that lets this node acknowledge commits (a cluster
// primary's lease; nil removes it). See commit.Pipeline.SetFence.
func (e *Engine) SetCommitFence(check func() error) { e.pipeline.SetFence(check) }

// HoldCommits makes new commits wait before they are logged (a primary handing over in a
// planned switchover). See commit.Pipeline.Hold.
func (e *Engine) HoldCommits(max time.Duration, expired error) (release func(error)) {
	return e.pipeline.Hold(max, expired)
}

// DrainCommits waits until every commit logged so far has finished. See commit.Pipeline.Drain.
func (e *Engine) DrainCommits(done <-chan struct{}) bool { return e.pipeline.Drain(done) }

// CommitStalled reports whether commits have waited longer than d without any finishing.
func (e *Engine) CommitStalled(d time.Duration) bool { return e.pipeline.Stalled(d) }

// CommitStats reports how many transactions committed and in how many durable writes.
func (e *Engine) CommitStats() (commits, groups uint64) { return e.pipeline.Stats() }

func (e *Engine) loadCatalog() error {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixMeta}, UpperBound: []byte{prefixMeta + 1}})
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	defer it.Close()
	var tables []tableMeta
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("read catalog entry %q: %w", k, err)
		}
		switch k[1] {
		case metaDB:
			var m dbMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("corrupt catalog entry for database %q: %w", k[2:], err)
			}
			e.dbs[strings.ToLower(m.Name)] = &dbEntry{meta: m, tables: make(map[string]*tableDef)}
		case metaTable:
			var m tableMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("corrupt catalog entry for table id %x: %w", k[2:], err)
			}
			tables = append(tables, m)
		case metaNextTID:
			if len(v) != 8 {
				return fmt.Errorf("corrupt catalog entry: next table id has %d bytes", len(v))
			}
			e.nextID = binary.BigEndian.Uint64(v)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	ctx := context.Background()
	for _, m := range tables {
		dbe := e.dbs[strings.ToLower(m.DB)]
		if dbe == nil {
			return fmt.Errorf("corrupt catalog: table %s.%s (id %d) belongs to no database", m.DB, m.Name, m.ID)
		}
		def, err := buildDef(ctx, m, nil)
		if err != nil {
			return fmt.Errorf("corrupt catalog: %w", err)
		}
		dbe.tables[strings.ToLower(m.Name)] = def
		if m.ID >= e.nextID {
			e.nextID = m.ID + 1
		}
	}
	if e.nextID == 0 {
		e.nextID = 1
	}
	return nil
}

// sharedSnap is a Pebble snapshot shared by every transaction that starts while no commit
// happens: read-mostly workloads then open and close one snapshot per commit, not per statement
// (closing a Pebble snapshot also re-plans compactions, which is not free).
type sharedSnap struct {
	s    *pebble.Snapshot
	seq  uint64 // commits up to seq are visible in s
	refs int    // guarded by Engine.snapMu
}

// takeSnapshot gives t a snapshot and registers it, so that version pruning keeps what it needs.
func (e *Engine) takeSnapshot(t *txn) (uint64, *sharedSnap) {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	seq := e.pipeline.VisibleSeq()
	ss := e.latest
	if ss == nil || ss.seq != seq {
		ss = &sharedSnap{s: e.db.NewSnapshot(), seq: seq}
		if old := e.latest; old != nil && old.refs == 0 {
			old.s.Close()
		}
		e.latest = ss
	}
	ss.refs++
	e.active[t] = seq
	return seq, ss
}

func (e *Engine) releaseSnapshot(t *txn) {
	e.snapMu.Lock()
	if ss := t.snap; ss != nil {
		ss.refs--
		if ss.refs == 0 && ss != e.latest {
			ss.s.Close()
		}
		t.snap = nil
	}
	delete(e.active, t)
	e.snapMu.Unlock()
}

// oldestSnapshot returns the sequence of the oldest open snapshot, or the visible sequence if none.
func (e *Engine) oldestSnapshot() uint64 {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	oldest := e.pipeline.VisibleSeq()
	for _, s := range e.active {
		if s < oldest {
			oldest = s
		}
	}
	return oldest
}

func (e *Engine) newTxn(readOnly bool, iso Isolation) *txn {
	return &txn{e: e, id: e.nextTxn.Add(1), readOnly: readOnly, iso: iso,
		readCommitted: iso == ReadCommitted || iso == ReadUncommitted, stmtMark: -1}
}

// commitTxn makes t's writes durable and visible, then releases its locks and snapshot. With a
// CommitLogger the transaction's log entry travels with it through the pipeline, so the binary
// log and the store receive commits in the same order.
func (e *Engine) commitTxn(ctx *sql.Context, t *txn) error {
	if !t.done.CompareAndSwap(false, true) {
		return errTxnExpired
	}
	defer e.releaseSnapshot(t)
	defer t.stopWriting()
	var entry any
	if cl := e.commitLog; cl != nil && ctx != nil {
		var skip bool
		var err error
		entry, skip, err = cl.TxnEntry(ctx, t.changes, t.statements)
		if err != nil || skip {
			e.locks.release(t)
			return err
		}
	}
	if !t.hasWrites() && entry == nil {
		e.locks.release(t)
		return nil
	}
	if e.closed.Load() {
		e.locks.release(t)
		return errClosed
	}
	if g := e.opts.WriteGuard; g != nil && ctx != nil {
		// Writes made while the server was writable are refused at commit if it no longer is
		// (a cluster primary demoted meanwhile must not commit a client's transaction).
		if err := g(ctx); err != nil {
			e.locks.release(t)
			return err
		}
	}
	if err := e.enterGate(ctx); err != nil {
		e.locks.release(t)
		return err
	}
	defer e.gate.leave()
	b := e.db.NewBatch()
	defer b.Close()
	var err error
	if t.writes != nil {
		t.writes.Scan(func(en bufEntry) bool {
			if en.del {
				err = b.Delete(en.key, nil)
			} else {
				err = b.Set(en.key, en.val, nil)
			}
			return err == nil
		})
	}
	if err != nil {
		e.locks.release(t)
		return fmt.Errorf("build commit batch: %w", err)
	}
	req := &commit.Request{
		Batch:        b,
		Log:          entry,
		AfterVisible: func(uint64) { e.locks.release(t) },
	}
	if g := e.opts.WriteGuard; g != nil && ctx != nil {
		// Asked again right before logging around a switchover (see commit.Request.Check).
		req.Check = func() error { return g(ctx) }
	}
	_, err = e.pipeline.Commit(req)
	var notAcked *commit.NotAcknowledgedError
	if errors.As(err, &notAcked) {
		// Committed here (visible, in the binlog) but the node lost its lease meanwhile.
		return notAcked.Err
	}
	if err != nil {
		e.locks.release(t)
		return storageWriteError(err)
	}
	if entry != nil {
		return e.commitLog.Committed(ctx, entry)
	}
	return nil
}

// rollbackTxn discards t's writes and releases its locks and snapshot.
func (e *Engine) rollbackTxn(t *txn) {
	if !t.done.CompareAndSwap(false, true) {
		return
	}
	t.stopWriting()
	e.locks.release(t)
	e.releaseSnapshot(t)
}

// reaper rolls back transactions idle longer than TxnIdleTimeout.
func (e *Engine) reaper() {
	defer close(e.reapDone)
	if e.opts.TxnIdleTimeout < 0 {
		<-e.stopReap
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-e.stopReap:
			return
		case <-tick.C:
		}
		now := time.Now()
		e.sessions.Range(func(k, _ any) bool {
			k.(*Session).expireIfIdle(now, e.opts.TxnIdleTimeout)
			return true
		})
	}
}

// writeMeta persists catalog changes durably, outside any transaction (DDL is not transactional,
// as in MySQL, where it commits implicitly). It goes through the commit pipeline so that a DDL
// change has a commit sequence like any transaction: snapshots older than it can tell. The first
// catalog write of a statement carries the statement's binary log entry (ctx may be nil for
// internal writes, which are not logged).
func (e *Engine) writeMeta(ctx *sql.Context, fn func(b *pebble.Batch) error) (uint64, error) {
	b := e.db.NewBatch()
	defer b.Close()
	if err := fn(b); err != nil {
		return 0, err
	}
	var entry any
	if cl := e.commitLog; cl != nil && ctx != nil {
		if s, ok := ctx.Session.(*Session); !ok || s.claimDDLLog(ctx.Query()) {
			var created *LoggedTable
			if ok {
				created = s.createdTable
			}
			var err error
			if entry, err = cl.DDLEntry(ctx, created); err != nil {
				return 0, err
			}
		}
	}
	seq, err := e.pipeline.Commit(&commit.Request{Batch: b, Log: entry, Durable: true})
	var notAcked *commit.NotAcknowledgedError
	if errors.As(err, &notAcked) {
		// The catalog change is stored and logged: the in-memory catalog must follow it, so the
		// statement is reported as done (a DDL racing the loss of the lease; see clusternode).
		e.log.Warn("a catalog change was committed after this node lost its primary lease", "err", notAcked.Err)
		return seq, nil
	}
	if err != nil {
		return 0, storageWriteError(err)
	}
	return seq, nil
}

func (e *Engine) database(name string) (*dbEntry, bool) {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	d, ok := e.dbs[strings.ToLower(name)]
	return d, ok
}

func (e *Engine) databaseNames() []string {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	names := make([]string, 0, len(e.dbs))
	for _, d := range e.dbs {
		names = append(names, d.meta.Name)
	}
	sort.Strings(names)
	return names
}

func (e *Engine) createDatabase(ctx *sql.Context, name string, collation sql.CollationID) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.catMu.Lock()
	defer e.catMu.Unlock()
	lower := strings.ToLower(name)
	if _, ok := e.dbs[lower]; ok {
		return sql.ErrDatabaseExists.New(name)
	}
	m := dbMeta{Name: name, Collation: uint16(collation)}
	if _, err := e.writeMeta(ctx, func(b *pebble.Batch) error { return b.Set(dbMetaKey(lower), encodeJSON(m), nil) }); err != nil {
		return err
	}
	e.dbs[lower] = &dbEntry{meta: m, tables: make(map[string]*tableDef)}
	return nil
}

func (e *Engine) dropDatabase(ctx *sql.Context, name string) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.catMu.Lock()
	defer e.catMu.Unlock()
	lower := strings.ToLower(name)
	d, ok := e.dbs[lower]
	if !ok {
		return sql.ErrDatabaseNotFound.New(name)
	}
	_, err := e.writeMeta(ctx, func(b *pebble.Batch) error {
		for _, t := range d.tables {
			if err := deleteTableData(b, t.id()); err != nil {
				return err
			}
		}
		p := objectKeyPrefix(lower)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return err
		}
		return b.Delete(dbMetaKey(lower), nil)
	})
	if err != nil {
		return err
	}
	delete(e.dbs, lower)
	e.dropObjects(name)
	return nil
}

func deleteTableData(b *pebble.Batch, id uint64) error {
	lo, hi := tableSpan(id)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	return b.Delete(tableMetaKey(id), nil)
}

// table returns the current definition of a table.
func (e *Engine) table(db, name string) (*tableDef, bool) {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	d, ok := e.dbs[strings.ToLower(db)]
	if !ok {
		return nil, false
	}
	t, ok := d.tables[strings.ToLower(name)]
	return t, ok
}

// putTable persists def (a new or changed table) and installs it in the catalog. When replacing
// a table whose id changed (rewrite, truncate), dropID names the old id whose data is deleted.
func (e *Engine) putTable(ctx *sql.Context, def *tableDef, oldName string, dropID uint64) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.catMu.Lock()
	defer e.catMu.Unlock()
	return e.putTableLocked(ctx, def, oldName, dropID)
}

func (e *Engine) putTableLocked(ctx *sql.Context, def *tableDef, oldName string, dropID uint64) error {
	dbe, ok := e.dbs[strings.ToLower(def.meta.DB)]
	if !ok {
		return sql.ErrDatabaseNotFound.New(def.meta.DB)
	}
	seq, err := e.writeMeta(ctx, func(b *pebble.Batch) error {
		if dropID != 0 && dropID != def.id() {
			if err := deleteTableData(b, dropID); err != nil {
				return err
			}
		}
		if def.id() >= e.nextID {
			e.nextID = def.id() + 1
			if err := b.Set(nextTableIDKey(), binary.BigEndian.AppendUint64(nil, e.nextID), nil); err != nil {
				return err
			}
		}
		return b.Set(tableMetaKey(def.id()), encodeJSON(def.meta), nil)
	})
	if err != nil {
		return err
	}
	// Snapshots older than this change would read the table (or a new index) inconsistently.
	def.createdSeq = seq
	if oldName != "" {
		delete(dbe.tables, strings.ToLower(oldName))
	}
	dbe.tables[strings.ToLower(def.meta.Name)] = def
	return nil
}

func (e *Engine) dropTable(ctx *sql.Context, db, name string) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.catMu.Lock()
	defer e.catMu.Unlock()
	dbe, ok := e.dbs[strings.ToLower(db)]
	if !ok {
		return sql.ErrDatabaseNotFound.New(db)
	}
	def, ok := dbe.tables[strings.ToLower(name)]
	if !ok {
		return sql.ErrTableNotFound.New(name)
	}
	if _, err := e.writeMeta(ctx, func(b *pebble.Batch) error { return deleteTableData(b, def.id()) }); err != nil {
		return err
	}
	delete(dbe.tables, strings.ToLower(name))
	def.state.dropReservation()
	return nil
}

// newTableID reserves an id for a table about to be created or rewritten.
func (e *Engine) newTableID() uint64 {
	e.catMu.Lock()
	defer e.catMu.Unlock()
	id := e.nextID
	e.nextID++
	return id
}

// Objects of a database (views, triggers, procedures, events) are stored as JSON and cached in
// memory per database and kind: GMS looks up views on every query.
type objectSet map[string][]byte // lower-case name → JSON

func objectCacheKey(db, kind string) string { return strings.ToLower(db) + "\x00" + kind }

// objectSetLocked returns the cached objects of kind in db, loading them on first use.
// e.objMu must be held for writing.
func (e *Engine) objectSetLocked(db, kind string) (objectSet, error) {
	ck := objectCacheKey(db, kind)
	if set, ok := e.objCache[ck]; ok {
		return set, nil
	}
	set := objectSet{}
	p := objectKey(strings.ToLower(db), kind, "")
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		set[string(it.Key()[len(p):])] = bytes.Clone(v)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	e.objCache[ck] = set
	return set, nil
}

func (e *Engine) putObject(ctx *sql.Context, db, kind, name string, v any) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.objMu.Lock()
	defer e.objMu.Unlock()
	set, err := e.objectSetLocked(db, kind)
	if err != nil {
		return err
	}
	enc := encodeJSON(v)
	if _, err := e.writeMeta(ctx, func(b *pebble.Batch) error {
		return b.Set(objectKey(strings.ToLower(db), kind, strings.ToLower(name)), enc, nil)
	}); err != nil {
		return err
	}
	set[strings.ToLower(name)] = enc
	return nil
}

func (e *Engine) deleteObject(ctx *sql.Context, db, kind, name string) error {
	if err := e.enterGate(ctx); err != nil {
		return err
	}
	defer e.gate.leave()
	defer e.catalogChanged()
	e.objMu.Lock()
	defer e.objMu.Unlock()
	set, err := e.objectSetLocked(db, kind)
	if err != nil {
		return err
	}
	if _, err := e.writeMeta(ctx, func(b *pebble.Batch) error {
		return b.Delete(objectKey(strings.ToLower(db), kind, strings.ToLower(name)), nil)
	}); err != nil {
		return err
	}
	delete(set, strings.ToLower(name))
	return nil
}

// dropObjects forgets the cached objects of db (the database was dropped).
func (e *Engine) dropObjects(db string) {
	e.objMu.Lock()
	defer e.objMu.Unlock()
	prefix := strings.ToLower(db) + "\x00"
	for k := range e.objCache {
		if strings.HasPrefix(k, prefix) {
			delete(e.objCache, k)
		}
	}
}

// objects calls fn with each stored object of kind in db, in name order.
func (e *Engine) objects(db, kind string, fn func(v []byte) error) error {
	e.objMu.Lock()
	set, err := e.objectSetLocked(db, kind)
	if err != nil {
		e.objMu.Unlock()
		return err
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	vals := make([][]byte, 0, len(set))
	sort.Strings(names)
	for _, n := range names {
		vals = append(vals, set[n])
	}
	e.objMu.Unlock()
	for _, v := range vals {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) getObject(db, kind, name string, out any) (bool, error) {
	e.objMu.Lock()
	set, err := e.objectSetLocked(db, kind)
	var v []byte
	if err == nil {
		v = set[strings.ToLower(name)]
	}
	e.objMu.Unlock()
	if err != nil || v == nil {
		return false, err
	}
	return true, json.Unmarshal(v, out)
}

// pebbleLogger routes Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called when Pebble cannot continue (e.g. its log could not be written). The process
// stops; committed data is safe and recovery on restart brings the store back.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error("storage cannot continue, stopping: "+fmt.Sprintf(format, args...), "component", "pebble")
	os.Exit(70)
}

// tableByID finds a table of db by id (its name may have changed).
func (e *Engine) tableByID(db string, id uint64) *tableDef {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	d, ok := e.dbs[strings.ToLower(db)]
	if !ok {
		return nil
	}
	for _, t := range d.tables {
		if t.id() == id {
			return t
		}
	}
	return nil
}

// catalogChanged is deferred by every catalog writer, so it runs after the writer has updated
// the in-memory catalog and released its locks.
func (e *Engine) catalogChanged() { e.catalogVersion.Add(1) }

// CatalogVersion is a number that changes whenever a database, table, index, view, trigger,
// procedure or event is created, changed or dropped (a failed attempt may change it too).
// Callers that cache anything derived from the catalog read it before deriving and compare it
// before reusing.
func (e *Engine) CatalogVersion() uint64 { return e.catalogVersion.Load() }

// putObjectRaw writes one catalog key durably.
func (e *Engine) putObjectRaw(ctx *sql.Context, key, val []byte) error {
	_, err := e.writeMeta(ctx, func(b *pebble.Batch) error { return b.Set(key, val, nil) })
	return err
}

// lockWaitTimeout returns the session's innodb_lock_wait_timeout (row locks), or def.
func lockWaitTimeout(ctx *sql.Context, def time.Duration) time.Duration {
	return sessionSeconds(ctx, "innodb_lock_wait_timeout", def)
}

// sessionSeconds returns a session variable counting seconds, or def when unset or not positive.
func sessionSeconds(ctx *sql.Context, name string, def time.Duration) time.Duration {
	if ctx == nil || ctx.Session == nil {
		return def
	}
	v, err := ctx.GetSessionVariable(ctx, name)
	if err != nil {
		return def
	}
	if n, err := toUint64(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return def
}

// verifyDataFiles refuses a store whose data files do not match what the manifest recorded (a
// truncated or replaced file) or whose blocks fail their checksums. Stores larger than
// fullVerifyLimit only get the size check at startup; their blocks are still verified by Pebble
// on every read, which fails the read rather than return damaged data.
func verifyDataFiles(db *pebble.DB, dir string, po *pebble.Options) error {
	levels, err := db.SSTables()
	if err != nil {
		return fmt.Errorf("list data files in %s: %w", dir, err)
	}
	var total uint64
	var paths []string
	for _, level := range levels {
		for _, t := range level {
			if t.Virtual || t.BackingType != pebble.BackingTypeLocal {
				continue
			}
			path := filepath.Join(dir, fmt.Sprintf("%06d.sst", uint64(t.BackingSSTNum)))
			fi, err := os.Stat(path)
			if errors.Is(err, os.ErrNotExist) && !liveDataFile(db, path) {
				continue // replaced by a compaction since the listing
			}
			if err != nil {
				return fmt.Errorf("data file %s is missing or unreadable: %w", path, err)
			}
			if uint64(fi.Size()) != t.Size {
				return fmt.Errorf("data file %s is damaged: %d bytes on disk, %d recorded; refusing to start", path, fi.Size(), t.Size)
			}
			total += t.Size
			paths = append(paths, path)
		}
	}
	if total > fullVerifyLimit {
		return nil
	}
	for _, path := range paths {
		if err := verifyChecksums(path, po); err != nil {
			// Compactions run while the files are checked: one may have replaced a file since
			// the listing (a store opened with a backlog, such as a clone of a busy donor).
			if errors.Is(err, os.ErrNotExist) && !liveDataFile(db, path) {
				continue
			}
			return fmt.Errorf("data file %s is damaged: %w; refusing to start", path, err)
		}
	}
	return nil
}

// liveDataFile reports whether the store's current version still holds the data file at path.
func liveDataFile(db *pebble.DB, path string) bool {
	levels, err := db.SSTables()
	if err != nil {
		return true
	}
	for _, level := range levels {
		for _, t := range level {
			if !t.Virtual && t.BackingType == pebble.BackingTypeLocal && filepath.Base(path) == fmt.Sprintf("%06d.sst", uint64(t.BackingSSTNum)) {
				return true
			}
		}
	}
	return false
}

// fullVerifyLimit bounds the data size whose every block is checksummed at startup.
const fullVerifyLimit = 4 << 30

func verifyChecksums(path string, po *pebble.Options) error {
	f, err := vfs.Default.Open(path)
	if err != nil {
		return err
	}
	readable, err := sstable.NewSimpleReadable(f)
	if err != nil {
		f.Close()
		return err
	}
	r, err := sstable.NewReader(context.Background(), readable, po.MakeReaderOptions())
	if err != nil {
		readable.Close()
		return err
	}
	defer r.Close()
	return r.ValidateBlockChecksums()
}

// foreignKeyNameTaken reports whether a table of db other than tableID declares a foreign key
// named name.
func (e *Engine) foreignKeyNameTaken(db string, tableID uint64, name string) bool {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	d, ok := e.dbs[strings.ToLower(db)]
	if !ok {
		return false
	}
	for _, t := range d.tables {
		if t.id() == tableID {
			continue
		}
		for _, fk := range t.meta.FKs {
			if strings.EqualFold(fk.Name, name) {
				return true
			}
		}
	}
	return false
}

package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/fsutil"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/semisync"
)

// Options configure a Log.
type Options struct {
	Dir        string
	Prefix     string // --log-bin base name; default "binlog"
	ServerID   uint32
	ServerUUID string
	Checksum   binlog.Checksum
	// MaxSize is max_binlog_size (0: 1 GiB).
	MaxSize int64
	// SyncBinlog is sync_binlog: 1 fsyncs every commit group, 0 never, N every N groups.
	SyncBinlog int64
	// ExpireLogs is binlog_expire_logs_seconds: files older than this are purged at startup
	// and after each rotation (0: never).
	ExpireLogs time.Duration
	// DoDB and IgnoreDB are binlog-do-db and binlog-ignore-db.
	DoDB, IgnoreDB []string
	// Force lets binlog recovery truncate damage in the middle of the last file.
	Force  bool
	Logger *slog.Logger
	// Semi makes commits wait for replica acknowledgements as its settings and each session's
	// replication_durability say (nil: never).
	Semi *semisync.Source
}

// Recovered is what Open found: the logged transactions the store lacks, which the caller must
// replay (see Log.BeginReplay) before accepting clients.
type Recovered struct {
	Pending []binlog.Transaction
	Cuts    []binlog.Cut
}

// Log is the binary log as commit log. TxnEntry and DDLEntry run on session goroutines;
// WriteGroup and GroupVisible on the commit pipeline's committer goroutine; the accessors
// anywhere.
type Log struct {
	opts    Options
	log     *slog.Logger
	semi    *semisync.Source // nil: commits never wait for replicas
	origins sync.Map         // sql.Session → origin server_id of what it logs (SetOrigin)
	w       *binlog.Writer
	format  binlog.Format
	sid     gtid.SID
	maxSize int64

	syncEvery atomic.Int64

	mu       sync.Mutex
	executed gtid.Set
	purged   gtid.Set
	changed  chan struct{} // closed and replaced whenever executed grows

	// groupMu is held by WriteGroup, Rotate and Reset, so that file changes never interleave
	// with a group being logged.
	groupMu sync.Mutex

	// Owned by the committer goroutine.
	logged         *gtid.Set // gtid_executed with every group logged, visible or not (nil: = executed); under groupMu
	pos            binlog.Position
	file           string
	seq            int64 // sequence_number of the last transaction in file
	unsyncedGroups int64

	commits, fsyncs atomic.Uint64

	tables   sync.Map // *storage.LoggedTable → *tableLog
	xid      atomic.Uint64
	replays  sync.Map // session id → *binlog.Transaction
	rewinds  sync.Map // session id → *rewindMark
	reserved gtid.Set // under groupMu; GTIDs never to be issued again (undone by a rewind)
	// reservedTop is the highest reserved number of this server's own GTIDs (0: none); under groupMu.
	reservedTop int64
	doDB        map[string]bool
	ignoreDB    map[string]bool
	randSeeds   func(ctx *sql.Context) (seed1, seed2 uint64)

	purgeGuard atomic.Pointer[func(file string) error]
}

// Open recovers the binlog directory against the store's state (as last returned by WriteGroup
// and stored with the data; nil for a store that never had one) and starts a new binlog file.
func Open(opts Options, storeState []byte) (*Log, *Recovered, error) {
	if opts.Prefix == "" {
		opts.Prefix = binlog.DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = 1 << 30
	}
	sid, err := gtid.ParseSID(opts.ServerUUID)
	if err != nil {
		return nil, nil, fmt.Errorf("commitlog: server_uuid: %w", err)
	}
	st, err := decodeState(storeState)
	if err != nil {
		return nil, nil, err
	}
	rec, err := binlog.Recover(binlog.RecoverOptions{Dir: opts.Dir, Prefix: opts.Prefix, Force: opts.Force, Logger: opts.Logger})
	if err != nil {
		return nil, nil, err
	}
	pending, err := rec.Pending(st.executed)
	if err != nil {
		if errors.Is(err, binlog.ErrPurged) {
			return nil, nil, fmt.Errorf("commitlog: the store lacks transactions that are no longer in the binlog (%w); restore the store from a backup", err)
		}
		return nil, nil, err
	}
	ahead := gtid.Subtract(st.executed, rec.Executed)
	switch {
	case len(rec.Files) == 0 && !ahead.IsEmpty():
		// A store with no binlog at all: a physical clone, or a store restored from a copy. The
		// new first file's PREVIOUS_GTIDS carries the store's GTIDs, which become gtid_purged.
		opts.Logger.Info("no binary log yet for a store that holds transactions (a cloned or restored store); starting one with them as gtid_purged",
			"gtids", ahead.String())
	case !ahead.IsEmpty():
		opts.Logger.Warn("the store holds transactions the binlog does not (lost from an unsynced binlog tail); they stay in gtid_executed",
			"gtids", ahead.String())
	}
	executed := gtid.Union(rec.Executed, st.executed)
	l := &Log{
		opts: opts, log: opts.Logger, sid: sid, maxSize: opts.MaxSize, semi: opts.Semi,
		executed: executed, changed: make(chan struct{}),
		doDB: lowerSet(opts.DoDB), ignoreDB: lowerSet(opts.IgnoreDB),
	}
	w, err := binlog.Open(binlog.Options{
		Dir: opts.Dir, Prefix: opts.Prefix, ServerID: opts.ServerID, Checksum: opts.Checksum,
		MaxSize: opts.MaxSize, Previous: executed, PurgeGuard: l.guardPurge, Logger: opts.Logger,
	})
	if err != nil {
		return nil, nil, err
	}
	if len(pending) > 0 {
		// The state stored with each group must say what the store holds: its state plus what
		// has been replayed so far, not the binlog's GTIDs. Otherwise the first replayed group
		// would record every pending transaction as stored, and a crash before the rest reached
		// the store (its writes are not synced) would lose them for good.
		stored := st.executed.Clone()
		l.logged = &stored
	}
	l.w, l.format = w, w.Format()
	l.syncEvery.Store(opts.SyncBinlog)
	l.pos = w.Position()
	l.file = l.pos.File
	if err := l.refreshPurged(); err != nil {
		w.Close()
		return nil, nil, err
	}
	l.expire()
	if len(pending) > 0 {
		opts.Logger.Info("binlog holds transactions the store lacks; replaying them",
			"transactions", len(pending), "from", pending[0].GTID.String(), "to", pending[len(pending)-1].GTID.String(),
			"store_holds", st.executed.String())
	}
	return l, &Recovered{Pending: pending, Cuts: rec.Cuts}, nil
}

func lowerSet(names []string) map[string]bool {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// SetPurgeGuard installs the check asked before a purge deletes a file (a replica still
// reading it refuses).
func (l *Log) SetPurgeGuard(fn func(file string) error) { l.purgeGuard.Store(&fn) }

func (l *Log) guardPurge(file string) error {
	if fn := l.purgeGuard.Load(); fn != nil {
		return (*fn)(file)
	}
	return nil
}

// Close ends the active file with a STOP event. Call it after the pipeline has stopped.
func (l *Log) Close() error { return l.w.Close() }

// Semi returns the semi-sync source the log waits on (nil if none).
func (l *Log) Semi() *semisync.Source { return l.semi }

// Writer gives the binlog writer, for the statements that list, rotate and purge files.
func (l *Log) Writer() *binlog.Writer { return l.w }

// Executed returns gtid_executed.
func (l *Log) Executed() gtid.Set {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executed.Clone()
}

// Contains reports whether g is in gtid_executed (without copying the set, for per-commit use).
func (l *Log) Contains(g gtid.GTID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executed.Contains(g)
}

// Purged returns gtid_purged: the GTIDs executed but no longer in any binlog file.
func (l *Log) Purged() gtid.Set {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.purged.Clone()
}

// SetSyncBinlog changes sync_binlog at runtime.
func (l *Log) SetSyncBinlog(n int64) { l.syncEvery.Store(n) }

// SyncBinlog returns sync_binlog.
func (l *Log) SyncBinlog() int64 { return l.syncEvery.Load() }

// Stats reports how many transactions were logged and how many fsyncs made them durable.
func (l *Log) Stats() (commits, fsyncs uint64) { return l.commits.Load(), l.fsyncs.Load() }

// DoDB and IgnoreDB return the binlog-do-db and binlog-ignore-db lists (SHOW MASTER STATUS).
func (l *Log) DoDB() []string     { return l.opts.DoDB }
func (l *Log) IgnoreDB() []string { return l.opts.IgnoreDB }

// WaitExecuted waits until gtid_executed contains set, or until done is closed or the timeout
// (negative: none) passes. It reports whether the set was reached.
func (l *Log) WaitExecuted(set gtid.Set, timeout time.Duration, done <-chan struct{}) bool {
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		l.mu.Lock()
		ok := l.executed.ContainsSet(set)
		ch := l.changed
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-expire:
			return false
		case <-done:
			return false
		}
	}
}

// refreshPurged recomputes gtid_purged from the oldest file's PREVIOUS_GTIDS.
func (l *Log) refreshPurged() error {
	files, err := l.w.Files()
	if err != nil {
		return err
	}
	var purged gtid.Set
	if len(files) > 0 {
		if purged, err = binlog.ReadPreviousGTIDs(l.opts.Dir + "/" + files[0].Name); err != nil {
			return err
		}
	}
	l.mu.Lock()
	l.purged = purged
	l.mu.Unlock()
	return nil
}

// PurgeTo and PurgeBefore remove old files (PURGE BINARY LOGS) and update gtid_purged.
func (l *Log) PurgeTo(name string) ([]string, error) {
	removed, err := l.w.PurgeTo(name)
	if rerr := l.refreshPurged(); err == nil {
		err = rerr
	}
	return removed, err
}

func (l *Log) PurgeBefore(t time.Time) ([]string, error) {
	removed, err := l.w.PurgeBefore(t)
	if rerr := l.refreshPurged(); err == nil {
		err = rerr
	}
	return removed, err
}

// expire purges files older than binlog_expire_logs_seconds.
func (l *Log) expire() {
	if l.opts.ExpireLogs <= 0 {
		return
	}
	removed, err := l.PurgeBefore(time.Now().Add(-l.opts.ExpireLogs))
	if err != nil {
		l.log.Warn("automatic binlog purge", "error", err)
	} else if len(removed) > 0 {
		l.log.Info("purged expired binlog files", "files", removed)
	}
}

// state is what the store keeps of the log, atomically with the data of each commit group.
type state struct {
	pos      binlog.Position
	executed gtid.Set
}

const stateVersion = 1

func encodeState(pos binlog.Position, executed gtid.Set) []byte {
	b := []byte{stateVersion}
	b = binary.AppendUvarint(b, uint64(len(pos.File)))
	b = append(b, pos.File...)
	b = binary.AppendUvarint(b, pos.Offset)
	return append(b, executed.Encode()...)
}

func decodeState(b []byte) (state, error) {
	var st state
	if len(b) == 0 {
		return st, nil
	}
	bad := func(what string) (state, error) {
		return state{}, fmt.Errorf("commitlog: stored binlog state is corrupt (%s)", what)
	}
	if b[0] != stateVersion {
		return bad(fmt.Sprintf("version %d", b[0]))
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return bad("file name")
	}
	st.pos.File = string(b[k : k+int(n)])
	b = b[k+int(n):]
	off, k := binary.Uvarint(b)
	if k <= 0 {
		return bad("offset")
	}
	st.pos.Offset = off
	set, err := gtid.Decode(b[k:])
	if err != nil {
		return bad(err.Error())
	}
	st.executed = set
	return st, nil
}

// Rotate closes the active file and starts the next (FLUSH BINARY LOGS), then purges expired
// files.
func (l *Log) Rotate() error {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	if err := l.w.Rotate(); err != nil {
		return err
	}
	l.expire()
	return nil
}

// Reset deletes every binlog file, starts again at PREFIX.000001 and empties gtid_executed and
// gtid_purged (RESET MASTER). The caller must then have the store record the new state (a
// commit through the pipeline), or a crash would bring the old GTIDs back from the store.
func (l *Log) Reset() error { return l.ResetTo(gtid.Set{}) }

// ResetTo is Reset that starts the new log with gtid_executed and gtid_purged equal to initial
// (SET GLOBAL gtid_purged on a server with nothing executed: the GTIDs a loaded dump contains).
// The new first file's PREVIOUS_GTIDS carries initial, so it survives restarts as gtid_purged.
func (l *Log) ResetTo(initial gtid.Set) error {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	files, err := l.w.Files()
	if err != nil {
		return err
	}
	if err := l.w.Close(); err != nil {
		return err
	}
	// The index goes first: a crash in the middle leaves unlisted files, which recovery removes.
	if err := os.Remove(filepath.Join(l.opts.Dir, l.opts.Prefix+".index")); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reset binlog: %w", err)
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(l.opts.Dir, f.Name)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("reset binlog: %w", err)
		}
	}
	if err := fsutil.SyncDir(l.opts.Dir); err != nil {
		return err
	}
	w, err := binlog.Open(binlog.Options{
		Dir: l.opts.Dir, Prefix: l.opts.Prefix, ServerID: l.opts.ServerID, Checksum: l.opts.Checksum,
		MaxSize: l.opts.MaxSize, PurgeGuard: l.guardPurge, Logger: l.opts.Logger, Previous: initial,
	})
	if err != nil {
		return err
	}
	l.w = w
	l.pos = w.Position()
	l.file, l.seq, l.unsyncedGroups = l.pos.File, 0, 0
	l.mu.Lock()
	l.executed, l.purged = initial.Clone(), initial.Clone()
	l.logged = nil
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	l.log.Info("binary log reset", "removed", len(files), "file", l.pos.File)
	return nil
}

package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/rplfilter"
)

// Options wire a Replica to its server.
type Options struct {
	Dir string // the datadir: replica.json (replica-<channel>.json) lives there
	// Channel is the replication channel's name ("" for the default channel). A named channel
	// keeps its settings in replica-<channel>.json and its relay log as <relay-log>-<channel>.*.
	Channel string
	// RelayLog is the relay log's file name prefix (--relay-log): relative to Dir unless
	// absolute; default "relay-bin".
	RelayLog string
	// RelayLogMaxSize is where a relay log file is rotated; once applied it is purged (0: the
	// binlog package's default, 1GiB).
	RelayLogMaxSize int64
	ServerID        uint32
	ServerUUID      string
	Engine          *sqle.Engine
	// NewSession makes the applier's session (a storage session with a privileged client).
	NewSession func() sql.Session
	// Executed returns gtid_executed; Contains says whether one GTID is in it (without a copy
	// of the set: the applier asks for every transaction).
	Executed func() gtid.Set
	Contains func(gtid.GTID) bool
	// Workers returns replica_parallel_workers, read when the applier starts: how many
	// transactions are applied at once (nil: 4; 1 applies one at a time).
	Workers func() int
	// SemiSync returns rpl_semi_sync_replica_enabled, read when the receiver connects (nil: off).
	SemiSync func() bool
	// SemiSyncAckDurability returns rpl_semi_sync_replica_ack_durability, read for every
	// acknowledgement (nil: AckWrite).
	SemiSyncAckDurability func() AckDurability
	// SetOrigin, if set, makes the session's commits logged under serverID (the transaction's
	// original server) until the returned function is called.
	SetOrigin func(s sql.Session, serverID uint32) (restore func())
	// ReportHost and ReportPort are what the receiver registers with its source
	// (report_host, report_port: SHOW REPLICAS on the source); no registration when the port is 0.
	ReportHost string
	ReportPort int
	// ReplicateSameServerID is replicate_same_server_id: when false (MySQL's default), the
	// receiver drops transactions that carry this server's own server_id.
	ReplicateSameServerID bool
	// Filters are the --replicate-* server options: kind (a name of rplfilter.Kinds) to its
	// values. Each kind given replaces, at startup, what CHANGE REPLICATION FILTER had set.
	Filters map[string][]string
	Logger  *slog.Logger
	// ClusterEpoch, if set, is the cluster epoch this node acts in: the receiver sends it to its
	// source (@relaydb_cluster_epoch), whose dump refuses a replica of a newer epoch than its own.
	ClusterEpoch func() uint64
	// Redirect, if set, maps the source's host:port to the address actually dialled (the
	// fault-injection harness's per-link proxies).
	Redirect func(addr string) string
}

// Progress is what a cluster controller needs from a channel: what was received into the relay
// log and whether the threads run.
type Progress struct {
	Retrieved             gtid.Set
	IORunning, SQLRunning bool
	LastError             string
	SourceHost            string
	SourcePort            int
	// StreamAge is how long ago the receiver last read an event or heartbeat (-1: it is not
	// streaming); LagSeconds is Seconds_Behind_Source (-1 when that is NULL).
	StreamAge  time.Duration
	LagSeconds int64
}

// Progress reports the channel's received GTID set, threads and last error.
func (r *Replica) Progress() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Progress{Retrieved: r.st.retrieved.Clone(), IORunning: r.io.running(), SQLRunning: r.sqlT.running(),
		StreamAge: -1, LagSeconds: -1}
	if p.IORunning && r.streaming.Load() {
		p.StreamAge = time.Since(time.Unix(0, r.heardAt.Load()))
	}
	switch {
	case !p.IORunning || !p.SQLRunning:
	case r.st.caughtUp || r.st.lastApplied.IsZero():
		p.LagSeconds = 0
	default:
		p.LagSeconds = max(int64(time.Since(r.st.lastApplied)/time.Second), 0)
	}
	if r.cfg != nil {
		p.SourceHost, p.SourcePort = r.cfg.Host, r.cfg.Port
	}
	switch {
	case r.st.lastSQLError != "":
		p.LastError = r.st.lastSQLError
	case r.st.lastIOError != "":
		p.LastError = r.st.lastIOError
	}
	return p
}

// ErrRunning is MySQL's ER_REPLICA_CHANNEL_MUST_STOP family: the statement needs the threads
// stopped.
var ErrRunning = mysql.NewSQLError(3081, "HY000", "This operation cannot be performed with running replication threads; run STOP REPLICA FOR CHANNEL '' first")

// Replica manages the receiver and applier of the (single, default) channel.
type Replica struct {
	opts Options

	mu  sync.Mutex
	cfg *Config
	st  status

	relay      *binlog.Writer // nil until the receiver first writes
	relayReady chan struct{}  // closed when relay is set

	io, sqlT *thread
	until    *Until // the applier's stop condition (START REPLICA UNTIL), nil for none

	semiActive  atomic.Bool  // the receiver's session with the source is semi-synchronous
	heardAt     atomic.Int64 // unix ns of the last event or heartbeat the receiver read
	streaming   atomic.Bool  // the receiver's current session got as far as the dump
	semi        semiLink
	sourceFiles []sourceFileMark // guarded by mu; see markSourceFile
	// filters are the replication filters; replaced (never modified) while the applier is
	// stopped, so a running applier may keep the pointer. Guarded by mu.
	filters *rplfilter.Rules
}

// SemiSyncActive is Rpl_semi_sync_replica_status: the receiver is connected in semi-sync mode.
func (r *Replica) SemiSyncActive() bool { return r.semiActive.Load() }

// Until is a START REPLICA UNTIL condition: stop the applier before the first transaction in
// Before, after every transaction in After, or once it has applied up to File and Pos of the
// source's binlog.
type Until struct {
	Before, After *gtid.Set
	File          string
	Pos           uint64
}

// condition is the Until_Condition column.
func (u *Until) condition() string {
	switch {
	case u == nil:
		return "None"
	case u.Before != nil:
		return "SQL_BEFORE_GTIDS"
	case u.After != nil:
		return "SQL_AFTER_GTIDS"
	}
	return "Source"
}

// thread is a running receiver or applier.
type thread struct {
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
}

// status is what SHOW REPLICA STATUS reports.
type status struct {
	ioState, sqlState            string
	lastIOErrno, lastSQLErrno    int
	lastIOError, lastSQLError    string
	lastIOErrTime, lastSQLErrTim time.Time
	sourceServerID               uint32
	sourceUUID                   string
	sourceFile                   string
	readPos                      uint64
	// resumeFile and resumePos are where, in file/position mode, a new connection asks the
	// source to go on from: just past the last transaction relayed (or the last rotation),
	// so that a reconnect neither fetches again what the relay log holds nor skips anything.
	resumeFile     string
	resumePos      uint64
	execSourceFile string
	execPos        uint64
	relayFile      string
	relayPos       uint64
	retrieved      gtid.Set
	lastApplied    time.Time // source commit time of the last applied transaction
	caughtUp       bool
	delayUntil     time.Time // a transaction waits for SOURCE_DELAY until then
}

// Open loads the persisted settings and restarts the threads that were running.
func Open(opts Options) (*Replica, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RelayLog == "" {
		opts.RelayLog = defaultRelayLog
	}
	if !filepath.IsAbs(opts.RelayLog) {
		opts.RelayLog = filepath.Join(opts.Dir, opts.RelayLog)
	}
	if opts.Channel != "" {
		opts.RelayLog += "-" + opts.Channel
	}
	cfg, err := loadConfig(filepath.Join(opts.Dir, configFileFor(opts.Channel)))
	if err != nil {
		return nil, err
	}
	r := &Replica{opts: opts, cfg: cfg, relayReady: make(chan struct{})}
	if err := r.openFilters(); err != nil {
		return nil, fmt.Errorf("replication filters: %w", err)
	}
	if err := r.discardRelayLog(); err != nil {
		return nil, err
	}
	if cfg != nil && (cfg.IORunning || cfg.SQLRunning) {
		if err := r.Start(cfg.IORunning, cfg.SQLRunning, nil); err != nil {
			opts.Logger.Warn("could not restart replication", "err", err)
		}
	}
	return r, nil
}

// discardRelayLog removes relay log files left by an earlier run: the receiver fetches again
// whatever is not executed (relay_log_recovery).
func (r *Replica) discardRelayLog() error {
	dir, prefix := r.relayDir(), filepath.Base(r.opts.RelayLog)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay log directory: %w", err)
	}
	for _, e := range entries {
		// PREFIX.index, PREFIX.000001, … and the index's temporary file.
		if !strings.HasPrefix(e.Name(), prefix+".") {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

const defaultRelayLog = "relay-bin"

// configPath is where the channel's settings are persisted.
func (r *Replica) configPath() string {
	return filepath.Join(r.opts.Dir, configFileFor(r.opts.Channel))
}

// Channel is the channel's name ("" for the default channel).
func (r *Replica) Channel() string { return r.opts.Channel }

// relayDir is the directory of the relay log files.
func (r *Replica) relayDir() string { return filepath.Dir(r.opts.RelayLog) }

// Configured reports whether CHANGE REPLICATION SOURCE TO has been run (SHOW REPLICA STATUS is
// empty otherwise).
func (r *Replica) Configured() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg != nil
}

// Change applies CHANGE REPLICATION SOURCE TO options; the threads must be stopped.
func (r *Replica) Change(opts map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.io.running() || r.sqlT.running() {
		return ErrRunning
	}
	c := defaultConfig()
	if r.cfg != nil {
		c = *r.cfg
	}
	if err := c.Apply(opts); err != nil {
		return mysql.NewSQLError(1210, "HY000", "Incorrect arguments to CHANGE REPLICATION SOURCE: %v", err)
	}
	if err := saveConfig(r.configPath(), &c); err != nil {
		return err
	}
	r.cfg = &c
	for name := range opts {
		switch strings.TrimPrefix(strings.TrimPrefix(name, "SOURCE_"), "MASTER_") {
		case "HOST", "PORT", "LOG_FILE", "LOG_POS", "AUTO_POSITION":
			// Another source or another position: the new settings say where to start.
			r.st.resumeFile, r.st.resumePos = "", 0
			if !c.AutoPosition {
				// By position, what the relay log holds may come again, and the relay log
				// refuses a GTID twice: it goes, as in MySQL, with what it retrieved (the
				// applier skips, by GTID, what it has executed). With auto-positioning the
				// source sends nothing the relay log holds: it stays.
				r.st.retrieved = gtid.Set{}
				return r.discardRelayLocked()
			}
		}
	}
	return nil
}

// Start starts the receiver and/or the applier; until, if set, is where the applier stops.
func (r *Replica) Start(io, sqlThread bool, until *Until) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if until != nil && sqlThread && r.sqlT.running() {
		return mysql.NewSQLError(3084, "HY000", "START REPLICA UNTIL cannot be used while the applier thread runs; STOP REPLICA SQL_THREAD first")
	}
	if r.cfg == nil || r.cfg.Host == "" {
		return mysql.NewSQLError(13117, "HY000", "Replica failed to initialize applier metadata structure from the repository; run CHANGE REPLICATION SOURCE TO first")
	}
	if io && !r.io.running() {
		r.st.lastIOErrno, r.st.lastIOError = 0, ""
		r.io = r.spawn(r.receive)
		r.cfg.IORunning = true
	}
	if sqlThread && !r.sqlT.running() {
		r.until = until
		r.st.lastSQLErrno, r.st.lastSQLError = 0, ""
		r.sqlT = r.spawn(r.applyLoop)
		r.cfg.SQLRunning = true
	}
	return saveConfig(r.configPath(), r.cfg)
}

func (r *Replica) spawn(fn func(ctx context.Context)) *thread {
	ctx, cancel := context.WithCancel(context.Background())
	t := &thread{cancel: cancel, done: make(chan struct{}), started: time.Now()}
	go func() {
		defer close(t.done)
		fn(ctx)
	}()
	return t
}

// Stop stops the receiver and/or the applier and waits for them.
func (r *Replica) Stop(io, sqlThread bool) error {
	r.mu.Lock()
	var waits []*thread
	if io && r.io != nil {
		waits = append(waits, r.io)
		r.io = nil
	}
	if sqlThread && r.sqlT != nil {
		waits = append(waits, r.sqlT)
		r.sqlT = nil
	}
	if r.cfg != nil {
		r.cfg.IORunning = r.io != nil
		r.cfg.SQLRunning = r.sqlT != nil
	}
	cfg := r.cfg
	r.mu.Unlock()
	for _, t := range waits {
		t.cancel()
		<-t.done
	}
	if cfg != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		if sqlThread {
			r.keepExecPositionLocked()
		}
		return saveConfig(r.configPath(), r.cfg)
	}
	return nil
}

// keepExecPositionLocked makes, in file/position mode, the position just past the last applied
// transaction the configured one, once the applier has stopped (r.mu held): a server restart
// discards the relay log, and its receiver then starts there rather than at the position first
// configured (the GTID skip made that safe, but it read the binlog again). The applier commits
// in relay log order, so after a clean stop everything before that position is applied; after
// an applier error it may not be (a later transaction may have committed past a failed one),
// and the position is left alone.
func (r *Replica) keepExecPositionLocked() {
	if r.cfg == nil || r.cfg.AutoPosition || r.cfg.LogFile == "" || r.st.execSourceFile == "" || r.st.execPos == 0 ||
		r.st.lastSQLErrno != 0 {
		return
	}
	r.cfg.LogFile, r.cfg.LogPos = r.st.execSourceFile, r.st.execPos
}

// Close stops the threads without recording them as stopped, so they restart with the server.
func (r *Replica) Close() {
	r.mu.Lock()
	ts := []*thread{r.io, r.sqlT}
	r.mu.Unlock()
	for _, t := range ts {
		if t != nil {
			t.cancel()
			<-t.done
		}
	}
	r.mu.Lock()
	if r.relay != nil {
		_ = r.relay.Close()
	}
	if r.cfg != nil && ts[1] != nil {
		r.keepExecPositionLocked()
		if err := saveConfig(r.configPath(), r.cfg); err != nil {
			r.opts.Logger.Warn("replication: could not save the applied position", "err", err)
		}
	}
	r.mu.Unlock()
}

// Reset forgets the relay log and errors (RESET REPLICA), and the connection settings too with
// all (RESET REPLICA ALL). The threads must be stopped.
func (r *Replica) Reset(all bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.io.running() || r.sqlT.running() {
		return ErrRunning
	}
	if err := r.discardRelayLocked(); err != nil {
		return err
	}
	r.st = status{}
	if all {
		r.cfg = nil
		return saveConfig(r.configPath(), nil)
	}
	return nil
}

// discardRelayLocked closes and removes the relay log (the threads are stopped; r.mu held).
func (r *Replica) discardRelayLocked() error {
	if r.relay != nil {
		_ = r.relay.Close()
		r.relay = nil
		r.relayReady = make(chan struct{})
	}
	r.sourceFiles = nil
	r.st.relayFile, r.st.relayPos = "", 0
	return r.discardRelayLog()
}

func (r *Replica) setIOError(code int, err error) {
	r.mu.Lock()
	r.st.lastIOErrno, r.st.lastIOError, r.st.lastIOErrTime = code, err.Error(), time.Now()
	r.mu.Unlock()
	r.opts.Logger.Warn("replication receiver", "errno", code, "err", err)
}

func (r *Replica) setSQLError(code int, err error) {
	r.mu.Lock()
	r.st.lastSQLErrno, r.st.lastSQLError, r.st.lastSQLErrTim = code, err.Error(), time.Now()
	r.mu.Unlock()
	r.opts.Logger.Error("replication applier stopped", "errno", code, "err", err)
}

func errno(err error, def int) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	// GMS's own errors (a duplicate key, say) carry no code until cast; they may be wrapped.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c := sql.CastSQLError(e); c != nil && c.Num != mysql.ERUnknownError {
			return c.Num
		}
	}
	return def
}

func (r *Replica) setState(io bool, s string) {
	r.mu.Lock()
	if io {
		r.st.ioState = s
	} else {
		r.st.sqlState = s
	}
	r.mu.Unlock()
}

// relayWriter returns the relay log writer, creating it (with the source's checksum) on the
// receiver's first transaction.
func (r *Replica) relayWriter(checksum binlog.Checksum) (*binlog.Writer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.relay != nil {
		return r.relay, nil
	}
	w, err := binlog.Open(binlog.Options{Dir: r.relayDir(), Prefix: filepath.Base(r.opts.RelayLog), ServerID: r.opts.ServerID,
		Checksum: checksum, KeepEvents: true, Disposable: true, MaxSize: r.opts.RelayLogMaxSize, Logger: r.opts.Logger})
	if err != nil {
		return nil, err
	}
	r.relay = w
	close(r.relayReady)
	return w, nil
}

func (r *Replica) config() Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.cfg
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func fmtErr(format string, args ...any) error { return fmt.Errorf(format, args...) }

func statSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (r *Replica) workers() int {
	if r.opts.Workers == nil {
		return 4
	}
	return max(r.opts.Workers(), 1)
}

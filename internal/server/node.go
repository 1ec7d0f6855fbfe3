package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/clone"
	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/dumpsql"
	"github.com/relaydb/relaydb/internal/readonly"
	"github.com/relaydb/relaydb/internal/replica"
	"github.com/relaydb/relaydb/internal/sqlmeta"
)

// Config is what a node needs to start. Zero values get the defaults noted.
type Config struct {
	// DataDir holds everything durable; created if missing. Required.
	DataDir string
	// Host and Port are where the MySQL protocol is served. Port 0 picks a
	// free port (see Node.Addr). Host defaults to 127.0.0.1.
	Host string
	Port int
	// ServerID is @@server_id (default 1).
	ServerID uint32
	// RootPassword is given to root@localhost when the datadir is first
	// initialised, and ignored (with a warning if it differs) afterwards.
	RootPassword string
	// CacheSize is passed to the storage backend (default 256MiB).
	CacheSize int64
	// MaxAllowedPacket is @@max_allowed_packet (default 64MiB).
	MaxAllowedPacket int64
	// Logger receives the node's log; default slog.Default().
	Logger *slog.Logger
	// OpenStorage opens the storage backend. Required.
	OpenStorage OpenStorageFunc
	// WrapHandler, if set, wraps the node's MySQL protocol handler as the
	// outermost layer, e.g. to add COM_BINLOG_DUMP (vitess looks for
	// mysql.BinlogReplicaHandler on the handler it is given).
	WrapHandler func(mysql.Handler) mysql.Handler
	// BinlogPrefix is the binary log's file name prefix (--log-bin), for log_bin_basename.
	BinlogPrefix string
	// RelayLog is the relay log's file name prefix (--relay-log), relative to the datadir unless
	// absolute; default "relay-bin".
	RelayLog string
	// MaxRelayLogSize is the relay log's file size limit (default 1GiB).
	MaxRelayLogSize int64
	// ReplicaFilters are the --replicate-* options, by CHANGE REPLICATION FILTER kind (see
	// replica.Options.Filters).
	ReplicaFilters map[string][]string
	// TLS names the server's certificate files (default: generated in the datadir).
	TLS TLSFiles
	// RetryableStatementError, if set, says which errors of an autocommit statement mean only
	// that a row it wrote changed after it read it; such a statement is run again (see retry.go).
	RetryableStatementError func(error) bool
	// Cluster makes the node a cluster member: read-only until the control plane makes it the
	// primary, writable only under its lease (cluster.go). ClusterMember is then its handle.
	Cluster bool
	// Redirect, if set, maps an address this node dials (its replication source) to the one
	// actually dialled (--dial-override).
	Redirect func(addr string) string
	// UnsafeNoFence disables the lease check on commits (a planted bug, for showing that the
	// fault-injection checkers catch split brain; never for production).
	UnsafeNoFence bool
}

// Node is one running RelayDB server: a GMS engine over a storage backend,
// with the node's users, system variables, read-only enforcement and packet
// limit. Open it, call Serve, and Close it when done.
//
// GMS keeps system variables and its logger in package variables, so a
// process runs one Node at a time (DESIGN.md: one node is one OS process).
type Node struct {
	cfg        Config
	log        *slog.Logger
	dataDir    string
	lock       *dirLock
	serverUUID string
	globals    *PersistedGlobals
	storage    Storage
	binlog     *commitlog.Log    // nil without a binary log
	replicas   *replica.Channels // nil without a binary log
	engine     *sqle.Engine
	srv        *gmsserver.Server
	listener   *limitListener
	sessions   *sessionTable
	cluster    *clusterRole // nil unless Config.Cluster
	clone      *cloneService
	// clusterStatus is SetClusterStatus's function.
	clusterStatus atomic.Pointer[func(ctx context.Context) ClusterStatus]
	// clusterSwitchover is SetClusterSwitchover's function.
	clusterSwitchover atomic.Pointer[ClusterSwitchoverFunc]

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
	// restartRequested is set when the node closed itself so that a restart installs a clone
	// of the primary that replaces its data (ClusterMember.ReplaceByClone).
	restartRequested atomic.Bool
}

// shutdownWait bounds how long Close waits for connection handlers to return
// before it closes the storage anyway.
const shutdownWait = 30 * time.Second

// Open prepares a node and binds its listener; it accepts no client until
// Serve is called. On error everything already acquired is released.
func Open(cfg Config) (n *Node, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: DataDir is required")
	}
	if cfg.OpenStorage == nil {
		return nil, errors.New("server: OpenStorage is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.ServerID == 0 {
		cfg.ServerID = 1
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 256 << 20
	}
	if cfg.MaxAllowedPacket == 0 {
		cfg.MaxAllowedPacket = 64 << 20
	}
	log := cfg.Logger

	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("datadir %s: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create datadir: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, log: log, dataDir: dir, lock: lock, closed: make(chan struct{})}
	defer func() {
		if err != nil {
			n.abort()
			n = nil
		}
	}()

	// A clone staged by CLONE INSTANCE (which then stopped the node) or relaydb clone is
	// installed before anything reads the data it replaces.
	cloneTracker := clone.NewTracker(filepath.Join(dir, cloneStatusFileName))
	if err := installStagedClone(dir, clone.Layout{BinlogPrefix: cfg.BinlogPrefix, RelayLog: cfg.RelayLog}, cloneTracker, log); err != nil {
		return n, err
	}

	var created bool
	n.serverUUID, created, err = loadOrCreateServerUUID(dir)
	if err != nil {
		return n, err
	}
	if created {
		log.Info("generated server_uuid", "server_uuid", n.serverUUID, "file", filepath.Join(dir, autoCnfName))
	}

	n.globals, err = LoadPersistedGlobals(filepath.Join(dir, persistedFileName))
	if err != nil {
		return n, err
	}
	applied, err := installSystemVariables(nodeVars{
		serverUUID:       n.serverUUID,
		serverID:         cfg.ServerID,
		maxAllowedPacket: cfg.MaxAllowedPacket,
		dataDir:          dir,
	}, n.globals.Values())
	if err != nil {
		return n, err
	}
	if len(applied) > 0 {
		log.Info("applied persisted system variables", "file", n.globals.Path(), "variables", applied)
	}
	if err := restrictFileAccess(dir); err != nil {
		return n, err
	}
	routeLogrus(log)

	tlsConfig, err := loadOrCreateTLS(dir, cfg.TLS)
	if err != nil {
		return n, err
	}

	storageDir := filepath.Join(dir, storageDirName)
	if err := os.MkdirAll(storageDir, 0o750); err != nil {
		return n, fmt.Errorf("create storage directory: %w", err)
	}
	n.storage, err = cfg.OpenStorage(StorageOptions{
		Dir:        storageDir,
		CacheSize:  cfg.CacheSize,
		Globals:    n.globals,
		Logger:     log,
		DataDir:    dir,
		ServerID:   cfg.ServerID,
		ServerUUID: n.serverUUID,
	})
	if err != nil {
		return n, fmt.Errorf("open storage: %w", err)
	}

	if bs, ok := n.storage.(binlogSource); ok {
		n.binlog = bs.Binlog()
	}
	if err := installBinlogVariables(n.binlog, cfg.BinlogPrefix, dir, n.globals.Values()); err != nil {
		return n, err
	}

	provider := &withPerformanceSchema{inner: n.storage.Provider(), perf: clone.NewPerformanceSchema(cloneTracker)}
	// Stored functions, SHOW CREATE TRIGGER/PROCEDURE/FUNCTION and the SHOW CREATE TABLE text
	// as mariadb-dump needs them (package dumpsql): its parser and formatter replace GMS's.
	routines := dumpsql.New(provider)
	provider.functions = routines
	n.engine = sqle.New(withoutWrongRules(analyzer.NewBuilder(provider).
		AddOverrides(sql.EngineOverrides{
			Builder:         sql.BuilderOverrides{Parser: routines.Parser()},
			SchemaFormatter: &dumpsql.SchemaFormatter{},
		}).
		AddPreAnalyzeRule(implicitCommitRuleID, implicitCommitRule)).Build(), &sqle.Config{})
	routines.Attach(n.engine)
	registerFunctions(n.engine, n.binlog)
	if r, ok := n.storage.(pendingReplayer); ok {
		// Before privileges are loaded: the replay runs as the server itself.
		if err := r.ReplayPending(n.engine); err != nil {
			return n, fmt.Errorf("binary log recovery: %w", err)
		}
	}
	if n.binlog != nil && n.binlog.Semi() != nil {
		if err := installSemiSyncVariables(n.binlog.Semi(), n.globals.Values()); err != nil {
			return n, err
		}
	}
	installLiveStatus(n.binlog, n.semiSyncReplicaActive, n.semiSyncReplicaStats)
	db := n.engine.Analyzer.Catalog.MySQLDb
	var logAccount func(*sql.Context, []byte) error
	if al, ok := n.storage.(accountLogger); ok && n.binlog != nil {
		logAccount = accountStatementLogger(al)
	}
	if err := loadPrivileges(sql.NewEmptyContext(), db, filepath.Join(dir, mysqlDbFileName), cfg.RootPassword, log, logAccount); err != nil {
		return n, err
	}
	if n.clone, err = n.newCloneService(cloneTracker, db); err != nil {
		return n, err
	}
	n.clone.shutdown = func() { _ = n.Close() }
	readLock, _ := n.storage.(globalReadLocker)
	conns := newConnRegistry()
	procs := &processList{ProcessList: n.engine.ProcessList, conns: conns}
	n.engine.Analyzer.ExecBuilder.PriorityBuilder = &readOnlyGuard{db: db, readLock: readLock, procs: procs,
		meta: sqlmeta.Builder{Provider: provider,
			Privileges: func(ctx *sql.Context) sql.PrivilegeSet { return db.UserActivePrivilegeSet(ctx) }},
		exec: n.engine.Analyzer.ExecBuilder}
	binlogStmts := newBinlogStatements(n.engine)
	n.engine.Analyzer.Catalog.BinlogConsumer = binlogStmts

	if n.binlog != nil {
		if n.replicas, err = n.openReplicas(cfg, dir); err != nil {
			return n, err
		}
		procs.replicas = n.replicas
	}
	n.engine.ProcessList = procs
	installProcessListTable(n.engine.Analyzer.Catalog.InfoSchema, procs)
	if cfg.Cluster {
		if err := n.setupCluster(); err != nil {
			return n, err
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return n, fmt.Errorf("listen on %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), err)
	}
	n.listener = newLimitListener(ln, maxAllowedPacket, log)
	// The connections terminate TLS themselves (limitConn), so vitess gets no TLS configuration.
	n.listener.tlsConfig = tlsConfig
	commands := &nodeCommands{started: time.Now(), db: db}
	n.listener.commands = commands
	n.sessions = &sessionTable{sessions: map[uint32]sql.Session{}}

	auth := newAuthServer(db)
	commands.auth = auth
	observer, _ := n.storage.(commandObserver)
	gcfg := gmsserver.Config{
		Protocol:          "tcp",
		Address:           ln.Addr().String(),
		Listener:          n.listener,
		Version:           Version,
		MaxLoggedQueryLen: 1024,
		// GMS's watcher peeks at a running query's socket to notice a client that went away;
		// the peek is subject to net_read_timeout (30 s), so it killed every statement running
		// longer than that (SLEEP(40), WAIT_FOR_EXECUTED_GTID_SET, a long SELECT) with 1317.
		// MySQL applies net_read_timeout only while it waits for a client's packet.
		DisableConnectionWatcher: true,
		ProtocolListenerFactory: func(c gmsserver.Config, lc mysql.ListenerConfig, sel gmsserver.ServerEventListener) (gmsserver.ProtocolListener, error) {
			lc.AuthServer = auth
			return gmsserver.MySQLProtocolListenerFactory(c, lc, sel)
		},
	}
	if gcfg, err = gcfg.NewConfig(); err != nil {
		return n, err
	}
	// GMS takes net_read_timeout (30 s) as a limit on how long a statement may take to produce
	// a row, failing longer ones with "row read wait bigger than connection timeout". MySQL
	// applies it only while waiting for a client's packet; statements may run as long as they
	// need (WAIT_FOR_EXECUTED_GTID_SET, SLEEP, big scans).
	gcfg.ConnReadTimeout = 0
	wrap := func(h mysql.Handler) (mysql.Handler, error) {
		admin := &binlogAdmin{log: n.binlog, dataDir: dir, sessions: n.sessions, users: db,
			serverID: cfg.ServerID, serverUUID: n.serverUUID, replicas: newReplicaRegistry(), stop: n.closed,
			channels: n.replicas, clusterStatus: n.clusterStatus.Load, clusterSwitchover: n.clusterSwitchover.Load, inCluster: cfg.Cluster, clone: n.clone}
		if n.binlog != nil {
			n.binlog.SetPurgeGuard(admin.replicas.guard)
		}
		if s, ok := n.storage.(logStateSyncer); ok {
			admin.syncState = s.SyncLogState
		}
		var out mysql.Handler = &nodeHandler{Handler: h, sessions: n.sessions, conns: conns, observer: observer, limit: maxAllowedPacket,
			retryable: cfg.RetryableStatementError, admin: admin, readLock: readLock, binlogStmts: binlogStmts,
			fast: newFastPath(n.engine, n.storage.Provider(), readLock), cluster: n.cluster, provider: n.storage.Provider()}
		commands.handler.Store(out.(*nodeHandler))
		if cfg.WrapHandler != nil {
			out = cfg.WrapHandler(out)
		}
		return out, nil
	}
	n.srv, err = gmsserver.NewServerWithHandler(gcfg, n.engine, newQueryContext, n.newSession, nil, wrap)
	if err != nil {
		ln.Close()
		return n, fmt.Errorf("start protocol server: %w", err)
	}
	return n, nil
}

// newSession is the GMS SessionBuilder: a base session for the
// authenticated connection, turned into a storage session.
func (n *Node) newSession(_ context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	var client sql.Client
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		client = sql.Client{User: u.User, Address: u.Host, Capabilities: conn.Capabilities}
	}
	s := n.storage.NewSession(sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID))
	n.sessions.put(conn.ConnectionID, s)
	return s, nil
}

// Addr is the address the node listens on.
func (n *Node) Addr() net.Addr { return n.listener.Addr() }

// ServerUUID is @@server_uuid, stable for the life of the datadir.
func (n *Node) ServerUUID() string { return n.serverUUID }

// RestartRequested reports whether the node closed itself to be started again (a staged clone
// to install): the caller should then start the same command again.
func (n *Node) RestartRequested() bool { return n.restartRequested.Load() }

// DataDir is the absolute path of the datadir.
func (n *Node) DataDir() string { return n.dataDir }

// Engine is the node's GMS engine, for in-process callers such as the
// replication applier (which should mark its contexts with
// readonly.MarkApplier).
func (n *Node) Engine() *sqle.Engine { return n.engine }

// Storage is the backend the node serves.
func (n *Node) Storage() Storage { return n.storage }

// Serve logs the ready line and accepts clients until Close. It returns nil
// after Close.
func (n *Node) Serve() error {
	select {
	case <-n.closed:
		return nil
	default:
	}
	n.log.Info("ready for connections", "addr", n.Addr().String(), "version", Version,
		"server_id", n.cfg.ServerID, "server_uuid", n.serverUUID, "datadir", n.dataDir)
	return n.srv.Start()
}

// Close stops accepting, closes client connections, waits (bounded) for
// their handlers, closes the engine and the storage, and releases the
// datadir. Safe to call more than once and concurrently with Serve.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.closed)
		var errs []error
		if n.srv != nil {
			_ = n.srv.Close()
		}
		if n.listener != nil {
			n.listener.closeConns()
		}
		if n.replicas != nil {
			n.replicas.Close()
		}
		if n.binlog != nil && n.binlog.Semi() != nil {
			// The dump connections are closed: no acknowledgement can come any more, and a
			// commit waiting for one (in a cluster, without a fallback to asynchronous) would
			// keep its handler, and the storage's close behind it, waiting for ever. Released
			// with an error, it is not acknowledged to its client, which the semi-sync
			// guarantee allows; it is in the binlog and survives as after kill -9.
			n.binlog.Semi().Fence(errServerShutdown)
		}
		if n.engine != nil {
			errs = append(errs, n.engine.Close())
		}
		if n.srv != nil {
			done := make(chan struct{})
			go func() {
				n.srv.SessionManager().WaitForClosedConnections()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(shutdownWait):
				n.log.Error("connections still busy at shutdown; closing storage anyway", "waited", shutdownWait,
					"stacks", writeGoroutineStacks(n.dataDir, "shutdown"))
			}
		}
		n.clone.close()
		if n.storage != nil {
			if err := n.storage.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close storage: %w", err))
			}
		}
		errs = append(errs, n.lock.release())
		n.closeErr = errors.Join(errs...)
		if n.closeErr == nil {
			n.log.Info("shutdown complete", "datadir", n.dataDir)
		}
	})
	return n.closeErr
}

// errServerShutdown is what a commit still waiting for a replica's acknowledgement at shutdown
// gets (MySQL's ER_SERVER_SHUTDOWN).
var errServerShutdown = mysql.NewSQLError(mysql.ERServerShutdown, "08S01", "Server shutdown in progress")

// abort releases what a failed Open acquired.
func (n *Node) abort() {
	if n.replicas != nil {
		n.replicas.Close()
	}
	if n.listener != nil {
		n.listener.Close()
	}
	n.clone.close()
	if n.storage != nil {
		_ = n.storage.Close()
	}
	_ = n.lock.release()
}

// restrictFileAccess points secure_file_priv (LOAD DATA, SELECT ... INTO
// OUTFILE, LOAD_FILE) at <datadir>/files instead of GMS's default of
// "anywhere the process can read".
func restrictFileAccess(dir string) error {
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", files, err)
	}
	return sql.SystemVariables.AssignValues(map[string]interface{}{"secure_file_priv": files + "/"})
}

func maxAllowedPacket() int64 {
	_, v, ok := sql.SystemVariables.GetGlobal("max_allowed_packet")
	if !ok {
		return 64 << 20
	}
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case int:
		return int64(x)
	case uint32:
		return int64(x)
	case int32:
		return int64(x)
	}
	return 64 << 20
}

// readOnlyGuard runs before GMS builds each analyzed plan node into an
// iterator (it is the exec builder's priority builder, consulted for every
// node, root first). It never builds anything itself; it only refuses writes
// while read_only or super_read_only is on. The root of every statement
// passes through here, whether the statement came as text, as a prepared
// statement or from a stored procedure, so no write reaches storage or
// mysql_db unchecked.
//
// It also builds the account statements the node implements itself (buildAccountStatement),
// after the read-only checks, and keeps GMS from committing the transaction after a PREPARE
// (keepTransaction).
type readOnlyGuard struct {
	db       *mysql_db.MySQLDb
	readLock globalReadLocker    // may be nil
	procs    *processList        // SHOW PROCESSLIST is built from it (processlist.go); may be nil
	meta     sqlmeta.Builder     // SHOW COLUMNS, SHOW TABLE STATUS, information_schema.COLUMNS
	exec     sql.NodeExecBuilder // the builder this guard is the priority builder of
}

func (g *readOnlyGuard) Build(ctx *sql.Context, node sql.Node, row sql.Row) (sql.RowIter, error) {
	clampVirtualColumns(node)
	if rewritten := textLiteralsForIgnore(ctx, node); rewritten != nil && g.exec != nil {
		return g.exec.Build(ctx, rewritten, row)
	}
	if g.readLock != nil && ctx.Session != nil && g.readLock.HoldsCommitLock(ctx.Session.ID()) && !readonly.AllowedWhileReadOnly(node) {
		// The session holding FLUSH TABLES WITH READ LOCK may not write (the others wait at commit).
		return nil, errHoldsReadLock
	}
	if readonly.CurrentMode().Active() && !readonly.AllowedWhileReadOnly(node) {
		// Refresh the session's cached privilege set so Check sees grants and
		// revokes made since it was last computed.
		g.db.UserActivePrivilegeSet(ctx)
		if err := readonly.Check(ctx); err != nil {
			return nil, err
		}
	}
	if _, ok := node.(*plan.PrepareQuery); ok {
		keepTransaction(ctx)
	}
	if iter, ok := g.procs.buildShowProcessList(node); ok {
		return iter, nil
	}
	if iter, err := g.meta.Build(ctx, node, row); iter != nil || err != nil {
		return iter, err // SHOW COLUMNS and SHOW TABLE STATUS as MySQL prints them
	}
	return buildAccountStatement(ctx, g.db, node)
}

// replicaSessionID identifies the applier's session.
const replicaSessionID = 1<<32 - 3

// openReplicas loads every replication channel's settings and restarts those that were running.
func (n *Node) openReplicas(cfg Config, dir string) (*replica.Channels, error) {
	opts := replica.Options{
		Dir: dir, RelayLog: cfg.RelayLog, RelayLogMaxSize: cfg.MaxRelayLogSize, ServerID: cfg.ServerID, ServerUUID: n.serverUUID, Engine: n.engine, Logger: n.log,
		NewSession: func() sql.Session {
			// The applier acts as root@localhost, as MySQL's applier acts with full privileges.
			return n.storage.NewSession(sql.NewBaseSessionWithClientServer("replication applier",
				sql.Client{User: "root", Address: "localhost"}, replicaSessionID))
		},
		Executed: n.binlog.Executed,
		Contains: n.binlog.Contains,
		Filters:  cfg.ReplicaFilters,
		Workers:  parallelWorkers,
		SemiSync: SemiSyncReplicaEnabled,
		// Read for every acknowledgement: SET GLOBAL applies to running receivers.
		SemiSyncAckDurability: SemiSyncReplicaAckDurability,
		// MySQL's report_port defaults to the port the replica serves clients on.
		ReportPort: cfg.Port,
		SetOrigin: func(s sql.Session, serverID uint32) func() {
			n.binlog.SetOrigin(s, serverID)
			return func() { n.binlog.ClearOrigin(s) }
		},
	}
	n.replicaClusterOptions(&opts)
	return replica.OpenChannels(opts)
}

// semiSyncReplicaActive is Rpl_semi_sync_replica_status: this server's receiver is connected to
// its source in semi-sync mode.
func (n *Node) semiSyncReplicaActive() bool {
	return n.replicas != nil && n.replicas.SemiSyncActive()
}

// semiSyncReplicaStats adds up the receivers' semi-sync figures (Rpl_semi_sync_replica_acks, …).
func (n *Node) semiSyncReplicaStats() replica.SemiSyncStats {
	if n.replicas == nil {
		return replica.SemiSyncStats{}
	}
	return n.replicas.SemiSyncStats()
}

// wrongRules are GMS analyzer rules whose rewrite changes results, removed from the engine:
//   - replaceAgg turns SELECT MAX(pk) / MIN(pk) into ORDER BY pk LIMIT 1, which returns no row
//     for an empty table where MySQL returns one row holding NULL (so INSERT … SELECT
//     COALESCE(MAX(id), 0) + 1 silently inserted nothing).
//
// (GMS's rewrite of DELETE FROM t into TRUNCATE runs in a batch of its own that no builder option
// reaches; the storage engine's Truncate undoes it, see storage.Table.Truncate.)
var wrongRules = []string{"replaceAgg"}

// withoutWrongRules removes wrongRules (found by name: GMS does not export their ids).
func withoutWrongRules(b *analyzer.Builder) *analyzer.Builder {
	for _, r := range analyzer.OnceAfterDefault {
		if slices.Contains(wrongRules, r.Id.String()) {
			b = b.RemoveOnceAfterRule(r.Id)
		}
	}
	return b
}

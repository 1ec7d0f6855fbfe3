package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/adminsql"
	"github.com/relaydb/relaydb/internal/clone"
)

// The node's side of physical clone (internal/clone): CLONE INSTANCE on a recipient, the
// CLONE DONOR statements on a donor, performance_schema.clone_status / clone_progress, and the
// install of a staged clone at startup.

// checkpointer is implemented by storage backends that can copy their store (a clone donor).
type checkpointer interface {
	Checkpoint(dir string) ([]byte, error)
}

const (
	cloneStatusFileName = "clone-status.json"
	cloneDonorDirName   = ".clone-donor"
	// cloneBandwidthVariable is MySQL's clone_max_data_bandwidth: MiB/s, 0 unlimited.
	cloneBandwidthVariable = "clone_max_data_bandwidth"
	// Test hook: the donor damages the first chunk of files whose name ends with this value.
	cloneCorruptEnv = "RELAYDB_CLONE_TEST_CORRUPT"
)

// cloneVariables are the clone's system variables.
func cloneVariables() []sql.SystemVariable {
	return []sql.SystemVariable{&sql.MysqlSystemVariable{
		Name:    cloneBandwidthVariable,
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
		Dynamic: true,
		Type:    types.NewSystemIntType(cloneBandwidthVariable, 0, 1<<20, false),
		Default: int64(0),
	}}
}

// CloneMaxBandwidth is clone_max_data_bandwidth in bytes per second (0: unlimited).
func cloneMaxBandwidth() int64 {
	_, v, ok := sql.SystemVariables.GetGlobal(cloneBandwidthVariable)
	if !ok {
		return 0
	}
	var mib int64
	switch x := v.(type) {
	case int64:
		mib = x
	case int:
		mib = int64(x)
	case uint64:
		mib = int64(x)
	case int32:
		mib = int64(x)
	}
	return mib << 20
}

// cloneService is the node's clone state, shared by its connections.
type cloneService struct {
	log     *slog.Logger
	dataDir string
	uuid    string
	layout  clone.Layout
	tracker *clone.Tracker
	donor   *clone.Donor // nil when the storage cannot checkpoint
	// shutdown stops the node after a clone replacing its data has been staged.
	shutdown func()
}

// installStagedClone installs a clone staged by CLONE INSTANCE without DATA DIRECTORY (or by
// relaydb clone) before anything opens the datadir's data. It runs with the datadir locked.
func installStagedClone(dir string, layout clone.Layout, tracker *clone.Tracker, log *slog.Logger) error {
	if !clone.Pending(dir) {
		if tracker.Snapshot().State == clone.StateInProgress && tracker.Resume() {
			// The process died during a clone: say so instead of showing it running forever.
			tracker.Finish(clone.ErUnknown, errors.New("the clone was interrupted when the server stopped; run it again (verified files are kept)"))
		}
		return nil
	}
	resumed := tracker.Resume()
	if resumed {
		tracker.BeginStage(clone.StageRecovery, 0)
	}
	_, _, err := clone.Install(dir, layout, log)
	if resumed {
		tracker.Finish(clone.ErUnknown, err)
	}
	if err != nil {
		return fmt.Errorf("install the staged clone in %s (remove %s to start with the old data): %w", dir, filepath.Join(dir, clone.StagingDirName), err)
	}
	return nil
}

// newCloneService sets up the donor side when the storage can checkpoint.
func (n *Node) newCloneService(tracker *clone.Tracker, users *mysql_db.MySQLDb) (*cloneService, error) {
	s := &cloneService{log: n.log, dataDir: n.dataDir, uuid: n.serverUUID, tracker: tracker,
		layout: clone.Layout{BinlogPrefix: n.cfg.BinlogPrefix, RelayLog: n.cfg.RelayLog}}
	cp, ok := n.storage.(checkpointer)
	if !ok {
		return s, nil
	}
	d, err := clone.NewDonor(clone.DonorOptions{
		Dir:          filepath.Join(n.dataDir, cloneDonorDirName),
		Checkpoint:   cp.Checkpoint,
		AccountsFile: filepath.Join(n.dataDir, mysqlDbFileName),
		// Account statements persist mysql.db and commit their GTID under the privilege
		// tables' write lock: holding the read lock copies a matching pair.
		HoldAccounts: func(fn func() error) error {
			rd := users.Reader()
			defer rd.Close()
			return fn()
		},
		ServerUUID:    n.serverUUID,
		Logger:        n.log,
		CorruptSuffix: os.Getenv(cloneCorruptEnv),
	})
	if err != nil {
		return nil, err
	}
	s.donor = d
	return s, nil
}

func (s *cloneService) close() {
	if s != nil && s.donor != nil {
		_ = s.donor.Close()
	}
}

// cloneStatement runs a CLONE statement (a.clone is set).
func (a *binlogAdmin) cloneStatement(ctx context.Context, c *mysql.Conn, st adminsql.Statement) (*sqltypes.Result, bool, error) {
	s := a.clone
	if inst, ok := st.(*adminsql.CloneInstance); ok {
		// MySQL: CLONE_ADMIN on the recipient.
		if err := a.checkPrivileges(ctx, c, []string{"CLONE_ADMIN"}); err != nil {
			return nil, true, err
		}
		return s.instance(ctx, inst)
	}
	// The donor side: MySQL's clone user needs BACKUP_ADMIN on the donor. GMS cannot GRANT
	// BACKUP_ADMIN (only CLONE_ADMIN and REPLICATION_SLAVE_ADMIN of the dynamic privileges), and
	// in MySQL CLONE_ADMIN includes BACKUP_ADMIN, so either (or SUPER) will do.
	if err := a.checkPrivileges(ctx, c, []string{"BACKUP_ADMIN", "CLONE_ADMIN"}); err != nil {
		return nil, true, err
	}
	if s.donor == nil {
		return nil, true, mysql.NewSQLError(clone.ErCloneDonor, "HY000", "Clone Donor Error: this server's storage cannot be cloned.")
	}
	donorErr := func(err error) error {
		return mysql.NewSQLError(clone.ErCloneDonor, "HY000", "Clone Donor Error: %v.", err)
	}
	switch d := st.(type) {
	case *adminsql.CloneDonorBegin:
		m, err := s.donor.Begin(ctx)
		if err != nil {
			return nil, true, donorErr(err)
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, true, donorErr(err)
		}
		return blobResult("Manifest", raw), true, nil
	case *adminsql.CloneDonorRead:
		b, err := s.donor.Read(d.ID, d.File, d.Offset, d.Length)
		if err != nil {
			return nil, true, donorErr(err)
		}
		return blobResult("Data", b), true, nil
	case *adminsql.CloneDonorEnd:
		if err := s.donor.End(d.ID); err != nil {
			return nil, true, donorErr(err)
		}
		return &sqltypes.Result{}, true, nil
	}
	return nil, false, nil
}

func blobResult(name string, b []byte) *sqltypes.Result {
	f := &querypb.Field{Name: name, Type: querypb.Type_BLOB, Charset: 63, Flags: uint32(querypb.MySqlFlag_BINARY_FLAG | querypb.MySqlFlag_BLOB_FLAG)}
	return &sqltypes.Result{Fields: []*querypb.Field{f}, Rows: [][]sqltypes.Value{{sqltypes.MakeTrusted(querypb.Type_BLOB, b)}}}
}

// instance runs CLONE INSTANCE FROM on this node (the recipient).
func (s *cloneService) instance(ctx context.Context, st *adminsql.CloneInstance) (*sqltypes.Result, bool, error) {
	src := clone.Source{User: st.User, Host: st.Host, Port: st.Port, Password: st.Password}
	if st.RequireSSL != nil {
		src.TLS = "false"
		if *st.RequireSSL {
			src.TLS = "skip-verify"
		}
	}
	opts := clone.Options{Source: src, MaxBandwidth: cloneMaxBandwidth, Tracker: s.tracker, Logger: s.log, RefuseUUID: s.uuid}
	if st.DataDir != "" {
		if !filepath.IsAbs(st.DataDir) {
			return nil, true, mysql.NewSQLError(mysql.ERWrongValue, "HY000", "DATA DIRECTORY must be an absolute path: '%s'", st.DataDir)
		}
		dir := filepath.Clean(st.DataDir)
		if dir == s.dataDir || strings.HasPrefix(s.dataDir+"/", dir+"/") {
			return nil, true, mysql.NewSQLError(adminsql.ERDBCreateExists, "HY000", "Can't create database '%s'; database exists", st.DataDir)
		}
		if err := clone.CheckTarget(dir); err != nil {
			return nil, true, err
		}
		opts.Dir = dir
	} else {
		opts.Dir = s.dataDir
	}
	dest := opts.Dir
	if st.DataDir == "" {
		dest = "LOCAL INSTANCE"
	}
	if err := s.tracker.Start(src.String(), dest); err != nil {
		return nil, true, mysql.NewSQLError(clone.ErUnknown, "HY000", "Concurrent clone in progress. Please try after clone is complete.")
	}
	m, err := clone.Fetch(ctx, opts)
	if err == nil && st.DataDir != "" {
		_, _, err = clone.Install(opts.Dir, clone.Layout{}, s.log)
	}
	if err != nil {
		s.tracker.Finish(errorCode(err), err)
		return nil, true, err
	}
	if st.DataDir != "" {
		s.tracker.Finish(0, nil)
		s.log.Info("clone complete", "data_directory", opts.Dir, "gtid_executed", m.GTIDExecuted)
		return &sqltypes.Result{}, true, nil
	}
	// MySQL restarts the server to use the cloned data; RelayDB has no supervisor of its own,
	// so it stops, and the next start installs the clone (the old data is set aside).
	s.tracker.BeginStage(clone.StageRestart, 0)
	s.log.Warn("clone staged and verified; stopping so that the next start installs it (start the server again)",
		"gtid_executed", m.GTIDExecuted)
	if s.shutdown != nil {
		go func() {
			time.Sleep(200 * time.Millisecond) // let the client read its OK
			s.shutdown()
		}()
	}
	return &sqltypes.Result{}, true, nil
}

func errorCode(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	return clone.ErUnknown
}

// LockDataDir takes the exclusive lock a running server holds on dir (for offline tools such
// as relaydb clone); the returned function releases it.
func LockDataDir(dir string) (release func() error, err error) {
	l, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// InstallStagedClone installs a clone staged in dir (relaydb clone); see clone.Install.
func InstallStagedClone(dir string, layout clone.Layout, log *slog.Logger) (setAside string, err error) {
	setAside, _, err = clone.Install(dir, layout, log)
	return setAside, err
}

// withPerformanceSchema serves performance_schema (the clone tables) beside the storage's
// databases.
type withPerformanceSchema struct {
	inner sql.DatabaseProvider
	perf  sql.Database
	// functions serves the stored functions (package dumpsql); nil: none.
	functions sql.FunctionProvider
}

// Function implements sql.FunctionProvider: GMS's catalog asks it before its built-ins.
func (p *withPerformanceSchema) Function(ctx *sql.Context, schema, name string) (sql.Function, bool) {
	if p.functions == nil {
		return nil, false
	}
	return p.functions.Function(ctx, schema, name)
}

var (
	_ sql.MutableDatabaseProvider  = (*withPerformanceSchema)(nil)
	_ sql.CollatedDatabaseProvider = (*withPerformanceSchema)(nil)
)

func (p *withPerformanceSchema) Database(ctx *sql.Context, name string) (sql.Database, error) {
	if strings.EqualFold(name, clone.PerformanceSchemaName) {
		return p.perf, nil
	}
	return p.inner.Database(ctx, name)
}

func (p *withPerformanceSchema) HasDatabase(ctx *sql.Context, name string) bool {
	return strings.EqualFold(name, clone.PerformanceSchemaName) || p.inner.HasDatabase(ctx, name)
}

func (p *withPerformanceSchema) AllDatabases(ctx *sql.Context) []sql.Database {
	return append(p.inner.AllDatabases(ctx), p.perf)
}

func (p *withPerformanceSchema) CreateDatabase(ctx *sql.Context, name string) error {
	return p.CreateCollatedDatabase(ctx, name, sql.Collation_Default)
}

func (p *withPerformanceSchema) CreateCollatedDatabase(ctx *sql.Context, name string, collation sql.CollationID) error {
	if strings.EqualFold(name, clone.PerformanceSchemaName) {
		return sql.ErrDatabaseExists.New(name)
	}
	if c, ok := p.inner.(sql.CollatedDatabaseProvider); ok {
		return c.CreateCollatedDatabase(ctx, name, collation)
	}
	if m, ok := p.inner.(sql.MutableDatabaseProvider); ok {
		return m.CreateDatabase(ctx, name)
	}
	return sql.ErrImmutableDatabaseProvider.New()
}

func (p *withPerformanceSchema) DropDatabase(ctx *sql.Context, name string) error {
	if strings.EqualFold(name, clone.PerformanceSchemaName) {
		return sql.ErrDatabaseAccessDeniedForUser.New(fmt.Sprintf("'%s'@'%s'", ctx.Client().User, ctx.Client().Address), name)
	}
	if m, ok := p.inner.(sql.MutableDatabaseProvider); ok {
		return m.DropDatabase(ctx, name)
	}
	return sql.ErrImmutableDatabaseProvider.New()
}

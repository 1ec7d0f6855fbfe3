package server

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/sqlval"
)

// binlogSource is implemented by storage backends that keep a binary log.
type binlogSource interface {
	Binlog() *commitlog.Log
}

// pendingReplayer is implemented by storage backends that must re-apply logged transactions
// at startup, through the SQL engine, before clients connect.
type pendingReplayer interface {
	ReplayPending(engine *sqle.Engine) error
}

// logStateSyncer is implemented by storage backends whose store records the binary log's state.
type logStateSyncer interface {
	SyncLogState() error
}

// Binlog is the node's binary log, or nil when it runs without one.
func (n *Node) Binlog() *commitlog.Log { return n.binlog }

// installBinlogVariables defines the system variables that describe or steer the binary log.
// l is nil when the node runs without one. Persisted values (SET PERSIST) are applied again
// afterwards, since they were read before these definitions existed.
func installBinlogVariables(l *commitlog.Log, prefix, dataDir string, persisted map[string]interface{}) error {
	global := sql.GetMysqlScope(sql.SystemVariableScope_Global)
	both := sql.GetMysqlScope(sql.SystemVariableScope_Both)
	session := sql.GetMysqlScope(sql.SystemVariableScope_Session)
	on := int8(0)
	if l != nil {
		on = 1
	}
	executed := func() (interface{}, error) {
		if l == nil {
			return "", nil
		}
		return l.Executed().String(), nil
	}
	purged := func() (interface{}, error) {
		if l == nil {
			return "", nil
		}
		return l.Purged().String(), nil
	}
	syncBinlog := int64(0)
	if l != nil {
		syncBinlog = l.SyncBinlog()
	}
	base := ""
	if l != nil {
		base = filepath.Join(dataDir, prefix)
	}
	index := ""
	if base != "" {
		index = base + ".index"
	}
	vars := []sql.SystemVariable{
		&sql.MysqlSystemVariable{Name: "log_bin", Scope: global, Type: types.NewSystemBoolType("log_bin"), Default: on},
		&sql.MysqlSystemVariable{Name: "log_bin_basename", Scope: global, Type: types.NewSystemStringType("log_bin_basename"), Default: base},
		&sql.MysqlSystemVariable{Name: "log_bin_index", Scope: global, Type: types.NewSystemStringType("log_bin_index"), Default: index},
		&sql.MysqlSystemVariable{Name: "gtid_mode", Scope: global, Type: types.NewSystemEnumType("gtid_mode", "OFF", "OFF_PERMISSIVE", "ON_PERMISSIVE", "ON"), Default: "ON"},
		&sql.MysqlSystemVariable{Name: "enforce_gtid_consistency", Scope: global, Type: types.NewSystemEnumType("enforce_gtid_consistency", "OFF", "ON", "WARN"), Default: "ON"},
		&sql.MysqlSystemVariable{Name: "gtid_executed", Scope: global, Type: types.NewSystemStringType("gtid_executed"), Default: "", ValueFunction: executed},
		&sql.MysqlSystemVariable{Name: "gtid_purged", Scope: global, Type: types.NewSystemStringType("gtid_purged"), Default: "", ValueFunction: purged},
		&sql.MysqlSystemVariable{
			Name: "gtid_next", Scope: session, Dynamic: true, Type: types.NewSystemStringType("gtid_next"), Default: "AUTOMATIC",
			NotifyChanged: func(ctx *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				s := strings.TrimSpace(fmt.Sprint(v.Val))
				if strings.EqualFold(s, "AUTOMATIC") {
					return nil
				}
				if _, err := gtid.ParseGTID(s); err != nil {
					return mysql.NewSQLError(1772, "HY000", "Malformed GTID specification '%s'.", s)
				}
				return nil
			},
		},
		&sql.MysqlSystemVariable{
			Name: "sync_binlog", Scope: global, Dynamic: true, Type: types.NewSystemUintType("sync_binlog", 0, 4294967295), Default: uint64(syncBinlog),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				if l != nil {
					if x, ok := toInt64(v.Val); ok {
						l.SetSyncBinlog(x)
					}
				}
				return nil
			},
		},
		&sql.MysqlSystemVariable{
			Name: "binlog_format", Scope: both, Dynamic: true, Type: types.NewSystemEnumType("binlog_format", "ROW", "STATEMENT", "MIXED"), Default: "ROW",
			NotifyChanged: func(ctx *sql.Context, scope sql.SystemVariableScope, _ sql.SystemVarValue) error {
				// MySQL refuses to change the format inside a transaction (error 1679).
				if ctx != nil && ctx.GetIgnoreAutoCommit() {
					return mysql.NewSQLError(1679, "HY000", "Cannot modify @@session.binlog_format inside a transaction")
				}
				return nil
			},
		},
		&sql.MysqlSystemVariable{
			// SET LAST_INSERT_ID = n sets what LAST_INSERT_ID() returns (statement-based replay).
			Name: "last_insert_id", Scope: session, Dynamic: true,
			Type: types.NewSystemIntType("last_insert_id", 0, math.MaxInt64, false), Default: int64(0),
			NotifyChanged: func(ctx *sql.Context, scope sql.SystemVariableScope, v sql.SystemVarValue) error {
				if x, ok := toInt64(v.Val); ok && ctx != nil && ctx.Session != nil {
					ctx.Session.GetLastQueryInfo().LastInsertId.Store(x)
				}
				return nil
			},
		},
		&sql.MysqlSystemVariable{
			Name: "sql_log_bin", Scope: session, Dynamic: true, Type: types.NewSystemBoolType("sql_log_bin"), Default: int8(1),
			NotifyChanged: func(ctx *sql.Context, _ sql.SystemVariableScope, _ sql.SystemVarValue) error {
				return requireSuper(ctx, "SUPER or SYSTEM_VARIABLES_ADMIN")
			},
		},
	}
	vars = append(vars, randSeedVariables()...)
	// The applier always logs what it applies, with the original GTID and server_id: its
	// gtid_executed is kept by the binary log, so not logging would lose its position. As in
	// MySQL 8 the variable is read-only at runtime; here it cannot be turned off at all.
	for _, name := range []string{"log_replica_updates", "log_slave_updates"} {
		vars = append(vars, &sql.MysqlSystemVariable{Name: name, Scope: global, Dynamic: false,
			Type: types.NewSystemBoolType(name), Default: int8(1)})
	}
	for _, name := range []string{"replica_parallel_workers", "slave_parallel_workers"} {
		vars = append(vars, &sql.MysqlSystemVariable{Name: name, Scope: global, Dynamic: true,
			Type: types.NewSystemUintType(name, 0, 1024), Default: uint64(defaultParallelWorkers)})
	}
	sql.SystemVariables.AddSystemVariables(vars)
	if l != nil {
		l.SetRandSeeds(statementSeeds)
	}
	for _, v := range vars {
		name := v.GetName()
		if val, ok := persisted[name]; ok {
			if err := sql.SystemVariables.AssignValues(map[string]interface{}{name: val}); err != nil {
				return fmt.Errorf("apply persisted variable %s=%v: %w", name, val, err)
			}
			if name == "sync_binlog" && l != nil {
				if x, ok := toInt64(val); ok {
					l.SetSyncBinlog(x)
				}
			}
		}
	}
	return nil
}

// requireSuper fails with MySQL's error 1227 unless the session has SUPER or one of the named
// dynamic privileges (upper case, comma-separated in the message).
func requireSuper(ctx *sql.Context, privs string) error {
	if ctx == nil || ctx.Session == nil {
		return nil
	}
	ps, _ := ctx.Session.GetPrivilegeSet()
	if ps != nil {
		if ps.Has(sql.PrivilegeType_Super) {
			return nil
		}
		if dyn, ok := ps.(mysql_db.PrivilegeSet); ok {
			for _, p := range strings.Split(privs, " or ") {
				if p != "SUPER" && dyn.HasDynamic(strings.ToLower(strings.TrimSpace(p))) {
					return nil
				}
			}
		}
	}
	return mysql.NewSQLError(1227, "42000", "Access denied; you need (at least one of) the %s privilege(s) for this operation", privs)
}

// toInt64 reads an integer system variable value (GMS hands them out as any Go integer type,
// or float64 for some).
func toInt64(v interface{}) (int64, bool) {
	if x, _, ok := sqlval.Int(v); ok {
		return int64(x), true
	}
	if f, ok := v.(float64); ok {
		return int64(f), true
	}
	return 0, false
}

// defaultTimestamp is GMS's default for @@timestamp, meaning "not set".
const defaultTimestamp = 1000.0

// newQueryContext is the context factory of the protocol server: a session that has done
// SET TIMESTAMP = t runs its statements at time t (NOW(), CURRENT_TIMESTAMP and column defaults),
// as MySQL does for statement-based replication and mysqlbinlog output.
func newQueryContext(parent context.Context, opts ...sql.ContextOption) *sql.Context {
	ctx := sql.NewContext(parent, opts...)
	if ctx.Session == nil {
		return ctx
	}
	if v, err := ctx.Session.GetSessionVariable(ctx, "timestamp"); err == nil {
		if f, ok := v.(float64); ok && f >= 1 && f != defaultTimestamp {
			sec := int64(f)
			ctx.SetQueryTime(time.Unix(sec, int64((f-float64(sec))*1e6+0.5)*1000))
		}
	}
	return ctx
}

// defaultParallelWorkers is replica_parallel_workers' default (MySQL 8.0.27+ uses 4 too).
const defaultParallelWorkers = 4

// parallelWorkers reads replica_parallel_workers (or its old name, slave_parallel_workers, when
// only that one was changed); 0 means one worker, as in MySQL.
func parallelWorkers() int {
	read := func(name string) int64 {
		if _, v, ok := sql.SystemVariables.GetGlobal(name); ok {
			if n, ok := toInt64(v); ok {
				return n
			}
		}
		return defaultParallelWorkers
	}
	n := read("replica_parallel_workers")
	if n == defaultParallelWorkers {
		n = read("slave_parallel_workers")
	}
	return int(max(n, 1))
}

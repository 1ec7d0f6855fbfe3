package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/readonly"
	"github.com/relaydb/relaydb/internal/replica"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/sqlval"
)

// semiReplicaEnabled is rpl_semi_sync_replica_enabled: the receiver asks its source for
// semi-sync and acknowledges what it has durably received. Read when the receiver connects.
var semiReplicaEnabled atomic.Bool

// SemiSyncReplicaEnabled reports rpl_semi_sync_replica_enabled.
func SemiSyncReplicaEnabled() bool { return semiReplicaEnabled.Load() }

// semiReplicaAckDurability is rpl_semi_sync_replica_ack_durability (a replica.AckDurability):
// whether the receiver acknowledges once a transaction is written to the relay log (WRITE, the
// default) or once it is also fsynced (FSYNC). Read for every acknowledgement.
var semiReplicaAckDurability atomic.Int32

// SemiSyncReplicaAckDurability reports rpl_semi_sync_replica_ack_durability.
func SemiSyncReplicaAckDurability() replica.AckDurability {
	return replica.AckDurability(semiReplicaAckDurability.Load())
}

// semiSyncVariables are the semi-sync system variables, under MySQL 8's names and the older
// master/slave ones (kept equal by coupledRegistry, see variableAliases). Setting one
// configures the semisync.Source (or semiReplicaEnabled). rpl_semi_sync_source_wait_point also
// takes AFTER_APPLY (synchronous replication); rpl_semi_sync_source_fallback (OFF: never switch to
// asynchronous) and rpl_semi_sync_replica_ack_durability (WRITE or FSYNC: what a replica's ack
// promises, see package replica) are RelayDB's own; replication_durability lets one session
// choose ASYNC, SEMI_SYNC or SYNC for its commits.
func semiSyncVariables(s *semisync.Source) []sql.SystemVariable {
	global := sql.GetMysqlScope(sql.SystemVariableScope_Global)
	onOff := func(b bool) any {
		if b {
			return int8(1)
		}
		return int8(0)
	}
	var vars []sql.SystemVariable
	boolVar := func(names []string, get func() bool, set func(bool)) {
		for _, name := range names {
			vars = append(vars, &sql.MysqlSystemVariable{
				Name: name, Scope: global, Dynamic: true, Type: types.NewSystemBoolType(name), Default: onOff(get()),
				NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
					set(readonly.IsOn(v.Val))
					return nil
				},
			})
		}
	}
	intVar := func(names []string, lo, hi int64, get func() int64, set func(int64)) {
		for _, name := range names {
			vars = append(vars, &sql.MysqlSystemVariable{
				Name: name, Scope: global, Dynamic: true, Type: types.NewSystemIntType(name, lo, hi, false), Default: get(),
				NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
					n, neg, ok := sqlval.Int(v.Val)
					if !ok || neg {
						return fmt.Errorf("%s: not a number: %v", name, v.Val)
					}
					set(int64(n))
					return nil
				},
			})
		}
	}
	configure := s.Configure
	st := s.Settings
	boolVar([]string{"rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled"},
		func() bool { return st().Enabled }, func(b bool) { configure(func(x *semisync.Settings) { x.Enabled = b }) })
	boolVar([]string{"rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"},
		semiReplicaEnabled.Load, semiReplicaEnabled.Store)
	boolVar([]string{"rpl_semi_sync_source_wait_no_replica", "rpl_semi_sync_master_wait_no_slave"},
		func() bool { return st().WaitNoReplica }, func(b bool) { configure(func(x *semisync.Settings) { x.WaitNoReplica = b }) })
	boolVar([]string{"rpl_semi_sync_source_fallback"},
		func() bool { return st().Fallback }, func(b bool) { configure(func(x *semisync.Settings) { x.Fallback = b }) })
	intVar([]string{"rpl_semi_sync_source_wait_for_replica_count", "rpl_semi_sync_master_wait_for_slave_count"}, 1, 65535,
		func() int64 { return int64(st().WaitCount) }, func(n int64) { configure(func(x *semisync.Settings) { x.WaitCount = int(n) }) })
	intVar([]string{"rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout"}, 0, 1<<32-1,
		func() int64 { return int64(st().Timeout / time.Millisecond) },
		func(n int64) {
			configure(func(x *semisync.Settings) { x.Timeout = time.Duration(n) * time.Millisecond })
		})
	for _, name := range []string{"rpl_semi_sync_source_wait_point", "rpl_semi_sync_master_wait_point"} {
		vars = append(vars, &sql.MysqlSystemVariable{
			Name: name, Scope: global, Dynamic: true,
			Type:    types.NewSystemEnumType(name, "AFTER_SYNC", "AFTER_COMMIT", "AFTER_APPLY"),
			Default: st().WaitPoint.String(),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				wp, err := semisync.ParseWaitPoint(fmt.Sprint(v.Val))
				if err != nil {
					return err
				}
				configure(func(x *semisync.Settings) { x.WaitPoint = wp })
				return nil
			},
		})
	}
	const ackDurability = "rpl_semi_sync_replica_ack_durability"
	vars = append(vars, &sql.MysqlSystemVariable{
		Name: ackDurability, Scope: global, Dynamic: true,
		Type:    types.NewSystemEnumType(ackDurability, "WRITE", "FSYNC"),
		Default: SemiSyncReplicaAckDurability().String(),
		NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
			d, err := replica.ParseAckDurability(fmt.Sprint(v.Val))
			if err != nil {
				return err
			}
			semiReplicaAckDurability.Store(int32(d))
			return nil
		},
	})
	// Read-only: this source asks for applied acknowledgements only when it waits for them
	// (see semisync.AppliedAckOnRequestVariable).
	vars = append(vars, &sql.MysqlSystemVariable{
		Name: semisync.AppliedAckOnRequestVariable, Scope: global, Dynamic: false,
		Type: types.NewSystemBoolType(semisync.AppliedAckOnRequestVariable), Default: int8(1),
	})
	vars = append(vars, &sql.MysqlSystemVariable{
		Name: "replication_durability", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Both), Dynamic: true,
		Type:    types.NewSystemEnumType("replication_durability", "DEFAULT", "ASYNC", "SEMI_SYNC", "SYNC"),
		Default: "DEFAULT",
	})
	return vars
}

// semiSyncVariable reports whether name is one of semiSyncVariables' names, which exist only once
// installSemiSyncVariables has run.
func semiSyncVariable(name string) bool {
	name = strings.ToLower(name)
	return strings.HasPrefix(name, "rpl_semi_sync_") || name == "replication_durability" || name == semisync.AppliedAckOnRequestVariable
}

// installSemiSyncVariables registers the semi-sync variables and applies persisted values.
func installSemiSyncVariables(s *semisync.Source, persisted map[string]any) error {
	vars := semiSyncVariables(s)
	sql.SystemVariables.AddSystemVariables(vars)
	for _, v := range vars {
		name := v.GetName()
		val, ok := persisted[name]
		if !ok {
			continue
		}
		// Persisted values go through the same path as SET GLOBAL, so they reach the Source.
		if err := sql.SystemVariables.SetGlobal(sql.NewEmptyContext(), name, val); err != nil {
			return fmt.Errorf("apply persisted variable %s=%v: %w", name, val, err)
		}
	}
	return nil
}

// variableAliases pairs each semi-sync variable, and each transaction characteristic
// (txnchars.go), with its other name: SET GLOBAL of one sets both.
var variableAliases = map[string]string{}

func init() {
	for _, p := range [][2]string{
		{"rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled"},
		{"rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"},
		{"rpl_semi_sync_source_wait_no_replica", "rpl_semi_sync_master_wait_no_slave"},
		{"rpl_semi_sync_source_wait_for_replica_count", "rpl_semi_sync_master_wait_for_slave_count"},
		{"rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout"},
		{"rpl_semi_sync_source_wait_point", "rpl_semi_sync_master_wait_point"},
		{"transaction_isolation", "tx_isolation"},
		{"transaction_read_only", "tx_read_only"},
	} {
		variableAliases[p[0]], variableAliases[p[1]] = p[1], p[0]
	}
}

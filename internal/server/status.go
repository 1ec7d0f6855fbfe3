package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/replica"
)

// liveStatus adds status variables computed when read to GMS's registry:
//   - Binlog_commits (transactions logged) and Binlog_group_commits (binlog fsyncs, each making a
//     commit group durable), with MariaDB's names, so group commit can be watched with
//     SHOW GLOBAL STATUS LIKE 'Binlog%';
//   - Relaydb_fast_path_executions and Relaydb_fast_path_fallbacks (fastpath.go);
//   - the semi-sync figures, Rpl_semi_sync_source_* (and Rpl_semi_sync_master_*),
//     Rpl_semi_sync_replica_status (Rpl_semi_sync_slave_status), and the replica's own:
//     Rpl_semi_sync_replica_ack_durability (the rpl_semi_sync_replica_ack_durability in effect),
//     Rpl_semi_sync_replica_acks (acknowledgements sent), Rpl_semi_sync_replica_ack_fsyncs
//     (relay log fsyncs made for them), Rpl_semi_sync_replica_applied_acks (applied
//     acknowledgements, sent only while the source waits for them), Rpl_semi_sync_replica_ack_time and
//     Rpl_semi_sync_replica_ack_avg_time (µs from reading the event that asked for an ack to
//     sending the ack: this replica's share of the source's wait).
type liveStatus struct {
	sql.StatusVariableRegistry
	vars map[string]func() any // uint64 or string ("ON"/"OFF")
}

func installLiveStatus(l *commitlog.Log, semiReplicaOn func() bool, semiReplicaStats func() replica.SemiSyncStats) {
	if l == nil {
		return
	}
	inner := sql.StatusVariables
	if ls, ok := inner.(*liveStatus); ok {
		inner = ls.StatusVariableRegistry
	}
	vars := map[string]func() any{
		"Binlog_commits":       func() any { c, _ := l.Stats(); return c },
		"Binlog_group_commits": func() any { _, f := l.Stats(); return f },
		// Statements the fast path served, and statements it handed to the general path after
		// classifying them as fast shapes (fastpath.go).
		"Relaydb_fast_path_executions": func() any { return fastPathExecutions.Load() },
		"Relaydb_fast_path_fallbacks":  func() any { return fastPathFallbacks.Load() },
	}
	if s := l.Semi(); s != nil {
		onOff := func(b bool) any {
			if b {
				return "ON"
			}
			return "OFF"
		}
		for _, prefix := range []string{"Rpl_semi_sync_source_", "Rpl_semi_sync_master_"} {
			vars[prefix+"status"] = func() any { return onOff(s.Status().On) }
			vars[prefix+"clients"] = func() any { return uint64(s.Status().Clients) }
			vars[prefix+"yes_tx"] = func() any { return s.Status().YesTx }
			vars[prefix+"no_tx"] = func() any { return s.Status().NoTx }
			vars[prefix+"tx_avg_wait_time"] = func() any { return s.Status().TxAvgWaitMicros }
			vars[prefix+"net_avg_wait_time"] = func() any { return s.Status().NetAvgWaitMicros }
			vars[prefix+"wait_sessions"] = func() any { return uint64(s.Status().WaitSessions) }
			vars[prefix+"no_times"] = func() any { return s.Status().Timeouts }
			vars[prefix+"tx_waits"] = func() any { return s.Status().TxWaits }
			vars[prefix+"tx_wait_time"] = func() any { return s.Status().TxWaitMicros }
			vars[prefix+"net_waits"] = func() any { return s.Status().NetWaits }
			vars[prefix+"net_wait_time"] = func() any { return s.Status().NetWaitMicros }
		}
		for _, name := range []string{"Rpl_semi_sync_replica_status", "Rpl_semi_sync_slave_status"} {
			vars[name] = func() any { return onOff(semiReplicaOn != nil && semiReplicaOn()) }
		}
		stats := func() replica.SemiSyncStats {
			if semiReplicaStats == nil {
				return replica.SemiSyncStats{}
			}
			return semiReplicaStats()
		}
		vars["Rpl_semi_sync_replica_ack_durability"] = func() any { return SemiSyncReplicaAckDurability().String() }
		vars["Rpl_semi_sync_replica_acks"] = func() any { return stats().Acks }
		vars["Rpl_semi_sync_replica_ack_fsyncs"] = func() any { return stats().AckFsyncs }
		vars["Rpl_semi_sync_replica_applied_acks"] = func() any { return stats().AppliedAck }
		vars["Rpl_semi_sync_replica_ack_time"] = func() any { return stats().AckWaitNs / 1000 }
		vars["Rpl_semi_sync_replica_ack_avg_time"] = func() any {
			st := stats()
			if st.Acks == 0 {
				return uint64(0)
			}
			return st.AckWaitNs / st.Acks / 1000
		}
	}
	sql.StatusVariables = &liveStatus{StatusVariableRegistry: inner, vars: vars}
}

func (s *liveStatus) variable(name string, v any) sql.StatusVariable {
	if _, ok := v.(string); ok {
		return &sql.MySQLStatusVariable{Name: name, Scope: sql.StatusVariableScope_Global,
			Type: types.NewSystemStringType(name), Default: ""}
	}
	return &sql.MySQLStatusVariable{Name: name, Scope: sql.StatusVariableScope_Global,
		Type: types.NewSystemUintType(name, 0, 1<<63), Default: uint64(0)}
}

func (s *liveStatus) NewGlobalMap() map[string]sql.StatusVarValue {
	m := s.StatusVariableRegistry.NewGlobalMap()
	for name, fn := range s.vars {
		v := fn()
		m[name] = &sql.ImmutableStatusVarValue{Var: s.variable(name, v), Val: v}
	}
	return m
}

func (s *liveStatus) GetGlobal(name string) (sql.StatusVariable, interface{}, bool) {
	if fn, ok := s.vars[name]; ok {
		v := fn()
		return s.variable(name, v), v, true
	}
	return s.StatusVariableRegistry.GetGlobal(name)
}

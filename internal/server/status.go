package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/commitlog"
)

// liveStatus adds status variables computed when read to GMS's registry:
// Binlog_commits (transactions logged) and Binlog_group_commits (binlog fsyncs, each making a
// commit group durable), with MariaDB's names, so group commit can be watched with
// SHOW GLOBAL STATUS LIKE 'Binlog%'.
type liveStatus struct {
	sql.StatusVariableRegistry
	vars map[string]func() uint64
}

func installLiveStatus(l *commitlog.Log) {
	if l == nil {
		return
	}
	inner := sql.StatusVariables
	if ls, ok := inner.(*liveStatus); ok {
		inner = ls.StatusVariableRegistry
	}
	sql.StatusVariables = &liveStatus{StatusVariableRegistry: inner, vars: map[string]func() uint64{
		"Binlog_commits":       func() uint64 { c, _ := l.Stats(); return c },
		"Binlog_group_commits": func() uint64 { _, f := l.Stats(); return f },
	}}
}

func (s *liveStatus) variable(name string) sql.StatusVariable {
	return &sql.MySQLStatusVariable{Name: name, Scope: sql.StatusVariableScope_Global,
		Type: types.NewSystemUintType(name, 0, 1<<63), Default: uint64(0)}
}

func (s *liveStatus) NewGlobalMap() map[string]sql.StatusVarValue {
	m := s.StatusVariableRegistry.NewGlobalMap()
	for name, fn := range s.vars {
		m[name] = &sql.ImmutableStatusVarValue{Var: s.variable(name), Val: fn()}
	}
	return m
}

func (s *liveStatus) GetGlobal(name string) (sql.StatusVariable, interface{}, bool) {
	if fn, ok := s.vars[name]; ok {
		return s.variable(name), fn(), true
	}
	return s.StatusVariableRegistry.GetGlobal(name)
}

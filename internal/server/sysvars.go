package server

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/go-mysql-server/sql/variables"

	"github.com/relaydb/relaydb/internal/readonly"
)

// Version is @@version and the version in the protocol handshake: a MySQL
// 8.0 version, so clients pick their MySQL 8.0 code paths, marked as ours.
const Version = "8.0.36-relaydb"

// VersionComment is @@version_comment.
const VersionComment = "RelayDB"

// nodeVars are the node-specific values installed into GMS's process-wide
// system variables at startup.
type nodeVars struct {
	serverUUID       string
	serverID         uint32
	maxAllowedPacket int64
	dataDir          string
}

// installSystemVariables resets GMS's process-wide system variables to their
// defaults, then applies, in MySQL's order: the node's own values (options),
// then persisted values (SET PERSIST wins over options, as in MySQL), then
// the read_only/super_read_only coupling. Finally it wraps the registry so
// later SET GLOBAL statements keep that coupling.
//
// Because GMS keeps these in package variables, one process serves one node
// at a time.
func installSystemVariables(v nodeVars, persisted map[string]interface{}) (applied []string, err error) {
	variables.InitSystemVariables()

	// GMS defines server_uuid as dynamic with a random default; MySQL's is
	// read-only and comes from auto.cnf.
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{
		&sql.MysqlSystemVariable{
			Name:    "server_uuid",
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Dynamic: false,
			Type:    types.NewSystemStringType("server_uuid"),
			Default: v.serverUUID,
		},
		// RelayDB's own: OFF sends every statement through GMS's general path (fastpath.go).
		&sql.MysqlSystemVariable{
			Name:    fastPathVariable,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
			Dynamic: true,
			Type:    types.NewSystemBoolType(fastPathVariable),
			Default: int8(1),
		},
	})

	installSQLModeType()
	sql.SystemVariables.AddSystemVariables(transactionVariables())
	sql.SystemVariables.AddSystemVariables(cloneVariables())
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{optimizerSwitchVariable()})

	own := map[string]interface{}{
		"server_id":          v.serverID,
		"version":            Version,
		"version_comment":    VersionComment,
		"max_allowed_packet": v.maxAllowedPacket,
	}
	if _, _, ok := sql.SystemVariables.GetGlobal("datadir"); ok && v.dataDir != "" {
		own["datadir"] = strings.TrimSuffix(v.dataDir, "/") + "/"
	}
	if err := sql.SystemVariables.AssignValues(own); err != nil {
		return nil, fmt.Errorf("set system variables: %w", err)
	}

	names := make([]string, 0, len(persisted))
	for k := range persisted {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "server_uuid" {
			return nil, fmt.Errorf("persisted variable server_uuid is not allowed: it comes from %s", autoCnfName)
		}
		if semiSyncVariable(name) {
			// Registered, and its persisted value applied, with the binary log's semi-sync
			// state (installSemiSyncVariables): not known yet here.
			continue
		}
		if err := sql.SystemVariables.AssignValues(map[string]interface{}{name: persisted[name]}); err != nil {
			return nil, fmt.Errorf("apply persisted variable %s=%v: %w", name, persisted[name], err)
		}
		applied = append(applied, name)
	}

	inner := sql.SystemVariables
	if r, ok := inner.(*coupledRegistry); ok {
		inner = r.SystemVariableRegistry
	}
	if _, super, ok := inner.GetGlobal("super_read_only"); ok && readonly.IsOn(super) {
		if err := inner.AssignValues(map[string]interface{}{"read_only": int8(1)}); err != nil {
			return nil, err
		}
	}
	sql.SystemVariables = &coupledRegistry{SystemVariableRegistry: inner}
	return applied, nil
}

// coupledRegistry keeps read_only and super_read_only consistent the way
// MySQL does: turning super_read_only on turns read_only on, and turning
// read_only off turns super_read_only off. It also keeps the two names of
// each semi-sync variable equal. GMS calls SetGlobal while holding
// its registry lock, so the coupling cannot live in a NotifyChanged callback;
// it lives here, around SetGlobal.
type coupledRegistry struct {
	sql.SystemVariableRegistry
	// guard, if set, refuses clients' changes of variables someone else owns (a cluster
	// member's control plane, cluster.go); setInternal bypasses it.
	guard func(name string) error
}

func (r *coupledRegistry) SetGlobal(ctx *sql.Context, name string, val interface{}) error {
	if r.guard != nil {
		if err := r.guard(name); err != nil {
			return err
		}
	}
	return r.setInternal(ctx, name, val)
}

// setInternal is SetGlobal for the server itself.
func (r *coupledRegistry) setInternal(ctx *sql.Context, name string, val interface{}) error {
	if err := r.SystemVariableRegistry.SetGlobal(ctx, name, val); err != nil {
		return err
	}
	if other, ok := variableAliases[strings.ToLower(name)]; ok {
		return r.SystemVariableRegistry.SetGlobal(ctx, other, val)
	}
	switch strings.ToLower(name) {
	case "super_read_only":
		if _, v, ok := r.GetGlobal("super_read_only"); ok && readonly.IsOn(v) {
			return r.SystemVariableRegistry.SetGlobal(ctx, "read_only", int8(1))
		}
	case "read_only":
		if _, v, ok := r.GetGlobal("read_only"); ok && !readonly.IsOn(v) {
			return r.SystemVariableRegistry.SetGlobal(ctx, "super_read_only", int8(0))
		}
	}
	return nil
}

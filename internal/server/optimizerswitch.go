package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// optimizer_switch: applications and ORMs set it (SET optimizer_switch='index_merge=off'), and
// go-mysql-server has no such variable, so the statement failed. RelayDB's planner has none of
// these strategies to turn on or off; the variable holds and shows the flags as MySQL 8.0.36
// does, checks them as MySQL does (error 1231 for a flag or value it does not know), and changes
// nothing else. One difference: MySQL applies the flags given to the variable's current value,
// RelayDB to its default (so two SETs of different flags keep only the second's changes).

// optimizerSwitchFlags are MySQL 8.0.36's flags, in its order, with their defaults.
var optimizerSwitchFlags = []struct{ name, def string }{
	{"index_merge", "on"}, {"index_merge_union", "on"}, {"index_merge_sort_union", "on"},
	{"index_merge_intersection", "on"}, {"engine_condition_pushdown", "on"},
	{"index_condition_pushdown", "on"}, {"mrr", "on"}, {"mrr_cost_based", "on"},
	{"block_nested_loop", "on"}, {"batched_key_access", "off"}, {"materialization", "on"},
	{"semijoin", "on"}, {"loosescan", "on"}, {"firstmatch", "on"}, {"duplicateweedout", "on"},
	{"subquery_materialization_cost_based", "on"}, {"use_index_extensions", "on"},
	{"condition_fanout_filter", "on"}, {"derived_merge", "on"}, {"use_invisible_indexes", "off"},
	{"skip_scan", "on"}, {"hash_join", "on"}, {"subquery_to_derived", "off"},
	{"prefer_ordering_index", "on"}, {"hypergraph_optimizer", "off"},
	{"derived_condition_pushdown", "on"},
}

// optimizerSwitchDefault is the variable's default value.
func optimizerSwitchDefault() string {
	parts := make([]string, len(optimizerSwitchFlags))
	for i, f := range optimizerSwitchFlags {
		parts[i] = f.name + "=" + f.def
	}
	return strings.Join(parts, ",")
}

// mergeOptimizerSwitch applies "flag=on|off|default,…" to the defaults ("default" alone resets
// every flag), as MySQL's SET optimizer_switch reads its value.
func mergeOptimizerSwitch(v string) (string, error) {
	vals := map[string]string{}
	for _, f := range optimizerSwitchFlags {
		vals[f.name] = f.def
	}
	if strings.TrimSpace(v) != "" && !strings.EqualFold(strings.TrimSpace(v), "default") {
		for _, item := range strings.Split(v, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			name, val = strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(val))
			_, known := vals[name]
			if !ok || !known || (val != "on" && val != "off" && val != "default") {
				return "", mysql.NewSQLError(mysql.ERWrongValueForVar, "42000", "Variable 'optimizer_switch' can't be set to the value of '%s'", v)
			}
			if val == "default" {
				for _, f := range optimizerSwitchFlags {
					if f.name == name {
						val = f.def
					}
				}
			}
			vals[name] = val
		}
	}
	parts := make([]string, len(optimizerSwitchFlags))
	for i, f := range optimizerSwitchFlags {
		parts[i] = f.name + "=" + vals[f.name]
	}
	return strings.Join(parts, ","), nil
}

// optimizerSwitchType is a string variable whose values are checked and normalized.
type optimizerSwitchType struct {
	sql.SystemVariableType
}

func (t optimizerSwitchType) Convert(ctx context.Context, v any) (any, sql.ConvertInRange, error) {
	s, ok := v.(string)
	if !ok {
		return nil, sql.Overflow, mysql.NewSQLError(mysql.ERWrongTypeForVar, "42000", "Incorrect argument type to variable 'optimizer_switch'")
	}
	merged, err := mergeOptimizerSwitch(s)
	if err != nil {
		return nil, sql.Overflow, err
	}
	return merged, sql.InRange, nil
}

func (t optimizerSwitchType) String() string {
	return fmt.Sprintf("optimizer_switch(%s)", t.SystemVariableType)
}

func optimizerSwitchVariable() sql.SystemVariable {
	return &sql.MysqlSystemVariable{
		Name:    "optimizer_switch",
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
		Dynamic: true,
		Type:    optimizerSwitchType{types.NewSystemStringType("optimizer_switch")},
		Default: optimizerSwitchDefault(),
	}
}

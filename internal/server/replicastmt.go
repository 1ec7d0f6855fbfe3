package server

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/replica"
)

var (
	reChange      = regexp.MustCompile(`(?is)^\s*CHANGE\s+(?:REPLICATION\s+SOURCE|MASTER)\s+TO\s+(.+?)(?:\s+FOR\s+CHANNEL\s+'([^']*)')?\s*;?\s*$`)
	reStartStop   = regexp.MustCompile(`(?is)^\s*(START|STOP)\s+(?:REPLICA|SLAVE)(?:\s+(IO_THREAD|SQL_THREAD)(?:\s*,\s*(IO_THREAD|SQL_THREAD))?)?(?:\s+UNTIL\s+(.+?))?(?:\s+FOR\s+CHANNEL\s+'([^']*)')?\s*;?\s*$`)
	reResetRepl   = regexp.MustCompile(`(?is)^\s*RESET\s+(?:REPLICA|SLAVE)(\s+ALL)?(?:\s+FOR\s+CHANNEL\s+'([^']*)')?\s*;?\s*$`)
	reShowReplica = regexp.MustCompile(`(?is)^\s*SHOW\s+(REPLICA|SLAVE)\s+STATUS(?:\s+FOR\s+CHANNEL\s+'([^']*)')?\s*;?\s*$`)
	reFilter      = regexp.MustCompile(`(?is)^\s*CHANGE\s+REPLICATION\s+FILTER\s+(.+?)(?:\s+FOR\s+CHANNEL\s+'([^']*)')?\s*;?\s*$`)
	reOption      = regexp.MustCompile(`(?is)^\s*([A-Z_]+)\s*=\s*('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|[^,\s]+)\s*(?:,|$)`)
)

// replicaStatement runs the replica administration statements (CHANGE REPLICATION SOURCE TO,
// START/STOP/RESET REPLICA, SHOW REPLICA STATUS, and their MASTER/SLAVE spellings).
func (a *binlogAdmin) replicaStatement(ctx context.Context, c *mysql.Conn, q string) (*sqltypes.Result, bool, error) {
	priv := []string{"REPLICATION_SLAVE_ADMIN"}
	noChannel := func(ch string) error {
		if ch != "" {
			return mysql.NewSQLError(3074, "HY000", "Replication channel '%s' does not exist (only the default channel is supported so far)", ch)
		}
		return nil
	}
	switch {
	case reFilter.MatchString(q):
		m := reFilter.FindStringSubmatch(q)
		return a.runReplica(ctx, c, priv, func(r *replica.Replica) (*sqltypes.Result, error) {
			if err := noChannel(m[2]); err != nil {
				return nil, err
			}
			sets, err := parseFilters(m[1])
			if err != nil {
				return nil, err
			}
			return &sqltypes.Result{}, r.ChangeFilter(sets)
		})
	case reChange.MatchString(q):
		m := reChange.FindStringSubmatch(q)
		return a.runReplica(ctx, c, priv, func(r *replica.Replica) (*sqltypes.Result, error) {
			if err := noChannel(m[2]); err != nil {
				return nil, err
			}
			opts, err := parseOptions(m[1])
			if err != nil {
				return nil, err
			}
			return &sqltypes.Result{}, r.Change(opts)
		})
	case reStartStop.MatchString(q):
		m := reStartStop.FindStringSubmatch(q)
		return a.runReplica(ctx, c, priv, func(r *replica.Replica) (*sqltypes.Result, error) {
			if err := noChannel(m[5]); err != nil {
				return nil, err
			}
			io, sqlT := m[2] == "" || strings.EqualFold(m[2], "IO_THREAD") || strings.EqualFold(m[3], "IO_THREAD"),
				m[2] == "" || strings.EqualFold(m[2], "SQL_THREAD") || strings.EqualFold(m[3], "SQL_THREAD")
			if strings.EqualFold(m[1], "START") {
				var until *replica.Until
				if m[4] != "" {
					var err error
					if until, err = parseUntil(m[4]); err != nil {
						return nil, err
					}
				}
				return &sqltypes.Result{}, r.Start(io, sqlT, until)
			}
			return &sqltypes.Result{}, r.Stop(io, sqlT)
		})
	case reResetRepl.MatchString(q):
		m := reResetRepl.FindStringSubmatch(q)
		return a.runReplica(ctx, c, priv, func(r *replica.Replica) (*sqltypes.Result, error) {
			if err := noChannel(m[2]); err != nil {
				return nil, err
			}
			return &sqltypes.Result{}, r.Reset(strings.TrimSpace(m[1]) != "")
		})
	case reShowReplica.MatchString(q):
		m := reShowReplica.FindStringSubmatch(q)
		legacy := strings.EqualFold(m[1], "SLAVE")
		return a.runReplica(ctx, c, []string{"REPLICATION CLIENT"}, func(r *replica.Replica) (*sqltypes.Result, error) {
			return replicaStatus(r.Status(), legacy), nil
		})
	}
	return nil, false, nil
}

func (a *binlogAdmin) runReplica(ctx context.Context, c *mysql.Conn, privs []string, fn func(*replica.Replica) (*sqltypes.Result, error)) (*sqltypes.Result, bool, error) {
	if err := a.checkPrivileges(ctx, c, privs); err != nil {
		return nil, true, err
	}
	if a.replica == nil {
		return nil, true, mysql.NewSQLError(1227, "HY000", "Replication needs the binary log: start the server without --skip-log-bin")
	}
	res, err := fn(a.replica)
	return res, true, err
}

// parseOptions reads "NAME = value, NAME = 'value', ..." (upper-cased names, unquoted values).
func parseOptions(s string) (map[string]string, error) {
	opts := map[string]string{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		m := reOption.FindStringSubmatch(rest)
		if m == nil {
			return nil, mysql.NewSQLError(mysql.ERParseError, mysql.SSClientError,
				"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line 1", rest)
		}
		v := m[2]
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
			v = strings.NewReplacer(`\\`, `\`, `\'`, `'`, `''`, `'`, `\"`, `"`).Replace(v[1 : len(v)-1])
		}
		opts[strings.ToUpper(m[1])] = v
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	return opts, nil
}

// replicaStatus turns the status columns into a result, under the new or the old names.
func replicaStatus(cols []replica.Column, legacy bool) *sqltypes.Result {
	res := &sqltypes.Result{}
	empty := cols == nil
	if empty {
		// Never configured: the columns and no row, as MySQL.
		cols = replica.EmptyStatus()
	}
	row := make([]sqltypes.Value, 0, len(cols))
	for _, c := range cols {
		name := c.Name
		if legacy {
			name = c.OldName
		}
		t := querypb.Type_VARCHAR
		if c.Number {
			t = querypb.Type_INT64
		}
		res.Fields = append(res.Fields, &querypb.Field{Name: name, Type: t, Charset: 33})
		switch {
		case c.Null:
			row = append(row, sqltypes.NULL)
		case c.Number:
			row = append(row, sqltypes.MakeTrusted(querypb.Type_INT64, []byte(c.Value)))
		default:
			row = append(row, text(c.Value))
		}
	}
	if !empty {
		res.Rows = append(res.Rows, row)
	}
	return res
}

// parseUntil reads the condition of START REPLICA UNTIL.
func parseUntil(s string) (*replica.Until, error) {
	opts, err := parseOptions(s)
	if err != nil {
		return nil, err
	}
	u := &replica.Until{}
	bad := func(why string) error {
		return mysql.NewSQLError(1277, "HY000", "Incorrect parameter or combination of parameters for START REPLICA UNTIL: %s", why)
	}
	for k, v := range opts {
		switch k {
		case "SQL_BEFORE_GTIDS", "SQL_AFTER_GTIDS":
			set, err := gtid.Parse(v)
			if err != nil {
				return nil, mysql.NewSQLError(1772, "HY000", "Malformed GTID set specification '%s'.", v)
			}
			if k == "SQL_BEFORE_GTIDS" {
				u.Before = &set
			} else {
				u.After = &set
			}
		case "SOURCE_LOG_FILE", "MASTER_LOG_FILE":
			u.File = v
		case "SOURCE_LOG_POS", "MASTER_LOG_POS":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, bad("bad position " + v)
			}
			u.Pos = n
		default:
			return nil, bad("unknown option " + k)
		}
	}
	switch {
	case len(opts) == 1 && (u.Before != nil || u.After != nil):
	case len(opts) == 2 && u.File != "" && u.Pos > 0:
	default:
		return nil, bad("give SQL_BEFORE_GTIDS, SQL_AFTER_GTIDS, or SOURCE_LOG_FILE with SOURCE_LOG_POS")
	}
	return u, nil
}

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
// START/STOP/RESET REPLICA, SHOW REPLICA STATUS, and their MASTER/SLAVE spellings), for one
// channel (FOR CHANNEL) or, as MySQL does without it, for the default channel (CHANGE) or every
// channel (START, STOP, RESET, SHOW).
func (a *binlogAdmin) replicaStatement(ctx context.Context, c *mysql.Conn, q string) (*sqltypes.Result, bool, error) {
	priv := []string{"REPLICATION_SLAVE_ADMIN"}
	switch {
	case reFilter.MatchString(q):
		m := reFilter.FindStringSubmatch(q)
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			sets, err := parseFilters(m[1])
			if err != nil {
				return nil, err
			}
			// Without FOR CHANNEL the filters are every channel's, and every applier must be
			// stopped first, as in MySQL.
			targets := chs.All()
			if m[2] != "" {
				r, err := chs.Get(m[2], false)
				if err != nil {
					return nil, err
				}
				targets = []*replica.Replica{r}
			}
			for _, r := range targets {
				if r.SQLRunning() {
					return nil, replica.ErrSQLRunning
				}
			}
			for _, r := range targets {
				if err := r.ChangeFilter(sets); err != nil {
					return nil, err
				}
			}
			return &sqltypes.Result{}, nil
		})
	case reChange.MatchString(q):
		m := reChange.FindStringSubmatch(q)
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			opts, err := parseOptions(m[1])
			if err != nil {
				return nil, err
			}
			r, err := chs.Get(m[2], true)
			if err != nil {
				return nil, err
			}
			return &sqltypes.Result{}, r.Change(opts)
		})
	case reStartStop.MatchString(q):
		m := reStartStop.FindStringSubmatch(q)
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			io, sqlT := m[2] == "" || strings.EqualFold(m[2], "IO_THREAD") || strings.EqualFold(m[3], "IO_THREAD"),
				m[2] == "" || strings.EqualFold(m[2], "SQL_THREAD") || strings.EqualFold(m[3], "SQL_THREAD")
			var until *replica.Until
			if m[4] != "" {
				var err error
				if until, err = parseUntil(m[4]); err != nil {
					return nil, err
				}
			}
			targets, err := channelsFor(chs, m[5], m[5] != "" || until != nil)
			if err != nil {
				return nil, err
			}
			for _, r := range targets {
				if strings.EqualFold(m[1], "START") {
					err = r.Start(io, sqlT, until)
				} else {
					err = r.Stop(io, sqlT)
				}
				if err != nil {
					return nil, err
				}
			}
			return &sqltypes.Result{}, nil
		})
	case reResetRepl.MatchString(q):
		m := reResetRepl.FindStringSubmatch(q)
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			all := strings.TrimSpace(m[1]) != ""
			targets, err := channelsFor(chs, m[2], m[2] != "")
			if err != nil {
				return nil, err
			}
			for _, r := range targets {
				if err := r.Reset(all); err != nil {
					return nil, err
				}
				if all {
					chs.Remove(r.Channel())
				}
			}
			return &sqltypes.Result{}, nil
		})
	case reShowReplica.MatchString(q):
		m := reShowReplica.FindStringSubmatch(q)
		legacy := strings.EqualFold(m[1], "SLAVE")
		return a.runChannels(ctx, c, []string{"REPLICATION CLIENT"}, func(chs *replica.Channels) (*sqltypes.Result, error) {
			targets, err := channelsFor(chs, m[2], m[2] != "")
			if err != nil {
				return nil, err
			}
			var rows [][]replica.Column
			for _, r := range targets {
				if cols := r.Status(); cols != nil {
					rows = append(rows, cols)
				}
			}
			return replicaStatus(rows, legacy), nil
		})
	}
	return nil, false, nil
}

// channelsFor returns the channel named name when one is named (the default channel "" when
// only is set without a name), or else every configured channel — the default channel when
// none is, so that its own error (not configured) reaches the client.
func channelsFor(chs *replica.Channels, name string, only bool) ([]*replica.Replica, error) {
	if only {
		r, err := chs.Get(name, false)
		if err != nil {
			return nil, err
		}
		return []*replica.Replica{r}, nil
	}
	var out []*replica.Replica
	for _, r := range chs.All() {
		if r.Configured() {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = append(out, chs.Default())
	}
	return out, nil
}

func (a *binlogAdmin) runChannels(ctx context.Context, c *mysql.Conn, privs []string, fn func(*replica.Channels) (*sqltypes.Result, error)) (*sqltypes.Result, bool, error) {
	if err := a.checkPrivileges(ctx, c, privs); err != nil {
		return nil, true, err
	}
	if a.channels == nil {
		return nil, true, mysql.NewSQLError(1227, "HY000", "Replication needs the binary log: start the server without --skip-log-bin")
	}
	res, err := fn(a.channels)
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
func replicaStatus(rows [][]replica.Column, legacy bool) *sqltypes.Result {
	res := &sqltypes.Result{}
	cols := replica.EmptyStatus() // never configured: the columns and no row, as MySQL
	if len(rows) > 0 {
		cols = rows[0]
	}
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
	}
	for _, cols := range rows {
		row := make([]sqltypes.Value, 0, len(cols))
		for _, c := range cols {
			switch {
			case c.Null:
				row = append(row, sqltypes.NULL)
			case c.Number:
				row = append(row, sqltypes.MakeTrusted(querypb.Type_INT64, []byte(c.Value)))
			default:
				row = append(row, text(c.Value))
			}
		}
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

package server

import (
	"context"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/adminsql"
	"github.com/relaydb/relaydb/internal/replica"
)

// replicaStatement runs the replica administration statements (CHANGE REPLICATION SOURCE TO,
// CHANGE REPLICATION FILTER, START/STOP/RESET REPLICA, SHOW REPLICA STATUS, and their
// MASTER/SLAVE spellings), for one channel (FOR CHANNEL) or, as MySQL does without it, for the
// default channel (CHANGE) or every channel (START, STOP, RESET, SHOW, FILTER). As before the
// typed parser, FOR CHANNEL with an empty name counts as no FOR CHANNEL.
func (a *binlogAdmin) replicaStatement(ctx context.Context, c *mysql.Conn, st adminsql.Statement) (*sqltypes.Result, bool, error) {
	priv := []string{"REPLICATION_SLAVE_ADMIN"}
	switch s := st.(type) {
	case *adminsql.ChangeFilter:
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			sets := map[string][]string{}
			for _, f := range s.Filters {
				sets[f.Kind] = f.List()
			}
			// Without FOR CHANNEL the filters are every channel's, and every applier must be
			// stopped first, as in MySQL.
			targets := chs.All()
			if s.Channel.Name != "" {
				r, err := chs.Get(s.Channel.Name, false)
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
	case *adminsql.ChangeSource:
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			// replica.Config.Apply takes the values as text under their canonical names; a
			// repeated option keeps its last value, as in MySQL.
			opts := make(map[string]string, len(s.Options))
			for _, o := range s.Options {
				opts[o.Name] = o.Value()
			}
			r, err := chs.Get(s.Channel.Name, true)
			if err != nil {
				return nil, err
			}
			return &sqltypes.Result{}, r.Change(opts)
		})
	case *adminsql.StartReplica, *adminsql.StopReplica:
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			var threads adminsql.Threads
			var ch adminsql.Channel
			var until *replica.Until
			start, ok := s.(*adminsql.StartReplica)
			if ok {
				threads, ch = start.Threads, start.Channel
				var err error
				if until, err = replicaUntil(start.Until); err != nil {
					return nil, err
				}
			} else {
				stop := s.(*adminsql.StopReplica)
				threads, ch = stop.Threads, stop.Channel
			}
			io, sqlT := threads.IO || !threads.SQL, threads.SQL || !threads.IO
			targets, err := channelsFor(chs, ch.Name, ch.Name != "" || until != nil)
			if err != nil {
				return nil, err
			}
			for _, r := range targets {
				if start != nil {
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
	case *adminsql.ResetReplica:
		return a.runChannels(ctx, c, priv, func(chs *replica.Channels) (*sqltypes.Result, error) {
			targets, err := channelsFor(chs, s.Channel.Name, s.Channel.Name != "")
			if err != nil {
				return nil, err
			}
			for _, r := range targets {
				if err := r.Reset(s.All); err != nil {
					return nil, err
				}
				if s.All {
					chs.Remove(r.Channel())
				}
			}
			return &sqltypes.Result{}, nil
		})
	case *adminsql.ShowReplicaStatus:
		return a.runChannels(ctx, c, []string{"REPLICATION CLIENT"}, func(chs *replica.Channels) (*sqltypes.Result, error) {
			targets, err := channelsFor(chs, s.Channel.Name, s.Channel.Name != "")
			if err != nil {
				return nil, err
			}
			var rows [][]replica.Column
			for _, r := range targets {
				if cols := r.Status(); cols != nil {
					rows = append(rows, cols)
				}
			}
			return replicaStatus(rows, s.Legacy), nil
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
		return nil, true, mysql.NewSQLError(adminsql.ERSpecificAccessDenied, "HY000", "Replication needs the binary log: start the server without --skip-log-bin")
	}
	res, err := fn(a.channels)
	return res, true, err
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

// replicaUntil is the applier's stop condition for START REPLICA UNTIL (nil without UNTIL).
// The conditions of MySQL's that RelayDB's applier does not implement are refused as MySQL
// refuses a bad combination.
func replicaUntil(u *adminsql.Until) (*replica.Until, error) {
	switch {
	case u == nil:
		return nil, nil
	case u.AfterMTSGaps:
		return nil, mysql.NewSQLError(adminsql.ERBadReplicaUntilCond, "HY000", "Incorrect parameter or combination of parameters for START REPLICA UNTIL: SQL_AFTER_MTS_GAPS is not supported")
	case u.RelayLogFile != "":
		return nil, mysql.NewSQLError(adminsql.ERBadReplicaUntilCond, "HY000", "Incorrect parameter or combination of parameters for START REPLICA UNTIL: RELAY_LOG_FILE and RELAY_LOG_POS are not supported")
	}
	return &replica.Until{Before: u.BeforeGTIDs, After: u.AfterGTIDs, File: u.SourceLogFile, Pos: u.SourceLogPos}, nil
}

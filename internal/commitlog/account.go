package commitlog

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/binlog"
)

// AccountStatement reports whether q is an account management statement (CREATE/ALTER/RENAME/
// DROP USER, GRANT, REVOKE, CREATE/DROP ROLE; SET PASSWORD reaches the engine as ALTER USER)
// and returns the text to log for it. A clear-text password is replaced by its stored form, as
// MySQL logs it: IDENTIFIED BY 'pw' becomes IDENTIFIED WITH mysql_native_password AS '*HASH',
// so no password reaches the binary log. A password for a plugin whose stored form cannot be
// derived from the statement alone (caching_sha2_password salts it) is an error.
func AccountStatement(q string) (logged string, ok bool, err error) {
	q = strings.TrimSuffix(strings.TrimSpace(q), ";")
	if q == "" {
		return "", false, nil
	}
	st, err := sqlparser.Parse(q)
	if err != nil {
		return "", false, nil
	}
	switch s := st.(type) {
	case *sqlparser.DropUser, *sqlparser.RenameUser, *sqlparser.GrantPrivilege, *sqlparser.RevokePrivilege,
		*sqlparser.GrantRole, *sqlparser.RevokeRole, *sqlparser.CreateRole, *sqlparser.DropRole:
		return q, true, nil
	case *sqlparser.CreateUser:
		rewritten := false
		for i := range s.Users {
			r, err := hashAuth(s.Users[i].Auth1)
			if err != nil {
				return "", true, err
			}
			rewritten = rewritten || r
		}
		if !rewritten {
			return q, true, nil
		}
		return sqlparser.String(s), true, nil
	case *sqlparser.DDL:
		if s.Action != sqlparser.AlterStr || s.User.Name == "" {
			return "", false, nil
		}
		r, err := hashAuth(s.Authentication)
		if err != nil {
			return "", true, err
		}
		if !r {
			return q, true, nil
		}
		return sqlparser.String(s), true, nil
	}
	return "", false, nil
}

// hashAuth replaces a's clear-text password by its mysql_native_password hash and reports
// whether it changed a.
func hashAuth(a *sqlparser.Authentication) (bool, error) {
	if a == nil || a.Password == "" {
		return false, nil
	}
	switch strings.ToLower(strings.Trim(a.Plugin, "'\"`")) {
	case "", string(mysql.MysqlNativePassword):
	default:
		return false, mysql.NewSQLError(1105, "HY000",
			"a password for %s cannot be written to the binary log; use mysql_native_password", a.Plugin)
	}
	h, err := plan.AuthenticationMysqlNativePassword(a.Password).AuthString()
	if err != nil {
		return false, err
	}
	a.Plugin, a.Identity, a.Password = string(mysql.MysqlNativePassword), h, ""
	return true, nil
}

// IsAccountTransaction reports whether t is one QUERY event holding an account statement (what
// AccountEntry logs).
func IsAccountTransaction(f binlog.Format, t *binlog.Transaction) bool {
	var q string
	n := 0
	for _, ev := range t.Events {
		if ev.Type() != binlog.TypeQuery {
			continue
		}
		n++
		dq, err := binlog.DecodeQuery(f, ev)
		if err != nil {
			return false
		}
		q = dq.SQL
	}
	if n != 1 {
		return false
	}
	_, ok, _ := AccountStatement(q)
	return ok
}

// AccountEntry returns the entry logging an account statement (stmt, as AccountStatement
// returned it) that has just changed the node's users and privileges: one QUERY event under its
// own GTID, or nil when sql_log_bin is off. binlog-do-db / binlog-ignore-db do not apply: an
// account statement changes no database's tables, and a replica promoted to primary needs every
// account.
func (l *Log) AccountEntry(ctx *sql.Context, stmt string) (any, error) {
	if e := l.replaying(ctx); e != nil {
		return e, nil
	}
	s, err := l.settings(ctx)
	if err != nil {
		return nil, err
	}
	if s.explicit {
		consumeGTIDNext(ctx)
	}
	if !s.logBin {
		return nil, nil
	}
	h := l.header(ctx)
	ev, err := l.format.Query(h, binlog.Query{
		ThreadID: ctx.Session.ID(), Database: ctx.GetCurrentDatabase(), SQL: stmt,
		SQLMode: binlog.DefaultSQLMode,
	})
	if err != nil {
		return nil, fmt.Errorf("log account statement: %w", err)
	}
	// Waits for replicas at the sync point, as DDL does: the caller holds the privilege tables'
	// lock until the commit returns.
	return &entry{events: []binlog.Event{ev}, explicit: s.explicit, gtid: s.gtid, header: h, sbr: true, wait: s.wait}, nil
}

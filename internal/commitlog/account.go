package commitlog

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/binlog"
)

// StoredAuth looks up an account's authentication plugin and stored authentication string
// (the password hash) after the statement ran; ok is false if there is no such account.
type StoredAuth func(user, host string) (plugin, auth string, ok bool)

// AccountStatement reports whether q is an account management statement (CREATE/ALTER/RENAME/
// DROP USER, GRANT, REVOKE, CREATE/DROP ROLE; SET PASSWORD reaches the engine as ALTER USER)
// and returns the text to log for it. A clear-text password is replaced by its stored form, as
// MySQL logs it: IDENTIFIED BY 'pw' becomes IDENTIFIED WITH mysql_native_password AS '*HASH'
// (caching_sha2_password: AS its salted hash), so no password reaches the binary log. stored
// gives the stored form; it is called only for statements that carry a password.
func AccountStatement(q string, stored StoredAuth) (logged string, ok bool, err error) {
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
			r, err := storedForm(s.Users[i].Auth1, s.Users[i].AccountName, stored)
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
		r, err := storedForm(s.Authentication, s.User, stored)
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

// storedForm replaces a's clear-text password by the account's stored plugin and hash and
// reports whether it changed a.
func storedForm(a *sqlparser.Authentication, acct sqlparser.AccountName, stored StoredAuth) (bool, error) {
	if a == nil || (a.Password == "" && !a.RandomPassword) {
		return false, nil
	}
	host := acct.Host
	if acct.AnyHost || host == "" {
		host = "%"
	}
	plugin, auth, ok := "", "", false
	if stored != nil {
		plugin, auth, ok = stored(acct.Name, host)
	}
	if !ok {
		return false, fmt.Errorf("log account statement: account '%s'@'%s' not found after it was changed", acct.Name, host)
	}
	// The formatter writes the identity between quotes as it is: escape it here.
	a.Plugin, a.Identity, a.Password, a.RandomPassword = plugin, escapeString(auth), "", false
	return true, nil
}

// escapeString escapes s for a single-quoted SQL string literal.
func escapeString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
	_, ok, _ := AccountStatement(q, nil)
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
		SQLMode: binlog.DefaultSQLMode, Charset: sessionCharset(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("log account statement: %w", err)
	}
	// Waits for replicas at the sync point, as DDL does: the caller holds the privilege tables'
	// lock until the commit returns.
	return &entry{events: []binlog.Event{ev}, explicit: s.explicit, gtid: s.gtid, header: h, sbr: true, wait: s.wait}, nil
}

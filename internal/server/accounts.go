package server

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// buildAccountStatement builds what the node does itself for account statements, before GMS:
// RENAME USER, which GMS does not implement, and the refusal of statements whose password
// could not be logged without its clear text (logs: the node has a binary log). It returns
// nil, nil for every other node.
func buildAccountStatement(ctx *sql.Context, db *mysql_db.MySQLDb, node sql.Node, logs bool) (sql.RowIter, error) {
	switch n := node.(type) {
	case *plan.RenameUser:
		return renameUsers(ctx, db, n)
	case *plan.CreateUser:
		if logs {
			for _, u := range n.Users {
				if err := loggablePassword(u.Auth1); err != nil {
					return nil, err
				}
			}
		}
	case *plan.AlterUser:
		if logs {
			return nil, loggablePassword(n.User.Auth1)
		}
	}
	return nil, nil
}

// loggablePassword refuses a caching_sha2_password password: its stored form is salted, so the
// statement could only be logged with the password in clear text.
func loggablePassword(a plan.Authentication) error {
	if _, ok := a.(plan.CachingSha2PasswordAuthentication); ok {
		return mysql.NewSQLError(1105, "HY000", "a caching_sha2_password password cannot be written to the binary log; "+
			"use IDENTIFIED WITH mysql_native_password BY '...' (or AS its hash)")
	}
	return nil
}

// renameUsers is RENAME USER old TO new, ...: all accounts are renamed or none (every old
// account must exist and no new one may), keeping their password, privileges and role edges.
func renameUsers(ctx *sql.Context, db *mysql_db.MySQLDb, n *plan.RenameUser) (sql.RowIter, error) {
	ed := db.Editor()
	defer ed.Close()
	key := func(u plan.UserName) mysql_db.UserPrimaryKey {
		host := u.Host
		if u.AnyHost || host == "" {
			host = "%"
		}
		return mysql_db.UserPrimaryKey{Host: host, User: u.Name}
	}
	failed := func(u plan.UserName) error {
		return mysql.NewSQLError(1396, "HY000", "Operation RENAME USER failed for %s", u.String("'"))
	}
	if len(n.OldName) != len(n.NewName) {
		return nil, mysql.NewSQLError(1064, "42000", "RENAME USER needs one new name for each account")
	}
	seen := map[mysql_db.UserPrimaryKey]bool{}
	for i := range n.OldName {
		from, to := key(n.OldName[i]), key(n.NewName[i])
		if _, ok := ed.GetUser(from); !ok || seen[from] {
			return nil, failed(n.OldName[i])
		}
		if _, ok := ed.GetUser(to); ok || seen[to] {
			return nil, failed(n.OldName[i])
		}
		seen[from], seen[to] = true, true
	}
	for i := range n.OldName {
		from, to := key(n.OldName[i]), key(n.NewName[i])
		u, _ := ed.GetUser(from)
		renamed := *u
		renamed.User, renamed.Host = to.User, to.Host
		ed.RemoveUser(from)
		ed.PutUser(&renamed)
		var edges []*mysql_db.RoleEdge
		ed.VisitRoleEdges(func(e *mysql_db.RoleEdge) {
			if (e.FromUser == from.User && strings.EqualFold(e.FromHost, from.Host)) ||
				(e.ToUser == from.User && strings.EqualFold(e.ToHost, from.Host)) {
				c := *e
				edges = append(edges, &c)
			}
		})
		for _, e := range edges {
			ed.RemoveRoleEdge(mysql_db.RoleEdgesPrimaryKey{FromHost: e.FromHost, FromUser: e.FromUser, ToHost: e.ToHost, ToUser: e.ToUser})
			if e.FromUser == from.User && strings.EqualFold(e.FromHost, from.Host) {
				e.FromUser, e.FromHost = to.User, to.Host
			}
			if e.ToUser == from.User && strings.EqualFold(e.ToHost, from.Host) {
				e.ToUser, e.ToHost = to.User, to.Host
			}
			ed.PutRoleEdge(e)
		}
	}
	if err := db.Persist(ctx, ed); err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}

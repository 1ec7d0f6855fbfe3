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
// RENAME USER, which GMS does not implement. It returns nil, nil for every other node.
func buildAccountStatement(ctx *sql.Context, db *mysql_db.MySQLDb, node sql.Node) (sql.RowIter, error) {
	if n, ok := node.(*plan.RenameUser); ok {
		return renameUsers(ctx, db, n)
	}
	return nil, nil
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

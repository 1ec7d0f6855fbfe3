package server

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/clienterr"
)

// duplicateKeyNoter is a storage session that notes the key a write collided with
// (storage.Session).
type duplicateKeyNoter interface {
	TakeDuplicateKey() (key, entry, gmsKey string, ok bool)
}

// clientError gives the constraint errors of a command MySQL's codes, SQLSTATEs and texts
// (clienterr), with what GMS's texts lack taken from the connection's session and the catalog.
func (h *nodeHandler) clientError(c *mysql.Conn, err error) error {
	if err == nil {
		return nil
	}
	sess := h.sessions.get(c.ConnectionID)
	var env clienterr.Env
	if n, ok := sess.(duplicateKeyNoter); ok {
		env.DuplicateKey = n.TakeDuplicateKey
	}
	if h.provider != nil && sess != nil {
		env.ForeignKey = func(table, name string) (sql.ForeignKeyConstraint, bool) {
			return findForeignKey(sql.NewContext(context.Background(), sql.WithSession(sess)), h.provider, table, name)
		}
	}
	return clienterr.Translate(err, env)
}

// forgetDuplicateKey drops a note a statement that did not fail left (INSERT IGNORE, ON
// DUPLICATE KEY UPDATE), so it cannot name a later error's key.
func forgetDuplicateKey(s sql.Session) {
	if n, ok := s.(duplicateKeyNoter); ok {
		n.TakeDuplicateKey()
	}
}

// findForeignKey finds the foreign key name declared on table, in the session's current
// database first, then in any database (a statement may name another database's table).
func findForeignKey(ctx *sql.Context, p sql.DatabaseProvider, table, name string) (sql.ForeignKeyConstraint, bool) {
	look := func(db sql.Database) (sql.ForeignKeyConstraint, bool) {
		t, ok, err := db.GetTableInsensitive(ctx, table)
		if err != nil || !ok {
			return sql.ForeignKeyConstraint{}, false
		}
		ft, ok := t.(sql.ForeignKeyTable)
		if !ok {
			return sql.ForeignKeyConstraint{}, false
		}
		fks, err := ft.GetDeclaredForeignKeys(ctx)
		if err != nil {
			return sql.ForeignKeyConstraint{}, false
		}
		for _, fk := range fks {
			if strings.EqualFold(fk.Name, name) {
				return fk, true
			}
		}
		return sql.ForeignKeyConstraint{}, false
	}
	if cur := ctx.GetCurrentDatabase(); cur != "" {
		if db, err := p.Database(ctx, cur); err == nil {
			if fk, ok := look(db); ok {
				return fk, true
			}
		}
	}
	for _, db := range p.AllDatabases(ctx) {
		if fk, ok := look(db); ok {
			return fk, true
		}
	}
	return sql.ForeignKeyConstraint{}, false
}

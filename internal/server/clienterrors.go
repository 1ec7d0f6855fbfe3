package server

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/clienterr"
)

// duplicateKeyNoter is a storage session that notes the key a write collided with
// (storage.Session).
type duplicateKeyNoter interface {
	TakeDuplicateKey() (key, entry, gmsKey string, ok bool)
}

// clientError gives the constraint errors of a command MySQL's codes, SQLSTATEs and texts
// (clienterr), with what GMS's texts lack taken from the connection's session and the catalog.
func (h *nodeHandler) clientError(c *mysql.Conn, query string, err error) error {
	if err == nil {
		return nil
	}
	sess := h.sessions.get(c.ConnectionID)
	var env clienterr.Env
	if n, ok := sess.(duplicateKeyNoter); ok {
		env.DuplicateKey = n.TakeDuplicateKey
	}
	if h.provider != nil && sess != nil {
		ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
		env.ForeignKey = func(table, name string) (sql.ForeignKeyConstraint, bool) {
			return findForeignKey(ctx, h.provider, table, name)
		}
		env.OutOfRange = func(value, typ string) (string, int, bool) {
			return insertedAt(ctx, h.provider, query, value, func(_, t string) bool { return strings.EqualFold(t, typ) })
		}
		env.TooLong = func(value, column string) (int, bool) {
			_, row, ok := insertedAt(ctx, h.provider, query, value, func(c, _ string) bool { return strings.EqualFold(c, column) })
			return row, ok
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

// insertedAt finds where an INSERT … VALUES statement wrote value (as GMS's error spells it) to
// a column that fits (by name and type): the column and the 1-based row, if exactly one literal
// of the statement fits. GMS's errors for a value a column refuses lack one or both; MySQL's
// name them.
func insertedAt(ctx *sql.Context, p sql.DatabaseProvider, query, value string, fits func(column, typ string) bool) (string, int, bool) {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return "", 0, false
	}
	ins, ok := stmt.(*sqlparser.Insert)
	if !ok {
		return "", 0, false
	}
	rows, ok := ins.Rows.(*sqlparser.AliasedValues)
	if !ok {
		return "", 0, false
	}
	dbName := ins.Table.DbQualifier.String()
	if dbName == "" {
		dbName = ctx.GetCurrentDatabase()
	}
	db, err := p.Database(ctx, dbName)
	if err != nil {
		return "", 0, false
	}
	t, ok, err := db.GetTableInsensitive(ctx, ins.Table.Name.String())
	if err != nil || !ok {
		return "", 0, false
	}
	types := map[string]string{}
	var names []string
	for _, c := range t.Schema(ctx) {
		types[strings.ToLower(c.Name)] = c.Type.String()
		if !c.HiddenSystem {
			names = append(names, c.Name)
		}
	}
	if len(ins.Columns) > 0 {
		names = names[:0]
		for _, c := range ins.Columns {
			names = append(names, c.String())
		}
	}
	col, row, found := "", 0, 0
	for i, tuple := range rows.Values {
		for j, e := range tuple {
			if j >= len(names) || literal(e) != value || !fits(names[j], types[strings.ToLower(names[j])]) {
				continue
			}
			col, row = names[j], i+1
			found++
		}
	}
	return col, row, found == 1
}

// literal is a literal value's spelling as GMS prints the value ("" for anything else).
func literal(e sqlparser.Expr) string {
	switch v := e.(type) {
	case *sqlparser.SQLVal:
		return string(v.Val)
	case *sqlparser.UnaryExpr:
		if x, ok := v.Expr.(*sqlparser.SQLVal); ok && v.Operator == "-" {
			return "-" + string(x.Val)
		}
	}
	return ""
}

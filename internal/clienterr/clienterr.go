package clienterr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// Env supplies what GMS's error texts leave out. Either function may be nil.
type Env struct {
	// DuplicateKey returns (and forgets) the key and entry of the session's last refused
	// duplicate (storage.Session.TakeDuplicateKey); gmsKey is the key as GMS's text has it.
	DuplicateKey func() (key, entry, gmsKey string, ok bool)
	// ForeignKey finds the declared foreign key name of table (the child table, as GMS's text
	// names it).
	ForeignKey func(table, name string) (sql.ForeignKeyConstraint, bool)
	// OutOfRange finds the column (and the 1-based row of the statement) that the value,
	// spelt as GMS's text spells it, of a column of type typ was written to.
	OutOfRange func(value, typ string) (column string, row int, ok bool)
	// TooLong finds the 1-based row of the statement that wrote value to column.
	TooLong func(value, column string) (row int, ok bool)
}

// MySQL's SQLSTATE for integrity constraint violations, and for data errors.
const (
	ssConstraint = "23000"
	ssTooLong    = "22001"
	ssOutOfRange = "22003"
)

var (
	gmsDupKey    = regexp.MustCompile(`^duplicate (primary|unique) key given: (.*)$`)
	gmsFK        = regexp.MustCompile("^cannot (?:add or update a child|delete or update a parent) row - Foreign key violation on fk: `(.*)`, table: `(.*)`, referenced table: `(.*)`, key: `(.*)`$")
	gmsNotNull   = regexp.MustCompile(`^column name '(.*)' is non-nullable but attempted to set a value of null$`)
	gmsTooLong   = regexp.MustCompile(`^string '((?s:.*))' is too large for column '(.*)'$`)
	gmsRange     = regexp.MustCompile(`^((?s:.*)) out of range for ([a-z]+.*)$`)
	gmsCheck     = regexp.MustCompile(`^Check constraint "(.*)" violated$`)
	gmsNoDefault = regexp.MustCompile(`^Field '(.*)' doesn't have a default value$`)
	gmsFKIndex   = regexp.MustCompile("^cannot drop index: `(.*)` is used by foreign key `.*`$")
)

// Translate returns err as MySQL reports it (see the package comment); other errors unchanged.
func Translate(err error, env Env) error {
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	msg := se.Message
	switch se.Num {
	case mysql.ERDupEntry:
		return dupEntry(se, env)
	case mysql.ERRowIsReferenced2, mysql.ErNoReferencedRow2:
		if m := gmsFK.FindStringSubmatch(msg); m != nil {
			return foreignKey(se.Num, m[1], m[2], m[3], env)
		}
		return withState(se, ssConstraint)
	case mysql.ERBadNullError:
		if m := gmsNotNull.FindStringSubmatch(msg); m != nil {
			return mysql.NewSQLError(mysql.ERBadNullError, ssConstraint, "Column '%s' cannot be null", m[1])
		}
		return withState(se, ssConstraint)
	case mysql.ERUnknownError:
		if m := gmsTooLong.FindStringSubmatch(msg); m != nil && !strings.ContainsAny(m[2], "()") {
			// GMS knows the column but not the row: Env may find it in a multi-row INSERT;
			// otherwise the first, which a one-row statement (most ORM writes) gets.
			row := 1
			if env.TooLong != nil {
				if r, ok := env.TooLong(m[1], m[2]); ok {
					row = r
				}
			}
			return mysql.NewSQLError(mysql.ERDataTooLong, ssTooLong, "Data too long for column '%s' at row %d", m[2], row)
		} else if m != nil {
			return mysql.NewSQLError(mysql.ERDataTooLong, ssTooLong, "%s", msg)
		}
		if m := gmsRange.FindStringSubmatch(msg); m != nil {
			// GMS's text names the value and the type, not the column: MySQL's text where
			// Env can tell the column, else MySQL's code and SQLSTATE with GMS's words.
			if env.OutOfRange != nil {
				if col, row, ok := env.OutOfRange(m[1], m[2]); ok {
					return mysql.NewSQLError(mysql.ERWarnDataOutOfRange, ssOutOfRange,
						"Out of range value for column '%s' at row %d", col, row)
				}
			}
			return mysql.NewSQLError(mysql.ERWarnDataOutOfRange, ssOutOfRange, "%s", msg)
		}
		if m := gmsCheck.FindStringSubmatch(msg); m != nil {
			// MySQL 8.0's error (RelayDB is MySQL 8.0 flavoured; MariaDB has 4025).
			return mysql.NewSQLError(erCheckConstraintViolated, mysql.SSUnknownSQLState, "Check constraint '%s' is violated.", m[1])
		}
		if m := gmsNoDefault.FindStringSubmatch(msg); m != nil {
			return mysql.NewSQLError(mysql.ERNoDefaultForField, mysql.SSUnknownSQLState, "Field '%s' doesn't have a default value", m[1])
		}
		if m := gmsFKIndex.FindStringSubmatch(msg); m != nil {
			return mysql.NewSQLError(erDropIndexFK, mysql.SSUnknownSQLState, "Cannot drop index '%s': needed in a foreign key constraint", m[1])
		}
	}
	return err
}

// erDropIndexFK is ER_DROP_INDEX_FK (vitess has no name for it).
const erDropIndexFK = 1553

// erCheckConstraintViolated is MySQL 8.0's ER_CHECK_CONSTRAINT_VIOLATED (vitess has no name
// for it).
const erCheckConstraintViolated = 3819

func withState(se *mysql.SQLError, state string) error {
	if se.State == state {
		return se
	}
	return mysql.NewSQLError(se.Num, state, "%s", se.Message)
}

func dupEntry(se *mysql.SQLError, env Env) error {
	m := gmsDupKey.FindStringSubmatch(se.Message)
	if m == nil {
		return withState(se, ssConstraint)
	}
	if env.DuplicateKey != nil {
		if key, entry, gmsKey, ok := env.DuplicateKey(); ok && gmsKey == m[2] {
			return mysql.NewSQLError(mysql.ERDupEntry, ssConstraint, "Duplicate entry '%s' for key '%s'", entry, key)
		}
	}
	if m[1] == "primary" {
		// The values as GMS printed them: one value is exact, several are joined by ','
		// where MySQL joins them by '-' (a value holding ',' is ambiguous).
		entry := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(m[2], "["), "]"), ",", "-")
		return mysql.NewSQLError(mysql.ERDupEntry, ssConstraint, "Duplicate entry '%s' for key 'PRIMARY'", entry)
	}
	return withState(se, ssConstraint)
}

// foreignKey is MySQL's 1451/1452 text, which quotes the constraint as SHOW CREATE TABLE
// prints it ("(`db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`c`) REFERENCES `parent` (`id`))").
func foreignKey(code int, name, table, parent string, env Env) error {
	head := "Cannot add or update a child row"
	if code == mysql.ERRowIsReferenced2 {
		head = "Cannot delete or update a parent row"
	}
	var fk sql.ForeignKeyConstraint
	ok := false
	if env.ForeignKey != nil {
		fk, ok = env.ForeignKey(table, name)
	}
	if !ok {
		return mysql.NewSQLError(code, ssConstraint, "%s: a foreign key constraint fails (`%s`, CONSTRAINT `%s` REFERENCES `%s`)",
			head, table, name, parent)
	}
	ref := quote(fk.ParentTable)
	if !strings.EqualFold(fk.ParentDatabase, fk.Database) {
		ref = quote(fk.ParentDatabase) + "." + ref
	}
	return mysql.NewSQLError(code, ssConstraint, "%s: a foreign key constraint fails (%s.%s, CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s)",
		head, quote(fk.Database), quote(fk.Table), quote(fk.Name), quoteList(fk.Columns), ref, quoteList(fk.ParentColumns),
		actions(fk))
}

// actions are the ON DELETE / ON UPDATE clauses InnoDB prints (RESTRICT, the default, is not).
func actions(fk sql.ForeignKeyConstraint) string {
	var b strings.Builder
	for _, a := range []struct {
		on  string
		act sql.ForeignKeyReferentialAction
	}{{"DELETE", fk.OnDelete}, {"UPDATE", fk.OnUpdate}} {
		switch a.act {
		case sql.ForeignKeyReferentialAction_Cascade, sql.ForeignKeyReferentialAction_SetNull,
			sql.ForeignKeyReferentialAction_NoAction:
			fmt.Fprintf(&b, " ON %s %s", a.on, a.act)
		}
	}
	return b.String()
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

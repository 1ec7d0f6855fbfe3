package dumpsql

import (
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// SchemaFormatter is GMS's MySQL formatter of SHOW CREATE TABLE, except that an ENUM or SET
// column's default is printed as its value, as MySQL does: GMS evaluates the default to the
// value's index (ENUM) or bit mask (SET) and printed DEFAULT '2', which MySQL and MariaDB refuse
// when they load the statement (1067 Invalid default value) or read as another value.
type SchemaFormatter struct{ sql.MySqlSchemaFormatter }

var _ sql.SchemaFormatter = (*SchemaFormatter)(nil)

func (f *SchemaFormatter) GenerateCreateTableColumnDefinition(col *sql.Column, colDefault, onUpdate string, tableCollation sql.CollationID) string {
	return f.MySqlSchemaFormatter.GenerateCreateTableColumnDefinition(col, enumSetDefault(col, colDefault), onUpdate, tableCollation)
}

// enumSetDefault turns the quoted index or bit mask GMS prints for an ENUM or SET literal
// default back into the quoted value. Anything else is returned unchanged.
func enumSetDefault(col *sql.Column, def string) string {
	if len(def) < 3 || def[0] != '\'' || def[len(def)-1] != '\'' {
		return def
	}
	n, err := strconv.ParseUint(def[1:len(def)-1], 10, 64)
	if err != nil {
		return def
	}
	var v string
	switch t := col.Type.(type) {
	case sql.EnumType:
		s, ok := t.At(int(n))
		if !ok {
			return def
		}
		v = s
	case sql.SetType:
		s, err := t.BitsToString(n)
		if err != nil {
			return def
		}
		v = s
	default:
		return def
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", "''") + "'"
}

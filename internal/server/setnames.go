package server

import (
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// setNames matches the start of SET NAMES cs [COLLATE coll], up to the end of the statement or
// the comma before the next assignment. vitess's parser drops the COLLATE clause and GMS sets
// only the three character sets, so collation_connection kept whatever it was; the rewrite
// below adds the assignment MySQL makes.
var setNames = regexp.MustCompile("(?is)^(\\s*SET\\s+NAMES\\s+)('[^']*'|\"[^\"]*\"|`[^`]*`|[a-z0-9_]+)(?:\\s+COLLATE\\s+('[^']*'|\"[^\"]*\"|`[^`]*`|[a-z0-9_]+))?(\\s*(?:;|,|$))")

// rewriteSetNames turns `SET NAMES cs [COLLATE coll]` into `SET NAMES cs, collation_connection
// = 'coll'`, coll being cs's default collation when the clause is absent, as in MySQL: the
// session's collation_connection (and with it the collation ids its binlogged statements carry,
// which a MariaDB replica needs to know) is then the one asked for. SET NAMES DEFAULT and
// statements it does not match are returned unchanged. An unknown collation, or one of another
// character set, is MySQL's error 1273 or 1253.
func rewriteSetNames(query string) (string, error) {
	if trimmed := strings.TrimSpace(query); len(trimmed) < 9 || !strings.EqualFold(trimmed[:3], "set") {
		return query, nil
	}
	m := setNames.FindStringSubmatchIndex(query)
	if m == nil {
		return query, nil
	}
	cs := unquoteName(query[m[4]:m[5]])
	if strings.EqualFold(cs, "default") {
		return query, nil
	}
	csID, err := sql.ParseCharacterSet(cs)
	if err != nil {
		return query, nil // GMS reports the unknown character set
	}
	coll := csID.DefaultCollation()
	if m[6] >= 0 {
		name := unquoteName(query[m[6]:m[7]])
		id, err := sql.ParseCollation("", name, false)
		if err != nil {
			return "", mysql.NewSQLError(mysql.ERUnknownCollation, "HY000", "Unknown collation: '%s'", name)
		}
		if id.CharacterSet() != csID {
			return "", mysql.NewSQLError(mysql.ERCollationCharsetMismatch, "42000", "COLLATION '%s' is not valid for CHARACTER SET '%s'", name, cs)
		}
		coll = id
	}
	return query[:m[5]] + ", collation_connection = '" + coll.Name() + "'" + query[m[8]:], nil
}

func unquoteName(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"' || s[0] == '`') {
		return s[1 : len(s)-1]
	}
	return s
}

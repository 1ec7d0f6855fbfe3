package commitlog

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/binlog"
)

// sessionCharset is the Q_CHARSET_CODE of a QUERY event logged for ctx's session: the collation
// ids of character_set_client, collation_connection and collation_server, as MySQL logs them, so
// that a replica parses the statement's text and literals as the session did. A MariaDB replica
// knows no utf8mb4_0900_* collation (id 255): a session that chose one MariaDB knows
// (SET NAMES utf8mb4 COLLATE utf8mb4_general_ci) can be replicated there. Unknown or unset
// values fall back to 255, RelayDB's default.
func sessionCharset(ctx *sql.Context) binlog.Charset {
	var cs binlog.Charset
	if ctx == nil || ctx.Session == nil {
		return cs
	}
	conn := collationVar(ctx, "collation_connection")
	cs.Connection = uint16(conn)
	cs.Server = uint16(collationVar(ctx, "collation_server"))
	// character_set_client is a character set; MySQL logs the collation it was set with
	// (SET NAMES cs COLLATE coll sets all three), i.e. collation_connection's when the two
	// character sets agree, and the character set's default collation otherwise.
	if v, err := ctx.GetSessionVariable(ctx, "character_set_client"); err == nil {
		if id, err := sql.ParseCharacterSet(varString(v)); err == nil {
			if conn != sql.Collation_Unspecified && conn.CharacterSet() == id {
				cs.Client = uint16(conn)
			} else {
				cs.Client = uint16(id.DefaultCollation())
			}
		}
	}
	return cs
}

func collationVar(ctx *sql.Context, name string) sql.CollationID {
	v, err := ctx.GetSessionVariable(ctx, name)
	if err != nil {
		return sql.Collation_Unspecified
	}
	id, err := sql.ParseCollation("", varString(v), false)
	if err != nil {
		return sql.Collation_Unspecified
	}
	return id
}

// varString is a system variable's value as text. These variables hold strings: the type
// switch spares the commit path fmt's reflection for each of the three per transaction.
func varString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

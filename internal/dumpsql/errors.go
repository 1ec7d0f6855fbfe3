package dumpsql

import (
	"context"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
)

var contextBackground = context.Background()

// syntaxError is MySQL's error 1064 for q, near byte offset pos.
func syntaxError(q string, pos int) error {
	pos = min(max(pos, 0), len(q))
	near := q[pos:]
	if len(near) > 80 {
		near = near[:80]
	}
	line := 1 + strings.Count(q[:pos], "\n")
	return mysql.NewSQLError(mysql.ERParseError, mysql.SSClientError,
		"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line %d",
		near, line)
}

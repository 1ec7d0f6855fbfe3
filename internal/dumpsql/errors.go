package dumpsql

import (
	"context"
	"fmt"

	"github.com/dolthub/vitess/go/mysql"
)

var contextBackground = context.Background()

// syntaxError reports a parse failure at byte offset pos of q in vitess's words ("syntax error
// at position N near 'tok'"), which the server turns into MySQL's error 1064 with the text near
// the token, as for every other statement.
func syntaxError(q string, pos int) error {
	pos = min(max(pos, 0), len(q))
	toks := scan(q[pos:], 1)
	if len(toks) == 0 {
		return fmt.Errorf("syntax error at position %d", len(q)+1)
	}
	tok := toks[0]
	return fmt.Errorf("syntax error at position %d near '%s'", pos+tok.end, q[pos+tok.start:pos+tok.end])
}

// errNoDatabase is MySQL's error 1046.
func errNoDatabase() error {
	return mysql.NewSQLError(mysql.ERNoDb, "3D000", "No database selected")
}

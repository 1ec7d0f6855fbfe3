package sqldigest

import (
	"bytes"
	"strconv"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// Matches reports whether a digest's template reads as the statement it came from: parsed is
// the parser's reading of the original text and template its reading of Template(digest). It
// replaces, in parsed, each number and string literal by the bind variable :vN (N counting in
// the parser's walk order, skipping ORDER BY and GROUP BY, where a number is a column
// position), requires the N-th literal to be lits[N-1] (same kind, same value), and then the
// two statements to print the same.
//
// When it holds, the lexer and the parser agree on where this digest's literals are and what
// they are, so any text with the same digest reads as the template with its own literals bound
// (they differ from this text only inside literals, whose extent and decoding do not depend on
// what the literals hold). parsed is changed.
func Matches(parsed, template ast.Statement, lits []Literal) bool {
	n := 0
	good := true
	_ = ast.Walk(func(node ast.SQLNode) (bool, error) {
		switch x := node.(type) {
		case ast.OrderBy, ast.GroupBy:
			return false, nil
		case *ast.SQLVal:
			var kind Kind
			switch x.Type {
			case ast.StrVal:
				kind = String
			case ast.IntVal:
				kind = Int
			case ast.FloatVal:
				kind = Decimal
			default:
				return true, nil
			}
			if n >= len(lits) {
				good = false
				return false, nil
			}
			l := lits[n]
			if l.Kind == Float {
				l.Kind = Decimal // vitess says FloatVal for both; the exponent tells them apart
			}
			if kind != l.Kind || !bytes.Equal(x.Val, l.Value) {
				good = false
				return false, nil
			}
			n++
			x.Type = ast.ValArg
			x.Val = strconv.AppendInt([]byte(":v"), int64(n), 10)
		}
		return true, nil
	}, parsed)
	if !good || n != len(lits) {
		return false
	}
	return ast.String(parsed) == ast.String(template)
}

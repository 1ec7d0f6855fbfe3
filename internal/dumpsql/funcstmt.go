package dumpsql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// createFunction is CREATE FUNCTION as MySQL writes it:
//
//	CREATE [OR REPLACE] [DEFINER = user] FUNCTION [IF NOT EXISTS] [db.]name (params)
//	    RETURNS type [characteristic ...] body
type createFunction struct {
	db, name    string
	orReplace   bool
	ifNotExists bool
	definer     string // as written (`root`@`%`); empty: the creating session's user
	// tail is the text from the parameter list to the end: what SHOW CREATE FUNCTION prints
	// after "CREATE DEFINER=… FUNCTION `name`".
	tail    string
	returns string // the RETURNS type as written
	spec    *ast.ProcedureSpec
	// end is where the statement ends in the cleaned text (for multi-statement texts).
	end int
}

// vitessSyntax matches vitess's parse errors.
var vitessSyntax = regexp.MustCompile(`^syntax error at position (\d+)(?: near '(.*)')?$`)

// errNotOurs means the text is not one of the statements this package parses.
var errNotOurs = fmt.Errorf("not a stored function statement")

// stripExecMarkers removes the markers of executable comments (/*!NNNNN, /*M!NNNNNN and their
// */), keeping their content: the statement as the server runs it.
func stripExecMarkers(q string) string {
	if !strings.Contains(q, "/*!") && !strings.Contains(q, "/*M!") {
		return q
	}
	var b strings.Builder
	inExec := false
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := quotedEnd(q, i)
			b.WriteString(q[i:j])
			i = j
		case inExec && strings.HasPrefix(q[i:], "*/"):
			inExec = false
			i += 2
		case strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!"):
			i += 3
			if q[i-1] != '!' {
				i++
			}
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
			if i < len(q) && q[i] == ' ' { // the separator after the version
				i++
			}
			inExec = true
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+2+end+2])
			i += 2 + end + 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// characteristicWords start a routine characteristic or, after RETURNS' type, the body.
var characteristicWords = map[string]bool{
	"comment": true, "language": true, "not": true, "deterministic": true, "contains": true,
	"no": true, "reads": true, "modifies": true, "sql": true,
}

// parseCreateFunction parses q (executable markers already stripped); errNotOurs if it is not
// CREATE FUNCTION.
func parseCreateFunction(q string, opts ast.ParserOptions) (*createFunction, error) {
	toks := scan(q, 0)
	i := 0
	at := func(kw string) bool { return i < len(toks) && toks[i].is(q, kw) }
	if !at("create") {
		return nil, errNotOurs
	}
	i++
	f := &createFunction{}
	if at("or") && i+1 < len(toks) && toks[i+1].is(q, "replace") {
		f.orReplace = true
		i += 2
	}
	if at("definer") {
		i++
		if i >= len(toks) || toks[i].text(q) != "=" {
			return nil, errNotOurs
		}
		i++
		start := i
		if at("current_user") {
			i++
			if i+1 < len(toks) && toks[i].text(q) == "(" && toks[i+1].text(q) == ")" {
				i += 2
			}
		} else {
			i++ // user
			if i < len(toks) && toks[i].text(q) == "@" {
				i += 2 // @host
			}
		}
		if i > len(toks) || start >= len(toks) {
			return nil, errNotOurs
		}
		f.definer = q[toks[start].start:toks[i-1].end]
	}
	if at("aggregate") {
		return nil, sql.ErrUnsupportedFeature.New("CREATE AGGREGATE FUNCTION")
	}
	if !at("function") {
		return nil, errNotOurs
	}
	i++
	if at("if") && i+2 < len(toks) && toks[i+1].is(q, "not") && toks[i+2].is(q, "exists") {
		f.ifNotExists = true
		i += 3
	}
	if i >= len(toks) {
		return nil, syntaxError(q, len(q))
	}
	f.name = toks[i].ident(q)
	i++
	if i+1 < len(toks) && toks[i].text(q) == "." {
		f.db, f.name = f.name, toks[i+1].ident(q)
		i += 2
	}
	if i >= len(toks) || toks[i].text(q) != "(" {
		if i < len(toks) && toks[i].is(q, "returns") {
			// CREATE FUNCTION f RETURNS STRING SONAME 'lib.so': a loadable (UDF) function.
			return nil, sql.ErrUnsupportedFeature.New("CREATE FUNCTION … SONAME (loadable functions)")
		}
		return nil, syntaxError(q, tokStart(toks, i, q))
	}
	paramsOpen := i
	depth := 0
	for ; i < len(toks); i++ {
		switch toks[i].text(q) {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth == 0 {
			break
		}
	}
	i++
	if !at("returns") {
		return nil, syntaxError(q, tokStart(toks, i, q))
	}
	returnsTok := i
	i++
	typeStart := i
	depth = 0
	for ; i < len(toks); i++ {
		s := toks[i].text(q)
		switch s {
		case "(":
			depth++
			continue
		case ")":
			depth--
			continue
		}
		if depth > 0 || i == typeStart {
			continue
		}
		if toks[i].kind == tokWord && (characteristicWords[strings.ToLower(s)] || strings.EqualFold(s, "begin") || strings.EqualFold(s, "return")) {
			break
		}
		if i+1 < len(toks) && toks[i+1].text(q) == ":" { // a label: the body begins
			break
		}
		if toks[i].kind != tokWord && toks[i].kind != tokQuotedIdent && toks[i].kind != tokString && s != "," {
			break
		}
	}
	if i >= len(toks) || i == typeStart {
		return nil, syntaxError(q, len(q))
	}
	f.returns = strings.TrimSpace(q[toks[typeStart].start:toks[i].start])
	// vitess parses the rest as a procedure with the same parameters and body.
	prefix := "CREATE PROCEDURE " + quoteIdent(f.name)
	procText := prefix + q[toks[paramsOpen].start:toks[returnsTok].start] + q[toks[i].start:]
	// toQ maps an offset in procText back to q.
	toQ := func(pos int) int {
		params := toks[returnsTok].start - toks[paramsOpen].start
		switch {
		case pos < len(prefix):
			return toks[paramsOpen].start
		case pos < len(prefix)+params:
			return pos - len(prefix) + toks[paramsOpen].start
		}
		return pos - len(prefix) - params + toks[i].start
	}
	stmt, ri, err := ast.ParseOneWithOptions(contextBackground, procText, opts)
	if err != nil {
		if m := vitessSyntax.FindStringSubmatch(err.Error()); m != nil {
			pos, _ := strconv.Atoi(m[1])
			end := min(toQ(pos), len(q))
			if m[2] != "" {
				if k := strings.LastIndex(q[:end], m[2]); k >= 0 {
					return nil, syntaxError(q, k)
				}
			}
			return nil, syntaxError(q, end)
		}
		return nil, err
	}
	ddl, ok := stmt.(*ast.DDL)
	if !ok || ddl.ProcedureSpec == nil {
		return nil, syntaxError(q, toks[i].start)
	}
	f.spec = ddl.ProcedureSpec
	f.end = len(q)
	if ri > 0 && ri < len(procText) {
		f.end = toQ(ri)
	}
	f.tail = strings.TrimRight(strings.TrimSpace(q[toks[paramsOpen].start:f.end]), ";")
	for _, p := range f.spec.Params {
		if p.Direction != ast.ProcedureParamDirection_In {
			return nil, syntaxError(q, toks[paramsOpen].start)
		}
	}
	return f, nil
}

func tokStart(toks []token, i int, q string) int {
	if i < len(toks) {
		return toks[i].start
	}
	return len(q)
}

// dropFunction is DROP FUNCTION [IF EXISTS] [db.]name.
type dropFunction struct {
	db, name string
	ifExists bool
}

// showCreateFunction is SHOW CREATE FUNCTION [db.]name.
type showCreateFunction struct{ db, name string }

// parseDropOrShow parses DROP FUNCTION and SHOW CREATE FUNCTION; errNotOurs for anything else.
// It also returns where the statement ends.
func parseDropOrShow(q string) (any, int, error) {
	toks := scan(q, 8)
	if len(toks) < 3 {
		return nil, 0, errNotOurs
	}
	i := 0
	var drop, show bool
	switch {
	case toks[0].is(q, "drop") && toks[1].is(q, "function"):
		drop, i = true, 2
	case toks[0].is(q, "show") && toks[1].is(q, "create") && toks[2].is(q, "function"):
		show, i = true, 3
	default:
		return nil, 0, errNotOurs
	}
	ifExists := false
	if drop && i+1 < len(toks) && toks[i].is(q, "if") && toks[i+1].is(q, "exists") {
		ifExists = true
		i += 2
	}
	if i >= len(toks) || (toks[i].kind != tokWord && toks[i].kind != tokQuotedIdent) {
		return nil, 0, syntaxError(q, tokStart(toks, i, q))
	}
	db, name := "", toks[i].ident(q)
	end := toks[i].end
	i++
	if i+1 < len(toks) && toks[i].text(q) == "." {
		db, name = name, toks[i+1].ident(q)
		end = toks[i+1].end
		i += 2
	}
	if i < len(toks) && toks[i].text(q) != ";" {
		return nil, 0, syntaxError(q, toks[i].start)
	}
	if drop {
		return &dropFunction{db: db, name: name, ifExists: ifExists}, end, nil
	}
	_ = show
	return &showCreateFunction{db: db, name: name}, end, nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

package dumpsql

import (
	"strings"
)

// token is one lexical unit of a statement's text: a word (keyword or plain identifier), a
// back-quoted identifier, a string literal, a number or one punctuation character.
type token struct {
	kind       tokenKind
	start, end int // byte offsets in the text
}

type tokenKind uint8

const (
	tokWord tokenKind = iota
	tokQuotedIdent
	tokString
	tokNumber
	tokPunct
)

// text is the token as written.
func (t token) text(q string) string { return q[t.start:t.end] }

// is reports whether the token is the keyword kw (case-insensitive).
func (t token) is(q, kw string) bool { return t.kind == tokWord && strings.EqualFold(t.text(q), kw) }

// ident is an identifier's name: back quotes removed.
func (t token) ident(q string) string {
	s := t.text(q)
	if t.kind == tokQuotedIdent {
		s = s[1:]
		if strings.HasSuffix(s, "`") { // unterminated: the parser reports it
			s = s[:len(s)-1]
		}
		return strings.ReplaceAll(s, "``", "`")
	}
	return s
}

// scan splits q into tokens, up to max of them (0: all). Comments are skipped, as are the
// markers of executable comments (/*!NNNNN, /*M!NNNNNN and their closing */), whose content is
// scanned as text, as MySQL and vitess run it. A ';' at depth 0 ends the scan: the tokens of the
// first statement only.
func scan(q string, max int) []token {
	var out []token
	inExec := false
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case c == '#' || (c == '-' && strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' ')):
			for i < len(q) && q[i] != '\n' {
				i++
			}
			continue
		case c == '*' && inExec && strings.HasPrefix(q[i:], "*/"):
			inExec = false
			i += 2
			continue
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			if strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!") {
				i += 3
				if q[i-1] != '!' {
					i++
				}
				for i < len(q) && q[i] >= '0' && q[i] <= '9' {
					i++
				}
				inExec = true
				continue
			}
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += 2 + end + 2
			continue
		}
		t := token{start: i}
		switch {
		case c == '`' || c == '\'' || c == '"':
			t.kind = tokString
			if c == '`' {
				t.kind = tokQuotedIdent
			}
			i = quotedEnd(q, i)
		case isWordByte(c) && !(c >= '0' && c <= '9'):
			t.kind = tokWord
			for i < len(q) && isWordByte(q[i]) {
				i++
			}
		case c >= '0' && c <= '9':
			t.kind = tokNumber
			for i < len(q) && (isWordByte(q[i]) || q[i] == '.') {
				i++
			}
		default:
			t.kind = tokPunct
			i++
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			case ';':
				if depth <= 0 {
					return out
				}
			}
		}
		t.end = i
		out = append(out, t)
		if max > 0 && len(out) >= max {
			return out
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// notColumnName are words after which YEAR(…) is the function, not a column's type.
var notColumnName = map[string]bool{
	"default": true, "as": true, "check": true, "on": true, "select": true, "when": true, "then": true,
	"else": true, "and": true, "or": true, "not": true, "by": true, "set": true, "values": true, "return": true,
	"where": true, "update": true, "is": true, "in": true, "like": true, "between": true, "xor": true, "div": true, "mod": true,
}

// blankYearWidth returns q with the display width of YEAR columns in CREATE/ALTER TABLE
// (`yr` year(4), which MariaDB and MySQL 5.x print and vitess rejects) replaced by spaces, so
// offsets into the text stay valid. Anything else comes back unchanged.
func blankYearWidth(q string) string {
	// The first word alone first: every statement the engine parses comes through here, and
	// only CREATE and ALTER are worth tokenizing whole.
	if head := scan(q, 1); len(head) == 0 || !(head[0].is(q, "create") || head[0].is(q, "alter")) {
		return q
	}
	toks := scan(q, 0)
	if len(toks) < 2 {
		return q
	}
	var b []byte
	for i := 1; i+3 < len(toks); i++ {
		prev, t := toks[i-1], toks[i]
		// A column's type follows its name; YEAR(…) after a keyword is the function.
		if !t.is(q, "year") || !(prev.kind == tokWord && !notColumnName[strings.ToLower(prev.text(q))] || prev.kind == tokQuotedIdent) {
			continue
		}
		if toks[i+1].text(q) != "(" || toks[i+2].kind != tokNumber || toks[i+3].text(q) != ")" {
			continue
		}
		if b == nil {
			b = []byte(q)
		}
		for j := toks[i+1].start; j < toks[i+3].end; j++ {
			b[j] = ' '
		}
	}
	if b == nil {
		return q
	}
	return string(b)
}

// quotedEnd returns the index just past the quoted string or identifier that starts at q[i] (a
// ', " or `): a doubled quote stays inside it, and so does a backslash escape outside backquotes;
// one left open ends with q.
func quotedEnd(q string, i int) int {
	c := q[i]
	i++
	for i < len(q) {
		if q[i] == '\\' && c != '`' {
			i += 2
			continue
		}
		if q[i] == c {
			if i+1 < len(q) && q[i+1] == c {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(q)
}

package adminsql

import (
	"strings"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // an unquoted word: keyword or identifier
	tIdent          // a `backquoted` identifier (text unquoted)
	tString         // a '…' or "…" literal (text unescaped)
	tNumber         // digits, optionally .digits
	tPunct          // one byte of punctuation: = , ( ) ; . @ : and any other
)

// token is one lexical unit. pos is its offset in the statement, for error messages.
type token struct {
	kind tokKind
	text string
	pos  int
	end  int // offset just after the token
}

// lexer produces tokens on demand, so that a statement which is not one of ours costs the
// scan of its first word only. It skips whitespace and comments (-- …, # …, /* … */, optimizer
// hints /*+ … */), and reads the text of executable comments /*! … */ and /*!NNNNN … */ as
// code: by the time a statement reaches the parser the ones MySQL would not execute are gone
// (sqltext.DropUnexecutedComments).
type lexer struct {
	q      string
	i      int
	inExec bool // inside /*! … */: its closing */ is skipped as a comment end
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isWordByte reports the bytes of unquoted identifiers and numbers (MySQL also allows any
// byte of a multi-byte UTF-8 character).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skip passes over whitespace and comments. An unterminated /* comment is an error at its
// start, as in MySQL.
func (l *lexer) skip() *token {
	for l.i < len(l.q) {
		c := l.q[l.i]
		switch {
		case isSpace(c):
			l.i++
		case c == '#':
			l.skipLine()
		case c == '-' && strings.HasPrefix(l.q[l.i:], "--") && (l.i+2 == len(l.q) || isSpace(l.q[l.i+2]) || l.q[l.i+2] < ' '):
			l.skipLine()
		case c == '*' && l.inExec && strings.HasPrefix(l.q[l.i:], "*/"):
			l.inExec = false
			l.i += 2
		case c == '/' && strings.HasPrefix(l.q[l.i:], "/*!") && !l.inExec:
			l.i += 3
			for l.i < len(l.q) && isDigit(l.q[l.i]) {
				l.i++
			}
			l.inExec = true
		case c == '/' && strings.HasPrefix(l.q[l.i:], "/*"):
			end := strings.Index(l.q[l.i+2:], "*/")
			if end < 0 {
				return &token{kind: tPunct, text: "/", pos: l.i}
			}
			l.i += 2 + end + 2
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) skipLine() {
	if n := strings.IndexByte(l.q[l.i:], '\n'); n >= 0 {
		l.i += n + 1
	} else {
		l.i = len(l.q)
	}
}

// next returns the next token; ok is false for malformed input (an unterminated quote or
// comment), with the token at which the error is reported.
func (l *lexer) next() (tok token, ok bool) {
	tok, ok = l.scan()
	tok.end = l.i
	return tok, ok
}

func (l *lexer) scan() (tok token, ok bool) {
	if bad := l.skip(); bad != nil {
		return *bad, false
	}
	if l.i >= len(l.q) {
		return token{kind: tEOF, pos: len(l.q)}, true
	}
	start := l.i
	c := l.q[l.i]
	switch {
	case c == '\'' || c == '"' || c == '`':
		text, ok := l.quoted(c)
		if !ok {
			return token{kind: tPunct, text: string(c), pos: start}, false
		}
		kind := tString
		if c == '`' {
			kind = tIdent
		}
		return token{kind: kind, text: text, pos: start}, true
	case isWordByte(c):
		digits := true
		for l.i < len(l.q) && isWordByte(l.q[l.i]) {
			digits = digits && isDigit(l.q[l.i])
			l.i++
		}
		if !digits {
			return token{kind: tWord, text: l.q[start:l.i], pos: start}, true
		}
		// A decimal fraction belongs to the number (SOURCE_HEARTBEAT_PERIOD = 0.5).
		if l.i+1 < len(l.q) && l.q[l.i] == '.' && isDigit(l.q[l.i+1]) {
			l.i++
			for l.i < len(l.q) && isDigit(l.q[l.i]) {
				l.i++
			}
		}
		return token{kind: tNumber, text: l.q[start:l.i], pos: start}, true
	default:
		l.i++
		return token{kind: tPunct, text: l.q[start:l.i], pos: start}, true
	}
}

// quoted reads a quoted string or identifier starting at l.i (the opening quote q): a doubled
// quote stands for itself, and in strings a backslash escapes as in MySQL (\% and \_ keep
// their backslash, for LIKE patterns).
func (l *lexer) quoted(q byte) (string, bool) {
	l.i++
	start := l.i
	// The common case, no escapes: a substring of the statement.
	for j := l.i; j < len(l.q); j++ {
		if l.q[j] == q && (j+1 == len(l.q) || l.q[j+1] != q) {
			l.i = j + 1
			return l.q[start:j], true
		}
		if l.q[j] == q || (l.q[j] == '\\' && q != '`') {
			break
		}
	}
	var b strings.Builder
	for l.i < len(l.q) {
		c := l.q[l.i]
		switch {
		case c == q && l.i+1 < len(l.q) && l.q[l.i+1] == q:
			b.WriteByte(q)
			l.i += 2
		case c == q:
			l.i++
			return b.String(), true
		case c == '\\' && q != '`' && l.i+1 < len(l.q):
			e := l.q[l.i+1]
			switch e {
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'Z':
				b.WriteByte(0x1a)
			case '%', '_':
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
			l.i += 2
		default:
			b.WriteByte(c)
			l.i++
		}
	}
	return "", false
}

// quoteString prints s as a '…' literal the lexer reads back as s.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			// \% and \_ read back with their backslash: print them as they are.
			if i+1 < len(s) && (s[i+1] == '%' || s[i+1] == '_') {
				b.WriteByte('\\')
			} else {
				b.WriteString(`\\`)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteIdent prints s as a `…` identifier.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

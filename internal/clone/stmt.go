package clone

import (
	"fmt"
	"strconv"
	"strings"
)

// Statement is a parsed clone statement.
//
//	CLONE INSTANCE FROM 'user'@'host':port IDENTIFIED BY 'password'
//	      [DATA DIRECTORY [=] 'path'] [REQUIRE [NO] SSL]        -- on the recipient (MySQL's syntax)
//	CLONE DONOR BEGIN                                           -- RelayDB's donor protocol:
//	CLONE DONOR READ 'id' 'file' offset length                  --   statements a recipient sends
//	CLONE DONOR END 'id'                                        --   to the donor's SQL port
type Statement struct {
	Kind string // "INSTANCE", "BEGIN", "READ" or "END"

	// INSTANCE
	Source  Source
	DataDir string // "" replaces the node's own data
	// RequireSSL is REQUIRE SSL (true), REQUIRE NO SSL (false) or absent (nil).
	RequireSSL *bool

	// READ and END
	ID, File       string
	Offset, Length int64
}

// IsCloneStatement reports whether q starts with the keyword CLONE (cheap: checked for every
// statement the node receives).
func IsCloneStatement(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n")
	return len(q) > 5 && strings.EqualFold(q[:5], "CLONE") && strings.ContainsRune(" \t\r\n", rune(q[5]))
}

// Parse parses a clone statement. Errors are syntax errors for the client (1064).
func Parse(q string) (*Statement, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if !p.keyword("CLONE") {
		return nil, p.fail()
	}
	var st *Statement
	switch {
	case p.keyword("INSTANCE"):
		st, err = p.instance()
	case p.keyword("DONOR"):
		st, err = p.donor()
	default:
		return nil, p.fail()
	}
	if err != nil {
		return nil, err
	}
	p.punct(";")
	if !p.done() {
		return nil, p.fail()
	}
	return st, nil
}

func (p *parser) instance() (*Statement, error) {
	st := &Statement{Kind: "INSTANCE"}
	if !p.keyword("FROM") {
		return nil, p.fail()
	}
	user, ok := p.name()
	if !ok || !p.punct("@") {
		return nil, p.fail()
	}
	host, ok := p.name()
	if !ok || !p.punct(":") {
		return nil, p.fail()
	}
	port, ok := p.number()
	if !ok || port <= 0 || port > 65535 {
		return nil, p.fail()
	}
	if !p.keyword("IDENTIFIED") || !p.keyword("BY") {
		return nil, p.fail()
	}
	pw, ok := p.str()
	if !ok {
		return nil, p.fail()
	}
	st.Source = Source{User: user, Host: host, Port: int(port), Password: pw}
	for !p.done() && !p.peekPunct(";") {
		switch {
		case p.keyword("DATA"):
			if !p.keyword("DIRECTORY") {
				return nil, p.fail()
			}
			p.punct("=")
			dir, ok := p.str()
			if !ok || dir == "" || st.DataDir != "" {
				return nil, p.fail()
			}
			st.DataDir = dir
		case p.keyword("REQUIRE"):
			v := !p.keyword("NO")
			if !p.keyword("SSL") || st.RequireSSL != nil {
				return nil, p.fail()
			}
			st.RequireSSL = &v
		default:
			return nil, p.fail()
		}
	}
	return st, nil
}

func (p *parser) donor() (*Statement, error) {
	switch {
	case p.keyword("BEGIN"):
		return &Statement{Kind: "BEGIN"}, nil
	case p.keyword("END"):
		id, ok := p.str()
		if !ok || !validID(id) {
			return nil, p.fail()
		}
		return &Statement{Kind: "END", ID: id}, nil
	case p.keyword("READ"):
		id, ok1 := p.str()
		file, ok2 := p.str()
		off, ok3 := p.number()
		n, ok4 := p.number()
		if !ok1 || !ok2 || !ok3 || !ok4 || !validID(id) || !validName(file) {
			return nil, p.fail()
		}
		return &Statement{Kind: "READ", ID: id, File: file, Offset: off, Length: n}, nil
	}
	return nil, p.fail()
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) done() bool { return p.i >= len(p.toks) }

func (p *parser) keyword(k string) bool {
	if p.i < len(p.toks) && p.toks[p.i].kind == tWord && strings.EqualFold(p.toks[p.i].text, k) {
		p.i++
		return true
	}
	return false
}

func (p *parser) peekPunct(s string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tPunct && p.toks[p.i].text == s
}

func (p *parser) punct(s string) bool {
	if p.peekPunct(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) str() (string, bool) {
	if p.i < len(p.toks) && p.toks[p.i].kind == tString {
		p.i++
		return p.toks[p.i-1].text, true
	}
	return "", false
}

// name is a user or host name: quoted, or a bare word or number (127.0.0.1 lexes as a word).
func (p *parser) name() (string, bool) {
	if p.i < len(p.toks) && p.toks[p.i].kind != tPunct {
		p.i++
		return p.toks[p.i-1].text, true
	}
	return "", false
}

func (p *parser) number() (int64, bool) {
	if p.i < len(p.toks) && p.toks[p.i].kind == tNumber {
		n, err := strconv.ParseInt(p.toks[p.i].text, 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		p.i++
		return n, true
	}
	return 0, false
}

// SyntaxError is a 1064 for the client.
type SyntaxError struct{ Near string }

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s'", e.Near)
}

func (p *parser) fail() error {
	return &SyntaxError{Near: p.rest()}
}

func (p *parser) rest() string {
	var b strings.Builder
	for _, t := range p.toks[min(p.i, len(p.toks)):] {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if t.kind == tString {
			b.WriteString("'" + strings.ReplaceAll(t.text, "'", "''") + "'")
		} else {
			b.WriteString(t.text)
		}
		if b.Len() > 80 {
			break
		}
	}
	return b.String()
}

// lex splits q into words, quoted strings ('…', "…", `…`; doubled quotes and backslash
// escapes in '…' and "…"), decimal numbers and the punctuation @ : = ;.
func lex(q string) ([]token, error) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '@' || c == ':' || c == '=' || c == ';':
			out = append(out, token{tPunct, string(c), i})
			i++
		case c == '\'' || c == '"' || c == '`':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(q) {
				d := q[i]
				if d == '\\' && c != '`' && i+1 < len(q) {
					switch e := q[i+1]; e {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case '0':
						b.WriteByte(0)
					default:
						b.WriteByte(e)
					}
					i += 2
					continue
				}
				if d == c {
					if i+1 < len(q) && q[i+1] == c {
						b.WriteByte(c)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(d)
				i++
			}
			if !closed {
				return nil, &SyntaxError{Near: q[start:]}
			}
			kind := tString
			if c == '`' {
				kind = tWord
			}
			out = append(out, token{kind, b.String(), start})
		case isWordByte(c):
			start := i
			digits := true
			for i < len(q) && isWordByte(q[i]) {
				if q[i] < '0' || q[i] > '9' {
					digits = false
				}
				i++
			}
			kind := tWord
			if digits {
				kind = tNumber
			}
			out = append(out, token{kind, q[start:i], start})
		default:
			return nil, &SyntaxError{Near: q[i:min(len(q), i+80)]}
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '$' || c >= 0x80
}

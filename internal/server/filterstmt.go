package server

import (
	"strings"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/rplfilter"
)

// parseFilters reads the filter list of CHANGE REPLICATION FILTER:
//
//	REPLICATE_DO_DB = (db1, db2), REPLICATE_WILD_DO_TABLE = ('db.t%'), REPLICATE_REWRITE_DB = ((a, b))
//
// into kind → values (rewrite pairs as "from->to"); an empty list () clears the kind. Names
// may be quoted with backquotes, patterns with single or double quotes.
func parseFilters(s string) (map[string][]string, error) {
	p := &filterParser{s: s}
	sets := map[string][]string{}
	for {
		p.space()
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || isLetter(p.s[p.i])) {
			p.i++
		}
		kind := strings.ToUpper(p.s[start:p.i])
		known := false
		for _, k := range rplfilter.Kinds {
			known = known || k == kind
		}
		if !known {
			return nil, p.syntax()
		}
		if _, dup := sets[kind]; dup {
			return nil, p.syntax()
		}
		p.space()
		if !p.eat('=') {
			return nil, p.syntax()
		}
		var values []string
		var err error
		if kind == "REPLICATE_REWRITE_DB" {
			values, err = p.parenthesised(func() (string, error) {
				pair, err := p.parenthesised(p.item)
				if err != nil {
					return "", err
				}
				if len(pair) != 2 {
					return "", p.syntax()
				}
				return pair[0] + "->" + pair[1], nil
			})
		} else {
			values, err = p.parenthesised(p.item)
		}
		if err != nil {
			return nil, err
		}
		sets[kind] = values
		p.space()
		if p.i == len(p.s) {
			return sets, nil
		}
		if !p.eat(',') {
			return nil, p.syntax()
		}
	}
}

type filterParser struct {
	s string
	i int
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func (p *filterParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *filterParser) eat(b byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

func (p *filterParser) syntax() error {
	return mysql.NewSQLError(mysql.ERParseError, mysql.SSClientError,
		"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line 1", p.s[min(p.i, len(p.s)):])
}

// parenthesised reads "( item, item, … )", possibly empty.
func (p *filterParser) parenthesised(item func() (string, error)) ([]string, error) {
	if !p.eat('(') {
		return nil, p.syntax()
	}
	var out []string
	if p.eat(')') {
		return out, nil
	}
	for {
		v, err := item()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.eat(')') {
			return out, nil
		}
		if !p.eat(',') {
			return nil, p.syntax()
		}
	}
}

// item reads a name (bare, `quoted`, or db.table with either part quoted) or a quoted string.
func (p *filterParser) item() (string, error) {
	p.space()
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.syntax()
		}
		switch c := p.s[p.i]; {
		case c == '`' || c == '\'' || c == '"':
			p.i++
			for {
				if p.i >= len(p.s) {
					return "", p.syntax()
				}
				if p.s[p.i] == c {
					if p.i+1 < len(p.s) && p.s[p.i+1] == c { // doubled quote
						b.WriteByte(c)
						p.i += 2
						continue
					}
					p.i++
					break
				}
				if p.s[p.i] == '\\' && c != '`' && p.i+1 < len(p.s) {
					// keep the backslash: in a pattern it escapes % and _
					b.WriteByte('\\')
					p.i++
				}
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			start := p.i
			for p.i < len(p.s) && strings.IndexByte("`'\". \t\r\n,()", p.s[p.i]) < 0 {
				p.i++
			}
			if p.i == start {
				return "", p.syntax()
			}
			b.WriteString(p.s[start:p.i])
		}
		if p.i < len(p.s) && p.s[p.i] == '.' {
			b.WriteByte('.')
			p.i++
			continue
		}
		return b.String(), nil
	}
}

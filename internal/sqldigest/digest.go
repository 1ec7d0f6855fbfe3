package sqldigest

import (
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/sqltypes"
)

// Kind is what a replaced literal was.
type Kind uint8

const (
	// Int is a run of decimal digits (it may be too large for 64 bits).
	Int Kind = iota + 1
	// Decimal is digits with a fractional part and no exponent: 1.50.
	Decimal
	// Float is a number with an exponent: 1e3, 2.5E-2.
	Float
	// String is a quoted string; Value holds it decoded (escapes and doubled quotes resolved).
	String
)

func (k Kind) String() string {
	switch k {
	case Int:
		return "int"
	case Decimal:
		return "decimal"
	case Float:
		return "float"
	case String:
		return "string"
	}
	return "?"
}

// Literal is one replaced literal, in the order it appears in the text.
type Literal struct {
	Kind  Kind
	Value []byte // the number as written, or the decoded string; aliases the scratch buffer
}

// Options says how the text is read.
type Options struct {
	// AnsiQuotes: "…" quotes an identifier (sql_mode ANSI_QUOTES), not a string.
	AnsiQuotes bool
}

// Scratch holds the buffers Normalize reuses between calls; one per connection. The digest and
// the literals it returns are valid until the next call with the same Scratch.
type Scratch struct {
	digest []byte
	lits   []Literal
	values []byte
}

// Normalize returns q's digest and literals, or ok false if q has something the lexer does not
// read with certainty (see the package documentation).
func (s *Scratch) Normalize(q string, opt Options) (digest []byte, lits []Literal, ok bool) {
	s.digest = s.digest[:0]
	s.lits = s.lits[:0]
	s.values = s.values[:0]
	// offsets into s.values: the literals' Value slices are cut once the buffer stops growing.
	type span struct{ start, end int }
	var spans [16]span
	spanList := spans[:0]

	last := 0               // q[last:i] is still to be copied
	identEnd := -1          // end of the identifier token just before (blanks aside), or -1
	underscoreWord := false // the last word token started with '_' (a possible introducer)
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isLetter(c):
			for i < len(q) && isIdentChar(q[i]) {
				i++
			}
			identEnd = i
			underscoreWord = c == '_'
			continue
		case c >= 0x80 || c == '$':
			return nil, nil, false // identifiers vitess may read otherwise
		case isDigit(c):
			start := i
			kind, end, good := scanNumber(q, i)
			if !good {
				return nil, nil, false
			}
			if start > 0 && q[start-1] == '.' {
				return nil, nil, false // t.1: a name after a qualifier, or worse
			}
			s.digest = append(s.digest, q[last:start]...)
			s.digest = append(s.digest, '?')
			vs := len(s.values)
			s.values = append(s.values, q[start:end]...)
			spanList = append(spanList, span{vs, len(s.values)})
			s.lits = append(s.lits, Literal{Kind: kind})
			i, last = end, end
		case c == '\'' || c == '"' && !opt.AnsiQuotes:
			if identEnd >= 0 && (identEnd == i || underscoreWord) {
				return nil, nil, false // x'…', N'…', _utf8mb4'…', _latin1 '…'
			}
			if i > 0 && q[i-1] == '@' {
				return nil, nil, false // @'var'
			}
			vs := len(s.values)
			end, good := s.decodeString(q, i)
			if !good {
				return nil, nil, false
			}
			// What follows: another string is concatenated to this one, '@' makes an account.
			j := end
			for j < len(q) && (q[j] == ' ' || q[j] == '\t' || q[j] == '\n' || q[j] == '\r') {
				j++
			}
			if j < len(q) && (q[j] == '\'' || q[j] == '"' || q[j] == '@') {
				return nil, nil, false
			}
			s.digest = append(s.digest, q[last:i]...)
			s.digest = append(s.digest, '?')
			spanList = append(spanList, span{vs, len(s.values)})
			s.lits = append(s.lits, Literal{Kind: String})
			i, last = end, end
		case c == '`' || c == '"':
			end := skipQuotedIdent(q, i)
			if end < 0 || strings.IndexByte(q[i:end], '?') >= 0 {
				return nil, nil, false
			}
			i = end
		case c == '#', c == '-' && i+1 < len(q) && q[i+1] == '-', c == '/' && i+1 < len(q) && q[i+1] == '/':
			end := lineEnd(q, i)
			if strings.IndexByte(q[i:end], '?') >= 0 {
				return nil, nil, false
			}
			i = end
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			if i+2 < len(q) && q[i+2] == '!' || i+3 < len(q) && q[i+2] == 'M' && q[i+3] == '!' {
				return nil, nil, false // executable comment: its text is SQL
			}
			end := strings.Index(q[i+2:], "*/")
			if end >= 0 {
				end += i + 2
			}
			if end < 0 || strings.IndexByte(q[i:end], '?') >= 0 {
				return nil, nil, false
			}
			i = end + 2
		case c == '.':
			if i+1 < len(q) && isDigit(q[i+1]) {
				return nil, nil, false // .5, or t.5
			}
			i++
		case c == '?' || c == ':':
			return nil, nil, false
		default:
			i++
		}
		identEnd, underscoreWord = -1, false
	}
	s.digest = append(s.digest, q[last:]...)
	for k, sp := range spanList {
		s.lits[k].Value = s.values[sp.start:sp.end:sp.end]
	}
	return s.digest, s.lits, true
}

// scanNumber reads a number at q[i] (a digit) as vitess does: digits, an optional fraction, an
// optional exponent. good is false for the forms whose reading the lexer leaves to the parser:
// 0x…, a letter or dot right after the number, a dot or exponent with no digits after it.
func scanNumber(q string, i int) (kind Kind, end int, good bool) {
	kind = Int
	for i < len(q) && isDigit(q[i]) {
		i++
	}
	if i < len(q) && q[i] == '.' {
		i++
		if i >= len(q) || !isDigit(q[i]) {
			return 0, 0, false
		}
		kind = Decimal
		for i < len(q) && isDigit(q[i]) {
			i++
		}
	}
	if i < len(q) && (q[i] == 'e' || q[i] == 'E') {
		i++
		if i < len(q) && (q[i] == '+' || q[i] == '-') {
			i++
		}
		if i >= len(q) || !isDigit(q[i]) {
			return 0, 0, false
		}
		kind = Float
		for i < len(q) && isDigit(q[i]) {
			i++
		}
	}
	if i < len(q) && (isIdentChar(q[i]) || q[i] == '.' || q[i] >= 0x80 || q[i] == '$') {
		return 0, 0, false
	}
	return kind, i, true
}

// decodeString decodes the string quoted at q[i] into s.values and returns the index after its
// closing quote. Escapes are vitess's: a backslash and the next byte become that byte's entry
// in sqltypes.SQLDecodeMap (\n, \t, \0, …) or the byte itself; a doubled quote is one quote.
func (s *Scratch) decodeString(q string, i int) (end int, good bool) {
	delim := q[i]
	i++
	for i < len(q) {
		c := q[i]
		switch {
		case c == '\\':
			if i+1 >= len(q) {
				return 0, false
			}
			d := q[i+1]
			if dec := sqltypes.SQLDecodeMap[d]; dec != sqltypes.DontEscape {
				d = dec
			}
			s.values = append(s.values, d)
			i += 2
		case c == delim:
			if i+1 < len(q) && q[i+1] == delim {
				s.values = append(s.values, delim)
				i += 2
				continue
			}
			return i + 1, true
		default:
			s.values = append(s.values, c)
			i++
		}
	}
	return 0, false // unterminated
}

// skipQuotedIdent returns the index after the identifier quoted at q[i], or -1.
func skipQuotedIdent(q string, i int) int {
	delim := q[i]
	for i++; i < len(q); i++ {
		if q[i] == delim {
			if i+1 < len(q) && q[i+1] == delim {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

func lineEnd(q string, i int) int {
	for ; i < len(q); i++ {
		if q[i] == '\n' {
			return i + 1
		}
	}
	return len(q)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentChar(c byte) bool { return isLetter(c) || isDigit(c) }

// Template returns the digest with its i-th '?' (from 1) written as the bind variable :vi, the
// form vitess gives the placeholders of a prepared statement. The digest has no '?' of its own
// (Normalize refuses a '?' outside string literals, and string literals are replaced), so every
// '?' is a replaced literal.
func Template(digest []byte) string {
	out := make([]byte, 0, len(digest)+16)
	n := 0
	for _, c := range digest {
		if c != '?' {
			out = append(out, c)
			continue
		}
		n++
		out = append(out, ':', 'v')
		out = strconv.AppendInt(out, int64(n), 10)
	}
	return string(out)
}

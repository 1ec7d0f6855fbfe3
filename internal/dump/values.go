package dump

import (
	"encoding/hex"
	"strings"
)

// valueKind says how a column's text-protocol value is written as an SQL literal.
type valueKind int

const (
	kindString valueKind = iota // quoted and escaped
	kindNumber                  // as sent: the server's own decimal text
	kindBinary                  // hexadecimal, so no byte is reinterpreted in a character set
)

func kindOf(typeName string) valueKind {
	t := strings.TrimPrefix(strings.ToUpper(typeName), "UNSIGNED ")
	switch t {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE", "YEAR":
		return kindNumber
	case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BIT", "GEOMETRY":
		return kindBinary
	}
	return kindString
}

// appendValue appends v (nil: NULL) as a literal of the given kind.
func appendValue(b []byte, v []byte, k valueKind) []byte {
	switch {
	case v == nil:
		return append(b, "NULL"...)
	case k == kindNumber:
		return append(b, v...)
	case k == kindBinary:
		if len(v) == 0 {
			return append(b, "''"...)
		}
		b = append(b, "0x"...)
		return hex.AppendEncode(b, v)
	}
	return appendQuoted(b, v)
}

// appendQuoted appends s as a single-quoted string literal with MySQL's backslash escapes.
func appendQuoted(b []byte, s []byte) []byte {
	b = append(b, '\'')
	for _, c := range s {
		switch c {
		case 0:
			b = append(b, '\\', '0')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0x1a:
			b = append(b, '\\', 'Z')
		case '\\', '\'', '"':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

// quoteIdent quotes an identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

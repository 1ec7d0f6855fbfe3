package checksum

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Values come from the driver's binary protocol (every query is a prepared statement), so they
// keep a Go type: int64 or uint64 for integers, float32 or float64, and []byte for everything
// else (strings, DECIMAL, dates: the connection does not parse times). Passed back as arguments,
// they keep that type on the wire, so a bound read from an INT key is compared as a number.

// valueKey is a canonical encoding of one value for equality: two values are equal exactly when
// their keys are.
func valueKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "N"
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case uint64:
		if x <= 1<<63-1 {
			return "i" + strconv.FormatInt(int64(x), 10)
		}
		return "i" + strconv.FormatUint(x, 10)
	case float32:
		return "f" + strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return "b" + string(x)
	case string:
		return "b" + x
	case time.Time:
		return "t" + x.Format(time.RFC3339Nano)
	}
	return "?" + formatValue(v, "")
}

// rowKey is the canonical encoding of a tuple of values (length-prefixed, so it splits back).
func rowKey(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		k := valueKey(v)
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(k)
	}
	return b.String()
}

// numericTypes print without quotes.
var numericTypes = map[string]bool{
	"tinyint": true, "smallint": true, "mediumint": true, "int": true, "integer": true, "bigint": true,
	"decimal": true, "numeric": true, "float": true, "double": true, "real": true, "year": true,
}

// formatValue writes a value as a SQL literal for people to read: NULL, a number, a quoted
// string, or 0x… for bytes that are not printable text (binary columns, mostly).
func formatValue(v any, dataType string) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return quoteString(x.Format("2006-01-02 15:04:05.999999"))
	case string:
		return formatBytes([]byte(x), dataType)
	case []byte:
		return formatBytes(x, dataType)
	}
	return "?"
}

func formatBytes(b []byte, dataType string) string {
	dt := strings.ToLower(dataType)
	if numericTypes[dt] {
		return string(b)
	}
	if !printable(b) {
		return "0x" + hex.EncodeToString(b)
	}
	return quoteString(string(b))
}

// printable reports whether b is UTF-8 text without control characters other than tab and
// newline.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r != '\t' && r != '\n' && !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// quoteString quotes s as a SQL string literal, doubling quotes and escaping backslashes and
// newlines.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `''`, "\n", `\n`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}

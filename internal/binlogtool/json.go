package binlogtool

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// jsonLiteral returns CAST('<text>' AS JSON) for a document rowenc decoded. Parsing the text
// gives back the same document only for the JSON types that have a text form; MySQL's binary
// JSON also holds DECIMAL, unsigned, DATE/TIME/DATETIME and opaque scalars, which text turns
// into doubles, signed integers or strings. Those documents are refused rather than changed.
func jsonLiteral(doc any) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, doc, 0); err != nil {
		return "", err
	}
	return "CAST(" + textLiteral(b.String()) + " AS JSON)", nil
}

const maxJSONNesting = 200 // deeper than MySQL accepts (100); only a guard for bad input

// writeJSON prints v in MySQL's style ({"a": 1, "b": [true, null]}), object keys in MySQL's
// order (shorter first, then bytewise).
func writeJSON(b *strings.Builder, v any, depth int) error {
	if depth > maxJSONNesting {
		return fmt.Errorf("JSON document nested deeper than %d", maxJSONNesting)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		if x <= math.MaxInt64 {
			// Text would read it back as a signed integer.
			return fmt.Errorf("JSON document holds the unsigned integer %d, which JSON text cannot keep unsigned", x)
		}
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("JSON document holds the double %v", x)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // keep it a double: "1" would read back as an integer
		}
		b.WriteString(s)
	case string:
		return writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, c string) int {
			if len(a) != len(c) {
				return len(a) - len(c)
			}
			return strings.Compare(a, c)
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSONString(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writeJSON(b, x[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case *apd.Decimal:
		return fmt.Errorf("JSON document holds the DECIMAL %s, which JSON text would turn into a double", x.Text('f'))
	case time.Time, types.Timespan:
		return fmt.Errorf("JSON document holds a DATE/TIME/DATETIME scalar, which JSON text would turn into a string")
	default:
		return fmt.Errorf("JSON document holds an opaque %T scalar, which JSON text cannot express", v)
	}
	return nil
}

// writeJSONString writes s as a JSON string, escaping what JSON requires.
func writeJSONString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("JSON document holds a string that is not UTF-8")
	}
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return nil
}

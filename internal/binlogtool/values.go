package binlogtool

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// literal returns the SQL literal for v, a value the rowenc decoder produced for column c. The
// literal must read back, under any sql_mode, as exactly the value the source stored.
func literal(c *column, v any) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	switch c.typ {
	case mysql.TypeYear:
		if y, ok := v.(int16); ok {
			return strconv.Itoa(int(y)), nil // 0 is YEAR 0000; '0' would be 2000
		}
	case mysql.TypeBit:
		if b, ok := v.(uint64); ok {
			return strconv.FormatUint(b, 10), nil
		}
	case mysql.TypeDate:
		if t, ok := v.(time.Time); ok {
			if t.Equal(types.ZeroTime) {
				return "'0000-00-00'", nil
			}
			return fmt.Sprintf("'%04d-%02d-%02d'", t.Year(), t.Month(), t.Day()), nil
		}
	case mysql.TypeDateTime2, mysql.TypeTimestamp2:
		if t, ok := v.(time.Time); ok {
			return "'" + datetimeText(t, int(c.meta)) + "'", nil
		}
	case mysql.TypeTime2:
		if t, ok := v.(types.Timespan); ok {
			return "'" + timeText(t.AsMicroseconds(), int(c.meta)) + "'", nil
		}
	case mysql.TypeString:
		switch c.realType {
		case mysql.TypeEnum:
			if i, ok := v.(uint16); ok {
				if c.values != nil && i >= 1 && int(i) <= len(c.values) {
					return textLiteral(c.values[i-1]), nil
				}
				return strconv.Itoa(int(i)), nil
			}
		case mysql.TypeSet:
			if bits, ok := v.(uint64); ok {
				if c.values == nil {
					return strconv.FormatUint(bits, 10), nil
				}
				var members []string
				for k := range c.values {
					if bits&(1<<k) != 0 {
						members = append(members, c.values[k])
					}
				}
				return textLiteral(strings.Join(members, ",")), nil
			}
		}
	case mysql.TypeJSON:
		if d, ok := v.(types.JSONDocument); ok {
			return jsonLiteral(d.Val)
		}
	case mysql.TypeGeometry:
		if g, ok := v.(types.GeometryValue); ok {
			return geometryLiteral(g), nil
		}
	}
	switch x := v.(type) {
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	case float32:
		return floatLiteral(float64(x))
	case float64:
		return floatLiteral(x)
	case *apd.Decimal:
		// An unquoted literal with a point is an exact DECIMAL; a quoted one would compare
		// as a double in WHERE.
		return x.Text('f'), nil
	case string:
		if c.rawText {
			// Charset unknown here: give the server the stored bytes, which it reads in the
			// column's own charset.
			return hexLiteral([]byte(x)), nil
		}
		return textLiteral(x), nil
	case []byte:
		return hexLiteral(x), nil
	}
	return "", fmt.Errorf("column %s: no SQL literal for a %T value of column type %d", c.label(), v, c.typ)
}

// floatLiteral prints the shortest text that reads back as the same float64. A FLOAT column's
// value is printed as its exact double too, so that `col <=> value` matches in a WHERE clause.
func floatLiteral(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("floating-point value %v has no SQL literal", f)
	}
	if f == 0 && math.Signbit(f) {
		return "-0e0", nil // "-0" would be the integer 0
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// textLiteral quotes s when the quoted form means the same under every sql_mode (no
// backslashes, which NO_BACKSLASH_ESCAPES changes, and no control characters, which would
// break the one-statement-per-line output); otherwise it spells the UTF-8 bytes in hex.
func textLiteral(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r == '\\' || (r < 0x20 && r != '\t') || r == 0x7f
	}) {
		return "CONVERT(" + hexLiteral([]byte(s)) + " USING utf8mb4)"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// hexLiteral is a binary string literal (0x alone is not a literal, so empty is X-quoted).
func hexLiteral(b []byte) string {
	if len(b) == 0 {
		return "X''"
	}
	return "0x" + hex.EncodeToString(b)
}

// datetimeText prints a DATETIME or TIMESTAMP with fsp fractional digits.
func datetimeText(t time.Time, fsp int) string {
	if t.Equal(types.ZeroTime) {
		return "0000-00-00 00:00:00" + fraction(0, fsp)
	}
	t = t.UTC()
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()) +
		fraction(int64(t.Nanosecond()/1000), fsp)
}

// timeText prints a TIME of micros microseconds with fsp fractional digits.
func timeText(micros int64, fsp int) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	secs := micros / 1_000_000
	return fmt.Sprintf("%s%02d:%02d:%02d", sign, secs/3600, secs/60%60, secs%60) + fraction(micros%1_000_000, fsp)
}

// fraction is ".ffffff" cut to fsp digits (the column's precision), or nothing for fsp 0.
func fraction(micros int64, fsp int) string {
	if fsp <= 0 {
		return ""
	}
	return "." + fmt.Sprintf("%06d", micros)[:min(fsp, 6)]
}

// geometryLiteral rebuilds a geometry from its WKB. Coordinates are stored longitude first;
// the axis-order option stops a geographic SRID's default latitude-first reading from
// swapping them.
func geometryLiteral(g types.GeometryValue) string {
	ewkb := g.Serialize() // SRID (4 bytes, little-endian) then WKB
	srid := uint32(ewkb[0]) | uint32(ewkb[1])<<8 | uint32(ewkb[2])<<16 | uint32(ewkb[3])<<24
	wkb := hexLiteral(ewkb[4:])
	if srid == 0 {
		return "ST_GeomFromWKB(" + wkb + ")"
	}
	return fmt.Sprintf("ST_GeomFromWKB(%s, %d, 'axis-order=long-lat')", wkb, srid)
}

// quoteIdent quotes a database, table or column name.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

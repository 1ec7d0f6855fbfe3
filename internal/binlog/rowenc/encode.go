package rowenc

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/sqlval"
)

// convCtx is handed to GMS's Convert and JSON functions, which use it only
// to unwrap wrapped values and read the SQL mode; values reaching the
// binlog have already been validated by GMS.
var convCtx = context.Background()

// AppendImage appends to dst one row image as MySQL writes it in
// WRITE/UPDATE/DELETE_ROWS v2 events: a NULL bitmap with one bit per
// column present in cols (bit k, least significant first, for the k-th
// present column), then the value of every present non-NULL column in
// MySQL's binary format for its type. row holds GMS's values for every
// column of the table; columns absent from cols are not looked at.
//
// On error dst is returned unchanged in length: nothing partial is left.
func (t *Table) AppendImage(dst []byte, row sql.Row, cols mysql.Bitmap) ([]byte, error) {
	if len(row) != len(t.Columns) {
		return dst, fmt.Errorf("rowenc: row of %d values for table %s.%s of %d columns", len(row), t.Database, t.Name, len(t.Columns))
	}
	if cols.Count() != len(t.Columns) {
		return dst, fmt.Errorf("rowenc: column bitmap of %d bits for %d columns", cols.Count(), len(t.Columns))
	}
	start := len(dst)
	present := cols.BitCount()
	nb := (present + 7) / 8
	// MySQL's pack_row starts every bitmap byte at 0xff and clears the
	// bits of non-NULL columns, so the unused high bits of the last byte
	// are ones.
	for i := 0; i < nb; i++ {
		dst = append(dst, 0xff)
	}
	k := 0
	for i := range t.Columns {
		if !cols.Bit(i) {
			continue
		}
		if row[i] != nil {
			dst[start+k/8] &^= 1 << (k % 8)
			var err error
			dst, err = t.Columns[i].AppendValue(dst, row[i])
			if err != nil {
				return dst[:start], fmt.Errorf("rowenc: %s.%s column %q: %w", t.Database, t.Name, t.Columns[i].Name, err)
			}
		}
		k++
	}
	return dst, nil
}

// EncodeImage is AppendImage split the way vitess's mysql.Row holds an
// image: the NULL bitmap of the present columns, and the values.
func (t *Table) EncodeImage(row sql.Row, cols mysql.Bitmap) (nulls mysql.Bitmap, data []byte, err error) {
	b, err := t.AppendImage(nil, row, cols)
	if err != nil {
		return mysql.Bitmap{}, nil, err
	}
	present := cols.BitCount()
	nb := (present + 7) / 8
	nulls = mysql.NewServerBitmap(present)
	for k := 0; k < nb*8; k++ { // the padding bits too, as MySQL sets them
		nulls.Set(k, b[k/8]&(1<<(k%8)) != 0)
	}
	return nulls, b[nb:], nil
}

// AppendValue appends the binary encoding of one non-NULL value of the
// column, as MySQL's Field::pack writes it into a row image.
func (c *Column) AppendValue(dst []byte, v any) ([]byte, error) {
	if w, ok := v.(sql.AnyWrapper); ok {
		u, err := w.UnwrapAny(convCtx)
		if err != nil {
			return dst, err
		}
		v = u
	}
	if v == nil {
		return dst, fmt.Errorf("NULL has no value encoding")
	}
	switch c.Type {
	case mysql.TypeTiny:
		return c.appendInt(dst, v, 1)
	case mysql.TypeShort:
		return c.appendInt(dst, v, 2)
	case mysql.TypeInt24:
		return c.appendInt(dst, v, 3)
	case mysql.TypeLong:
		return c.appendInt(dst, v, 4)
	case mysql.TypeLongLong:
		return c.appendInt(dst, v, 8)
	case mysql.TypeFloat:
		f, ok := v.(float32)
		if !ok {
			cv, err := c.convert(v)
			if err != nil {
				return dst, err
			}
			if f, ok = cv.(float32); !ok {
				return dst, fmt.Errorf("FLOAT value of Go type %T", cv)
			}
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f)), nil
	case mysql.TypeDouble:
		f, ok := v.(float64)
		if !ok {
			cv, err := c.convert(v)
			if err != nil {
				return dst, err
			}
			if f, ok = cv.(float64); !ok {
				return dst, fmt.Errorf("DOUBLE value of Go type %T", cv)
			}
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case mysql.TypeNewDecimal:
		d, err := c.decimalValue(v)
		if err != nil {
			return dst, err
		}
		return appendDecimal(dst, d, c.precision, c.scale)
	case mysql.TypeDate, mysql.TypeDateTime2, mysql.TypeTimestamp2:
		tm, ok := v.(time.Time)
		if !ok {
			cv, err := c.convert(v)
			if err != nil {
				return dst, err
			}
			if tm, ok = cv.(time.Time); !ok {
				return dst, fmt.Errorf("%s value of Go type %T", c.SQLType, cv)
			}
		}
		switch c.Type {
		case mysql.TypeDate:
			return appendDate(dst, tm)
		case mysql.TypeDateTime2:
			return appendDatetime2(dst, tm, c.fsp)
		}
		return appendTimestamp2(dst, tm, c.fsp)
	case mysql.TypeTime2:
		ts, ok := v.(types.Timespan)
		if !ok {
			cv, err := c.convert(v)
			if err != nil {
				return dst, err
			}
			if ts, ok = cv.(types.Timespan); !ok {
				return dst, fmt.Errorf("TIME value of Go type %T", cv)
			}
		}
		return appendTime2(dst, int64(ts), c.fsp)
	case mysql.TypeYear:
		y, err := c.uintValue(v)
		if err != nil {
			return dst, err
		}
		switch {
		case y == 0:
			return append(dst, 0), nil
		case y >= 1901 && y <= 2155:
			return append(dst, byte(y-1900)), nil
		}
		return dst, fmt.Errorf("YEAR %d out of range", int64(y))
	case mysql.TypeBit:
		x, err := c.uintValue(v)
		if err != nil {
			return dst, err
		}
		if c.bits < 64 && x>>c.bits != 0 {
			return dst, fmt.Errorf("value %d does not fit in BIT(%d)", x, c.bits)
		}
		n := (c.bits + 7) / 8
		for i := n - 1; i >= 0; i-- {
			dst = append(dst, byte(x>>(8*i)))
		}
		return dst, nil
	case mysql.TypeString:
		switch c.RealType {
		case mysql.TypeEnum:
			var idx uint64
			if s, ok := v.(string); ok {
				et := c.SQLType.(sql.EnumType)
				i := et.IndexOf(s)
				if i < 0 {
					return dst, fmt.Errorf("%q is not an element of the ENUM", s)
				}
				idx = uint64(i)
			} else {
				var err error
				if idx, err = c.uintValue(v); err != nil {
					return dst, err
				}
			}
			if idx > uint64(len(c.Values)) {
				return dst, fmt.Errorf("ENUM index %d out of range", idx)
			}
			return appendLE(dst, idx, c.packLen), nil
		case mysql.TypeSet:
			bits, err := c.uintValue(v)
			if err != nil {
				return dst, err
			}
			if n := len(c.Values); n < 64 && bits>>n != 0 {
				return dst, fmt.Errorf("SET bits %#x beyond its %d elements", bits, n)
			}
			return appendLE(dst, bits, c.packLen), nil
		}
		b, err := c.stringBytes(v)
		if err != nil {
			return dst, err
		}
		// Field_string::pack leaves out the padding: trailing spaces
		// (every character set's pad character is U+0020), or zero
		// bytes for BINARY.
		if c.binary {
			for len(b) > 0 && b[len(b)-1] == 0 {
				b = b[:len(b)-1]
			}
		} else {
			for len(b) > 0 && b[len(b)-1] == ' ' {
				b = b[:len(b)-1]
			}
		}
		if len(b) > c.maxBytes {
			return dst, fmt.Errorf("value of %d bytes longer than the column's %d", len(b), c.maxBytes)
		}
		if c.maxBytes > 255 {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(len(b)))
		} else {
			dst = append(dst, byte(len(b)))
		}
		return append(dst, b...), nil
	case mysql.TypeVarchar:
		b, err := c.stringBytes(v)
		if err != nil {
			return dst, err
		}
		if len(b) > c.maxBytes {
			return dst, fmt.Errorf("value of %d bytes longer than the column's %d", len(b), c.maxBytes)
		}
		if c.maxBytes > 255 {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(len(b)))
		} else {
			dst = append(dst, byte(len(b)))
		}
		return append(dst, b...), nil
	case mysql.TypeBlob:
		b, err := c.stringBytes(v)
		if err != nil {
			return dst, err
		}
		return c.appendBlob(dst, b)
	case mysql.TypeJSON:
		jb, err := c.jsonBinary(v)
		if err != nil {
			return dst, err
		}
		return c.appendBlob(dst, jb)
	case mysql.TypeGeometry:
		g, ok := v.(types.GeometryValue)
		if !ok {
			cv, err := c.convert(v)
			if err != nil {
				return dst, err
			}
			if g, ok = cv.(types.GeometryValue); !ok {
				return dst, fmt.Errorf("GEOMETRY value of Go type %T", cv)
			}
		}
		// GMS serializes geometries as MySQL stores them: a 4-byte
		// little-endian SRID, then little-endian WKB.
		return c.appendBlob(dst, g.Serialize())
	}
	return dst, fmt.Errorf("no encoder for column type %d", c.Type)
}

func (c *Column) appendBlob(dst, b []byte) ([]byte, error) {
	if c.packLen < 4 && len(b) >= 1<<(8*c.packLen) {
		return dst, fmt.Errorf("value of %d bytes too long for a %d-byte length", len(b), c.packLen)
	}
	if uint64(len(b)) > math.MaxUint32 {
		return dst, fmt.Errorf("value of %d bytes too long", len(b))
	}
	dst = appendLE(dst, uint64(len(b)), c.packLen)
	return append(dst, b...), nil
}

func appendLE(dst []byte, x uint64, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, byte(x>>(8*i)))
	}
	return dst
}

// convert coerces a value of an unexpected Go type the way GMS coerces
// values into the column's type, refusing values GMS would clamp.
func (c *Column) convert(v any) (any, error) {
	out, inRange, err := c.SQLType.Convert(convCtx, v)
	if err != nil {
		return nil, err
	}
	if inRange != sql.InRange {
		return nil, fmt.Errorf("value %v out of range for %s", v, c.SQLType)
	}
	if out == nil {
		return nil, fmt.Errorf("value %v converts to NULL", v)
	}
	return out, nil
}

// goInt returns a Go integer (or bool, as 0/1) as its two's complement bits and sign.
func goInt(v any) (x uint64, neg, ok bool) {
	if b, isBool := v.(bool); isBool {
		if b {
			return 1, false, true
		}
		return 0, false, true
	}
	return sqlval.Int(v)
}

func (c *Column) appendInt(dst []byte, v any, width int) ([]byte, error) {
	x, neg, ok := goInt(v)
	if !ok {
		cv, err := c.convert(v)
		if err != nil {
			return dst, err
		}
		if x, neg, ok = goInt(cv); !ok {
			return dst, fmt.Errorf("integer value of Go type %T", cv)
		}
	}
	bits := uint(8 * width)
	if c.Unsigned {
		if neg || (bits < 64 && x>>bits != 0) {
			return dst, fmt.Errorf("value %v out of range for %s", v, c.SQLType)
		}
	} else {
		s := int64(x)
		if !neg && s < 0 { // a uint64 above MaxInt64
			return dst, fmt.Errorf("value %v out of range for %s", v, c.SQLType)
		}
		if bits < 64 && (s < -(1<<(bits-1)) || s >= 1<<(bits-1)) {
			return dst, fmt.Errorf("value %v out of range for %s", v, c.SQLType)
		}
	}
	return appendLE(dst, x, width), nil
}

// uintValue returns a non-negative integer value (YEAR, BIT, ENUM, SET).
func (c *Column) uintValue(v any) (uint64, error) {
	x, neg, ok := goInt(v)
	if !ok {
		cv, err := c.convert(v)
		if err != nil {
			return 0, err
		}
		if x, neg, ok = goInt(cv); !ok {
			return 0, fmt.Errorf("integer value of Go type %T", cv)
		}
	}
	if neg {
		return 0, fmt.Errorf("negative value %d for %s", int64(x), c.SQLType)
	}
	return x, nil
}

func (c *Column) decimalValue(v any) (*apd.Decimal, error) {
	switch d := v.(type) {
	case *apd.Decimal:
		if d == nil {
			return nil, fmt.Errorf("nil *apd.Decimal")
		}
		return d, nil
	case apd.Decimal:
		return &d, nil
	}
	cv, err := c.convert(v)
	if err != nil {
		return nil, err
	}
	switch d := cv.(type) {
	case *apd.Decimal:
		return d, nil
	case apd.Decimal:
		return &d, nil
	}
	return nil, fmt.Errorf("DECIMAL value of Go type %T", cv)
}

// stringBytes returns the bytes MySQL stores for a string value: the
// value itself for binary columns, else the value (UTF-8, as GMS holds
// it) encoded in the column's character set.
func (c *Column) stringBytes(v any) ([]byte, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		if c.binary {
			return x, nil
		}
		s = string(x)
	case sql.StringWrapper:
		u, err := x.Unwrap(convCtx)
		if err != nil {
			return nil, err
		}
		s = u
	case sql.BytesWrapper:
		u, err := x.Unwrap(convCtx)
		if err != nil {
			return nil, err
		}
		if c.binary {
			return u, nil
		}
		s = string(u)
	default:
		cv, err := c.convert(v)
		if err != nil {
			return nil, err
		}
		switch y := cv.(type) {
		case string:
			s = y
		case []byte:
			if c.binary {
				return y, nil
			}
			s = string(y)
		default:
			return nil, fmt.Errorf("string value of Go type %T", cv)
		}
	}
	if c.binary {
		return []byte(s), nil
	}
	return encodeCharset(c.Collation, s)
}

// encodeCharset converts a UTF-8 string into the character set of coll.
func encodeCharset(coll sql.CollationID, s string) ([]byte, error) {
	cs := coll.CharacterSet()
	if cs == sql.CharacterSet_binary || cs == sql.CharacterSet_utf8mb4 {
		return []byte(s), nil
	}
	enc := cs.Encoder()
	if enc == nil {
		return nil, fmt.Errorf("character set %s has no encoder", cs)
	}
	b, ok := enc.Encode([]byte(s))
	if !ok {
		return nil, fmt.Errorf("string %q cannot be represented in character set %s", truncateForError(s), cs)
	}
	return b, nil
}

// decodeCharset converts bytes in the character set of coll to a UTF-8
// string.
func decodeCharset(coll sql.CollationID, b []byte) (string, error) {
	cs := coll.CharacterSet()
	if cs == sql.CharacterSet_binary || cs == sql.CharacterSet_utf8mb4 {
		return string(b), nil
	}
	enc := cs.Encoder()
	if enc == nil {
		return "", fmt.Errorf("character set %s has no decoder", cs)
	}
	out, ok := enc.Decode(b)
	if !ok {
		return "", fmt.Errorf("%w: bytes not valid in character set %s", ErrCorrupt, cs)
	}
	return string(out), nil
}

func truncateForError(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "..."
	}
	return s
}

package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/relaydb/relaydb/internal/sqlval"
)

// Key markers: the first byte of every column key.
const (
	keyNull    = 0x00
	keyNotNull = 0x01
)

// AppendKey appends the encoding of v, a value of GMS type t (nil = SQL NULL), to dst.
// Encodings are self-delimiting (a column's encoding can be found inside a concatenation of several)
// and order-preserving: for values a, b of type t, bytes.Compare(AppendKey(nil,t,a), AppendKey(nil,t,b))
// has the sign of t.Compare(ctx, a, b), with NULL sorting before every value. Values that compare
// equal under t (e.g. 'a' and 'A ' under a case-insensitive PAD SPACE collation) encode identically,
// so a unique index built on these keys rejects exactly the duplicates MySQL rejects.
//
// See the package documentation for the exact rules, in particular for PAD SPACE
// collations (where GMS's own Compare does not ignore trailing spaces but MySQL,
// and these keys, do).
func AppendKey(dst []byte, t sql.Type, v any) ([]byte, error) {
	if v == nil {
		return append(dst, keyNull), nil
	}
	k := kindOf(t)
	start := len(dst)
	dst = append(dst, keyNotNull)
	out, err := appendKeyBody(dst, t, k, v)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func appendKeyBody(dst []byte, t sql.Type, k kind, v any) ([]byte, error) {
	switch k {
	case kInt8, kInt16, kInt24, kInt32, kInt64, kUint8, kUint16, kUint24, kUint32, kUint64, kBit, kSet:
		x, neg, ok := sqlval.Int(v)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if x, neg, ok = sqlval.Int(c); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		if neg {
			return appendOrderedInt(dst, int64(x)), nil
		}
		return appendOrderedUint(dst, x), nil
	case kEnum:
		// GMS compares ENUM values by index; Convert maps names to indexes.
		if _, ok := v.(uint16); !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			v = c
		}
		u, ok := v.(uint16)
		if !ok {
			return dst, fmt.Errorf("codec: %s converted value to unexpected %T", t, v)
		}
		return appendOrderedUint(dst, uint64(u)), nil
	case kYear:
		// GMS compares YEAR values after Convert, which maps 1..99 to years;
		// canonical values (0, 1901..2155) are fixed points of Convert.
		y, ok := v.(int16)
		if !ok || (y != 0 && (y < 1901 || y > 2155)) {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if y, ok = c.(int16); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return appendOrderedInt(dst, int64(y)), nil
	case kFloat32, kFloat64:
		f, err := asFloat64(t, v)
		if err != nil {
			return dst, err
		}
		return appendFloatKey(dst, f), nil
	case kDecimal:
		d, err := keyDecimal(t, v)
		if err != nil {
			return dst, err
		}
		return appendDecimalKey(dst, d)
	case kDate, kDatetime, kTimestamp:
		tm, err := asTime(t, v)
		if err != nil {
			return dst, err
		}
		if k == kDate {
			return appendOrderedInt(dst, floorDiv(tm.Unix(), 86400)), nil
		}
		return appendOrderedInt(dst, tm.UnixMicro()), nil
	case kTime:
		ts, ok := v.(types.Timespan)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if ts, ok = c.(types.Timespan); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return appendOrderedInt(dst, int64(ts)), nil
	case kString, kBytes:
		st, ok := t.(sql.StringType)
		if !ok {
			return dst, fmt.Errorf("%w: %s is not a sql.StringType", ErrUnsupportedType, t)
		}
		s, err := asStringBytes(t, v)
		if err != nil {
			return dst, err
		}
		ci, err := collationInfo(st.Collation())
		if err != nil {
			return dst, err
		}
		if k == kBytes && t.Type() == sqltypes.Binary {
			// GMS zero-pads BINARY(n) values to n bytes before comparing.
			if n := int(st.MaxByteLength()); len(s) < n {
				return appendZeroPadded(dst, s, n), nil
			}
		}
		return ci.appendStringKey(dst, s), nil
	case kVector:
		s, err := asStringBytes(t, v)
		if err != nil {
			return dst, err
		}
		return appendEscaped(dst, s), nil
	case kGeometry:
		// GMS orders geometries by their serialized (EWKB with SRID) bytes.
		g, err := asGeometry(t, v)
		if err != nil {
			return dst, err
		}
		return appendEscaped(dst, unsafeString(g.Serialize())), nil
	case kJSON:
		return dst, fmt.Errorf("%w: JSON (MySQL cannot index a JSON column directly; index a generated column instead)", ErrNotIndexable)
	case kNull:
		return dst, fmt.Errorf("codec: the NULL type only holds NULL, got %T", v)
	}
	return dst, fmt.Errorf("%w: %s", ErrUnsupportedType, t)
}

// appendZeroPadded appends the escaped encoding of s padded with zero bytes to
// n bytes, without materializing the padded string.
func appendZeroPadded(dst []byte, s string, n int) []byte {
	dst = appendEscaped(dst, s)
	dst = dst[:len(dst)-2] // drop the terminator
	for i := len(s); i < n; i++ {
		dst = append(dst, escByte, escEscaped)
	}
	return append(dst, escByte, escTerminator)
}

// KeyLen returns the length in bytes of the single column key encoding at the start of b.
func KeyLen(t sql.Type, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, corruptf("empty key")
	}
	switch b[0] {
	case keyNull:
		return 1, nil
	case keyNotNull:
	default:
		return 0, corruptf("bad key marker 0x%02x", b[0])
	}
	n, err := keyBodyLen(t, kindOf(t), b[1:])
	if err != nil {
		return 0, err
	}
	return 1 + n, nil
}

func keyBodyLen(t sql.Type, k kind, b []byte) (int, error) {
	switch k {
	case kInt8, kInt16, kInt24, kInt32, kInt64, kUint8, kUint16, kUint24, kUint32, kUint64, kBit, kSet,
		kEnum, kYear, kDate, kDatetime, kTimestamp, kTime:
		return orderedIntLen(b)
	case kFloat32, kFloat64:
		if len(b) < 8 {
			return 0, corruptf("truncated float key")
		}
		return 8, nil
	case kDecimal:
		return decimalKeyLen(b)
	case kString, kBytes:
		st, ok := t.(sql.StringType)
		if !ok {
			return 0, fmt.Errorf("%w: %s is not a sql.StringType", ErrUnsupportedType, t)
		}
		ci, err := collationInfo(st.Collation())
		if err != nil {
			return 0, err
		}
		return ci.stringKeyBodyLen(b)
	case kVector, kGeometry:
		return escapedLen(b)
	case kJSON:
		return 0, fmt.Errorf("%w: JSON", ErrNotIndexable)
	}
	return 0, fmt.Errorf("%w: %s", ErrUnsupportedType, t)
}

// AppendUint64Key appends v as 8 big-endian bytes: fixed width, so a row id
// appended to the end of an index key can be read back from the key's last 8
// bytes, and ascending ids sort ascending.
func AppendUint64Key(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, v)
}

// DecodeUint64Key decodes the 8-byte big-endian id at the start of b.
func DecodeUint64Key(b []byte) (uint64, error) {
	if len(b) < 8 {
		return 0, corruptf("uint64 key needs 8 bytes, have %d", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// PrefixSuccessor returns the smallest key that sorts after every key having
// prefix p (nil if there is none, i.e. p is empty or all 0xFF), so that the
// keys starting with p are exactly those in [p, PrefixSuccessor(p)). Useful
// for scanning every key that begins with the encoding of some leading columns.
func PrefixSuccessor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			out := make([]byte, i+1)
			copy(out, p)
			out[i]++
			return out
		}
	}
	return nil
}

// ---- ordered integers ----
//
// One byte gives the length, so the encoding is self-delimiting, and integers
// of any width and signedness share one order (so a range bound of a wider
// type than the column still encodes correctly):
//
//	0x00..0x07 + 8..1 bytes  negative; the low bytes of the two's complement value
//	0x08..0xF6               0..238
//	0xF7..0xFE + 1..8 bytes  239..2^64-1, big-endian
const (
	intSmallBase = 0x08
	intSmallMax  = 0xF6 - intSmallBase // 238
	intPosBase   = 0xF6
)

func byteLen(x uint64) int {
	n := (bits.Len64(x) + 7) / 8
	if n == 0 {
		n = 1
	}
	return n
}

func appendOrderedUint(dst []byte, v uint64) []byte {
	if v <= intSmallMax {
		return append(dst, byte(intSmallBase+v))
	}
	n := byteLen(v)
	dst = append(dst, byte(intPosBase+n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

func appendOrderedInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return appendOrderedUint(dst, uint64(v))
	}
	n := byteLen(^uint64(v))
	dst = append(dst, byte(8-n))
	u := uint64(v)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(u>>(8*i)))
	}
	return dst
}

// orderedIntLen returns the total length of the ordered integer at b[0].
func orderedIntLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, corruptf("truncated integer key")
	}
	n := intKeyLenFromFirst(b[0])
	if n == 0 {
		return 0, corruptf("bad integer key byte 0x%02x", b[0])
	}
	if len(b) < n {
		return 0, corruptf("truncated integer key")
	}
	return n, nil
}

// decodeOrderedInt decodes an ordered integer; neg reports whether the value
// is int64(x) < 0 (otherwise it is the unsigned x).
func decodeOrderedInt(b []byte) (x uint64, neg bool, n int, err error) {
	n, err = orderedIntLen(b)
	if err != nil {
		return 0, false, 0, err
	}
	b0 := b[0]
	switch {
	case b0 < intSmallBase:
		x = ^uint64(0)
		for _, c := range b[1:n] {
			x = x<<8 | uint64(c)
		}
		return x, true, n, nil
	case b0 <= intPosBase:
		return uint64(b0 - intSmallBase), false, 1, nil
	}
	for _, c := range b[1:n] {
		x = x<<8 | uint64(c)
	}
	return x, false, n, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ---- floats ----

// appendFloatKey appends 8 bytes that sort like the float64 f: the sign bit is
// flipped for positives and every bit for negatives. -0 is encoded as +0
// because they compare equal.
func appendFloatKey(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	u := math.Float64bits(f)
	if u>>63 != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, u)
}

// ---- decimals ----
//
// A class byte, then for finite non-zero values the decimal exponent E and the
// significant digits d1 d2 ... of the value 0.d1d2... * 10^E (no trailing zeros,
// so 1.0 and 1.00 are identical), digits packed two per byte as 1+(10*a+b)
// and terminated by 0x00. Negative values store E and every digit byte
// complemented and end with 0xFF, which reverses their order.
const (
	decNegInf = 0x02
	decNeg    = 0x03
	decZero   = 0x04
	decPos    = 0x05
	decPosInf = 0x06
	decNaN    = 0x07
)

// keyDecimal returns v as a decimal rounded the way t.Compare rounds it.
func keyDecimal(t sql.Type, v any) (*apd.Decimal, error) {
	dt, ok := t.(sql.DecimalType)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a sql.DecimalType", ErrUnsupportedType, t)
	}
	if d, ok := v.(*apd.Decimal); ok && d != nil && (d.Form != apd.Finite || d.Exponent == -int32(dt.Scale())) {
		// Already at the column's scale: ConvertToDecimal would not change it.
		return d, nil
	}
	// GMS's DecimalType.Compare compares the results of ConvertToDecimal,
	// which for a column type rounds to the column's scale.
	d, err := dt.ConvertToDecimal(v)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("codec: cannot convert %v (%T) to %s", v, v, t)
	}
	return d, nil
}

func appendDecimalKey(dst []byte, d *apd.Decimal) ([]byte, error) {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(dst, decNaN), nil
	case apd.Infinite:
		if d.Negative {
			return append(dst, decNegInf), nil
		}
		return append(dst, decPosInf), nil
	}
	switch d.Coeff.Sign() {
	case 0:
		return append(dst, decZero), nil
	case -1:
		return dst, fmt.Errorf("codec: decimal with negative coefficient")
	}
	var buf [48]byte
	digits := d.Coeff.Append(buf[:0], 10)
	end := len(digits)
	for end > 1 && digits[end-1] == '0' {
		end--
	}
	e := int64(d.Exponent) + int64(len(digits)-end) + int64(end)
	digits = digits[:end]
	neg := d.Negative
	if neg {
		dst = append(dst, decNeg)
	} else {
		dst = append(dst, decPos)
	}
	start := len(dst)
	dst = appendOrderedInt(dst, e)
	for i := 0; i < len(digits); i += 2 {
		p := (digits[i] - '0') * 10
		if i+1 < len(digits) {
			p += digits[i+1] - '0'
		}
		dst = append(dst, p+1)
	}
	dst = append(dst, 0x00)
	if neg {
		for i := start; i < len(dst); i++ {
			dst[i] = ^dst[i]
		}
	}
	return dst, nil
}

func decimalKeyLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, corruptf("truncated decimal key")
	}
	var term byte
	switch b[0] {
	case decNegInf, decZero, decPosInf, decNaN:
		return 1, nil
	case decPos:
		term = 0x00
	case decNeg:
		term = 0xFF
	default:
		return 0, corruptf("bad decimal class 0x%02x", b[0])
	}
	if len(b) < 2 {
		return 0, corruptf("truncated decimal key")
	}
	n := intKeyLenFromFirst(b[1] ^ term)
	if n == 0 {
		return 0, corruptf("bad decimal exponent")
	}
	for i := 1 + n; i < len(b); i++ {
		if b[i] == term {
			return i + 1, nil
		}
	}
	return 0, corruptf("unterminated decimal key")
}

// intKeyLenFromFirst returns the total length of an ordered integer from its
// first byte alone (0 if the byte is invalid).
func intKeyLenFromFirst(b0 byte) int {
	switch {
	case b0 < intSmallBase:
		return 1 + 8 - int(b0)
	case b0 <= intPosBase:
		return 1
	case b0 < 0xFF:
		return 1 + int(b0-intPosBase)
	}
	return 0
}

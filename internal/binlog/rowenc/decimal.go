package rowenc

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// MySQL's binary DECIMAL (decimal2bin): the integer digits and the
// fraction digits are each cut into groups of nine decimal digits, every
// full group stored as a 4-byte big-endian integer; the leftover digits of
// the integer part come first and those of the fraction last, in the
// fewest bytes that hold them (digBytes). The first bit is inverted so
// that the encoding sorts as bytes, and a negative number has every byte
// inverted.
var digBytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

// decimalSize is the number of bytes of a DECIMAL(precision, scale) value.
func decimalSize(precision, scale int) int {
	intg := precision - scale
	return intg/9*4 + digBytes[intg%9] + scale/9*4 + digBytes[scale%9]
}

// decimalCtx rounds with enough precision for any DECIMAL (65 digits)
// quantized to any scale (30), half away from zero as MySQL rounds.
var decimalCtx = apd.Context{
	Precision:   100,
	MaxExponent: apd.MaxExponent,
	MinExponent: apd.MinExponent,
	Rounding:    apd.RoundHalfUp,
}

// appendDecimal appends d as a DECIMAL(precision, scale), rounded to scale
// digits (GMS has already rounded values of the column).
func appendDecimal(dst []byte, d *apd.Decimal, precision, scale int) ([]byte, error) {
	if d.Form != apd.Finite {
		return dst, fmt.Errorf("DECIMAL cannot hold %s", d)
	}
	var q apd.Decimal
	ctx := decimalCtx
	if _, err := ctx.Quantize(&q, d, int32(-scale)); err != nil {
		return dst, fmt.Errorf("DECIMAL(%d,%d) cannot hold %s: %w", precision, scale, d, err)
	}
	digits := q.Coeff.Text(10)
	if len(digits) > precision {
		return dst, fmt.Errorf("DECIMAL(%d,%d) cannot hold %s", precision, scale, d)
	}
	digits = strings.Repeat("0", precision-len(digits)) + digits
	neg := q.Negative && q.Coeff.Sign() != 0
	return appendDecimalDigits(dst, digits, precision-scale, neg), nil
}

// appendDecimalDigits writes the binary form of the digit string whose
// first intg digits are the integer part.
func appendDecimalDigits(dst []byte, digits string, intg int, neg bool) []byte {
	start := len(dst)
	group := func(s string) {
		var v uint32
		for i := 0; i < len(s); i++ {
			v = v*10 + uint32(s[i]-'0')
		}
		n := digBytes[len(s)]
		if len(s) == 9 {
			n = 4
		}
		for i := n - 1; i >= 0; i-- {
			dst = append(dst, byte(v>>(8*i)))
		}
	}
	ip, fp := digits[:intg], digits[intg:]
	lead := len(ip) % 9
	if lead > 0 {
		group(ip[:lead])
	}
	for i := lead; i < len(ip); i += 9 {
		group(ip[i : i+9])
	}
	full := len(fp) / 9 * 9
	for i := 0; i < full; i += 9 {
		group(fp[i : i+9])
	}
	if full < len(fp) {
		group(fp[full:])
	}
	if neg {
		for i := start; i < len(dst); i++ {
			dst[i] ^= 0xff
		}
	}
	dst[start] ^= 0x80
	return dst
}

// decodeDecimal reads a DECIMAL(precision, scale) from the first
// decimalSize bytes of b. The result has exponent -scale, so the column's
// scale survives (1.50 stays 1.50).
func decodeDecimal(b []byte, precision, scale int) (*apd.Decimal, error) {
	if precision < 1 || precision > 65 || scale < 0 || scale > 30 || scale > precision {
		return nil, fmt.Errorf("%w: DECIMAL(%d,%d)", ErrCorrupt, precision, scale)
	}
	size := decimalSize(precision, scale)
	if len(b) < size {
		return nil, errTruncated
	}
	var buf [40]byte // decimalSize(65, 30) is 30
	v := buf[:size]
	copy(v, b[:size])
	neg := v[0]&0x80 == 0
	v[0] ^= 0x80
	if neg {
		for i := range v {
			v[i] ^= 0xff
		}
	}
	var digits []byte
	pos := 0
	group := func(ndig int) error {
		n := digBytes[ndig]
		if ndig == 9 {
			n = 4
		}
		var x uint32
		for i := 0; i < n; i++ {
			x = x<<8 | uint32(v[pos+i])
		}
		pos += n
		limit := uint32(1)
		for i := 0; i < ndig; i++ {
			limit *= 10
		}
		if x >= limit {
			return fmt.Errorf("%w: DECIMAL group %d exceeds %d digits", ErrCorrupt, x, ndig)
		}
		digits = fmt.Appendf(digits, "%0*d", ndig, x)
		return nil
	}
	intg := precision - scale
	if lead := intg % 9; lead > 0 {
		if err := group(lead); err != nil {
			return nil, err
		}
	}
	for i := 0; i < intg/9; i++ {
		if err := group(9); err != nil {
			return nil, err
		}
	}
	for i := 0; i < scale/9; i++ {
		if err := group(9); err != nil {
			return nil, err
		}
	}
	if rest := scale % 9; rest > 0 {
		if err := group(rest); err != nil {
			return nil, err
		}
	}
	var coeff apd.BigInt
	if _, ok := coeff.SetString(string(digits), 10); !ok {
		return nil, fmt.Errorf("%w: DECIMAL digits %q", ErrCorrupt, digits)
	}
	d := apd.NewWithBigInt(&coeff, int32(-scale))
	d.Negative = neg && coeff.Sign() != 0
	return d, nil
}

// AppendUserVarDecimal appends d as the value of a DECIMAL user variable in a USER_VAR event:
// precision and scale bytes, then the binary DECIMAL(precision, scale), as MySQL writes it.
func AppendUserVarDecimal(dst []byte, d *apd.Decimal) ([]byte, error) {
	if d.Form != apd.Finite {
		return dst, fmt.Errorf("DECIMAL cannot hold %s", d)
	}
	scale := 0
	if d.Exponent < 0 {
		scale = int(-d.Exponent)
	}
	digits := len(d.Coeff.Text(10))
	intg := digits - scale
	if intg < 1 {
		intg = 1
	}
	precision := intg + scale
	if precision > 65 || scale > 30 {
		return dst, fmt.Errorf("DECIMAL value %s has more than 65 digits or 30 decimals", d)
	}
	dst = append(dst, byte(precision), byte(scale))
	return appendDecimal(dst, d, precision, scale)
}

// DecodeUserVarDecimal reads the value of a DECIMAL user variable (see AppendUserVarDecimal).
func DecodeUserVarDecimal(b []byte) (*apd.Decimal, error) {
	if len(b) < 2 {
		return nil, errTruncated
	}
	return decodeDecimal(b[2:], int(b[0]), int(b[1]))
}

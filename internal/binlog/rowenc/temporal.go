package rowenc

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dolthub/go-mysql-server/sql/types"
)

// Temporal values in row images (MySQL 5.6.4+ "new" formats):
//
//	DATE        3 bytes LE:  day | month<<5 | year<<9
//	DATETIME2   5 bytes BE:  0x8000000000 + (((year*13+month)<<5 | day)<<17 | hour<<12 | minute<<6 | second)
//	TIMESTAMP2  4 bytes BE:  Unix seconds
//	TIME2       3 bytes BE:  0x800000 + ±(hour<<12 | minute<<6 | second)
//
// DATETIME2 and TIMESTAMP2 are followed by the fraction: fsp 1-2 one
// byte (hundredths), 3-4 two bytes BE (ten-thousandths), 5-6 three bytes
// BE (microseconds). TIME2 with a fraction is one signed number instead:
// ±(hms<<8 | hundredths) + 0x80000000 in 4 bytes, ±(hms<<16 |
// ten-thousandths) + 0x8000000000 in 5, ±(hms<<24 | microseconds) +
// 0x800000000000 in 6, which is MySQL's "reverse fractional part order"
// for negative times.

const maxTimeMicros = ((838*60+59)*60+59)*1_000_000 + 999_999

var fracUnit = [7]int64{1_000_000, 100_000, 10_000, 1_000, 100, 10, 1}

func isZeroTime(t time.Time) bool { return t.Equal(types.ZeroTime) }

// dateParts returns t's calendar fields in UTC, as GMS holds DATE and
// DATETIME values, with GMS's zero time as all zeros.
func dateParts(t time.Time) (year, month, day, hour, minute, second, micro int, err error) {
	if isZeroTime(t) {
		return
	}
	t = t.UTC()
	var m time.Month
	year, m, day = t.Date()
	month = int(m)
	hour, minute, second = t.Clock()
	micro = t.Nanosecond() / 1000
	if year < 0 || year > 9999 {
		err = fmt.Errorf("year %d out of range", year)
	}
	return
}

func appendDate(dst []byte, t time.Time) ([]byte, error) {
	y, m, d, _, _, _, _, err := dateParts(t)
	if err != nil {
		return dst, err
	}
	v := uint32(d) | uint32(m)<<5 | uint32(y)<<9
	return append(dst, byte(v), byte(v>>8), byte(v>>16)), nil
}

func appendDatetime2(dst []byte, t time.Time, fsp int) ([]byte, error) {
	y, mo, d, h, mi, s, us, err := dateParts(t)
	if err != nil {
		return dst, err
	}
	ymd := uint64(y*13+mo)<<5 | uint64(d)
	v := 0x8000000000 + (ymd<<17 | uint64(h)<<12 | uint64(mi)<<6 | uint64(s))
	dst = append(dst, byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	return appendFrac(dst, int64(us), fsp), nil
}

func appendTimestamp2(dst []byte, t time.Time, fsp int) ([]byte, error) {
	if isZeroTime(t) {
		dst = binary.BigEndian.AppendUint32(dst, 0)
		return appendFrac(dst, 0, fsp), nil
	}
	secs := t.Unix()
	if secs <= 0 || secs > 1<<32-1 {
		return dst, fmt.Errorf("TIMESTAMP %s out of range", t.UTC().Format(time.DateTime))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(secs))
	return appendFrac(dst, int64(t.Nanosecond()/1000), fsp), nil
}

// appendFrac writes the fraction of a DATETIME2 or TIMESTAMP2, truncated
// to fsp digits.
func appendFrac(dst []byte, micros int64, fsp int) []byte {
	switch fsp {
	case 1, 2:
		return append(dst, byte(micros/fracUnit[fsp]*fracUnit[fsp]/10_000))
	case 3, 4:
		v := micros / fracUnit[fsp] * fracUnit[fsp] / 100
		return append(dst, byte(v>>8), byte(v))
	case 5, 6:
		v := micros / fracUnit[fsp] * fracUnit[fsp]
		return append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	return dst
}

// appendTime2 writes a TIME(fsp) of micros microseconds (GMS's Timespan),
// truncated to fsp digits.
func appendTime2(dst []byte, micros int64, fsp int) ([]byte, error) {
	neg := micros < 0
	abs := micros
	if neg {
		abs = -micros
	}
	if abs > maxTimeMicros || abs < 0 {
		return dst, fmt.Errorf("TIME of %d microseconds out of range", micros)
	}
	abs = abs / fracUnit[fsp] * fracUnit[fsp]
	secs := abs / 1_000_000
	hms := (secs/3600)<<12 | (secs/60%60)<<6 | secs%60
	frac := abs % 1_000_000
	var v int64
	var n int
	switch fsp {
	case 0:
		v, n = hms, 3
	case 1, 2:
		v, n = hms<<8|frac/10_000, 4
	case 3, 4:
		v, n = hms<<16|frac/100, 5
	default:
		v, n = hms<<24|frac, 6
	}
	if neg {
		v = -v
	}
	u := uint64(v) + 1<<(8*n-1)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(u>>(8*i)))
	}
	return dst, nil
}

// makeDate builds GMS's time.Time for decoded calendar fields, refusing
// values GMS cannot hold (such as a zero month in a non-zero date).
func makeDate(y, mo, d, h, mi, s, us int) (time.Time, error) {
	if y == 0 && mo == 0 && d == 0 && h == 0 && mi == 0 && s == 0 && us == 0 {
		return types.ZeroTime, nil
	}
	if y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || us > 999_999 {
		return time.Time{}, fmt.Errorf("%w: invalid date/time %04d-%02d-%02d %02d:%02d:%02d.%06d", ErrCorrupt, y, mo, d, h, mi, s, us)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC)
	if t.Day() != d {
		return time.Time{}, fmt.Errorf("%w: invalid date %04d-%02d-%02d", ErrCorrupt, y, mo, d)
	}
	return t, nil
}

func decodeDate(b []byte) (time.Time, error) {
	if len(b) < 3 {
		return time.Time{}, errTruncated
	}
	v := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	return makeDate(v>>9, v>>5&15, v&31, 0, 0, 0, 0)
}

// fracLen is the number of fraction bytes of a temporal with fsp digits.
func fracLen(fsp int) int { return (fsp + 1) / 2 }

// decodeFrac reads the fraction of a DATETIME2 or TIMESTAMP2.
func decodeFrac(b []byte, fsp int) (int, error) {
	var v, limit, unit int
	switch fsp {
	case 0:
		return 0, nil
	case 1, 2:
		v, limit, unit = int(b[0]), 100, 10_000
	case 3, 4:
		v, limit, unit = int(b[0])<<8|int(b[1]), 10_000, 100
	default:
		v, limit, unit = int(b[0])<<16|int(b[1])<<8|int(b[2]), 1_000_000, 1
	}
	if v >= limit {
		return 0, fmt.Errorf("%w: fraction %d out of range", ErrCorrupt, v)
	}
	return v * unit, nil
}

func decodeDatetime2(b []byte, fsp int) (time.Time, error) {
	if len(b) < 5+fracLen(fsp) {
		return time.Time{}, errTruncated
	}
	v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	if v < 0x8000000000 {
		return time.Time{}, fmt.Errorf("%w: negative DATETIME", ErrCorrupt)
	}
	v -= 0x8000000000
	us, err := decodeFrac(b[5:], fsp)
	if err != nil {
		return time.Time{}, err
	}
	ymd, hms := v>>17, v&(1<<17-1)
	ym := ymd >> 5
	return makeDate(int(ym/13), int(ym%13), int(ymd&31), int(hms>>12), int(hms>>6&63), int(hms&63), us)
}

func decodeTimestamp2(b []byte, fsp int) (time.Time, error) {
	if len(b) < 4+fracLen(fsp) {
		return time.Time{}, errTruncated
	}
	secs := binary.BigEndian.Uint32(b)
	us, err := decodeFrac(b[4:], fsp)
	if err != nil {
		return time.Time{}, err
	}
	if secs == 0 {
		if us != 0 {
			return time.Time{}, fmt.Errorf("%w: TIMESTAMP zero with a fraction", ErrCorrupt)
		}
		return types.ZeroTime, nil
	}
	return time.Unix(int64(secs), int64(us)*1000).UTC(), nil
}

func decodeTime2(b []byte, fsp int) (types.Timespan, error) {
	n := 3 + fracLen(fsp)
	if len(b) < n {
		return 0, errTruncated
	}
	var u uint64
	for i := 0; i < n; i++ {
		u = u<<8 | uint64(b[i])
	}
	v := int64(u) - 1<<(8*n-1)
	neg := v < 0
	if neg {
		v = -v
	}
	fracBits := 8 * (n - 3)
	hms := v >> fracBits
	raw := v & (1<<fracBits - 1)
	var us int64
	switch fsp {
	case 1, 2:
		if raw >= 100 {
			return 0, fmt.Errorf("%w: TIME fraction %d out of range", ErrCorrupt, raw)
		}
		us = raw * 10_000
	case 3, 4:
		if raw >= 10_000 {
			return 0, fmt.Errorf("%w: TIME fraction %d out of range", ErrCorrupt, raw)
		}
		us = raw * 100
	case 5, 6:
		if raw >= 1_000_000 {
			return 0, fmt.Errorf("%w: TIME fraction %d out of range", ErrCorrupt, raw)
		}
		us = raw
	}
	h, m, s := hms>>12, hms>>6&63, hms&63
	if m > 59 || s > 59 {
		return 0, fmt.Errorf("%w: invalid TIME %d:%d:%d", ErrCorrupt, h, m, s)
	}
	total := ((h*60+m)*60+s)*1_000_000 + us
	if total > maxTimeMicros {
		return 0, fmt.Errorf("%w: TIME of %d hours out of range", ErrCorrupt, h)
	}
	if neg {
		total = -total
	}
	return types.Timespan(total), nil
}

// Packed temporals, as MySQL stores them inside binary JSON (opaque
// values) and in memory: an int64 of (intpart<<24 | microseconds), where
// intpart is ((year*13+month)<<5 | day)<<17 | hour<<12 | minute<<6 | second
// (the date part zero for TIME), negated for negative times.

func packDatetime(t time.Time) (int64, error) {
	y, mo, d, h, mi, s, us, err := dateParts(t)
	if err != nil {
		return 0, err
	}
	ymd := int64(y*13+mo)<<5 | int64(d)
	return (ymd<<17|int64(h)<<12|int64(mi)<<6|int64(s))<<24 | int64(us), nil
}

func packTime(micros int64) (int64, error) {
	neg := micros < 0
	if neg {
		micros = -micros
	}
	if micros > maxTimeMicros || micros < 0 {
		return 0, fmt.Errorf("TIME of %d microseconds out of range", micros)
	}
	secs := micros / 1_000_000
	v := ((secs/3600)<<12|(secs/60%60)<<6|secs%60)<<24 | micros%1_000_000
	if neg {
		v = -v
	}
	return v, nil
}

func unpackDatetime(v int64) (time.Time, error) {
	if v < 0 {
		return time.Time{}, fmt.Errorf("%w: negative packed datetime", ErrCorrupt)
	}
	us := v & (1<<24 - 1)
	ip := v >> 24
	ymd, hms := ip>>17, ip&(1<<17-1)
	ym := ymd >> 5
	return makeDate(int(ym/13), int(ym%13), int(ymd&31), int(hms>>12), int(hms>>6&63), int(hms&63), int(us))
}

func unpackTime(v int64) (types.Timespan, error) {
	neg := v < 0
	if neg {
		if v == -v { // math.MinInt64
			return 0, fmt.Errorf("%w: packed time out of range", ErrCorrupt)
		}
		v = -v
	}
	us := v & (1<<24 - 1)
	hms := v >> 24
	h, m, s := hms>>12, hms>>6&63, hms&63
	if m > 59 || s > 59 || us > 999_999 {
		return 0, fmt.Errorf("%w: invalid packed time", ErrCorrupt)
	}
	total := ((h*60+m)*60+s)*1_000_000 + us
	if h > 838 || total > maxTimeMicros {
		return 0, fmt.Errorf("%w: packed time out of range", ErrCorrupt)
	}
	if neg {
		total = -total
	}
	return types.Timespan(total), nil
}

package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// RowFormatVersion is the first byte of every row AppendRow produces.
const RowFormatVersion = 0x01

// AppendRow appends a compact encoding of row (one value per schema column, in order) to dst.
//
// Values are expected to be what GMS produces for the column type (what
// t.Convert returns); other values are converted with t.Convert, and values
// that Convert would clamp are rejected.
func AppendRow(dst []byte, sch sql.Schema, row sql.Row) ([]byte, error) {
	if len(row) != len(sch) {
		return dst, fmt.Errorf("codec: row has %d values, schema has %d columns", len(row), len(sch))
	}
	start := len(dst)
	dst = append(dst, RowFormatVersion)
	dst = binary.AppendUvarint(dst, uint64(len(sch)))
	bitmap := len(dst)
	for i := 0; i < (len(sch)+7)/8; i++ {
		dst = append(dst, 0)
	}
	for i, col := range sch {
		v := row[i]
		if v == nil {
			dst[bitmap+i/8] |= 1 << (i % 8)
			continue
		}
		var err error
		dst, err = appendValue(dst, col.Type, kindOf(col.Type), v)
		if err != nil {
			return dst[:start], fmt.Errorf("codec: column %q: %w", col.Name, err)
		}
	}
	return dst, nil
}

func appendValue(dst []byte, t sql.Type, k kind, v any) ([]byte, error) {
	switch k {
	case kInt8, kInt16, kInt24, kInt32, kInt64:
		x, err := asInt64(t, k, v)
		if err != nil {
			return dst, err
		}
		return binary.AppendVarint(dst, x), nil
	case kUint8, kUint16, kUint24, kUint32, kUint64:
		x, err := asUint64(t, k, v)
		if err != nil {
			return dst, err
		}
		return binary.AppendUvarint(dst, x), nil
	case kFloat32:
		f, ok := v.(float32)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if f, ok = c.(float32); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f)), nil
	case kFloat64:
		f, ok := v.(float64)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if f, ok = c.(float64); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case kDecimal:
		d, ok := v.(*apd.Decimal)
		if !ok || d == nil {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if d, ok = c.(*apd.Decimal); !ok || d == nil {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return appendDecimalRow(dst, d)
	case kDate, kDatetime, kTimestamp:
		tm, err := asTime(t, v)
		if err != nil {
			return dst, err
		}
		return appendTimeRow(dst, tm), nil
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
		return binary.AppendVarint(dst, int64(ts)), nil
	case kYear:
		y, ok := v.(int16)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if y, ok = c.(int16); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return binary.AppendVarint(dst, int64(y)), nil
	case kEnum:
		e, ok := v.(uint16)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if e, ok = c.(uint16); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return binary.AppendUvarint(dst, uint64(e)), nil
	case kSet, kBit:
		u, ok := v.(uint64)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if u, ok = c.(uint64); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		return binary.AppendUvarint(dst, u), nil
	case kString, kBytes, kVector:
		s, err := asStringBytes(t, v)
		if err != nil {
			return dst, err
		}
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...), nil
	case kJSON:
		j, ok := v.(sql.JSONWrapper)
		if !ok {
			c, err := convert(t, v)
			if err != nil {
				return dst, err
			}
			if j, ok = c.(sql.JSONWrapper); !ok {
				return dst, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
			}
		}
		val, err := j.ToInterface(convCtx)
		if err != nil {
			return dst, err
		}
		return appendLengthPrefixed(dst, func(dst []byte) ([]byte, error) {
			return appendJSONValue(dst, val, 0)
		})
	case kGeometry:
		g, err := asGeometry(t, v)
		if err != nil {
			return dst, err
		}
		b := g.Serialize()
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		return append(dst, b...), nil
	case kNull:
		return dst, fmt.Errorf("codec: the NULL type only holds NULL, got %T", v)
	}
	return dst, fmt.Errorf("%w: %v", ErrUnsupportedType, t)
}

// appendLengthPrefixed appends the output of fn preceded by its uvarint length.
func appendLengthPrefixed(dst []byte, fn func([]byte) ([]byte, error)) ([]byte, error) {
	const guess = 2 // most payloads are < 16KiB
	start := len(dst)
	dst = append(dst, make([]byte, guess)...)
	dst, err := fn(dst)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start - guess
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	if h != guess {
		if h > guess {
			dst = append(dst, make([]byte, h-guess)...)
		}
		copy(dst[start+h:], dst[start+guess:start+guess+n])
		dst = dst[:start+h+n]
	}
	copy(dst[start:], hdr[:h])
	return dst, nil
}

// Times are stored as seconds since the Unix epoch (zigzag varint) and the
// nanoseconds within the second (uvarint), and decoded in UTC, which is how
// GMS holds DATE, DATETIME and TIMESTAMP values.
func appendTimeRow(dst []byte, tm time.Time) []byte {
	dst = binary.AppendVarint(dst, tm.Unix())
	return binary.AppendUvarint(dst, uint64(tm.Nanosecond()))
}

// Decimals: a header byte (bits 0-1 the apd form, bit 2 negative, bit 3 a
// coefficient too large for a uint64), the exponent as a zigzag varint, then
// the coefficient as a uvarint or as a uvarint length and big-endian bytes.
// The value is kept exactly, scale included (1.50 stays 1.50).
const (
	decHdrForm     = 0x03
	decHdrNegative = 0x04
	decHdrBig      = 0x08
)

func appendDecimalRow(dst []byte, d *apd.Decimal) ([]byte, error) {
	if d.Coeff.Sign() < 0 {
		return dst, fmt.Errorf("codec: decimal with negative coefficient")
	}
	h := byte(d.Form) & decHdrForm
	if d.Negative {
		h |= decHdrNegative
	}
	if d.Coeff.IsUint64() {
		dst = append(dst, h)
		dst = binary.AppendVarint(dst, int64(d.Exponent))
		return binary.AppendUvarint(dst, d.Coeff.Uint64()), nil
	}
	dst = append(dst, h|decHdrBig)
	dst = binary.AppendVarint(dst, int64(d.Exponent))
	b := d.Coeff.Bytes()
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...), nil
}

// ---- decoding ----

// rowHeader is the parsed header of an encoded row.
type rowHeader struct {
	bitmap []byte
	data   int // offset of the first value
}

func (h *rowHeader) isNull(i int) bool {
	return h.bitmap[i/8]&(1<<(i%8)) != 0
}

func parseHeader(sch sql.Schema, b []byte) (rowHeader, error) {
	if len(b) == 0 {
		return rowHeader{}, corruptf("empty row")
	}
	if b[0] != RowFormatVersion {
		return rowHeader{}, fmt.Errorf("%w: 0x%02x", ErrUnknownFormat, b[0])
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 {
		return rowHeader{}, corruptf("bad column count")
	}
	if n != uint64(len(sch)) {
		return rowHeader{}, corruptf("row has %d columns, schema has %d", n, len(sch))
	}
	pos := 1 + w
	nb := (len(sch) + 7) / 8
	if len(b)-pos < nb {
		return rowHeader{}, corruptf("truncated null bitmap")
	}
	bitmap := b[pos : pos+nb]
	if r := len(sch) % 8; r != 0 && bitmap[nb-1]>>r != 0 {
		return rowHeader{}, corruptf("null bitmap has bits past the last column")
	}
	return rowHeader{bitmap: bitmap, data: pos + nb}, nil
}

// decoder reads values from an encoded row. Strings and byte slices are copied
// into one arena per decoded row, so a row costs one allocation for all of
// its variable-length values rather than one each.
type decoder struct {
	b     []byte
	pos   int
	arena []byte
}

func resizeRow(dst sql.Row, n int) sql.Row {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make(sql.Row, n)
}

// DecodeRow decodes a row encoded by AppendRow with the same schema. It reuses dst's storage when cap allows.
// Decoded values have exactly the Go types GMS itself produces for that column type (what t.Convert returns),
// so results print, compare and hash as in GMS's own engine.
func DecodeRow(sch sql.Schema, b []byte, dst sql.Row) (sql.Row, error) {
	h, err := parseHeader(sch, b)
	if err != nil {
		return dst, err
	}
	d := decoder{b: b, pos: h.data}
	row, err := decodeAll(sch, h, &d, resizeRow(dst, len(sch)))
	if err != nil {
		return dst, err
	}
	return row, nil
}

// decodeAll decodes every column of the row after header h into row (of the schema's width).
func decodeAll(sch sql.Schema, h rowHeader, d *decoder, row sql.Row) (sql.Row, error) {
	for i, col := range sch {
		if h.isNull(i) {
			row[i] = nil
			continue
		}
		v, err := d.value(col.Type, kindOf(col.Type), true)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", col.Name, err)
		}
		row[i] = v
	}
	if d.pos != len(d.b) {
		return nil, corruptf("%d trailing bytes after the last column", len(d.b)-d.pos)
	}
	return row, nil
}

// DecodeRowProjected decodes only the columns listed in cols (schema ordinals), into a row of len(cols), skipping the rest cheaply.
// cols may be in any order and may repeat a column.
func DecodeRowProjected(sch sql.Schema, b []byte, cols []int, dst sql.Row) (sql.Row, error) {
	return decodeColumns(sch, b, cols, dst, false)
}

// decodeColumns decodes the columns in cols into a row of len(cols) (value j of column cols[j]),
// or with spread into a row of the schema's width (column c at c, the others nil).
func decodeColumns(sch sql.Schema, b []byte, cols []int, dst sql.Row, spread bool) (sql.Row, error) {
	return decodeColumnsWith(sch, b, cols, dst, spread, nil)
}

// decodeColumnsWith is decodeColumns taking the row and its arena from blocks when not nil
// (dst is then ignored).
func decodeColumnsWith(sch sql.Schema, b []byte, cols []int, dst sql.Row, spread bool, blocks *RowBlocks) (sql.Row, error) {
	h, err := parseHeader(sch, b)
	if err != nil {
		return dst, err
	}
	last := -1
	for _, c := range cols {
		if c < 0 || c >= len(sch) {
			return dst, fmt.Errorf("codec: projected column %d out of range for %d columns", c, len(sch))
		}
		last = max(last, c)
	}
	// Find where each column up to the last wanted one starts.
	var offStack [64]int
	offs := offStack[:0]
	if last+1 > len(offStack) {
		offs = make([]int, 0, last+1)
	}
	d := decoder{b: b, pos: h.data}
	for i := 0; i <= last; i++ {
		offs = append(offs, d.pos)
		if h.isNull(i) {
			continue
		}
		if err := d.skip(kindOf(sch[i].Type)); err != nil {
			return dst, fmt.Errorf("column %q: %w", sch[i].Name, err)
		}
	}
	// Size the arena for exactly the wanted variable-length values.
	arenaSize := 0
	for _, c := range cols {
		if h.isNull(c) {
			continue
		}
		switch kindOf(sch[c].Type) {
		case kString, kBytes, kVector:
			n, _ := binary.Uvarint(b[offs[c]:]) // validated by skip
			arenaSize += int(n)
		}
	}
	width := len(cols)
	if spread {
		width = len(sch)
	}
	var row sql.Row
	switch {
	case blocks != nil:
		if arenaSize > 0 {
			d.arena = blocks.arena(arenaSize)
		}
		row = blocks.row(width) // zeroed
	default:
		if arenaSize > 0 {
			d.arena = make([]byte, 0, arenaSize)
		}
		row = resizeRow(dst, width)
		if spread {
			clear(row)
		}
	}
	for j, c := range cols {
		at := j
		if spread {
			at = c
		}
		if h.isNull(c) {
			row[at] = nil
			continue
		}
		d.pos = offs[c]
		v, err := d.value(sch[c].Type, kindOf(sch[c].Type), false)
		if err != nil {
			return dst, fmt.Errorf("column %q: %w", sch[c].Name, err)
		}
		row[at] = v
	}
	return row, nil
}

// DecodeRowColumns decodes the columns listed in cols (schema ordinals, ascending or not) into a
// row of the full schema's width; the other columns are left nil. Callers that read only some
// columns use it to avoid copying the others' bytes.
func DecodeRowColumns(sch sql.Schema, b []byte, cols []int, dst sql.Row) (sql.Row, error) {
	return decodeColumns(sch, b, cols, dst, true)
}

func (d *decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		return 0, corruptf("bad uvarint at offset %d", d.pos)
	}
	d.pos += n
	return x, nil
}

func (d *decoder) varint() (int64, error) {
	x, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		return 0, corruptf("bad varint at offset %d", d.pos)
	}
	d.pos += n
	return x, nil
}

// bytes returns the next length-prefixed byte string, aliasing d.b.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.pos) {
		return nil, corruptf("length %d overruns the row", n)
	}
	s := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s, nil
}

func (d *decoder) fixed(n int) ([]byte, error) {
	if len(d.b)-d.pos < n {
		return nil, corruptf("truncated value at offset %d", d.pos)
	}
	s := d.b[d.pos : d.pos+n]
	d.pos += n
	return s, nil
}

// copyBytes copies s into the row's arena and returns the copy, capacity
// limited so that appending to it cannot clobber a neighbor.
func (d *decoder) copyBytes(s []byte, sizeHint bool) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	if d.arena == nil || cap(d.arena)-len(d.arena) < len(s) {
		size := len(s)
		if sizeHint && len(d.b)-d.pos+len(s) > size {
			// Full-row decoding: the remaining strings all fit in what is left of the row.
			size = len(d.b) - d.pos + len(s)
		}
		d.arena = make([]byte, 0, size)
	}
	off := len(d.arena)
	d.arena = append(d.arena, s...)
	return d.arena[off : off+len(s) : off+len(s)]
}

func (d *decoder) skip(k kind) error {
	var err error
	switch k {
	case kInt8, kInt16, kInt24, kInt32, kInt64, kTime, kYear:
		_, err = d.varint()
	case kUint8, kUint16, kUint24, kUint32, kUint64, kEnum, kSet, kBit:
		_, err = d.uvarint()
	case kFloat32:
		_, err = d.fixed(4)
	case kFloat64:
		_, err = d.fixed(8)
	case kDecimal:
		_, err = d.decimal()
	case kDate, kDatetime, kTimestamp:
		if _, err = d.varint(); err == nil {
			_, err = d.uvarint()
		}
	case kString, kBytes, kVector, kJSON, kGeometry:
		_, err = d.bytes()
	case kNull:
		err = corruptf("non-NULL value for the NULL type")
	default:
		err = fmt.Errorf("%w: %v", ErrUnsupportedType, k)
	}
	return err
}

// value decodes the next value of kind k. full reports whether the whole row
// is being decoded in order (which lets the arena be sized in one go).
func (d *decoder) value(t sql.Type, k kind, full bool) (any, error) {
	switch k {
	case kInt8, kInt16, kInt24, kInt32, kInt64, kYear:
		x, err := d.varint()
		if err != nil {
			return nil, err
		}
		lo, hi := intRange(k)
		if x < lo || x > hi {
			return nil, corruptf("%d out of range for %v", x, k)
		}
		switch k {
		case kInt8:
			return int8(x), nil
		case kInt16, kYear:
			return int16(x), nil
		case kInt24, kInt32:
			return int32(x), nil
		}
		return x, nil
	case kUint8, kUint16, kUint24, kUint32, kUint64, kEnum:
		x, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if x > uintMax(k) {
			return nil, corruptf("%d out of range for %v", x, k)
		}
		switch k {
		case kUint8:
			return uint8(x), nil
		case kUint16, kEnum:
			return uint16(x), nil
		case kUint24, kUint32:
			return uint32(x), nil
		}
		return x, nil
	case kSet, kBit:
		return d.uvarint()
	case kFloat32:
		b, err := d.fixed(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
	case kFloat64:
		b, err := d.fixed(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case kDecimal:
		return d.decimal()
	case kDate, kDatetime, kTimestamp:
		return d.time()
	case kTime:
		x, err := d.varint()
		if err != nil {
			return nil, err
		}
		return types.Timespan(x), nil
	case kString:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		if len(s) == 0 {
			return "", nil
		}
		return unsafeString(d.copyBytes(s, full)), nil
	case kBytes, kVector:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return d.copyBytes(s, full), nil
	case kJSON:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return decodeJSONDocument(s)
	case kGeometry:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return decodeGeometry(s)
	case kNull:
		return nil, corruptf("non-NULL value for the NULL type")
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedType, t)
}

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	nsec, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if nsec >= 1e9 {
		return time.Time{}, corruptf("nanoseconds %d out of range", nsec)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

func (d *decoder) decimal() (*apd.Decimal, error) {
	hb, err := d.fixed(1)
	if err != nil {
		return nil, err
	}
	h := hb[0]
	if h&^(decHdrForm|decHdrNegative|decHdrBig) != 0 {
		return nil, corruptf("bad decimal header 0x%02x", h)
	}
	exp, err := d.varint()
	if err != nil {
		return nil, err
	}
	if exp < math.MinInt32 || exp > math.MaxInt32 {
		return nil, corruptf("decimal exponent %d out of range", exp)
	}
	dec := &apd.Decimal{Form: apd.Form(h & decHdrForm), Negative: h&decHdrNegative != 0, Exponent: int32(exp)}
	if h&decHdrBig != 0 {
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		dec.Coeff.SetBytes(b)
	} else {
		x, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		dec.Coeff.SetUint64(x)
	}
	return dec, nil
}

package rowenc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// MySQL's binary JSON (sql/json_binary.h). A document is a type byte and
// a value. Objects and arrays come in a small form (2-byte counts, sizes
// and offsets) and a large one (4 bytes), the small one whenever the
// container fits in 64 KiB:
//
//	object = count size key-entry* value-entry* key* value*
//	array  = count size value-entry* value*
//	key-entry   = offset(2|4) length(2)
//	value-entry = type(1) offset-or-inlined-value(2|4)
//
// Offsets count from the start of the container (its count field).
// Literals and 16-bit integers are inlined in value entries, and 32-bit
// integers too in the large form. Object keys are sorted by length, then
// bytewise. Strings are a variable-length length (7 bits a byte, low
// group first) and UTF-8 bytes; opaque values a MySQL field type byte, a
// variable-length length and the data.
const (
	jsonSmallObject = 0x00
	jsonLargeObject = 0x01
	jsonSmallArray  = 0x02
	jsonLargeArray  = 0x03
	jsonLiteral     = 0x04
	jsonInt16       = 0x05
	jsonUint16      = 0x06
	jsonInt32       = 0x07
	jsonUint32      = 0x08
	jsonInt64       = 0x09
	jsonUint64      = 0x0a
	jsonDouble      = 0x0b
	jsonString      = 0x0c
	jsonOpaque      = 0x0f

	jsonNull  = 0x00
	jsonTrue  = 0x01
	jsonFalse = 0x02

	// maxJSONDepth is MySQL's JSON_DOCUMENT_MAX_DEPTH.
	maxJSONDepth = 100
)

// Field types MySQL records for opaque JSON values.
const (
	fieldTimestamp  = 7
	fieldDate       = 10
	fieldTime       = 11
	fieldDatetime   = 12
	fieldVarchar    = 15
	fieldNewDecimal = 246
)

// jsonBinary returns the binary JSON of a JSON column value.
func (c *Column) jsonBinary(v any) ([]byte, error) {
	w, ok := v.(sql.JSONWrapper)
	if !ok {
		cv, err := c.convert(v)
		if err != nil {
			return nil, err
		}
		if w, ok = cv.(sql.JSONWrapper); !ok {
			return nil, fmt.Errorf("JSON value of Go type %T", cv)
		}
	}
	doc, err := w.ToInterface(convCtx)
	if err != nil {
		return nil, err
	}
	return EncodeJSON(doc)
}

// EncodeJSON returns MySQL's binary JSON for a document held as GMS holds
// JSON: nil, bool, string, float64 and the other Go numbers, *apd.Decimal,
// time.Time, types.Timespan, []byte, []any and map[string]any (anything
// else goes through its JSON text).
//
// GMS parses JSON text numbers into float64 and prints integral ones
// without a fraction, so an integral float64 in the int64 range is written
// as an integer, as MySQL stores the number text "1". Go unsigned integers
// are written as MySQL's unsigned JSON integers, *apd.Decimal as an opaque
// DECIMAL whose precision is the value's own digit count, time.Time as an
// opaque DATETIME, types.Timespan as an opaque TIME and []byte as an
// opaque VARCHAR (what MySQL makes of a VARBINARY).
func EncodeJSON(doc any) ([]byte, error) {
	typ, payload, err := encodeJSONValue(doc, 0)
	if err != nil {
		return nil, err
	}
	return append([]byte{typ}, payload...), nil
}

func encodeJSONValue(v any, depth int) (byte, []byte, error) {
	if depth > maxJSONDepth {
		return 0, nil, fmt.Errorf("JSON document nested deeper than %d", maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return jsonLiteral, []byte{jsonNull}, nil
	case bool:
		if x {
			return jsonLiteral, []byte{jsonTrue}, nil
		}
		return jsonLiteral, []byte{jsonFalse}, nil
	case string:
		return jsonString, appendJSONString(nil, x), nil
	case int:
		return jsonInt(int64(x))
	case int8:
		return jsonInt(int64(x))
	case int16:
		return jsonInt(int64(x))
	case int32:
		return jsonInt(int64(x))
	case int64:
		return jsonInt(x)
	case uint:
		return jsonUint(uint64(x))
	case uint8:
		return jsonUint(uint64(x))
	case uint16:
		return jsonUint(uint64(x))
	case uint32:
		return jsonUint(uint64(x))
	case uint64:
		return jsonUint(x)
	case float64:
		return jsonFloat(x)
	case float32:
		// The float64 GMS prints for this float32 (1.1, not 1.100000023841858).
		f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		if err != nil {
			return 0, nil, err
		}
		return jsonFloat(f)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return jsonInt(i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return jsonUint(u)
		}
		f, err := x.Float64()
		if err != nil {
			return 0, nil, fmt.Errorf("JSON number %q: %w", x, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, nil, fmt.Errorf("JSON number %q out of range", x)
		}
		return jsonDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
	case *apd.Decimal:
		if x == nil {
			return jsonLiteral, []byte{jsonNull}, nil
		}
		return jsonDecimal(x)
	case apd.Decimal:
		return jsonDecimal(&x)
	case time.Time:
		p, err := packDatetime(x)
		if err != nil {
			return 0, nil, err
		}
		return jsonOpaque, appendOpaque(nil, fieldDatetime, binary.LittleEndian.AppendUint64(nil, uint64(p))), nil
	case types.Timespan:
		p, err := packTime(int64(x))
		if err != nil {
			return 0, nil, err
		}
		return jsonOpaque, appendOpaque(nil, fieldTime, binary.LittleEndian.AppendUint64(nil, uint64(p))), nil
	case []byte:
		return jsonOpaque, appendOpaque(nil, fieldVarchar, x), nil
	case []any:
		return encodeJSONContainer(nil, x, depth)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareJSONKeys)
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = x[k]
		}
		return encodeJSONContainer(keys, vals, depth)
	case sql.JSONWrapper:
		inner, err := x.ToInterface(convCtx)
		if err != nil {
			return 0, nil, err
		}
		return encodeJSONValue(inner, depth)
	}
	// Anything else (map[string]string, structs...): through JSON text,
	// numbers kept exact.
	text, err := json.Marshal(v)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot write %T as JSON: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return 0, nil, err
	}
	return encodeJSONValue(generic, depth)
}

// compareJSONKeys is MySQL's key order: shorter keys first, then bytewise.
func compareJSONKeys(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func jsonInt(i int64) (byte, []byte, error) {
	switch {
	case i >= math.MinInt16 && i <= math.MaxInt16:
		return jsonInt16, binary.LittleEndian.AppendUint16(nil, uint16(i)), nil
	case i >= math.MinInt32 && i <= math.MaxInt32:
		return jsonInt32, binary.LittleEndian.AppendUint32(nil, uint32(i)), nil
	}
	return jsonInt64, binary.LittleEndian.AppendUint64(nil, uint64(i)), nil
}

func jsonUint(u uint64) (byte, []byte, error) {
	switch {
	case u <= math.MaxUint16:
		return jsonUint16, binary.LittleEndian.AppendUint16(nil, uint16(u)), nil
	case u <= math.MaxUint32:
		return jsonUint32, binary.LittleEndian.AppendUint32(nil, uint32(u)), nil
	}
	return jsonUint64, binary.LittleEndian.AppendUint64(nil, u), nil
}

func jsonFloat(f float64) (byte, []byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, nil, fmt.Errorf("JSON cannot hold %v", f)
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return jsonInt(int64(f))
	}
	return jsonDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
}

func jsonDecimal(d *apd.Decimal) (byte, []byte, error) {
	if d.Form != apd.Finite {
		return 0, nil, fmt.Errorf("JSON cannot hold %s", d)
	}
	scale := 0
	if d.Exponent < 0 {
		scale = int(-d.Exponent)
	}
	// The integer digits as the value prints ("0.5" has one).
	intg := int(d.NumDigits()) + int(d.Exponent)
	if intg < 1 {
		intg = 1
	}
	precision := intg + scale
	if precision > 65 || scale > 30 {
		return 0, nil, fmt.Errorf("JSON decimal %s exceeds DECIMAL(65,30)", d)
	}
	data := []byte{byte(precision), byte(scale)}
	data, err := appendDecimal(data, d, precision, scale)
	if err != nil {
		return 0, nil, err
	}
	return jsonOpaque, appendOpaque(nil, fieldNewDecimal, data), nil
}

func appendOpaque(dst []byte, field byte, data []byte) []byte {
	dst = append(dst, field)
	dst = appendJSONLength(dst, len(data))
	return append(dst, data...)
}

func appendJSONString(dst []byte, s string) []byte {
	dst = appendJSONLength(dst, len(s))
	return append(dst, s...)
}

// appendJSONLength writes a binary JSON variable-length length.
func appendJSONLength(dst []byte, n int) []byte {
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(dst, byte(n))
}

type jsonChild struct {
	typ     byte
	payload []byte
}

// encodeJSONContainer writes an object (keys non-nil) or array in the
// small form if it fits, else the large form, as MySQL does. Each child
// chooses its own form independently of its parent.
func encodeJSONContainer(keys []string, vals []any, depth int) (byte, []byte, error) {
	children := make([]jsonChild, len(vals))
	for i, v := range vals {
		typ, payload, err := encodeJSONValue(v, depth+1)
		if err != nil {
			return 0, nil, err
		}
		children[i] = jsonChild{typ, payload}
	}
	for _, k := range keys {
		if len(k) > math.MaxUint16 {
			return 0, nil, fmt.Errorf("JSON object key of %d bytes is too long", len(k))
		}
	}
	if b, ok := layoutJSONContainer(keys, children, false); ok {
		if keys != nil {
			return jsonSmallObject, b, nil
		}
		return jsonSmallArray, b, nil
	}
	b, ok := layoutJSONContainer(keys, children, true)
	if !ok {
		return 0, nil, fmt.Errorf("JSON document larger than 4 GiB")
	}
	if keys != nil {
		return jsonLargeObject, b, nil
	}
	return jsonLargeArray, b, nil
}

// inlined reports whether a value of type typ lives in its value entry.
func inlined(typ byte, large bool) bool {
	switch typ {
	case jsonLiteral, jsonInt16, jsonUint16:
		return true
	case jsonInt32, jsonUint32:
		return large
	}
	return false
}

func layoutJSONContainer(keys []string, children []jsonChild, large bool) ([]byte, bool) {
	w := 2
	limit := uint64(math.MaxUint16)
	if large {
		w, limit = 4, math.MaxUint32
	}
	n := len(children)
	header := 2 * w
	if keys != nil {
		header += n * (w + 2)
	}
	header += n * (1 + w)
	size := header
	for _, k := range keys {
		size += len(k)
	}
	for _, c := range children {
		if !inlined(c.typ, large) {
			size += len(c.payload)
		}
	}
	if uint64(size) > limit {
		return nil, false
	}
	b := make([]byte, 0, size)
	put := func(x int) {
		if large {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		} else {
			b = binary.LittleEndian.AppendUint16(b, uint16(x))
		}
	}
	put(n)
	put(size)
	off := header
	for _, k := range keys {
		put(off)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(k)))
		off += len(k)
	}
	for _, c := range children {
		b = append(b, c.typ)
		if inlined(c.typ, large) {
			var x uint32
			switch c.typ {
			case jsonLiteral:
				x = uint32(c.payload[0])
			case jsonInt16:
				// Sign-extended, as MySQL stores the int32 it inlines.
				x = uint32(int32(int16(binary.LittleEndian.Uint16(c.payload))))
			case jsonUint16:
				x = uint32(binary.LittleEndian.Uint16(c.payload))
			default:
				x = binary.LittleEndian.Uint32(c.payload)
			}
			put(int(x))
			continue
		}
		put(off)
		off += len(c.payload)
	}
	for _, k := range keys {
		b = append(b, k...)
	}
	for _, c := range children {
		if !inlined(c.typ, large) {
			b = append(b, c.payload...)
		}
	}
	return b, true
}

// DecodeJSON parses MySQL's binary JSON into the Go values of a GMS JSON
// document: map[string]any, []any, string, nil, bool, int64 (MySQL's
// signed integers), uint64 (unsigned), float64, *apd.Decimal, time.Time
// (DATE, DATETIME and TIMESTAMP), types.Timespan (TIME) and []byte (other
// opaque values). An empty value is JSON null, as in MySQL. Corrupt input
// yields an error wrapping ErrCorrupt.
func DecodeJSON(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := jsonDecoder{budget: len(b)}
	return d.value(b[0], b[1:], 0)
}

// jsonDecoder bounds the work of decoding: a document MySQL wrote never
// refers to the same bytes twice, so its values and their string bytes
// add up to less than its length. Crafted offsets that share data could
// otherwise expand a small input without limit.
type jsonDecoder struct {
	budget int
}

func (d *jsonDecoder) spend(n int) error {
	d.budget -= n
	if d.budget < 0 {
		return fmt.Errorf("%w: JSON values overlap", ErrCorrupt)
	}
	return nil
}

func (d *jsonDecoder) value(typ byte, b []byte, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("%w: JSON nested deeper than %d", ErrCorrupt, maxJSONDepth)
	}
	if err := d.spend(1); err != nil {
		return nil, err
	}
	need := func(n int) error {
		if len(b) < n {
			return fmt.Errorf("%w: JSON value truncated", ErrCorrupt)
		}
		return nil
	}
	switch typ {
	case jsonSmallObject, jsonLargeObject, jsonSmallArray, jsonLargeArray:
		return d.container(typ, b, depth)
	case jsonLiteral:
		if err := need(1); err != nil {
			return nil, err
		}
		return jsonLiteralValue(b[0])
	case jsonInt16:
		if err := need(2); err != nil {
			return nil, err
		}
		return int64(int16(binary.LittleEndian.Uint16(b))), nil
	case jsonUint16:
		if err := need(2); err != nil {
			return nil, err
		}
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case jsonInt32:
		if err := need(4); err != nil {
			return nil, err
		}
		return int64(int32(binary.LittleEndian.Uint32(b))), nil
	case jsonUint32:
		if err := need(4); err != nil {
			return nil, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case jsonInt64:
		if err := need(8); err != nil {
			return nil, err
		}
		return int64(binary.LittleEndian.Uint64(b)), nil
	case jsonUint64:
		if err := need(8); err != nil {
			return nil, err
		}
		return binary.LittleEndian.Uint64(b), nil
	case jsonDouble:
		if err := need(8); err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%w: JSON double %v", ErrCorrupt, f)
		}
		return f, nil
	case jsonString:
		n, p, err := readJSONLength(b)
		if err != nil {
			return nil, err
		}
		if n > len(b)-p {
			return nil, fmt.Errorf("%w: JSON string overruns the value", ErrCorrupt)
		}
		if err := d.spend(n); err != nil {
			return nil, err
		}
		return string(b[p : p+n]), nil
	case jsonOpaque:
		if err := need(1); err != nil {
			return nil, err
		}
		field := b[0]
		n, p, err := readJSONLength(b[1:])
		if err != nil {
			return nil, err
		}
		p++
		if n > len(b)-p {
			return nil, fmt.Errorf("%w: JSON opaque value overruns the value", ErrCorrupt)
		}
		if err := d.spend(n); err != nil {
			return nil, err
		}
		return decodeJSONOpaque(field, b[p:p+n])
	}
	return nil, fmt.Errorf("%w: JSON value type 0x%02x", ErrCorrupt, typ)
}

func jsonLiteralValue(b byte) (any, error) {
	switch b {
	case jsonNull:
		return nil, nil
	case jsonTrue:
		return true, nil
	case jsonFalse:
		return false, nil
	}
	return nil, fmt.Errorf("%w: JSON literal 0x%02x", ErrCorrupt, b)
}

func decodeJSONOpaque(field byte, data []byte) (any, error) {
	switch field {
	case fieldNewDecimal:
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: JSON decimal truncated", ErrCorrupt)
		}
		d, err := decodeDecimal(data[2:], int(data[0]), int(data[1]))
		if err != nil {
			return nil, err
		}
		return d, nil
	case fieldDate, fieldDatetime, fieldTimestamp:
		if len(data) < 8 {
			return nil, fmt.Errorf("%w: JSON datetime truncated", ErrCorrupt)
		}
		return unpackDatetime(int64(binary.LittleEndian.Uint64(data)))
	case fieldTime:
		if len(data) < 8 {
			return nil, fmt.Errorf("%w: JSON time truncated", ErrCorrupt)
		}
		return unpackTime(int64(binary.LittleEndian.Uint64(data)))
	}
	return append([]byte{}, data...), nil
}

func readJSONLength(b []byte) (int, int, error) {
	var n uint64
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: JSON length truncated", ErrCorrupt)
		}
		n |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if n > math.MaxUint32 {
				break
			}
			return int(n), i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: JSON length too long", ErrCorrupt)
}

func (d *jsonDecoder) container(typ byte, b []byte, depth int) (any, error) {
	large := typ == jsonLargeObject || typ == jsonLargeArray
	isObject := typ == jsonSmallObject || typ == jsonLargeObject
	w := 2
	if large {
		w = 4
	}
	read := func(p int) int {
		if large {
			return int(binary.LittleEndian.Uint32(b[p:]))
		}
		return int(binary.LittleEndian.Uint16(b[p:]))
	}
	if len(b) < 2*w {
		return nil, fmt.Errorf("%w: JSON container header truncated", ErrCorrupt)
	}
	n, size := read(0), read(w)
	if size > len(b) || size < 2*w {
		return nil, fmt.Errorf("%w: JSON container size %d of %d bytes", ErrCorrupt, size, len(b))
	}
	b = b[:size]
	entries := n * (1 + w)
	if isObject {
		entries += n * (w + 2)
	}
	if n < 0 || entries < 0 || 2*w+entries > size {
		return nil, fmt.Errorf("%w: JSON container of %d elements overruns its %d bytes", ErrCorrupt, n, size)
	}
	pos := 2 * w
	var keys []string
	if isObject {
		keys = make([]string, n)
		for i := range keys {
			off := read(pos)
			l := int(binary.LittleEndian.Uint16(b[pos+w:]))
			pos += w + 2
			if off > size || l > size-off {
				return nil, fmt.Errorf("%w: JSON key overruns its object", ErrCorrupt)
			}
			if err := d.spend(l); err != nil {
				return nil, err
			}
			keys[i] = string(b[off : off+l])
		}
	}
	vals := make([]any, n)
	for i := range vals {
		vt := b[pos]
		var err error
		if inlined(vt, large) {
			switch vt {
			case jsonLiteral:
				vals[i], err = jsonLiteralValue(b[pos+1])
			case jsonInt16:
				vals[i] = int64(int16(binary.LittleEndian.Uint16(b[pos+1:])))
			case jsonUint16:
				vals[i] = uint64(binary.LittleEndian.Uint16(b[pos+1:]))
			case jsonInt32:
				vals[i] = int64(int32(binary.LittleEndian.Uint32(b[pos+1:])))
			case jsonUint32:
				vals[i] = uint64(binary.LittleEndian.Uint32(b[pos+1:]))
			}
		} else {
			off := read(pos + 1)
			if off < 2*w+entries || off > size {
				// Values follow the entries; an offset into the header
				// would let a container contain itself.
				return nil, fmt.Errorf("%w: JSON value offset %d outside its container", ErrCorrupt, off)
			}
			vals[i], err = d.value(vt, b[off:], depth+1)
		}
		if err != nil {
			return nil, err
		}
		pos += 1 + w
	}
	if !isObject {
		return vals, nil
	}
	obj := make(map[string]any, n)
	for i, k := range keys {
		obj[k] = vals[i]
	}
	return obj, nil
}

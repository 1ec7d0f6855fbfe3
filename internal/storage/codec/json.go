package codec

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// JSON values are stored as a tagged binary tree rather than as text, so that
// the Go values GMS put in the document come back with their exact types: an
// int64 stays an int64 (JSON text would turn it into a float64 and lose
// precision above 2^53), a *apd.Decimal keeps its scale, a time.Time stays a
// time.Time. Objects are written with sorted keys so equal documents encode
// identically.
const (
	jNull = iota
	jFalse
	jTrue
	jString  // uvarint length, bytes
	jFloat64 // 8 bytes little-endian
	jInt64   // zigzag varint
	jUint64  // uvarint
	jDecimal // decimal row encoding
	jArray   // uvarint count, values
	jObject  // uvarint count, (uvarint key length, key, value)...
	jInt
	jInt8
	jInt16
	jInt32
	jUint
	jUint8
	jUint16
	jUint32
	jFloat32  // 4 bytes little-endian
	jTime     // time row encoding (UTC)
	jTimespan // zigzag varint
	jBytes    // uvarint length, bytes
	jRawJSON  // uvarint length, JSON text: any other Go type, stored as GMS marshals it
	jTagCount
)

// maxJSONDepth bounds the nesting of stored documents (MySQL's own limit is 100).
const maxJSONDepth = 1000

func appendJSONValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, fmt.Errorf("codec: JSON document nested deeper than %d", maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, jNull), nil
	case bool:
		if x {
			return append(dst, jTrue), nil
		}
		return append(dst, jFalse), nil
	case string:
		dst = append(dst, jString)
		dst = binary.AppendUvarint(dst, uint64(len(x)))
		return append(dst, x...), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, jFloat64), math.Float64bits(x)), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(dst, jFloat32), math.Float32bits(x)), nil
	case int64:
		return binary.AppendVarint(append(dst, jInt64), x), nil
	case int:
		return binary.AppendVarint(append(dst, jInt), int64(x)), nil
	case int8:
		return binary.AppendVarint(append(dst, jInt8), int64(x)), nil
	case int16:
		return binary.AppendVarint(append(dst, jInt16), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(dst, jInt32), int64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(dst, jUint64), x), nil
	case uint:
		return binary.AppendUvarint(append(dst, jUint), uint64(x)), nil
	case uint8:
		return binary.AppendUvarint(append(dst, jUint8), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(dst, jUint16), uint64(x)), nil
	case uint32:
		return binary.AppendUvarint(append(dst, jUint32), uint64(x)), nil
	case *apd.Decimal:
		if x == nil {
			return append(dst, jNull), nil
		}
		return appendDecimalRow(append(dst, jDecimal), x)
	case time.Time:
		return appendTimeRow(append(dst, jTime), x), nil
	case types.Timespan:
		return binary.AppendVarint(append(dst, jTimespan), int64(x)), nil
	case []byte:
		dst = append(dst, jBytes)
		dst = binary.AppendUvarint(dst, uint64(len(x)))
		return append(dst, x...), nil
	case []any:
		dst = append(dst, jArray)
		dst = binary.AppendUvarint(dst, uint64(len(x)))
		var err error
		for _, e := range x {
			if dst, err = appendJSONValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, jObject)
		dst = binary.AppendUvarint(dst, uint64(len(keys)))
		var err error
		for _, k := range keys {
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			if dst, err = appendJSONValue(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case sql.JSONWrapper:
		inner, err := x.ToInterface(convCtx)
		if err != nil {
			return dst, err
		}
		return appendJSONValue(dst, inner, depth+1)
	}
	// Anything else (e.g. map[string]string): keep the JSON text GMS would
	// print for it; it decodes to the equivalent generic JSON value.
	text, err := types.MarshallJsonValue(v)
	if err != nil {
		return dst, fmt.Errorf("codec: cannot store %T in a JSON document: %w", v, err)
	}
	dst = append(dst, jRawJSON)
	dst = binary.AppendUvarint(dst, uint64(len(text)))
	return append(dst, text...), nil
}

// decodeJSONDocument decodes a document written by appendJSONValue.
func decodeJSONDocument(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.jsonValue(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(b) {
		return nil, corruptf("%d trailing bytes after JSON document", len(b)-d.pos)
	}
	return types.JSONDocument{Val: v}, nil
}

func (d *decoder) jsonValue(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, corruptf("JSON document nested deeper than %d", maxJSONDepth)
	}
	tb, err := d.fixed(1)
	if err != nil {
		return nil, err
	}
	switch tag := tb[0]; tag {
	case jNull:
		return nil, nil
	case jFalse:
		return false, nil
	case jTrue:
		return true, nil
	case jString:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return string(s), nil
	case jBytes:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, s...), nil
	case jRawJSON:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(s, &v); err != nil {
			return nil, corruptf("bad JSON text: %v", err)
		}
		return v, nil
	case jFloat64:
		s, err := d.fixed(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(s)), nil
	case jFloat32:
		s, err := d.fixed(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(s)), nil
	case jInt64, jInt, jInt8, jInt16, jInt32, jTimespan:
		x, err := d.varint()
		if err != nil {
			return nil, err
		}
		switch tag {
		case jInt64:
			return x, nil
		case jTimespan:
			return types.Timespan(x), nil
		case jInt:
			if int64(int(x)) != x {
				return nil, corruptf("int out of range")
			}
			return int(x), nil
		case jInt8:
			if x < math.MinInt8 || x > math.MaxInt8 {
				return nil, corruptf("int8 out of range")
			}
			return int8(x), nil
		case jInt16:
			if x < math.MinInt16 || x > math.MaxInt16 {
				return nil, corruptf("int16 out of range")
			}
			return int16(x), nil
		default:
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, corruptf("int32 out of range")
			}
			return int32(x), nil
		}
	case jUint64, jUint, jUint8, jUint16, jUint32:
		x, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		switch tag {
		case jUint64:
			return x, nil
		case jUint:
			if uint64(uint(x)) != x {
				return nil, corruptf("uint out of range")
			}
			return uint(x), nil
		case jUint8:
			if x > math.MaxUint8 {
				return nil, corruptf("uint8 out of range")
			}
			return uint8(x), nil
		case jUint16:
			if x > math.MaxUint16 {
				return nil, corruptf("uint16 out of range")
			}
			return uint16(x), nil
		default:
			if x > math.MaxUint32 {
				return nil, corruptf("uint32 out of range")
			}
			return uint32(x), nil
		}
	case jDecimal:
		return d.decimal()
	case jTime:
		return d.time()
	case jArray:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.b)-d.pos) { // every element takes at least one byte
			return nil, corruptf("JSON array length %d overruns the value", n)
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = d.jsonValue(depth + 1); err != nil {
				return nil, err
			}
		}
		return arr, nil
	case jObject:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.b)-d.pos)/2 { // every member takes at least two bytes
			return nil, corruptf("JSON object size %d overruns the value", n)
		}
		obj := make(map[string]any, n)
		for i := uint64(0); i < n; i++ {
			k, err := d.bytes()
			if err != nil {
				return nil, err
			}
			v, err := d.jsonValue(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[string(k)] = v
		}
		return obj, nil
	}
	return nil, corruptf("bad JSON tag 0x%02x", tb[0])
}

package codec

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// kind is the codec's classification of a GMS column type. It decides both the
// row encoding and the key encoding of a value, and the Go type DecodeRow
// produces for it.
type kind uint8

const (
	kInvalid   kind = iota
	kInt8           // int8  (TINYINT, BOOLEAN)
	kInt16          // int16 (SMALLINT)
	kInt24          // int32 (MEDIUMINT)
	kInt32          // int32 (INT)
	kInt64          // int64 (BIGINT)
	kUint8          // uint8
	kUint16         // uint16
	kUint24         // uint32
	kUint32         // uint32
	kUint64         // uint64
	kFloat32        // float32 (FLOAT)
	kFloat64        // float64 (DOUBLE)
	kDecimal        // *apd.Decimal
	kDate           // time.Time, UTC, truncated to the day
	kDatetime       // time.Time, UTC
	kTimestamp      // time.Time, UTC
	kTime           // types.Timespan (microseconds)
	kYear           // int16
	kString         // string (CHAR, VARCHAR, TEXT with a non-binary collation)
	kBytes          // []byte (BINARY, VARBINARY, BLOB)
	kEnum           // uint16 (1-based index into the element list)
	kSet            // uint64 (bit field)
	kBit            // uint64
	kJSON           // types.JSONDocument
	kGeometry       // types.GeometryValue (types.Point, types.Polygon, ...)
	kVector         // []byte (packed little-endian float32s)
	kNull           // the NULL type: only NULL values
)

var kindNames = [...]string{
	kInvalid: "invalid", kInt8: "int8", kInt16: "int16", kInt24: "int24", kInt32: "int32", kInt64: "int64",
	kUint8: "uint8", kUint16: "uint16", kUint24: "uint24", kUint32: "uint32", kUint64: "uint64",
	kFloat32: "float32", kFloat64: "float64", kDecimal: "decimal", kDate: "date", kDatetime: "datetime",
	kTimestamp: "timestamp", kTime: "time", kYear: "year", kString: "string", kBytes: "bytes", kEnum: "enum",
	kSet: "set", kBit: "bit", kJSON: "json", kGeometry: "geometry", kVector: "vector", kNull: "null",
}

func (k kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// kindOf classifies t by its wire type, which every GMS type reports and which
// fully determines the Go representation GMS uses for its values.
func kindOf(t sql.Type) kind {
	if t == nil {
		return kInvalid
	}
	switch t.Type() {
	case sqltypes.Int8:
		return kInt8
	case sqltypes.Int16:
		return kInt16
	case sqltypes.Int24:
		return kInt24
	case sqltypes.Int32:
		return kInt32
	case sqltypes.Int64:
		return kInt64
	case sqltypes.Uint8:
		return kUint8
	case sqltypes.Uint16:
		return kUint16
	case sqltypes.Uint24:
		return kUint24
	case sqltypes.Uint32:
		return kUint32
	case sqltypes.Uint64:
		return kUint64
	case sqltypes.Float32:
		return kFloat32
	case sqltypes.Float64:
		return kFloat64
	case sqltypes.Decimal:
		return kDecimal
	case sqltypes.Date:
		return kDate
	case sqltypes.Datetime:
		return kDatetime
	case sqltypes.Timestamp:
		return kTimestamp
	case sqltypes.Time:
		return kTime
	case sqltypes.Year:
		return kYear
	case sqltypes.Char, sqltypes.VarChar, sqltypes.Text:
		return kString
	case sqltypes.Binary, sqltypes.VarBinary, sqltypes.Blob:
		return kBytes
	case sqltypes.Enum:
		return kEnum
	case sqltypes.Set:
		return kSet
	case sqltypes.Bit:
		return kBit
	case sqltypes.TypeJSON:
		return kJSON
	case sqltypes.Geometry:
		return kGeometry
	case sqltypes.Vector:
		return kVector
	case sqltypes.Null:
		return kNull
	}
	return kInvalid
}

// intRange returns the inclusive bounds of a signed integer kind.
func intRange(k kind) (lo, hi int64) {
	switch k {
	case kInt8:
		return -1 << 7, 1<<7 - 1
	case kInt16, kYear:
		return -1 << 15, 1<<15 - 1
	case kInt24:
		return -1 << 23, 1<<23 - 1
	case kInt32:
		return -1 << 31, 1<<31 - 1
	}
	return -1 << 63, 1<<63 - 1
}

// uintMax returns the inclusive upper bound of an unsigned integer kind.
func uintMax(k kind) uint64 {
	switch k {
	case kUint8:
		return 1<<8 - 1
	case kUint16, kEnum:
		return 1<<16 - 1
	case kUint24:
		return 1<<24 - 1
	case kUint32:
		return 1<<32 - 1
	}
	return 1<<64 - 1
}

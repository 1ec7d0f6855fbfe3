package rowenc

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// Geometry subtypes as MySQL numbers them in the GEOMETRY_TYPE optional
// metadata (Field::geometry_type).
const (
	GeomGeometry           = 0
	GeomPoint              = 1
	GeomLineString         = 2
	GeomPolygon            = 3
	GeomMultiPoint         = 4
	GeomMultiLineString    = 5
	GeomMultiPolygon       = 6
	GeomGeometryCollection = 7
)

// Column is one column as a TABLE_MAP event describes it, derived from its
// GMS type by NewTable.
type Column struct {
	Name     string
	SQLType  sql.Type
	Nullable bool
	// Hidden is MySQL's INVISIBLE (GMS's Hidden or HiddenSystem).
	Hidden bool

	// Type is the column type byte of the TABLE_MAP event (MySQL's
	// Field::binlog_type(): STRING for CHAR, BINARY, ENUM and SET).
	Type byte
	// Meta is the column's TABLE_MAP metadata, as vitess's TableMap.Metadata
	// holds it: for the two-byte big-endian kinds (NEWDECIMAL, STRING) the
	// first byte written is the high byte.
	Meta uint16
	// RealType is MySQL's Field::real_type(): Type except for STRING
	// columns, where it is STRING, ENUM or SET.
	RealType byte

	// Unsigned is set for UNSIGNED numeric columns.
	Unsigned bool
	// Collation is the collation id of character columns (CHAR, VARCHAR,
	// TEXT, and their binary counterparts with 63), ENUM and SET; zero
	// for every other column.
	Collation sql.CollationID
	// Values are the elements of an ENUM or SET, in order.
	Values []string
	// GeometryType is the geometry subtype of a spatial column (Geom*).
	GeometryType uint8

	// maxBytes is the maximum byte length of a CHAR/BINARY value (MySQL's
	// field_length) or of a VARCHAR/VARBINARY value.
	maxBytes int
	// bits is the width of a BIT column.
	bits int
	// precision and scale of a DECIMAL column.
	precision, scale int
	// fsp is the fractional seconds precision of DATETIME2, TIMESTAMP2
	// and TIME2 columns.
	fsp int
	// packLen is the byte width of an ENUM or SET value, and of the length
	// prefix of a BLOB, TEXT, JSON or GEOMETRY value.
	packLen int
	// binary is set for BINARY, VARBINARY and BLOB (values are []byte).
	binary bool
}

// Table describes a table the way MySQL's Table_map_log_event does: its
// columns in storage order and its primary key.
type Table struct {
	Database string
	Name     string
	Columns  []Column
	// PrimaryKey holds the ordinals of the primary key columns in key
	// order; it is empty when the table has no primary key.
	PrimaryKey []int
	// PrimaryKeyPrefixes, when non-nil, has one entry per PrimaryKey
	// column: the key prefix length in characters, or 0 for the whole
	// column. GMS's schema does not carry primary key prefixes, so a
	// caller that knows of one sets this.
	PrimaryKeyPrefixes []int
}

// NewTable describes the table db.name with schema sch (every column, in
// storage order) and primary key sch.PkOrdinals. It fails for a column
// type that MySQL 8 cannot replicate (VECTOR, for instance).
func NewTable(db, name string, sch sql.PrimaryKeySchema) (*Table, error) {
	if len(db) > 255 || len(name) > 255 {
		return nil, fmt.Errorf("rowenc: database or table name longer than 255 bytes")
	}
	t := &Table{Database: db, Name: name, Columns: make([]Column, len(sch.Schema))}
	for i, c := range sch.Schema {
		col, err := newColumn(c)
		if err != nil {
			return nil, fmt.Errorf("rowenc: table %s.%s: %w", db, name, err)
		}
		t.Columns[i] = col
	}
	for _, o := range sch.PkOrdinals {
		if o < 0 || o >= len(t.Columns) {
			return nil, fmt.Errorf("rowenc: table %s.%s: primary key ordinal %d out of range", db, name, o)
		}
	}
	t.PrimaryKey = append([]int(nil), sch.PkOrdinals...)
	return t, nil
}

func newColumn(c *sql.Column) (Column, error) {
	col := Column{
		Name:     c.Name,
		SQLType:  c.Type,
		Nullable: c.Nullable,
		Hidden:   c.Hidden || c.HiddenSystem,
	}
	if c.Type == nil {
		return col, fmt.Errorf("column %q has no type", c.Name)
	}
	if err := col.describe(); err != nil {
		return col, fmt.Errorf("column %q: %w", c.Name, err)
	}
	return col, nil
}

// describe fills the binlog type, metadata and encoding parameters of col
// from col.SQLType, as MySQL's Field::binlog_type and
// Field::do_save_field_metadata do for the equivalent MySQL column.
func (col *Column) describe() error {
	st := col.SQLType
	qt := st.Type()
	set := func(typ byte, meta uint16) {
		col.Type, col.RealType, col.Meta = typ, typ, meta
	}
	switch qt {
	case sqltypes.Int8, sqltypes.Uint8:
		set(mysql.TypeTiny, 0)
	case sqltypes.Int16, sqltypes.Uint16:
		set(mysql.TypeShort, 0)
	case sqltypes.Int24, sqltypes.Uint24:
		set(mysql.TypeInt24, 0)
	case sqltypes.Int32, sqltypes.Uint32:
		set(mysql.TypeLong, 0)
	case sqltypes.Int64, sqltypes.Uint64:
		set(mysql.TypeLongLong, 0)
	case sqltypes.Float32:
		set(mysql.TypeFloat, 4)
	case sqltypes.Float64:
		set(mysql.TypeDouble, 8)
	case sqltypes.Decimal:
		dt, ok := st.(sql.DecimalType)
		if !ok {
			return fmt.Errorf("DECIMAL type %T does not report precision and scale", st)
		}
		col.precision, col.scale = int(dt.Precision()), int(dt.Scale())
		if col.precision < 1 || col.precision > 65 || col.scale > 30 || col.scale > col.precision {
			return fmt.Errorf("DECIMAL(%d,%d) is outside MySQL's limits", col.precision, col.scale)
		}
		set(mysql.TypeNewDecimal, uint16(col.precision)<<8|uint16(col.scale))
	case sqltypes.Date:
		set(mysql.TypeDate, 0)
	case sqltypes.Datetime, sqltypes.Timestamp:
		dt, ok := st.(sql.DatetimeType)
		if !ok {
			return fmt.Errorf("%s type %T does not report its precision", qt, st)
		}
		col.fsp = dt.Precision()
		if col.fsp < 0 || col.fsp > 6 {
			return fmt.Errorf("fractional seconds precision %d out of range", col.fsp)
		}
		if qt == sqltypes.Datetime {
			set(mysql.TypeDateTime2, uint16(col.fsp))
		} else {
			set(mysql.TypeTimestamp2, uint16(col.fsp))
		}
	case sqltypes.Time:
		// GMS has a single TIME type with microsecond precision (it
		// reports itself as time(6)), so every TIME column is TIME(6).
		col.fsp = 6
		set(mysql.TypeTime2, 6)
	case sqltypes.Year:
		set(mysql.TypeYear, 0)
	case sqltypes.Char, sqltypes.Binary:
		s, ok := st.(sql.StringType)
		if !ok {
			return fmt.Errorf("CHAR type %T is not a sql.StringType", st)
		}
		col.maxBytes = int(s.MaxByteLength())
		if col.maxBytes > 1023 {
			// MySQL's STRING metadata has 10 bits for the byte length.
			return fmt.Errorf("CHAR of %d bytes exceeds MySQL's 1023", col.maxBytes)
		}
		col.Collation = s.Collation()
		col.binary = qt == sqltypes.Binary
		// Field_string::do_save_field_metadata: real type with bits 8
		// and 9 of the byte length folded (inverted) into bits 4 and 5,
		// then the low byte of the length.
		b0 := byte(mysql.TypeString) ^ byte((col.maxBytes&0x300)>>4)
		col.Type, col.RealType = mysql.TypeString, mysql.TypeString
		col.Meta = uint16(b0)<<8 | uint16(col.maxBytes&0xff)
	case sqltypes.VarChar, sqltypes.VarBinary:
		s, ok := st.(sql.StringType)
		if !ok {
			return fmt.Errorf("VARCHAR type %T is not a sql.StringType", st)
		}
		col.maxBytes = int(s.MaxByteLength())
		if col.maxBytes > 65535 {
			return fmt.Errorf("VARCHAR of %d bytes exceeds 65535", col.maxBytes)
		}
		col.Collation = s.Collation()
		col.binary = qt == sqltypes.VarBinary
		set(mysql.TypeVarchar, uint16(col.maxBytes))
	case sqltypes.Text, sqltypes.Blob:
		s, ok := st.(sql.StringType)
		if !ok {
			return fmt.Errorf("TEXT type %T is not a sql.StringType", st)
		}
		col.packLen = blobPackLen(s.MaxByteLength())
		col.Collation = s.Collation()
		col.binary = qt == sqltypes.Blob
		set(mysql.TypeBlob, uint16(col.packLen))
	case sqltypes.Enum:
		et, ok := st.(sql.EnumType)
		if !ok {
			return fmt.Errorf("ENUM type %T is not a sql.EnumType", st)
		}
		col.Values = et.Values()
		col.Collation = et.Collation()
		col.packLen = 1
		if len(col.Values) > 255 {
			col.packLen = 2
		}
		col.Type, col.RealType = mysql.TypeString, mysql.TypeEnum
		col.Meta = uint16(mysql.TypeEnum)<<8 | uint16(col.packLen)
	case sqltypes.Set:
		stt, ok := st.(sql.SetType)
		if !ok {
			return fmt.Errorf("SET type %T is not a sql.SetType", st)
		}
		col.Values = stt.Values()
		col.Collation = stt.Collation()
		col.packLen = (len(col.Values) + 7) / 8
		if col.packLen > 4 {
			col.packLen = 8
		}
		col.Type, col.RealType = mysql.TypeString, mysql.TypeSet
		col.Meta = uint16(mysql.TypeSet)<<8 | uint16(col.packLen)
	case sqltypes.Bit:
		bt, ok := st.(types.BitType)
		if !ok {
			return fmt.Errorf("BIT type %T does not report its width", st)
		}
		col.bits = int(bt.NumberOfBits())
		if col.bits < 1 || col.bits > 64 {
			return fmt.Errorf("BIT(%d) out of range", col.bits)
		}
		// Field_bit::do_save_field_metadata writes bits%8 then bits/8;
		// vitess reads the pair little-endian.
		set(mysql.TypeBit, uint16(col.bits/8)<<8|uint16(col.bits%8))
	case sqltypes.TypeJSON:
		col.packLen = 4
		set(mysql.TypeJSON, 4)
	case sqltypes.Geometry:
		col.packLen = 4
		col.GeometryType = geometrySubtype(st)
		set(mysql.TypeGeometry, 4)
	default:
		return fmt.Errorf("type %s has no MySQL 8 binlog encoding", st.String())
	}
	// YEAR, BIT, ENUM and SET count as unsigned in vitess's query types
	// but have no signedness in MySQL's metadata.
	col.Unsigned = col.isNumeric() && sqltypes.IsUnsigned(qt)
	return nil
}

// blobPackLen is the width of a BLOB/TEXT length prefix: TINY 1, plain 2,
// MEDIUM 3, LONG 4.
func blobPackLen(maxBytes int64) int {
	switch {
	case maxBytes <= types.TinyTextBlobMax:
		return 1
	case maxBytes <= types.TextBlobMax:
		return 2
	case maxBytes <= types.MediumTextBlobMax:
		return 3
	}
	return 4
}

func geometrySubtype(t sql.Type) uint8 {
	switch t.(type) {
	case types.PointType:
		return GeomPoint
	case types.LineStringType:
		return GeomLineString
	case types.PolygonType:
		return GeomPolygon
	case types.MultiPointType:
		return GeomMultiPoint
	case types.MultiLineStringType:
		return GeomMultiLineString
	case types.MultiPolygonType:
		return GeomMultiPolygon
	case types.GeomCollType:
		return GeomGeometryCollection
	}
	return GeomGeometry
}

// isNumeric reports whether MySQL gives the column a SIGNEDNESS bit
// (log_event.cc's is_numeric_type).
func (col *Column) isNumeric() bool {
	switch col.Type {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLongLong,
		mysql.TypeNewDecimal, mysql.TypeFloat, mysql.TypeDouble:
		return true
	}
	return false
}

// isCharacter reports whether MySQL lists the column's collation in the
// DEFAULT_CHARSET/COLUMN_CHARSET optional metadata: string and blob
// columns, binary ones included (collation 63), but not ENUM, SET, JSON
// or GEOMETRY.
func (col *Column) isCharacter() bool {
	switch col.RealType {
	case mysql.TypeString, mysql.TypeVarString, mysql.TypeVarchar, mysql.TypeBlob:
		return true
	}
	return false
}

func (col *Column) isEnumOrSet() bool {
	return col.RealType == mysql.TypeEnum || col.RealType == mysql.TypeSet
}

// TableMap returns the table as vitess's TableMap, without optional
// metadata: vitess's event builder encodes only part of what MySQL writes
// there (see TableMapEvent, which appends MySQL's full optional metadata).
// Flags is TM_BIT_LEN_EXACT_F, as MySQL always sets it.
func (t *Table) TableMap() *mysql.TableMap {
	tm := &mysql.TableMap{
		Flags:     1,
		Database:  t.Database,
		Name:      t.Name,
		Types:     make([]byte, len(t.Columns)),
		CanBeNull: mysql.NewServerBitmap(len(t.Columns)),
		Metadata:  make([]uint16, len(t.Columns)),
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		tm.Types[i] = c.Type
		tm.Metadata[i] = c.Meta
		tm.CanBeNull.Set(i, c.Nullable)
	}
	return tm
}

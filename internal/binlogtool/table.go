package binlogtool

import (
	"fmt"
	"strconv"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// column is one column of a TABLE_MAP event, with what printing its values needs.
type column struct {
	index    int
	name     string // "" when the event carries no column names
	typ      byte   // TABLE_MAP type byte
	realType byte   // ENUM or SET for STRING columns that are
	meta     uint16
	// values are the ENUM or SET members, nil when the event does not list them (values are
	// then printed as indexes and bitmaps, which MySQL accepts too).
	values []string
	// rawText marks character columns whose charset this tool cannot convert: their bytes are
	// printed in hex for the server to read in the column's own charset.
	rawText bool
}

// label names the column for messages and -v output: its name, or @N as mysqlbinlog does.
func (c *column) label() string {
	if c.name != "" {
		return quoteIdent(c.name)
	}
	return "@" + strconv.Itoa(c.index+1)
}

// table is a decoded TABLE_MAP event.
type table struct {
	id       uint64
	db, name string
	cols     []column
	// named is set when every column has a name: only then can rows become SQL.
	named bool
	// pk holds the primary key ordinals, when the event lists them (binlog_row_metadata=FULL).
	pk  []int
	dec *rowenc.Decoder
}

func (t *table) qualified() string { return quoteIdent(t.db) + "." + quoteIdent(t.name) }

// vitessEvent wraps ev for rowenc's parsers, which want events without the checksum trailer.
func vitessEvent(f binlog.Format, ev binlog.Event) mysql.BinlogEvent {
	if f.Checksum == binlog.ChecksumCRC32 && len(ev) >= binlog.HeaderLen+binlog.ChecksumLen {
		ev = ev[:len(ev)-binlog.ChecksumLen]
	}
	return mysql.NewMysql56BinlogEvent([]byte(ev))
}

// newTable decodes a TABLE_MAP event and prepares a row decoder for it. The decoder needs a
// GMS schema; it is rebuilt from the event's column types and optional metadata, so that values
// come back exactly as the source stored them.
func newTable(f binlog.Format, ev binlog.Event) (*table, error) {
	id, tm, opt, err := rowenc.ParseTableMapEvent(f.Vitess(), vitessEvent(f, ev))
	if err != nil {
		return nil, err
	}
	t := &table{id: id, db: tm.Database, name: tm.Name, cols: make([]column, len(tm.Types))}
	t.named = len(opt.ColumnNames) == len(tm.Types) && len(tm.Types) > 0
	t.pk = opt.PrimaryKey
	sch := make(sql.Schema, len(tm.Types))
	for i, typ := range tm.Types {
		c := &t.cols[i]
		*c = column{index: i, typ: typ, realType: typ, meta: tm.Metadata[i]}
		if t.named {
			c.name = opt.ColumnNames[i]
			if c.name == "" {
				t.named = false
			}
		}
		st, err := c.sqlType(opt)
		if err != nil {
			return nil, fmt.Errorf("table %s, column %s: %w", t.qualified(), c.label(), err)
		}
		label := c.name
		if label == "" {
			label = c.label()
		}
		sch[i] = &sql.Column{Name: label, Type: st, Nullable: tm.CanBeNull.Bit(i), Source: tm.Name}
	}
	if t.dec, err = rowenc.NewDecoder(tm, sch); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.qualified(), err)
	}
	return t, nil
}

// sqlType picks the GMS type whose binlog form is the column's, so that rowenc decodes the
// column's values as the source wrote them.
func (c *column) sqlType(opt *rowenc.OptionalMetadataFields) (sql.Type, error) {
	unsigned := c.index < len(opt.Unsigned) && opt.Unsigned[c.index]
	pick := func(signed, unsig sql.Type) sql.Type {
		if unsigned {
			return unsig
		}
		return signed
	}
	meta := c.meta
	switch c.typ {
	case mysql.TypeTiny:
		return pick(types.Int8, types.Uint8), nil
	case mysql.TypeShort:
		return pick(types.Int16, types.Uint16), nil
	case mysql.TypeInt24:
		return pick(types.Int24, types.Uint24), nil
	case mysql.TypeLong:
		return pick(types.Int32, types.Uint32), nil
	case mysql.TypeLongLong:
		return pick(types.Int64, types.Uint64), nil
	case mysql.TypeFloat:
		return types.Float32, nil
	case mysql.TypeDouble:
		return types.Float64, nil
	case mysql.TypeNewDecimal:
		p, s := meta>>8, meta&0xff
		if p < 1 || p > 65 || s > 30 || s > p {
			return nil, fmt.Errorf("DECIMAL(%d,%d) out of range", p, s)
		}
		return asType(types.CreateColumnDecimalType(uint8(p), uint8(s)))
	case mysql.TypeDate:
		return types.Date, nil
	case mysql.TypeDateTime2, mysql.TypeTimestamp2:
		if meta > 6 {
			return nil, fmt.Errorf("fractional seconds precision %d", meta)
		}
		base := sqltypes.Datetime
		if c.typ == mysql.TypeTimestamp2 {
			base = sqltypes.Timestamp
		}
		return asType(types.CreateDatetimeType(base, int(meta)))
	case mysql.TypeTime2:
		return types.Time, nil // widths come from the event's metadata, not the local type
	case mysql.TypeYear:
		return types.Year, nil
	case mysql.TypeBit:
		n := int(meta>>8)*8 + int(meta&0xff)
		if n < 1 || n > 64 || meta&0xff > 7 {
			return nil, fmt.Errorf("BIT metadata %#x", meta)
		}
		return asType(types.CreateBitType(uint8(n)))
	case mysql.TypeJSON:
		return types.JSON, nil
	case mysql.TypeGeometry:
		return types.GeometryType{}, nil
	case mysql.TypeString:
		switch rt := rowenc.StringRealType(meta); rt {
		case mysql.TypeEnum, mysql.TypeSet:
			return c.enumOrSet(rt, opt)
		case mysql.TypeString:
			// An unknown charset decodes byte for byte and prints in hex (rawText).
			coll := c.collation(opt)
			if coll == sql.Collation_binary {
				// Decoded values are zero-padded to the local length: it must be the source's.
				return asType(types.CreateString(sqltypes.Binary, int64(rowenc.StringMaxLen(meta)), coll))
			}
			return asType(types.CreateString(sqltypes.Char, int64(rowenc.StringMaxLen(meta))/coll.CharacterSet().MaxLength(), coll))
		default:
			return nil, fmt.Errorf("STRING column of real type %d", rt)
		}
	case mysql.TypeVarchar:
		coll := c.collation(opt)
		if coll == sql.Collation_binary {
			return asType(types.CreateString(sqltypes.VarBinary, int64(meta), coll))
		}
		return asType(types.CreateString(sqltypes.VarChar, int64(meta)/coll.CharacterSet().MaxLength(), coll))
	case mysql.TypeBlob:
		coll := c.collation(opt)
		if coll == sql.Collation_binary {
			return types.LongBlob, nil // the length prefix width comes from the event
		}
		return types.CreateLongText(coll), nil
	}
	return nil, fmt.Errorf("column type %d is not one MySQL 8 writes in row events", c.typ)
}

// collation returns the column's collation when this tool can convert its charset to UTF-8.
// Otherwise (no charset metadata, or a charset GMS cannot convert) it marks the column rawText
// and returns utf8mb4, whose decoding leaves the bytes as they are.
func (c *column) collation(opt *rowenc.OptionalMetadataFields) sql.CollationID {
	if c.index < len(opt.Collations) {
		if id := opt.Collations[c.index]; id == sql.Collation_binary || usableCollation(id) {
			return id
		}
	}
	c.rawText = true
	return sql.Collation_utf8mb4_0900_bin
}

// usableCollation reports whether GMS knows the collation id and can convert its charset.
// (CollationID's methods index a fixed array: unknown ids must not reach them.)
func usableCollation(id sql.CollationID) bool {
	it := sql.NewCollationsIterator()
	for {
		c, ok := it.Next()
		if !ok {
			return false
		}
		if c.ID == id {
			return id.CharacterSet().Encoder() != nil && id.Sorter() != nil && id.CharacterSet().MaxLength() > 0
		}
	}
}

// enumOrSet builds an ENUM or SET type. When the event does not list the members, placeholder
// members are made up (as many as the value width allows) so that every stored index decodes;
// c.values stays nil and values print as numbers.
func (c *column) enumOrSet(rt byte, opt *rowenc.OptionalMetadataFields) (sql.Type, error) {
	c.realType = rt
	coll := sql.Collation_utf8mb4_0900_ai_ci
	if c.index < len(opt.EnumSetCollations) && usableCollation(opt.EnumSetCollations[c.index]) {
		coll = opt.EnumSetCollations[c.index]
	}
	var listed [][]string
	if rt == mysql.TypeEnum {
		listed = opt.EnumValues
	} else {
		listed = opt.SetValues
	}
	if c.index < len(listed) && len(listed[c.index]) > 0 {
		c.values = listed[c.index]
		if rt == mysql.TypeEnum {
			return asType(types.CreateEnumType(c.values, coll))
		}
		return asType(types.CreateSetType(c.values, coll))
	}
	n := 64
	if rt == mysql.TypeEnum {
		n = 255
		if c.meta&0xff > 1 {
			n = types.EnumTypeMaxElements
		}
	}
	placeholders := make([]string, n)
	for i := range placeholders {
		placeholders[i] = strconv.Itoa(i + 1)
	}
	if rt == mysql.TypeEnum {
		return asType(types.CreateEnumType(placeholders, coll))
	}
	return asType(types.CreateSetType(placeholders, coll))
}

// asType turns a typed constructor's result into a plain sql.Type.
func asType[T sql.Type](t T, err error) (sql.Type, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}

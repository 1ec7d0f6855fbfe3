package rowenc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// Decoder turns row images of one TABLE_MAP back into GMS rows of a local
// table. The widths of the values come from the event's column types and
// metadata (the source's table definition, as a MySQL replica reads them);
// the Go types of the results and the signedness of integers come from
// the local schema. Values are not range-checked against the local
// columns (a VARCHAR(20) value decoded for a local VARCHAR(10) keeps its
// 20 characters); converting is the caller's business.
type Decoder struct {
	local *Table
	types []byte
	meta  []uint16
}

// NewDecoder checks that every column of tm has the binlog type the
// local column sch would have (so that a value can be read as the local
// type) and returns a decoder for its row images. A mismatch is MySQL's
// ER_SLAVE_CONVERSION_FAILED situation and is reported as an error naming
// the column.
func NewDecoder(tm *mysql.TableMap, sch sql.Schema) (*Decoder, error) {
	if len(tm.Types) != len(sch) || len(tm.Metadata) != len(sch) {
		return nil, fmt.Errorf("rowenc: table map of %d columns for a table of %d", len(tm.Types), len(sch))
	}
	local, err := NewTable(tm.Database, tm.Name, sql.NewPrimaryKeySchema(sch))
	if err != nil {
		return nil, err
	}
	// Copies: vitess's parsed TableMap shares its Types with the event's
	// buffer, which the caller may reuse.
	d := &Decoder{local: local, types: append([]byte(nil), tm.Types...), meta: append([]uint16(nil), tm.Metadata...)}
	for i := range local.Columns {
		c := &local.Columns[i]
		if err := checkSource(c, tm.Types[i], tm.Metadata[i]); err != nil {
			return nil, fmt.Errorf("rowenc: column %d (%q) of %s.%s: %w", i, c.Name, tm.Database, tm.Name, err)
		}
	}
	return d, nil
}

// checkSource reports whether a value written for a column of binlog type
// typ and metadata meta can be read as the local column c.
func checkSource(c *Column, typ byte, meta uint16) error {
	if typ != c.Type {
		return fmt.Errorf("binlog type %d cannot be read as %s (binlog type %d)", typ, c.SQLType, c.Type)
	}
	switch typ {
	case mysql.TypeString:
		if rt := StringRealType(meta); rt != c.RealType {
			return fmt.Errorf("binlog real type %d cannot be read as %s", rt, c.SQLType)
		}
		if c.RealType == mysql.TypeEnum || c.RealType == mysql.TypeSet {
			if n := meta & 0xff; n != 1 && n != 2 && n != 3 && n != 4 && n != 8 {
				return fmt.Errorf("ENUM/SET of %d bytes", n)
			}
		}
	case mysql.TypeBlob, mysql.TypeJSON, mysql.TypeGeometry:
		if meta < 1 || meta > 4 {
			return fmt.Errorf("length prefix of %d bytes", meta)
		}
	case mysql.TypeNewDecimal:
		p, s := int(meta>>8), int(meta&0xff)
		if p < 1 || p > 65 || s > 30 || s > p {
			return fmt.Errorf("DECIMAL(%d,%d)", p, s)
		}
	case mysql.TypeDateTime2, mysql.TypeTimestamp2, mysql.TypeTime2:
		if meta > 6 {
			return fmt.Errorf("fractional seconds precision %d", meta)
		}
	case mysql.TypeBit:
		if n := int(meta>>8)*8 + int(meta&0xff); n < 1 || n > 64 || meta&0xff > 7 {
			return fmt.Errorf("BIT metadata %#x", meta)
		}
	}
	return nil
}

// StringRealType recovers the real type from STRING metadata (MySQL folds
// bits 8-9 of a CHAR's byte length into the type byte).
func StringRealType(meta uint16) byte {
	b0 := byte(meta >> 8)
	if b0&0x30 != 0x30 {
		return b0 | 0x30
	}
	return b0
}

// StringMaxLen is the maximum byte length of a CHAR from STRING metadata.
func StringMaxLen(meta uint16) int {
	b0 := byte(meta >> 8)
	if b0&0x30 != 0x30 {
		return int(meta&0xff) | int((b0&0x30)^0x30)<<4
	}
	return int(meta & 0xff)
}

// DecodeImage decodes one row image at the start of image (a NULL bitmap
// for the columns present in cols, then their values, as AppendImage
// writes it) and returns a row of the local table's width, with nil for
// NULL and for absent columns, and the number of bytes read. Corrupt or
// truncated input yields an error wrapping ErrCorrupt, never a panic.
func (d *Decoder) DecodeImage(image []byte, cols mysql.Bitmap) (sql.Row, int, error) {
	if cols.Count() != len(d.types) {
		return nil, 0, fmt.Errorf("rowenc: column bitmap of %d bits for %d columns", cols.Count(), len(d.types))
	}
	present := cols.BitCount()
	nb := (present + 7) / 8
	if len(image) < nb {
		return nil, 0, errTruncated
	}
	nulls := image[:nb]
	row, n, err := d.decode(image[nb:], cols, func(k int) bool { return nulls[k/8]&(1<<(k%8)) != 0 })
	return row, nb + n, err
}

// DecodeValues decodes an image held the way vitess's mysql.Row holds one
// (Rows.DataColumns or IdentifyColumns as cols, Row.NullColumns or
// NullIdentifyColumns as nulls, Row.Data or Identify as data). All of data
// must be consumed.
func (d *Decoder) DecodeValues(cols, nulls mysql.Bitmap, data []byte) (sql.Row, error) {
	if cols.Count() != len(d.types) {
		return nil, fmt.Errorf("rowenc: column bitmap of %d bits for %d columns", cols.Count(), len(d.types))
	}
	if nulls.Count() != cols.BitCount() {
		return nil, fmt.Errorf("rowenc: NULL bitmap of %d bits for %d present columns", nulls.Count(), cols.BitCount())
	}
	row, n, err := d.decode(data, cols, nulls.Bit)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the row image", ErrCorrupt, len(data)-n)
	}
	return row, nil
}

func (d *Decoder) decode(data []byte, cols mysql.Bitmap, isNull func(int) bool) (sql.Row, int, error) {
	row := make(sql.Row, len(d.types))
	pos, k := 0, 0
	for i := range d.types {
		if !cols.Bit(i) {
			continue
		}
		null := isNull(k)
		k++
		if null {
			continue
		}
		v, n, err := d.value(i, data[pos:])
		if err != nil {
			return nil, 0, fmt.Errorf("rowenc: %s.%s column %q: %w", d.local.Database, d.local.Name, d.local.Columns[i].Name, err)
		}
		row[i] = v
		pos += n
	}
	return row, pos, nil
}

// value decodes column i's value at the start of b and returns it with
// its length in bytes.
func (d *Decoder) value(i int, b []byte) (any, int, error) {
	c := &d.local.Columns[i]
	meta := d.meta[i]
	need := func(n int) error {
		if n < 0 || len(b) < n {
			return errTruncated
		}
		return nil
	}
	le := func(n int) uint64 {
		var x uint64
		for j := n - 1; j >= 0; j-- {
			x = x<<8 | uint64(b[j])
		}
		return x
	}
	switch d.types[i] {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLongLong:
		w := intWidth(d.types[i])
		if err := need(w); err != nil {
			return nil, 0, err
		}
		return intValue(c.SQLType.Type(), le(w), w), w, nil
	case mysql.TypeFloat:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), 4, nil
	case mysql.TypeDouble:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), 8, nil
	case mysql.TypeNewDecimal:
		p, s := int(meta>>8), int(meta&0xff)
		v, err := decodeDecimal(b, p, s)
		if err != nil {
			return nil, 0, err
		}
		return v, decimalSize(p, s), nil
	case mysql.TypeDate:
		v, err := decodeDate(b)
		return v, 3, err
	case mysql.TypeDateTime2:
		v, err := decodeDatetime2(b, int(meta))
		return v, 5 + fracLen(int(meta)), err
	case mysql.TypeTimestamp2:
		v, err := decodeTimestamp2(b, int(meta))
		return v, 4 + fracLen(int(meta)), err
	case mysql.TypeTime2:
		v, err := decodeTime2(b, int(meta))
		return v, 3 + fracLen(int(meta)), err
	case mysql.TypeYear:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		if b[0] == 0 {
			return int16(0), 1, nil
		}
		return int16(1900 + int(b[0])), 1, nil
	case mysql.TypeBit:
		n := (int(meta>>8)*8 + int(meta&0xff) + 7) / 8
		if err := need(n); err != nil {
			return nil, 0, err
		}
		var x uint64
		for j := 0; j < n; j++ {
			x = x<<8 | uint64(b[j])
		}
		if nb := int(meta>>8)*8 + int(meta&0xff); nb < 64 && x>>nb != 0 {
			return nil, 0, fmt.Errorf("%w: value %#x wider than BIT(%d)", ErrCorrupt, x, nb)
		}
		return x, n, nil
	case mysql.TypeString:
		switch StringRealType(meta) {
		case mysql.TypeEnum:
			n := int(meta & 0xff)
			if err := need(n); err != nil {
				return nil, 0, err
			}
			x := le(n)
			if x > uint64(len(c.Values)) {
				return nil, 0, fmt.Errorf("%w: ENUM index %d of %d elements", ErrCorrupt, x, len(c.Values))
			}
			return uint16(x), n, nil
		case mysql.TypeSet:
			n := int(meta & 0xff)
			if err := need(n); err != nil {
				return nil, 0, err
			}
			x := le(n)
			if m := len(c.Values); m < 64 && x>>m != 0 {
				return nil, 0, fmt.Errorf("%w: SET bits %#x beyond %d elements", ErrCorrupt, x, m)
			}
			return x, n, nil
		}
		maxLen := StringMaxLen(meta)
		lw := 1
		if maxLen > 255 {
			lw = 2
		}
		if err := need(lw); err != nil {
			return nil, 0, err
		}
		l := int(le(lw))
		if l > maxLen {
			return nil, 0, fmt.Errorf("%w: CHAR value of %d bytes, column holds %d", ErrCorrupt, l, maxLen)
		}
		if err := need(lw + l); err != nil {
			return nil, 0, err
		}
		raw := b[lw : lw+l]
		if c.binary {
			// MySQL pads BINARY(n) values back to n bytes with zeros.
			out := make([]byte, max(l, c.maxBytes))
			copy(out, raw)
			return out, lw + l, nil
		}
		s, err := decodeCharset(c.Collation, raw)
		return s, lw + l, err
	case mysql.TypeVarchar:
		lw := 1
		if meta > 255 {
			lw = 2
		}
		if err := need(lw); err != nil {
			return nil, 0, err
		}
		l := int(le(lw))
		if l > int(meta) {
			return nil, 0, fmt.Errorf("%w: VARCHAR value of %d bytes, column holds %d", ErrCorrupt, l, meta)
		}
		if err := need(lw + l); err != nil {
			return nil, 0, err
		}
		return d.stringValue(c, b[lw:lw+l], lw+l)
	case mysql.TypeBlob, mysql.TypeJSON, mysql.TypeGeometry:
		lw := int(meta)
		if err := need(lw); err != nil {
			return nil, 0, err
		}
		l64 := le(lw)
		if l64 > uint64(len(b)-lw) {
			return nil, 0, errTruncated
		}
		l := int(l64)
		raw := b[lw : lw+l]
		switch d.types[i] {
		case mysql.TypeJSON:
			doc, err := DecodeJSON(raw)
			if err != nil {
				return nil, 0, err
			}
			return types.JSONDocument{Val: doc}, lw + l, nil
		case mysql.TypeGeometry:
			g, err := decodeGeometry(raw)
			if err != nil {
				return nil, 0, err
			}
			return g, lw + l, nil
		}
		return d.stringValue(c, raw, lw+l)
	}
	return nil, 0, fmt.Errorf("%w: column type %d", ErrCorrupt, d.types[i])
}

func (d *Decoder) stringValue(c *Column, raw []byte, n int) (any, int, error) {
	if c.binary {
		return append([]byte{}, raw...), n, nil
	}
	s, err := decodeCharset(c.Collation, raw)
	if err != nil {
		return nil, 0, err
	}
	return s, n, nil
}

func intWidth(typ byte) int {
	switch typ {
	case mysql.TypeTiny:
		return 1
	case mysql.TypeShort:
		return 2
	case mysql.TypeInt24:
		return 3
	case mysql.TypeLong:
		return 4
	}
	return 8
}

// intValue turns the w-byte little-endian bits x into the Go type GMS
// uses for the local integer type qt, sign-extending signed types.
func intValue(qt querypb.Type, x uint64, w int) any {
	if !sqltypes.IsUnsigned(qt) && w < 8 && x&(1<<(8*w-1)) != 0 {
		x |= ^uint64(0) << (8 * w)
	}
	switch qt {
	case sqltypes.Int8:
		return int8(x)
	case sqltypes.Uint8:
		return uint8(x)
	case sqltypes.Int16:
		return int16(x)
	case sqltypes.Uint16:
		return uint16(x)
	case sqltypes.Int24, sqltypes.Int32:
		return int32(x)
	case sqltypes.Uint24, sqltypes.Uint32:
		return uint32(x)
	case sqltypes.Uint64:
		return x
	}
	return int64(x)
}

package rowenc

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/dolthub/go-mysql-server/sql"
)

// RowMetadata is binlog_row_metadata: how much optional metadata a
// TABLE_MAP event carries.
type RowMetadata int

const (
	// MetadataMinimal (MySQL's default) writes signedness, column
	// character sets and geometry types.
	MetadataMinimal RowMetadata = iota
	// MetadataFull adds column names, ENUM/SET character sets and
	// values, the primary key and column visibility.
	MetadataFull
)

// Optional metadata field types (libbinlogevents'
// Table_map_event::Optional_metadata_field_type).
const (
	optSignedness               = 1
	optDefaultCharset           = 2
	optColumnCharset            = 3
	optColumnName               = 4
	optSetStrValue              = 5
	optEnumStrValue             = 6
	optGeometryType             = 7
	optSimplePrimaryKey         = 8
	optPrimaryKeyWithPrefix     = 9
	optEnumAndSetDefaultCharset = 10
	optEnumAndSetColumnCharset  = 11
	optColumnVisibility         = 12
)

// OptionalMetadata appends to dst the optional metadata MySQL 8 writes at
// the end of a TABLE_MAP event for this table (Table_map_log_event::
// init_metadata_fields), fields in MySQL's order:
//
//	always: SIGNEDNESS, DEFAULT_CHARSET or COLUMN_CHARSET, GEOMETRY_TYPE
//	FULL:   COLUMN_NAME, ENUM_AND_SET_DEFAULT_CHARSET or _COLUMN_CHARSET,
//	        SET_STR_VALUE, ENUM_STR_VALUE, SIMPLE_PRIMARY_KEY or
//	        PRIMARY_KEY_WITH_PREFIX, COLUMN_VISIBILITY
//
// Each field is a type byte, a length-encoded length and the payload; a
// field with nothing to say (no numeric column, no primary key, ...) is
// left out, as MySQL leaves it out.
func (t *Table) OptionalMetadata(dst []byte, mode RowMetadata) ([]byte, error) {
	cols := t.Columns

	// SIGNEDNESS: one bit per numeric column, most significant bit first,
	// set for UNSIGNED.
	var bits []bool
	for i := range cols {
		if cols[i].isNumeric() {
			bits = append(bits, cols[i].Unsigned)
		}
	}
	if len(bits) > 0 {
		dst = appendField(dst, optSignedness, msbBitmap(bits))
	}

	dst = appendCharsetField(dst, cols, (*Column).isCharacter, optDefaultCharset, optColumnCharset)

	var geo []byte
	for i := range cols {
		if cols[i].RealType == 0xff { // MYSQL_TYPE_GEOMETRY
			geo = appendLenEnc(geo, uint64(cols[i].GeometryType))
		}
	}
	if len(geo) > 0 {
		dst = appendField(dst, optGeometryType, geo)
	}

	if mode != MetadataFull {
		return dst, nil
	}

	var names []byte
	for i := range cols {
		names = appendLenEnc(names, uint64(len(cols[i].Name)))
		names = append(names, cols[i].Name...)
	}
	if len(cols) > 0 {
		dst = appendField(dst, optColumnName, names)
	}

	dst = appendCharsetField(dst, cols, (*Column).isEnumOrSet, optEnumAndSetDefaultCharset, optEnumAndSetColumnCharset)

	for _, want := range []struct {
		realType byte
		field    byte
	}{{0xf8, optSetStrValue}, {0xf7, optEnumStrValue}} {
		var payload []byte
		found := false
		for i := range cols {
			c := &cols[i]
			if c.RealType != want.realType {
				continue
			}
			found = true
			payload = appendLenEnc(payload, uint64(len(c.Values)))
			for _, v := range c.Values {
				// The element strings are stored in the column's
				// character set, as MySQL keeps them.
				b, err := encodeCharset(c.Collation, v)
				if err != nil {
					return dst, fmt.Errorf("rowenc: column %q value %q: %w", c.Name, v, err)
				}
				payload = appendLenEnc(payload, uint64(len(b)))
				payload = append(payload, b...)
			}
		}
		if found {
			dst = appendField(dst, want.field, payload)
		}
	}

	if len(t.PrimaryKey) > 0 {
		if t.PrimaryKeyPrefixes != nil && len(t.PrimaryKeyPrefixes) != len(t.PrimaryKey) {
			return dst, fmt.Errorf("rowenc: %d primary key prefixes for %d key columns", len(t.PrimaryKeyPrefixes), len(t.PrimaryKey))
		}
		prefixed := slices.ContainsFunc(t.PrimaryKeyPrefixes, func(p int) bool { return p != 0 })
		var pk []byte
		for i, o := range t.PrimaryKey {
			pk = appendLenEnc(pk, uint64(o))
			if prefixed {
				pk = appendLenEnc(pk, uint64(t.PrimaryKeyPrefixes[i]))
			}
		}
		if prefixed {
			dst = appendField(dst, optPrimaryKeyWithPrefix, pk)
		} else {
			dst = appendField(dst, optSimplePrimaryKey, pk)
		}
	}

	if len(cols) > 0 {
		vis := make([]bool, len(cols))
		for i := range cols {
			vis[i] = !cols[i].Hidden
		}
		dst = appendField(dst, optColumnVisibility, msbBitmap(vis))
	}
	return dst, nil
}

// appendCharsetField writes the collations of the columns selected by
// include the way Table_map_log_event::init_charset_field does: as
// DEFAULT_CHARSET (the most used collation, then index/collation pairs for
// the others, the index counting only selected columns) when that is
// estimated shorter, else as COLUMN_CHARSET (every selected column's
// collation in turn). The estimate assumes one byte per number, and ties
// in "most used" go to the lowest collation id, both as in MySQL.
func appendCharsetField(dst []byte, cols []Column, include func(*Column) bool, defaultField, columnField byte) []byte {
	counts := map[sql.CollationID]int{}
	n := 0
	for i := range cols {
		if include(&cols[i]) {
			counts[cols[i].Collation]++
			n++
		}
	}
	if n == 0 {
		return dst
	}
	var most sql.CollationID
	mostCount := 0
	ids := make([]sql.CollationID, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if counts[id] > mostCount {
			most, mostCount = id, counts[id]
		}
	}
	var payload []byte
	if n < 1+(n-mostCount)*2 {
		for i := range cols {
			if include(&cols[i]) {
				payload = appendLenEnc(payload, uint64(cols[i].Collation))
			}
		}
		return appendField(dst, columnField, payload)
	}
	payload = appendLenEnc(payload, uint64(most))
	idx := 0
	for i := range cols {
		if !include(&cols[i]) {
			continue
		}
		if cols[i].Collation != most {
			payload = appendLenEnc(payload, uint64(idx))
			payload = appendLenEnc(payload, uint64(cols[i].Collation))
		}
		idx++
	}
	return appendField(dst, defaultField, payload)
}

func appendField(dst []byte, typ byte, payload []byte) []byte {
	dst = append(dst, typ)
	dst = appendLenEnc(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// msbBitmap packs bits eight to a byte, the first bit in the most
// significant position (the order of SIGNEDNESS and COLUMN_VISIBILITY).
func msbBitmap(bits []bool) []byte {
	out := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		if b {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// appendLenEnc appends x as a MySQL length-encoded integer
// (net_store_length).
func appendLenEnc(dst []byte, x uint64) []byte {
	switch {
	case x < 251:
		return append(dst, byte(x))
	case x < 1<<16:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfc), uint16(x))
	case x < 1<<24:
		return append(dst, 0xfd, byte(x), byte(x>>8), byte(x>>16))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xfe), x)
}

// readLenEnc reads a length-encoded integer at b[pos:].
func readLenEnc(b []byte, pos int) (uint64, int, error) {
	if pos >= len(b) {
		return 0, pos, errTruncated
	}
	switch c := b[pos]; {
	case c < 251:
		return uint64(c), pos + 1, nil
	case c == 0xfc:
		if pos+3 > len(b) {
			return 0, pos, errTruncated
		}
		return uint64(binary.LittleEndian.Uint16(b[pos+1:])), pos + 3, nil
	case c == 0xfd:
		if pos+4 > len(b) {
			return 0, pos, errTruncated
		}
		return uint64(b[pos+1]) | uint64(b[pos+2])<<8 | uint64(b[pos+3])<<16, pos + 4, nil
	case c == 0xfe:
		if pos+9 > len(b) {
			return 0, pos, errTruncated
		}
		return binary.LittleEndian.Uint64(b[pos+1:]), pos + 9, nil
	}
	return 0, pos, fmt.Errorf("%w: bad length-encoded integer prefix 0x%02x", ErrCorrupt, b[pos])
}

// OptionalMetadataFields is the optional metadata of a TABLE_MAP event,
// decoded against its column types. Slices indexed by column have one
// entry per column of the table; fields the event does not carry are nil.
type OptionalMetadataFields struct {
	// Unsigned is per column; false for non-numeric columns.
	Unsigned []bool
	// Collations is per column; 0 for columns that have none.
	Collations []sql.CollationID
	// EnumSetCollations is per column; 0 for non-ENUM/SET columns.
	EnumSetCollations []sql.CollationID
	// GeometryTypes is per column; 0 (GEOMETRY) for non-spatial columns.
	GeometryTypes []uint8
	ColumnNames   []string
	// EnumValues and SetValues are per column; nil for other columns.
	EnumValues [][]string
	SetValues  [][]string
	// PrimaryKey has the key column ordinals in key order and
	// PrimaryKeyPrefixes the prefix lengths (0 for whole columns).
	PrimaryKey         []int
	PrimaryKeyPrefixes []int
	// Visible is per column.
	Visible []bool
}

// ParseOptionalMetadata decodes the optional metadata b of a TABLE_MAP
// event whose column types and metadata are types and meta (as vitess's
// TableMap holds them). Unknown field types are skipped, as MySQL skips
// them. Corrupt input yields an error wrapping ErrCorrupt.
func ParseOptionalMetadata(types []byte, meta []uint16, b []byte) (*OptionalMetadataFields, error) {
	if len(meta) != len(types) {
		return nil, fmt.Errorf("rowenc: %d column types but %d metadata", len(types), len(meta))
	}
	n := len(types)
	realType := func(i int) byte {
		if types[i] == 0xfe { // STRING: ENUM and SET hide in the metadata
			if rt := byte(meta[i] >> 8); rt == 0xf7 || rt == 0xf8 {
				return rt
			}
		}
		return types[i]
	}
	var numeric, character, enumSet, geometry, enums, sets []int
	for i := range types {
		switch rt := realType(i); rt {
		case 1, 2, 9, 3, 8, 246, 4, 5:
			numeric = append(numeric, i)
		case 0xfe, 0xfd, 15, 0xfc:
			character = append(character, i)
		case 0xf7:
			enumSet = append(enumSet, i)
			enums = append(enums, i)
		case 0xf8:
			enumSet = append(enumSet, i)
			sets = append(sets, i)
		case 0xff:
			geometry = append(geometry, i)
		}
	}
	m := &OptionalMetadataFields{}
	pos := 0
	for pos < len(b) {
		typ := b[pos]
		l, p, err := readLenEnc(b, pos+1)
		if err != nil {
			return nil, err
		}
		if l > uint64(len(b)-p) {
			return nil, fmt.Errorf("%w: optional metadata field %d of %d bytes overruns the event", ErrCorrupt, typ, l)
		}
		v := b[p : p+int(l)]
		pos = p + int(l)
		switch typ {
		case optSignedness:
			if len(v) < (len(numeric)+7)/8 {
				return nil, fmt.Errorf("%w: SIGNEDNESS too short", ErrCorrupt)
			}
			m.Unsigned = make([]bool, n)
			for k, i := range numeric {
				m.Unsigned[i] = v[k/8]&(0x80>>(k%8)) != 0
			}
		case optDefaultCharset, optColumnCharset:
			m.Collations, err = parseCharsets(v, typ == optDefaultCharset, character, n)
		case optEnumAndSetDefaultCharset, optEnumAndSetColumnCharset:
			m.EnumSetCollations, err = parseCharsets(v, typ == optEnumAndSetDefaultCharset, enumSet, n)
		case optGeometryType:
			m.GeometryTypes = make([]uint8, n)
			q := 0
			for _, i := range geometry {
				var g uint64
				if g, q, err = readLenEnc(v, q); err != nil {
					return nil, err
				}
				m.GeometryTypes[i] = uint8(g)
			}
		case optColumnName:
			m.ColumnNames = make([]string, n)
			q := 0
			for i := 0; i < n; i++ {
				if m.ColumnNames[i], q, err = readLenEncString(v, q); err != nil {
					return nil, err
				}
			}
		case optSetStrValue, optEnumStrValue:
			which := sets
			if typ == optEnumStrValue {
				which = enums
			}
			vals := make([][]string, n)
			q := 0
			for _, i := range which {
				var cnt uint64
				if cnt, q, err = readLenEnc(v, q); err != nil {
					return nil, err
				}
				if cnt > uint64(len(v)-q) { // each value takes at least one byte
					return nil, fmt.Errorf("%w: %d ENUM/SET values overrun the field", ErrCorrupt, cnt)
				}
				vals[i] = make([]string, cnt)
				for k := range vals[i] {
					if vals[i][k], q, err = readLenEncString(v, q); err != nil {
						return nil, err
					}
				}
			}
			if typ == optEnumStrValue {
				m.EnumValues = vals
			} else {
				m.SetValues = vals
			}
		case optSimplePrimaryKey, optPrimaryKeyWithPrefix:
			m.PrimaryKey, m.PrimaryKeyPrefixes = nil, nil
			q := 0
			for q < len(v) {
				var o, pre uint64
				if o, q, err = readLenEnc(v, q); err != nil {
					return nil, err
				}
				if typ == optPrimaryKeyWithPrefix {
					if pre, q, err = readLenEnc(v, q); err != nil {
						return nil, err
					}
				}
				if o >= uint64(n) {
					return nil, fmt.Errorf("%w: primary key column %d of %d", ErrCorrupt, o, n)
				}
				m.PrimaryKey = append(m.PrimaryKey, int(o))
				m.PrimaryKeyPrefixes = append(m.PrimaryKeyPrefixes, int(pre))
			}
		case optColumnVisibility:
			if len(v) < (n+7)/8 {
				return nil, fmt.Errorf("%w: COLUMN_VISIBILITY too short", ErrCorrupt)
			}
			m.Visible = make([]bool, n)
			for i := range m.Visible {
				m.Visible[i] = v[i/8]&(0x80>>(i%8)) != 0
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseCharsets(v []byte, withDefault bool, cols []int, n int) ([]sql.CollationID, error) {
	out := make([]sql.CollationID, n)
	q := 0
	if !withDefault {
		for _, i := range cols {
			c, p, err := readLenEnc(v, q)
			if err != nil {
				return nil, err
			}
			out[i], q = sql.CollationID(c), p
		}
		return out, nil
	}
	def, q, err := readLenEnc(v, q)
	if err != nil {
		return nil, err
	}
	for _, i := range cols {
		out[i] = sql.CollationID(def)
	}
	for q < len(v) {
		var idx, c uint64
		if idx, q, err = readLenEnc(v, q); err != nil {
			return nil, err
		}
		if c, q, err = readLenEnc(v, q); err != nil {
			return nil, err
		}
		if idx >= uint64(len(cols)) {
			return nil, fmt.Errorf("%w: charset for character column %d of %d", ErrCorrupt, idx, len(cols))
		}
		out[cols[idx]] = sql.CollationID(c)
	}
	return out, nil
}

func readLenEncString(b []byte, pos int) (string, int, error) {
	l, p, err := readLenEnc(b, pos)
	if err != nil {
		return "", pos, err
	}
	if l > uint64(len(b)-p) {
		return "", pos, errTruncated
	}
	return string(b[p : p+int(l)]), p + int(l), nil
}

package rowenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/dolthub/vitess/go/mysql"
)

// ErrCorrupt is wrapped by every error about malformed input: a row image,
// a JSON or geometry value, a TABLE_MAP event or its optional metadata.
var ErrCorrupt = errors.New("rowenc: corrupt input")

var errTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)

const tableMapEventType = 19

// TableMapEvent builds the TABLE_MAP event for the table as MySQL 8 writes
// it: vitess's mysql.NewTableMapEvent writes the fixed part (it is right
// for that), and the optional metadata of OptionalMetadata(mode) is
// appended after the NULL bitmap, with the event length and the CRC32
// checksum (when f has one) fixed up. vitess's own optional metadata
// encoding is not used: it writes COLUMN_CHARSET for every column rather
// than the character columns, only when column names are given, orders
// ENUM before SET values, and lacks signedness, primary key, geometry and
// visibility.
//
// The header's log position is m.NextLogPosition as given; the event is
// len(ev.Bytes()) bytes long.
func (t *Table) TableMapEvent(f mysql.BinlogFormat, m mysql.BinlogEventMetadata, tableID uint64, mode RowMetadata) (mysql.BinlogEvent, error) {
	if tableID >= 1<<48 {
		return nil, fmt.Errorf("rowenc: table id %d does not fit in 6 bytes", tableID)
	}
	if int(f.HeaderLength) < 19 || len(f.HeaderSizes) < tableMapEventType || f.HeaderSize(tableMapEventType) != 8 {
		return nil, fmt.Errorf("rowenc: binlog format without 19-byte headers and 8-byte TABLE_MAP post-header")
	}
	opt, err := t.OptionalMetadata(nil, mode)
	if err != nil {
		return nil, err
	}
	ev, err := mysql.NewTableMapEvent(f, m, tableID, t.TableMap())
	if err != nil {
		return nil, fmt.Errorf("rowenc: table map for %s.%s: %w", t.Database, t.Name, err)
	}
	b := ev.Bytes()
	crc := f.ChecksumAlgorithm == mysql.BinlogChecksumAlgCRC32
	if crc {
		b = b[:len(b)-4]
	}
	out := make([]byte, 0, len(b)+len(opt)+4)
	out = append(append(out, b...), opt...)
	if crc {
		out = binary.LittleEndian.AppendUint32(out, 0)
	}
	binary.LittleEndian.PutUint32(out[9:13], uint32(len(out)))
	if crc {
		binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.ChecksumIEEE(out[:len(out)-4]))
	}
	return mysql.NewMysql56BinlogEvent(out), nil
}

// ParseTableMapEvent decodes a TABLE_MAP event, optional metadata
// included, checking every length against the event. It exists beside
// vitess's BinlogEvent.TableMap, which reads the column count and the
// metadata length as single bytes (so it misreads tables of more than 250
// columns or 250 bytes of metadata), has no bounds checks, and ignores the
// optional metadata. ev must not carry a checksum (see
// BinlogEvent.StripChecksum).
func ParseTableMapEvent(f mysql.BinlogFormat, ev mysql.BinlogEvent) (tableID uint64, tm *mysql.TableMap, opt *OptionalMetadataFields, err error) {
	b := ev.Bytes()
	if len(b) < int(f.HeaderLength) || f.HeaderLength < 19 || len(f.HeaderSizes) < tableMapEventType {
		return 0, nil, nil, errTruncated
	}
	if b[4] != tableMapEventType {
		return 0, nil, nil, fmt.Errorf("rowenc: event type %d is not TABLE_MAP", b[4])
	}
	d := b[f.HeaderLength:]
	pos := 6
	if f.HeaderSize(tableMapEventType) == 6 {
		pos = 4
	}
	if len(d) < pos+2 {
		return 0, nil, nil, errTruncated
	}
	for i := pos - 1; i >= 0; i-- {
		tableID = tableID<<8 | uint64(d[i])
	}
	tm = &mysql.TableMap{Flags: binary.LittleEndian.Uint16(d[pos:])}
	pos += 2
	name := func() (string, error) {
		if pos >= len(d) {
			return "", errTruncated
		}
		l := int(d[pos])
		if pos+1+l+1 > len(d) {
			return "", errTruncated
		}
		s := string(d[pos+1 : pos+1+l])
		pos += 1 + l + 1 // the name is also NUL-terminated
		return s, nil
	}
	if tm.Database, err = name(); err != nil {
		return 0, nil, nil, err
	}
	if tm.Name, err = name(); err != nil {
		return 0, nil, nil, err
	}
	ncols, pos, err := readLenEnc(d, pos)
	if err != nil {
		return 0, nil, nil, err
	}
	if ncols > uint64(len(d)-pos) {
		return 0, nil, nil, errTruncated
	}
	n := int(ncols)
	tm.Types = append([]byte(nil), d[pos:pos+n]...)
	pos += n
	mlen, pos, err := readLenEnc(d, pos)
	if err != nil {
		return 0, nil, nil, err
	}
	if mlen > uint64(len(d)-pos) {
		return 0, nil, nil, errTruncated
	}
	md := d[pos : pos+int(mlen)]
	pos += int(mlen)
	tm.Metadata = make([]uint16, n)
	q := 0
	for i, typ := range tm.Types {
		w, ok := metadataWidth(typ)
		if !ok {
			return 0, nil, nil, fmt.Errorf("%w: unknown column type %d", ErrCorrupt, typ)
		}
		if q+w > len(md) {
			return 0, nil, nil, fmt.Errorf("%w: column metadata shorter than the column types need", ErrCorrupt)
		}
		switch {
		case w == 1:
			tm.Metadata[i] = uint16(md[q])
		case w == 2 && (typ == mysql.TypeNewDecimal || typ == mysql.TypeString || typ == mysql.TypeVarString ||
			typ == mysql.TypeEnum || typ == mysql.TypeSet):
			// MySQL's read_field_metadata reads these two bytes big-endian
			// (vitess reads VAR_STRING's little-endian; MySQL 8 never writes it).
			tm.Metadata[i] = uint16(md[q])<<8 | uint16(md[q+1])
		case w == 2:
			tm.Metadata[i] = uint16(md[q]) | uint16(md[q+1])<<8
		}
		q += w
	}
	if q != len(md) {
		return 0, nil, nil, fmt.Errorf("%w: %d bytes of column metadata, types need %d", ErrCorrupt, len(md), q)
	}
	nb := (n + 7) / 8
	if pos+nb > len(d) {
		return 0, nil, nil, errTruncated
	}
	tm.CanBeNull = mysql.NewServerBitmap(n)
	for i := 0; i < n; i++ {
		tm.CanBeNull.Set(i, d[pos+i/8]&(1<<(i%8)) != 0)
	}
	pos += nb
	opt, err = ParseOptionalMetadata(tm.Types, tm.Metadata, d[pos:])
	if err != nil {
		return 0, nil, nil, err
	}
	return tableID, tm, opt, nil
}

// metadataWidth is the number of TABLE_MAP metadata bytes of a column type.
func metadataWidth(typ byte) (int, bool) {
	switch typ {
	case mysql.TypeDecimal, mysql.TypeTiny, mysql.TypeShort, mysql.TypeLong, mysql.TypeNull,
		mysql.TypeTimestamp, mysql.TypeLongLong, mysql.TypeInt24, mysql.TypeDate, mysql.TypeTime,
		mysql.TypeDateTime, mysql.TypeYear, mysql.TypeNewDate:
		return 0, true
	case mysql.TypeFloat, mysql.TypeDouble, mysql.TypeTimestamp2, mysql.TypeDateTime2, mysql.TypeTime2,
		mysql.TypeJSON, mysql.TypeTinyBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob, mysql.TypeBlob,
		mysql.TypeGeometry:
		return 1, true
	case mysql.TypeNewDecimal, mysql.TypeEnum, mysql.TypeSet, mysql.TypeString,
		mysql.TypeVarchar, mysql.TypeBit, mysql.TypeVarString:
		return 2, true
	}
	return 0, false
}

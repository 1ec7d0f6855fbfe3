package rowenc

import (
	"encoding/binary"
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// Row event types (Log_event_type): v1 as MariaDB and MySQL 5.5 write
// them, v2 as MySQL 5.6+ does.
const (
	writeRowsV1  = 23
	updateRowsV1 = 24
	deleteRowsV1 = 25
	writeRowsV2  = 30
	updateRowsV2 = 31
	deleteRowsV2 = 32
)

// RowsEvent is a decoded WRITE_ROWS, UPDATE_ROWS or DELETE_ROWS event.
type RowsEvent struct {
	TableID uint64
	// Flags are the event's flags (STMT_END_F is 1).
	Flags uint16
	// BeforeColumns are the columns of the before images (UPDATE and
	// DELETE), AfterColumns those of the after images (WRITE and
	// UPDATE); the other is a zero Bitmap.
	BeforeColumns, AfterColumns mysql.Bitmap
	// Rows holds one change per row: Before is nil for WRITE_ROWS, After
	// nil for DELETE_ROWS. Absent columns are nil, like NULL ones; the
	// bitmaps tell them apart.
	Rows []RowChange
}

// RowChange is one row of a rows event.
type RowChange struct {
	Before, After sql.Row
}

// ParseRowsEvent decodes a rows event (v1 or v2, without checksum: see
// BinlogEvent.StripChecksum) for the table of the decoder. It exists
// beside vitess's BinlogEvent.Rows, which reads the column count as one
// byte (tables of more than 250 columns are misread) and trusts lengths;
// here every length is checked and corrupt input yields an error wrapping
// ErrCorrupt.
func (d *Decoder) ParseRowsEvent(f mysql.BinlogFormat, ev mysql.BinlogEvent) (*RowsEvent, error) {
	b := ev.Bytes()
	if f.HeaderLength < 19 || len(b) < int(f.HeaderLength) {
		return nil, errTruncated
	}
	typ := b[4]
	var before, after bool
	switch typ {
	case writeRowsV1, writeRowsV2:
		after = true
	case updateRowsV1, updateRowsV2:
		before, after = true, true
	case deleteRowsV1, deleteRowsV2:
		before = true
	default:
		return nil, fmt.Errorf("rowenc: event type %d is not a rows event this decoder reads", typ)
	}
	if len(f.HeaderSizes) < int(typ) {
		return nil, fmt.Errorf("rowenc: binlog format knows no event type %d", typ)
	}
	post := int(f.HeaderSize(typ))
	data := b[f.HeaderLength:]
	idLen := 6
	if post == 6 {
		idLen = 4
	}
	if len(data) < post || post < idLen+2 {
		return nil, errTruncated
	}
	out := &RowsEvent{}
	for i := idLen - 1; i >= 0; i-- {
		out.TableID = out.TableID<<8 | uint64(data[i])
	}
	out.Flags = binary.LittleEndian.Uint16(data[idLen:])
	pos := post
	if typ >= writeRowsV2 && post >= idLen+4 {
		// The v2 extra data length counts its own two bytes.
		extra := int(binary.LittleEndian.Uint16(data[idLen+2:]))
		if extra < 2 || pos+extra-2 > len(data) {
			return nil, fmt.Errorf("%w: rows event extra data of %d bytes", ErrCorrupt, extra)
		}
		pos += extra - 2
	}
	width, pos, err := readLenEnc(data, pos)
	if err != nil {
		return nil, err
	}
	if width != uint64(len(d.types)) {
		return nil, fmt.Errorf("rowenc: rows event of %d columns for a table map of %d", width, len(d.types))
	}
	bitmap := func() (mysql.Bitmap, error) {
		n := (int(width) + 7) / 8
		if pos+n > len(data) {
			return mysql.Bitmap{}, errTruncated
		}
		bm := mysql.NewServerBitmap(int(width))
		for i := 0; i < int(width); i++ {
			bm.Set(i, data[pos+i/8]&(1<<(i%8)) != 0)
		}
		pos += n
		return bm, nil
	}
	if before {
		if out.BeforeColumns, err = bitmap(); err != nil {
			return nil, err
		}
	}
	if after {
		if out.AfterColumns, err = bitmap(); err != nil {
			return nil, err
		}
	}
	for pos < len(data) {
		var rc RowChange
		var n int
		start := pos
		if before {
			if rc.Before, n, err = d.DecodeImage(data[pos:], out.BeforeColumns); err != nil {
				return nil, err
			}
			pos += n
		}
		if after {
			if rc.After, n, err = d.DecodeImage(data[pos:], out.AfterColumns); err != nil {
				return nil, err
			}
			pos += n
		}
		if pos == start {
			// Images of no columns: bytes left over that no row uses.
			return nil, fmt.Errorf("%w: %d bytes after the rows", ErrCorrupt, len(data)-pos)
		}
		out.Rows = append(out.Rows, rc)
	}
	return out, nil
}

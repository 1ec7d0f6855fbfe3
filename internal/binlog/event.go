package binlog

import (
	"encoding/binary"
	"fmt"

	"github.com/dolthub/vitess/go/mysql"
)

// Event is one complete binlog event: the 19-byte header, the post-header and body, and the CRC32
// trailer when the format has one. Methods that read the header assume len(e) >= HeaderLen, which
// holds for every Event this package builds or a Reader returns.
type Event []byte

// Header holds what the caller chooses in an event's header. The size, log_pos and checksum are
// filled in by the builders and, for log_pos and checksum, again by Writer.Append.
type Header struct {
	// Timestamp is the statement's start time in seconds since the epoch.
	Timestamp uint32
	ServerID  uint32
	Flags     uint16
}

// Type returns the event type.
func (e Event) Type() EventType { return EventType(e[4]) }

// Timestamp returns the header timestamp (seconds).
func (e Event) Timestamp() uint32 { return binary.LittleEndian.Uint32(e[0:4]) }

// ServerID returns the server_id of the server that first logged the event.
func (e Event) ServerID() uint32 { return binary.LittleEndian.Uint32(e[5:9]) }

// Size returns the event_size header field (equal to len(e) for a valid event).
func (e Event) Size() uint32 { return binary.LittleEndian.Uint32(e[9:13]) }

// LogPos returns the log_pos header field: the offset in its file just past the event.
func (e Event) LogPos() uint32 { return binary.LittleEndian.Uint32(e[13:17]) }

// Flags returns the header flags.
func (e Event) Flags() uint16 { return binary.LittleEndian.Uint16(e[17:19]) }

// Body returns the post-header and body: what follows the header, less the checksum trailer.
func (e Event) Body(f Format) []byte {
	end := len(e) - f.trailer(e.Type())
	if end < HeaderLen {
		return nil
	}
	return e[HeaderLen:end]
}

// Vitess wraps the event for vitess's parsers (NewMysql56BinlogEvent). They index into the bytes
// without bounds checks, so only pass events a Reader has validated or this package built.
func (e Event) Vitess() mysql.BinlogEvent { return mysql.NewMysql56BinlogEvent([]byte(e)) }

// build assembles an event of type t from body parts, with log_pos and checksum set.
func (f Format) build(t EventType, h Header, logPos uint32, parts ...[]byte) Event {
	n := HeaderLen + f.trailer(t)
	for _, p := range parts {
		n += len(p)
	}
	ev := make(Event, HeaderLen, n)
	binary.LittleEndian.PutUint32(ev[0:4], h.Timestamp)
	ev[4] = byte(t)
	binary.LittleEndian.PutUint32(ev[5:9], h.ServerID)
	binary.LittleEndian.PutUint32(ev[9:13], uint32(n))
	binary.LittleEndian.PutUint32(ev[13:17], logPos)
	binary.LittleEndian.PutUint16(ev[17:19], h.Flags)
	for _, p := range parts {
		ev = append(ev, p...)
	}
	ev = ev[:n]
	f.seal(ev)
	return ev
}

// seal writes the checksum trailer of ev, if its type has one in f.
func (f Format) seal(ev []byte) {
	if f.trailer(EventType(ev[4])) == ChecksumLen {
		binary.LittleEndian.PutUint32(ev[len(ev)-ChecksumLen:], eventCRC(ev))
	}
}

// checkFrame verifies the header's size field against the buffer and, where the format has
// one, the checksum trailer.
func (f Format) checkFrame(ev []byte) error {
	if len(ev) < HeaderLen {
		return fmt.Errorf("event of %d bytes is shorter than its header", len(ev))
	}
	t := EventType(ev[4])
	if size := binary.LittleEndian.Uint32(ev[9:13]); int64(size) != int64(len(ev)) {
		return fmt.Errorf("%s event: header says %d bytes, buffer has %d", t, size, len(ev))
	}
	if len(ev) < HeaderLen+f.trailer(t) {
		return fmt.Errorf("%s event of %d bytes has no room for its checksum", t, len(ev))
	}
	if f.trailer(t) == ChecksumLen {
		stored := binary.LittleEndian.Uint32(ev[len(ev)-ChecksumLen:])
		if t == TypeFormatDescription && f.Checksum == ChecksumNone && stored == 0 {
			// Some writers leave the FORMAT_DESCRIPTION checksum empty when checksums are off.
			return nil
		}
		if computed := eventCRC(ev); stored != computed {
			return fmt.Errorf("%s event: bad CRC32 (stored %08x, computed %08x)", t, stored, computed)
		}
	}
	return nil
}

// Restamp returns a copy of ev (built in f) with the header's timestamp and server id replaced
// and the checksum recomputed: a prebuilt event, such as a table's TABLE_MAP, reused for
// another transaction.
func (f Format) Restamp(ev Event, h Header) Event {
	out := append(Event(nil), ev...)
	binary.LittleEndian.PutUint32(out[0:4], h.Timestamp)
	binary.LittleEndian.PutUint32(out[5:9], h.ServerID)
	f.seal(out)
	return out
}

// FormatDescriptionForDump returns a copy of a file's FORMAT_DESCRIPTION event (built in f) as
// a binlog dump sends it, which is how MySQL's sender sends it: without FlagBinlogInUse (that
// the file is still being written is the source's business), and, when the dump starts inside
// the file (inside), with log_pos and the creation time zeroed, so that the replica neither
// takes the event's position for its own nor the event for a restart of the source.
func (f Format) FormatDescriptionForDump(fde Event, inside bool) Event {
	out := append(Event(nil), fde...)
	binary.LittleEndian.PutUint16(out[17:19], binary.LittleEndian.Uint16(out[17:19])&^FlagBinlogInUse)
	if inside {
		binary.LittleEndian.PutUint32(out[13:17], 0)
		// The post-header: binlog version (2 bytes), server version (50), creation time (4).
		if created := HeaderLen + 2 + 50; len(out) >= created+4 {
			binary.LittleEndian.PutUint32(out[created:created+4], 0)
		}
	}
	f.seal(out)
	return out
}

// TableID returns the table id that starts the post-header of a TABLE_MAP or rows event (6 bytes,
// little-endian); ok is false for other events and for a body too short to hold it.
func (e Event) TableID(f Format) (uint64, bool) {
	switch e.Type() {
	case TypeTableMap, TypeWriteRows, TypeUpdateRows, TypeDeleteRows, TypeWriteRowsV1, TypeUpdateRowsV1, TypeDeleteRowsV1:
	default:
		return 0, false
	}
	b := e.Body(f)
	if len(b) < 6 {
		return 0, false
	}
	var id uint64
	for i := 5; i >= 0; i-- {
		id = id<<8 | uint64(b[i])
	}
	return id, true
}

// WithLogPos returns a copy of ev (built in f) with log_pos set to pos and the checksum
// recomputed: an event made up by a replica (a translated MariaDB GTID, say) that must carry the
// source position of the event it stands for.
func (f Format) WithLogPos(ev Event, pos uint32) Event {
	out := append(Event(nil), ev...)
	binary.LittleEndian.PutUint32(out[13:17], pos)
	f.seal(out)
	return out
}

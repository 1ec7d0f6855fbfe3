package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxEventSize bounds the size a reader accepts from an event header (MySQL's largest
// max_allowed_packet is 1 GiB; a little room is left for the header and status variables).
const MaxEventSize = 1<<30 + 1<<20

// CorruptError reports an event that cannot be read at Offset of File.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
	// Truncated is set when the file ends inside the event (a torn write, or an event still
	// being written); the error then wraps io.ErrUnexpectedEOF.
	Truncated bool
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("binlog %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Unwrap lets errors.Is(err, io.ErrUnexpectedEOF) detect a truncated event.
func (e *CorruptError) Unwrap() error {
	if e.Truncated {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Reader iterates over the events of one binlog file, verifying each event's size, log_pos and
// checksum. It reads through an io.ReaderAt, so several Readers may read a file while a Writer
// appends to it; a Reader sees the file up to the size it was given.
type Reader struct {
	src  io.ReaderAt
	size int64
	name string
	fd   FormatDescription
	fde  Event
	pos  int64
	// The read window: buf holds the bytes at [bufOff, bufOff+len(buf)).
	buf    []byte
	bufOff int64
	closer io.Closer
	// RelayLog turns off the log_pos check: events copied from a source keep the source's
	// positions.
	RelayLog bool
}

const readWindow = 256 << 10

// NewReader reads the magic bytes and FORMAT_DESCRIPTION event of a binlog file of the given
// size, and positions the reader just after that event. name is used in errors.
func NewReader(src io.ReaderAt, size int64, name string) (*Reader, error) {
	r := &Reader{src: src, size: size, name: name}
	magic, err := r.peek(0, len(Magic))
	if err != nil {
		return nil, &CorruptError{File: name, Offset: 0, Reason: "file shorter than the binlog magic", Truncated: true}
	}
	if [4]byte(magic) != Magic {
		return nil, &CorruptError{File: name, Offset: 0, Reason: fmt.Sprintf("bad magic %x, not a binlog file", magic)}
	}
	// The FORMAT_DESCRIPTION event tells the checksum; until it is read, frame it with the
	// trailer it always has.
	r.pos = int64(len(Magic))
	ev, err := r.next(Format{Checksum: ChecksumCRC32}, true)
	if err != nil {
		return nil, err
	}
	if ev.Type() != TypeFormatDescription {
		return nil, &CorruptError{File: name, Offset: 4, Reason: fmt.Sprintf("first event is %s, not Format_desc", ev.Type())}
	}
	r.fd, err = DecodeFormatDescription(ev)
	if err != nil {
		return nil, &CorruptError{File: name, Offset: 4, Reason: err.Error()}
	}
	if err := r.fd.Format.checkFrame(ev); err != nil {
		return nil, &CorruptError{File: name, Offset: 4, Reason: err.Error()}
	}
	r.fde = ev
	return r, nil
}

// OpenFile opens the binlog file at path for reading; Close releases it.
func OpenFile(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close closes the file opened by OpenFile (nothing for NewReader).
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Format returns the file's format, from its FORMAT_DESCRIPTION event.
func (r *Reader) Format() Format { return r.fd.Format }

// FormatDescription returns the decoded FORMAT_DESCRIPTION event and the event itself.
func (r *Reader) FormatDescription() (FormatDescription, Event) { return r.fd, r.fde }

// InUse reports whether the file's FORMAT_DESCRIPTION carries FlagBinlogInUse: the file is
// being written, or its writer stopped without closing it.
func (r *Reader) InUse() bool { return r.fde.Flags()&FlagBinlogInUse != 0 }

// Pos returns the offset of the next event.
func (r *Reader) Pos() int64 { return r.pos }

// Size returns the size the reader reads up to.
func (r *Reader) Size() int64 { return r.size }

// SetSize changes the readable size, to follow a file that a Writer is appending to.
func (r *Reader) SetSize(size int64) {
	r.size = size
	if r.bufOff+int64(len(r.buf)) > size {
		r.buf = nil
	}
}

// SetPos positions the reader at an event boundary; the next call to Next reads the event there.
func (r *Reader) SetPos(pos int64) error {
	if pos < int64(len(Magic)) || pos > r.size {
		return fmt.Errorf("binlog %s: position %d outside 4..%d", r.name, pos, r.size)
	}
	r.pos = pos
	return nil
}

// Next returns the event at the current position and its start offset, and advances. At the
// end of the readable size it returns io.EOF; a damaged or incomplete event gives a
// *CorruptError and the position stays at that event.
func (r *Reader) Next() (Event, int64, error) {
	start := r.pos
	if start == r.size {
		return nil, start, io.EOF
	}
	ev, err := r.next(r.fd.Format, false)
	return ev, start, err
}

// next reads and checks one event at r.pos.
func (r *Reader) next(f Format, first bool) (Event, error) {
	start := r.pos
	corrupt := func(truncated bool, format string, args ...any) error {
		return &CorruptError{File: r.name, Offset: start, Reason: fmt.Sprintf(format, args...), Truncated: truncated}
	}
	hdr, err := r.peek(start, HeaderLen)
	if err != nil {
		return nil, corrupt(true, "file ends %d bytes into an event header", r.size-start)
	}
	t := EventType(hdr[4])
	size := int64(binary.LittleEndian.Uint32(hdr[9:13]))
	if size < int64(HeaderLen+f.trailer(t)) || size > MaxEventSize {
		return nil, corrupt(false, "%s event claims an impossible size of %d bytes", t, size)
	}
	if start+size > r.size {
		return nil, corrupt(true, "file ends %d bytes into a %d-byte %s event", r.size-start, size, t)
	}
	if !r.RelayLog && !first {
		if lp := int64(binary.LittleEndian.Uint32(hdr[13:17])); lp != start+size && !isPositionless(t, hdr) {
			return nil, corrupt(false, "%s event log_pos %d, expected %d", t, lp, start+size)
		}
	}
	raw, err := r.peek(start, int(size))
	if err != nil {
		return nil, corrupt(true, "file ends inside a %d-byte %s event", size, t)
	}
	ev := Event(append([]byte(nil), raw...))
	if !first {
		// The first event's checksum is checked once its format is known.
		if err := f.checkFrame(ev); err != nil {
			return nil, corrupt(false, "%v", err)
		}
	}
	r.pos = start + size
	return ev, nil
}

// isPositionless reports events whose log_pos is not their own end: artificial events and
// heartbeats carry the position of something else.
func isPositionless(t EventType, hdr []byte) bool {
	return t == TypeHeartbeat || t == TypeHeartbeatV2 || binary.LittleEndian.Uint16(hdr[17:19])&FlagArtificial != 0
}

// peek returns n bytes at off, from the read window when they are in it. The slice is valid
// until the next peek.
func (r *Reader) peek(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > r.size {
		return nil, io.ErrUnexpectedEOF
	}
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+int64(n)], nil
	}
	want := max(n, readWindow)
	if rem := r.size - off; int64(want) > rem {
		want = int(rem)
	}
	if cap(r.buf) < want || (want <= readWindow && cap(r.buf) > 4*readWindow) {
		r.buf = make([]byte, want)
	}
	r.buf = r.buf[:want]
	got, err := r.src.ReadAt(r.buf, off)
	if got < n {
		r.buf = nil
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.buf = r.buf[:got]
	r.bufOff = off
	return r.buf[:n], nil
}

// NextTransaction returns the next complete transaction, skipping file-level events. At the end
// of the readable size it returns io.EOF; if the size ends inside a transaction, a
// *CorruptError with Truncated set, positioned at the transaction's start.
func (r *Reader) NextTransaction() (Transaction, error) {
	s := txnState{f: r.fd.Format}
	var tx Transaction
	for {
		ev, start, err := r.Next()
		if err == io.EOF && s.open() {
			r.pos = int64(tx.Start)
			return Transaction{}, &CorruptError{File: r.name, Offset: int64(tx.Start), Reason: s.describe() + " has no end", Truncated: true}
		}
		if err != nil {
			if s.open() {
				r.pos = int64(tx.Start)
			}
			return Transaction{}, err
		}
		wasOpen := s.open()
		b, err := s.feed(ev)
		if err != nil {
			r.pos = start
			return Transaction{}, &CorruptError{File: r.name, Offset: start, Reason: err.Error()}
		}
		if b == outside {
			continue
		}
		if !wasOpen {
			tx = Transaction{File: r.name, Start: uint64(start)}
		}
		tx.Events = append(tx.Events, ev)
		if b == complete {
			tx.End = uint64(r.pos)
			tx.Anonymous = !s.hasGTID || s.gtid.Anonymous
			if s.hasGTID {
				tx.GTID = s.gtid.GTID
				tx.LastCommitted, tx.SequenceNumber = s.gtid.LastCommitted, s.gtid.SequenceNumber
			}
			return tx, nil
		}
	}
}

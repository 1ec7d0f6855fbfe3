package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// Position is a place in the binlog: a file name and a byte offset in it. The end positions
// Append returns are what SHOW MASTER STATUS and replicas call a binlog position.
type Position struct {
	File   string
	Offset uint64
}

func (p Position) String() string { return p.File + ":" + strconv.FormatUint(p.Offset, 10) }

// FileInfo describes one binlog file (a row of SHOW BINARY LOGS).
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Options configures a Writer.
type Options struct {
	// Dir holds the binlog files and the index.
	Dir string
	// Prefix is the files' base name (--log-bin); default DefaultPrefix.
	Prefix   string
	ServerID uint32
	Checksum Checksum
	// MaxSize is max_binlog_size: after a transaction brings a file to this size, the next
	// Append starts a new file. Default and maximum 1 GiB, minimum 4096 bytes.
	MaxSize int64
	// Previous is the set of GTIDs executed before the file this writer opens (normally
	// Recovery.Executed); it is written as that file's PREVIOUS_GTIDS.
	Previous gtid.Set
	// PurgeGuard, if set, is asked before a purge deletes each file; an error refuses the
	// whole purge (a replica still reading the file, for instance).
	PurgeGuard func(file string) error
	// KeepEvents writes appended events byte for byte, keeping their log_pos (a relay log keeps
	// the source's positions); by default log_pos and checksums are set for this file.
	KeepEvents bool
	// Disposable says the files are never read back after a restart (a relay log, which is
	// discarded at startup). Purge then deletes the files before it rewrites the index, so that
	// on a full disk the deletion frees the space the new index needs.
	Disposable bool
	// Now gives event timestamps; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

const (
	defaultMaxSize = 1 << 30
	minMaxSize     = 4096
	// maxLogPos is the largest end offset a v4 header can state.
	maxLogPos = math.MaxUint32
)

// Errors returned by the Writer.
var (
	ErrClosed = errors.New("binlog: writer is closed")
	// ErrNotRecovered is returned by Open when the last file was left open by a writer that
	// did not close it (a crash): Recover must look at it first.
	ErrNotRecovered = errors.New("binlog: the last binlog file was not closed cleanly; run Recover before opening a writer")
	// ErrUnknownLog is returned by PurgeTo for a file not in the index.
	ErrUnknownLog = errors.New("binlog: target log not found in binlog index")
	// ErrStopped is wrapped by every error of a writer that stopped after an I/O error it
	// could not undo; other errors leave the writer usable (a full disk, for instance).
	ErrStopped = errors.New("binlog: writer stopped after an I/O error")
)

// Writer appends transactions to the binlog of one directory. Methods are safe for concurrent
// use; Append, Sync, Rotate and Close are meant to be called by one committer goroutine, the
// position accessors by anyone.
type Writer struct {
	mu     sync.Mutex
	opts   Options
	format Format
	files  []string // the index, oldest first; the last is the active file
	num    int      // number of the active file
	cur    *os.File
	size   int64 // bytes in the active file
	txns   int   // transactions in the active file
	gtids  gtid.Set
	buf    []byte
	err    error // sticky: set when the files may no longer match what the writer believes
	closed bool

	pub struct {
		sync.Mutex
		pos, synced Position
		changed     chan struct{}
	}
}

// Open starts a writer: it creates the next file (prefix.000001 in an empty directory) with
// its FORMAT_DESCRIPTION and PREVIOUS_GTIDS events, fsyncs it and adds it to the index. Like
// MySQL, every start gets a new file; a crashed predecessor's last file must have been seen by
// Recover first (ErrNotRecovered).
func Open(opts Options) (*Writer, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = defaultMaxSize
	}
	if opts.MaxSize < minMaxSize || opts.MaxSize > defaultMaxSize {
		return nil, fmt.Errorf("binlog: max size %d outside %d..%d", opts.MaxSize, minMaxSize, defaultMaxSize)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("binlog: %w", err)
	}
	files, _, err := readIndex(opts.Dir, opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("binlog: %w", err)
	}
	w := &Writer{opts: opts, format: NewFormat(opts.Checksum), files: files, gtids: opts.Previous.Clone()}
	w.pub.changed = make(chan struct{})
	next := 1
	if len(files) > 0 {
		last := files[len(files)-1]
		r, err := OpenFile(filepath.Join(opts.Dir, last))
		if err != nil {
			return nil, fmt.Errorf("binlog: open %s: %w (run Recover)", last, err)
		}
		inUse := r.InUse()
		r.Close()
		if inUse {
			return nil, fmt.Errorf("%w (%s)", ErrNotRecovered, last)
		}
		n, _ := fileNumber(opts.Prefix, last)
		next = n + 1
	}
	if err := w.startFile(next, true); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) header() Header {
	return Header{Timestamp: uint32(w.opts.Now().Unix()), ServerID: w.opts.ServerID}
}

// startFile creates file number n with its header events, makes it durable and lists it in the
// index, then makes it the active file.
func (w *Writer) startFile(n int, first bool) error {
	name := FileName(w.opts.Prefix, n)
	path := filepath.Join(w.opts.Dir, name)
	h := w.header()
	var created uint32
	if first {
		created = h.Timestamp
	}
	fh := h
	fh.Flags |= FlagBinlogInUse
	buf := append([]byte(nil), Magic[:]...)
	buf = w.place(buf, w.format.FormatDescription(fh, created), 0)
	buf = w.place(buf, w.format.PreviousGTIDs(h, w.gtids), 0)

	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("binlog: create %s: %w", name, err)
	}
	_, err = f.WriteAt(buf, 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = fsutil.SyncDir(w.opts.Dir)
	}
	if err == nil {
		err = writeIndex(w.opts.Dir, w.opts.Prefix, append(w.files[:len(w.files):len(w.files)], name))
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("binlog: start %s: %w", name, err)
	}
	w.files = append(w.files, name)
	w.cur, w.num, w.size, w.txns = f, n, int64(len(buf)), 0
	w.publish(true)
	return nil
}

// place appends ev to buf, which will be written at file offset base, with log_pos and checksum
// set for where it lands.
func (w *Writer) place(buf []byte, ev Event, base int64) []byte {
	start := len(buf)
	buf = append(buf, ev...)
	e := buf[start:]
	binary.LittleEndian.PutUint32(e[13:17], uint32(base+int64(len(buf))))
	w.format.seal(e)
	return buf
}

// publish updates what Position and Synced report, and wakes waiters.
func (w *Writer) publish(synced bool) {
	w.pub.Lock()
	defer w.pub.Unlock()
	w.pub.pos = Position{File: w.files[len(w.files)-1], Offset: uint64(w.size)}
	if synced {
		w.pub.synced = w.pub.pos
	}
	close(w.pub.changed)
	w.pub.changed = make(chan struct{})
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// fail makes the writer refuse all further work: its files may no longer match its state.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %w", ErrStopped, err)
		w.opts.Logger.Error("binlog writer stopped", "err", err)
	}
	return w.err
}

// Format returns the format of the files this writer writes; build events with it (and vitess
// events with Format().Vitess()).
func (w *Writer) Format() Format { return w.format }

// Append writes one or several complete transactions at the end of the active file, in order,
// with one write, and returns each one's end position. It does not fsync: call Sync for that,
// once for a group of appends. log_pos and checksums are set here; each event's other header
// fields are kept. Events must be built in Format().
//
// Invalid input (a transaction that is not complete, starts without a GTID event, repeats a
// GTID already in the binlog, has a bad checksum or would push the file past 4 GiB) is refused
// before anything is written. If the active file had reached MaxSize, Append first rotates. A
// failed write is cut off the file again; if that is impossible the writer stops accepting work
// (the caller should stop the server and let Recover decide at restart).
func (w *Writer) Append(txns ...Txn) ([]Position, error) {
	return w.appendTxns(true, txns)
}

// AppendQuiet is Append without telling readers: Position and Changed move at the next Publish
// (or Append, Sync, rotation). A relay log's receiver uses it to acknowledge the write to its
// semi-sync source before its applier wakes up and competes with it for the CPU.
func (w *Writer) AppendQuiet(txns ...Txn) ([]Position, error) {
	return w.appendTxns(false, txns)
}

// Publish tells readers about everything appended (after AppendQuiet).
func (w *Writer) Publish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || len(w.files) == 0 {
		return
	}
	w.pub.Lock()
	moved := w.pub.pos != Position{File: w.files[len(w.files)-1], Offset: uint64(w.size)}
	w.pub.Unlock()
	if moved {
		w.publish(false)
	}
}

func (w *Writer) appendTxns(tell bool, txns []Txn) ([]Position, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	var added gtid.Set
	total := int64(0)
	for i, t := range txns {
		g, err := checkTxn(w.format, t)
		if err != nil {
			return nil, fmt.Errorf("binlog: transaction %d of %d: %w", i+1, len(txns), err)
		}
		if !g.Anonymous {
			if w.gtids.Contains(g.GTID) || added.Contains(g.GTID) {
				return nil, fmt.Errorf("binlog: transaction %d of %d: GTID %s is already in the binlog", i+1, len(txns), g.GTID)
			}
			if err := added.Add(g.GTID); err != nil {
				return nil, fmt.Errorf("binlog: transaction %d of %d: %w", i+1, len(txns), err)
			}
		}
		for _, ev := range t {
			total += int64(len(ev))
		}
	}
	if len(txns) == 0 {
		return nil, nil
	}
	if w.txns > 0 && w.size >= w.opts.MaxSize {
		if err := w.rotate(); err != nil {
			return nil, err
		}
	}
	if w.size+total > maxLogPos {
		return nil, fmt.Errorf("binlog: %d bytes of transactions do not fit in %s at offset %d (4 GiB limit)", total, w.files[len(w.files)-1], w.size)
	}
	buf := w.buf[:0]
	positions := make([]Position, len(txns))
	name := w.files[len(w.files)-1]
	for i, t := range txns {
		for _, ev := range t {
			if w.opts.KeepEvents {
				buf = append(buf, ev...)
			} else {
				buf = w.place(buf, ev, w.size)
			}
		}
		positions[i] = Position{File: name, Offset: uint64(w.size + int64(len(buf)))}
	}
	if cap(buf) <= 4<<20 {
		w.buf = buf
	}
	if _, err := w.cur.WriteAt(buf, w.size); err != nil {
		if terr := w.cur.Truncate(w.size); terr != nil {
			return nil, w.fail(fmt.Errorf("append to %s: %w; cutting it back: %v", name, err, terr))
		}
		return nil, fmt.Errorf("binlog: append to %s: %w", name, err)
	}
	w.size += int64(len(buf))
	w.txns += len(txns)
	w.gtids.AddSet(added)
	if tell {
		w.publish(false)
	}
	return positions, nil
}

// Sync makes everything appended so far durable (one fsync) and returns the synced position.
// An fsync failure stops the writer: after one, the kernel may have dropped the unsynced data.
func (w *Writer) Sync() (Position, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return Position{}, err
	}
	w.pub.Lock()
	done := w.pub.synced.Offset == uint64(w.size) && w.pub.synced.File == w.files[len(w.files)-1]
	w.pub.Unlock()
	if !done {
		if err := w.cur.Sync(); err != nil {
			return Position{}, w.fail(fmt.Errorf("fsync %s: %w", w.files[len(w.files)-1], err))
		}
		w.publish(true)
	}
	return w.Synced(), nil
}

// SyncConcurrent is Sync without holding the writer during the fsync, so that appends go on
// meanwhile (a relay log receiving while it makes earlier transactions durable for a semi-sync
// acknowledgement). It returns a position up to which everything is durable: at least what was
// appended when it was called.
func (w *Writer) SyncConcurrent() (Position, error) {
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return Position{}, err
	}
	f, at := w.cur, Position{File: w.files[len(w.files)-1], Offset: uint64(w.size)}
	w.mu.Unlock()
	// A rotation meanwhile syncs and closes f itself; the file's descriptor stays valid until
	// this Sync returns (os.File counts its users).
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return Position{}, w.fail(fmt.Errorf("fsync %s: %w", at.File, err))
	}
	w.pub.Lock()
	if (w.pub.synced.File == at.File && w.pub.synced.Offset < at.Offset) || (w.pub.synced.File != at.File && w.pub.pos.File == at.File) {
		w.pub.synced = at
		close(w.pub.changed)
		w.pub.changed = make(chan struct{})
	}
	w.pub.Unlock()
	return at, nil
}

// Rotate closes the active file with a ROTATE event and starts the next one (FLUSH BINARY
// LOGS). Everything appended before is durable when it returns.
func (w *Writer) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.rotate()
}

func (w *Writer) rotate() error {
	old := w.files[len(w.files)-1]
	oldSize := w.size
	next := FileName(w.opts.Prefix, w.num+1)
	ev := w.place(nil, w.format.Rotate(w.header(), 4, next), w.size)
	if _, err := w.cur.WriteAt(ev, w.size); err != nil {
		if terr := w.cur.Truncate(w.size); terr != nil {
			return w.fail(fmt.Errorf("rotate %s: %w; cutting it back: %v", old, err, terr))
		}
		return fmt.Errorf("binlog: rotate %s: %w", old, err)
	}
	w.size += int64(len(ev))
	if err := w.finishFile(); err != nil {
		return w.fail(fmt.Errorf("rotate %s: %w", old, err))
	}
	if err := w.startFile(w.num+1, false); err != nil {
		// The next file could not be made (a full disk, typically): the old one becomes the
		// active file again, without its ROTATE, and the writer goes on once there is room.
		if rerr := w.reopen(old, oldSize); rerr != nil {
			return w.fail(fmt.Errorf("%w; reopening %s: %v", err, old, rerr))
		}
		return err
	}
	return nil
}

// reopen makes the finished file name the active one again at size: the bytes after it are cut
// off and the in-use flag is set again. Nothing after size was published.
func (w *Writer) reopen(name string, size int64) error {
	f, err := os.OpenFile(filepath.Join(w.opts.Dir, name), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var b [1]byte
	flagAt := int64(len(Magic)) + 17
	_, err = f.ReadAt(b[:], flagAt)
	if err == nil {
		err = f.Truncate(size)
	}
	if err == nil {
		b[0] |= byte(FlagBinlogInUse)
		_, err = f.WriteAt(b[:], flagAt)
	}
	if err != nil {
		f.Close()
		return err
	}
	w.cur, w.size = f, size
	return nil
}

// finishFile clears the in-use flag of the active file, fsyncs and closes it.
func (w *Writer) finishFile() error {
	if err := clearInUse(w.cur); err != nil {
		return err
	}
	if err := w.cur.Sync(); err != nil {
		return err
	}
	return w.cur.Close()
}

// clearInUse clears FlagBinlogInUse in the FORMAT_DESCRIPTION event at offset 4 of f. The bit
// is outside that event's checksum, so the rest of the file is untouched.
func clearInUse(f *os.File) error {
	var b [1]byte
	if _, err := f.ReadAt(b[:], int64(len(Magic))+17); err != nil {
		return err
	}
	if b[0]&byte(FlagBinlogInUse) == 0 {
		return nil
	}
	b[0] &^= byte(FlagBinlogInUse)
	_, err := f.WriteAt(b[:], int64(len(Magic))+17)
	return err
}

// Close ends the active file with a STOP event, clears its in-use flag, fsyncs and closes it.
// A writer that had failed only closes its file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err != nil {
		w.cur.Close()
		return w.err
	}
	ev := w.place(nil, w.format.Stop(w.header()), w.size)
	if _, err := w.cur.WriteAt(ev, w.size); err != nil {
		w.cur.Close()
		return fmt.Errorf("binlog: close %s: %w", w.files[len(w.files)-1], err)
	}
	w.size += int64(len(ev))
	if err := w.finishFile(); err != nil {
		return fmt.Errorf("binlog: close %s: %w", w.files[len(w.files)-1], err)
	}
	w.publish(true)
	return nil
}

// Position returns the end of what has been appended (possibly not yet durable).
func (w *Writer) Position() Position {
	w.pub.Lock()
	defer w.pub.Unlock()
	return w.pub.pos
}

// Synced returns the end of what is durable.
func (w *Writer) Synced() Position {
	w.pub.Lock()
	defer w.pub.Unlock()
	return w.pub.synced
}

// Changed returns a channel that is closed the next time Position or Synced moves (Append,
// Sync, rotation, Close). Take the channel before reading the position so that no change is
// missed.
func (w *Writer) Changed() <-chan struct{} {
	w.pub.Lock()
	defer w.pub.Unlock()
	return w.pub.changed
}

// Executed returns the GTIDs in the binlog: the active file's PREVIOUS_GTIDS plus every GTID
// appended since, which is what the next file's PREVIOUS_GTIDS will say.
func (w *Writer) Executed() gtid.Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gtids.Clone()
}

// Files lists the binlog files in the index with their sizes, oldest first.
func (w *Writer) Files() ([]FileInfo, error) {
	w.mu.Lock()
	names := append([]string(nil), w.files...)
	w.mu.Unlock()
	out := make([]FileInfo, 0, len(names))
	for _, n := range names {
		st, err := os.Stat(filepath.Join(w.opts.Dir, n))
		if err != nil {
			return nil, fmt.Errorf("binlog: %w", err)
		}
		out = append(out, FileInfo{Name: n, Size: st.Size(), ModTime: st.ModTime()})
	}
	return out, nil
}

// PurgeTo deletes every file before name (PURGE BINARY LOGS TO): name itself and the active
// file stay. It returns the deleted names.
func (w *Writer) PurgeTo(name string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	for i, n := range w.files {
		if n == name {
			return w.purge(i)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownLog, name)
}

// PurgeBefore deletes the files, oldest first, whose last modification is before t (PURGE
// BINARY LOGS BEFORE), stopping at the first newer one and never deleting the active file.
func (w *Writer) PurgeBefore(t time.Time) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	k := 0
	for ; k < len(w.files)-1; k++ {
		st, err := os.Stat(filepath.Join(w.opts.Dir, w.files[k]))
		if err != nil {
			return nil, fmt.Errorf("binlog: %w", err)
		}
		if !st.ModTime().Before(t) {
			break
		}
	}
	return w.purge(k)
}

// purge removes the first k files: index first (durably), then the files, so that a crash in
// between leaves only unlisted files, which Recover deletes.
func (w *Writer) purge(k int) ([]string, error) {
	if k == 0 {
		return nil, nil
	}
	victims := w.files[:k]
	if w.opts.PurgeGuard != nil {
		for _, v := range victims {
			if err := w.opts.PurgeGuard(v); err != nil {
				return nil, fmt.Errorf("binlog: purge refused: %s: %w", v, err)
			}
		}
	}
	rest := append([]string(nil), w.files[k:]...)
	purged := append([]string(nil), victims...)
	var firstErr error
	remove := func() {
		for _, v := range purged {
			if err := os.Remove(filepath.Join(w.opts.Dir, v)); err != nil && !errors.Is(err, os.ErrNotExist) && firstErr == nil {
				firstErr = err
			}
		}
	}
	if w.opts.Disposable {
		// Nothing reads this index after a crash; the next index write (rotation) repairs it if
		// this one fails.
		remove()
		w.files = rest
		if err := writeIndex(w.opts.Dir, w.opts.Prefix, rest); err != nil && firstErr == nil {
			firstErr = err
		}
	} else {
		if err := writeIndex(w.opts.Dir, w.opts.Prefix, rest); err != nil {
			return nil, fmt.Errorf("binlog: purge: %w", err)
		}
		w.files = rest
		remove()
	}
	if err := fsutil.SyncDir(w.opts.Dir); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return purged, fmt.Errorf("binlog: purge: %w", firstErr)
	}
	return purged, nil
}

// ReadPreviousGTIDs returns the PREVIOUS_GTIDS set of a binlog file: the GTIDs executed before
// it. For the oldest file this is what gtid_purged holds.
func ReadPreviousGTIDs(path string) (gtid.Set, error) {
	r, err := OpenFile(path)
	if err != nil {
		return gtid.Set{}, err
	}
	defer r.Close()
	for {
		ev, _, err := r.Next()
		if err == io.EOF {
			return gtid.Set{}, fmt.Errorf("binlog %s: no PREVIOUS_GTIDS event", path)
		}
		if err != nil {
			return gtid.Set{}, err
		}
		switch ev.Type() {
		case TypePreviousGTIDs:
			s, err := DecodePreviousGTIDs(r.Format(), ev)
			if err != nil {
				return gtid.Set{}, fmt.Errorf("binlog %s: %w", path, err)
			}
			return s, nil
		case TypeGTID, TypeAnonymousGTID, TypeQuery:
			return gtid.Set{}, fmt.Errorf("binlog %s: no PREVIOUS_GTIDS event before the first transaction", path)
		}
	}
}

package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/relaydb/relaydb/internal/gtid"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// RecoverOptions configures Recover.
type RecoverOptions struct {
	Dir    string
	Prefix string // default DefaultPrefix
	// Force lets recovery go on where it would otherwise stop and ask an operator: it
	// truncates the last file at damage in its middle (losing the valid transactions after
	// it), rebuilds a missing index from the files present, drops missing files from the index,
	// and sets aside (renames to NAME.corrupt / NAME.orphan) a last file whose header is
	// unreadable or an unlisted file that holds transactions.
	Force bool
	// FullScan also reads every older file, fails on any damage in them, and checks that
	// each file's PREVIOUS_GTIDS equals the first file's plus the GTIDs of the files before it.
	FullScan bool
	Logger   *slog.Logger
}

// Cut records bytes removed from the end of a file.
type Cut struct {
	File string
	// Offset is the file's new size; Bytes how many were removed.
	Offset, Bytes int64
	Reason        string
}

func (c Cut) String() string {
	return fmt.Sprintf("%s: cut %d bytes at offset %d: %s", c.File, c.Bytes, c.Offset, c.Reason)
}

// Recovery is what Recover found and did.
type Recovery struct {
	Dir, Prefix string
	// Files is the index after recovery, oldest first.
	Files []string
	// Executed is the set of GTIDs the binlog holds: the last file's PREVIOUS_GTIDS plus the
	// GTID of every complete transaction in it (equal, by the writer's invariant, to the first
	// file's PREVIOUS_GTIDS plus every GTID in every file; FullScan checks that).
	Executed gtid.Set
	// End is the end of the last file after recovery.
	End Position
	// Clean is set when the last file had been closed by its writer (STOP or ROTATE, no
	// in-use flag): the previous run shut down cleanly.
	Clean bool
	// Cuts lists what was truncated (at most one entry today: the torn tail of the last file).
	Cuts []Cut
	// Removed lists files deleted or set aside: leftovers of an interrupted purge or file
	// creation, and (with Force) damaged files.
	Removed []string
}

// Recover checks the binlog directory at startup, before a Writer is opened, and repairs what a
// crash can leave behind:
//
//   - the last file's tail, if it is torn (an event cut short, a bad checksum, zeros) or holds
//     a transaction with no XID/COMMIT, is truncated back to the end of the last complete
//     transaction; what was cut is logged and reported in Recovery.Cuts;
//   - files left unlisted by an interrupted purge or rotation are deleted (if they hold no
//     transaction).
//
// Damage followed by valid events is not a torn write: Recover then fails with a
// *CorruptError naming the file and offset, and changes nothing, unless Force is set. It
// returns the GTIDs the binlog holds, and Pending/PendingFrom on the result list the
// transactions storage must replay to match the binlog exactly.
//
// Recover must not run while a Writer has the directory open.
func Recover(opts RecoverOptions) (*Recovery, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger
	rec := &Recovery{Dir: opts.Dir, Prefix: opts.Prefix}
	files, exists, err := readIndex(opts.Dir, opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("binlog recovery: %w", err)
	}
	present, err := listFiles(opts.Dir, opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("binlog recovery: %w", err)
	}
	indexChanged := false
	if !exists {
		if len(present) == 0 {
			return rec, nil
		}
		if !opts.Force {
			return nil, fmt.Errorf("binlog recovery: %d binlog files in %s but no index %s (Force rebuilds it)", len(present), opts.Dir, indexPath(opts.Dir, opts.Prefix))
		}
		for _, n := range present {
			files = append(files, FileName(opts.Prefix, n))
		}
		indexChanged = true
		log.Warn("binlog recovery: rebuilt the missing index from the files present", "files", len(files))
	}

	// Files listed but missing.
	presentSet := map[string]bool{}
	for _, n := range present {
		presentSet[FileName(opts.Prefix, n)] = true
	}
	kept := files[:0:0]
	for _, name := range files {
		if presentSet[name] {
			kept = append(kept, name)
			continue
		}
		if !opts.Force {
			return nil, fmt.Errorf("binlog recovery: %s is listed in the index but missing (Force drops it)", name)
		}
		log.Warn("binlog recovery: dropped a missing file from the index", "file", name)
		indexChanged = true
	}
	files = kept

	// Files present but not listed: leftovers of a purge (older than the first listed) or of a
	// file creation interrupted before the index listed it (newer than the last).
	listed := map[string]bool{}
	for _, name := range files {
		listed[name] = true
	}
	firstNum, lastNum := 0, 0
	if len(files) > 0 {
		firstNum, _ = fileNumber(opts.Prefix, files[0])
		lastNum, _ = fileNumber(opts.Prefix, files[len(files)-1])
	}
	for _, n := range present {
		name := FileName(opts.Prefix, n)
		if listed[name] {
			continue
		}
		path := filepath.Join(opts.Dir, name)
		switch {
		case n < firstNum:
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("binlog recovery: remove purged %s: %w", name, err)
			}
			log.Warn("binlog recovery: removed a file an interrupted purge left behind", "file", name)
			rec.Removed = append(rec.Removed, name)
		case n > lastNum:
			hasTxn, err := holdsTransactions(path)
			if err != nil {
				return nil, fmt.Errorf("binlog recovery: %w", err)
			}
			if hasTxn {
				if !opts.Force {
					return nil, fmt.Errorf("binlog recovery: %s holds transactions but is not in the index (Force sets it aside)", name)
				}
				if err := os.Rename(path, path+".orphan"); err != nil {
					return nil, fmt.Errorf("binlog recovery: %w", err)
				}
				log.Warn("binlog recovery: set aside an unlisted file", "file", name, "as", name+".orphan")
				rec.Removed = append(rec.Removed, name)
				continue
			}
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("binlog recovery: remove unlisted %s: %w", name, err)
			}
			log.Warn("binlog recovery: removed a file whose creation was interrupted", "file", name)
			rec.Removed = append(rec.Removed, name)
		default:
			log.Warn("binlog recovery: file not in the index left alone", "file", name)
		}
	}
	if len(rec.Removed) > 0 {
		if err := fsutil.SyncDir(opts.Dir); err != nil {
			return nil, fmt.Errorf("binlog recovery: %w", err)
		}
	}

	// The last file.
	for len(files) > 0 {
		name := files[len(files)-1]
		path := filepath.Join(opts.Dir, name)
		done, err := recoverLast(rec, path, name, opts)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		// Force set aside an unreadable last file; the one before becomes the last.
		files = files[:len(files)-1]
		indexChanged = true
	}
	if indexChanged {
		if err := writeIndex(opts.Dir, opts.Prefix, files); err != nil {
			return nil, fmt.Errorf("binlog recovery: %w", err)
		}
	}
	rec.Files = files
	if opts.FullScan && len(files) > 1 {
		if err := fullScan(rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// recoverLast scans and repairs the last file. It returns false when Force set the file aside.
func recoverLast(rec *Recovery, path, name string, opts RecoverOptions) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("binlog recovery: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("binlog recovery: %w", err)
	}
	size := st.Size()
	res := scanLog(f, size, name)
	if res.headerErr != nil {
		if !opts.Force {
			return false, fmt.Errorf("binlog recovery: the header of the last file is unreadable (Force sets it aside): %w", res.headerErr)
		}
		f.Close()
		if err := os.Rename(path, path+".corrupt"); err != nil {
			return false, fmt.Errorf("binlog recovery: %w", err)
		}
		opts.Logger.Warn("binlog recovery: set aside a last file with an unreadable header", "file", name, "as", name+".corrupt", "err", res.headerErr)
		rec.Removed = append(rec.Removed, name)
		return false, nil
	}
	reason := res.tornReason
	if res.mid != nil {
		if !opts.Force {
			return false, fmt.Errorf("binlog recovery: damage in the middle of the last file, not a torn write (Force truncates there, losing what follows): %w", res.mid)
		}
		reason = "forced past damage in the middle: " + res.mid.Reason
	}
	if res.keep < size {
		if err := f.Truncate(res.keep); err != nil {
			return false, fmt.Errorf("binlog recovery: truncate %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return false, fmt.Errorf("binlog recovery: fsync %s: %w", name, err)
		}
		cut := Cut{File: name, Offset: res.keep, Bytes: size - res.keep, Reason: reason}
		opts.Logger.Warn("binlog recovery: truncated the last binlog file", "file", name, "offset", cut.Offset, "bytes", cut.Bytes, "reason", reason)
		rec.Cuts = append(rec.Cuts, cut)
	}
	rec.Clean = !res.inUse && (res.lastType == TypeStop || res.lastType == TypeRotate) && res.keep == size
	if res.inUse {
		if err := clearInUse(f); err != nil {
			return false, fmt.Errorf("binlog recovery: %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return false, fmt.Errorf("binlog recovery: fsync %s: %w", name, err)
		}
	}
	rec.Executed = gtid.Union(res.prev, res.gtids)
	rec.End = Position{File: name, Offset: uint64(res.keep)}
	return true, nil
}

// scanResult is what scanLog learns about a file.
type scanResult struct {
	headerErr error
	inUse     bool
	prev      gtid.Set // PREVIOUS_GTIDS
	gtids     gtid.Set // GTIDs of complete transactions
	// keep is the end of the last complete transaction or file-level event: the size to
	// truncate the file to.
	keep     int64
	lastType EventType
	// tornReason says why bytes after keep are not kept ("" when keep is the file's size).
	tornReason string
	// mid is set for damage that valid events follow, or a valid event out of place.
	mid *CorruptError
}

// scanLog reads a whole binlog file to decide what a crash left in it. It never fails: what
// it finds is in the result. It reads through src only and is total on arbitrary bytes.
func scanLog(src io.ReaderAt, size int64, name string) scanResult {
	var res scanResult
	r, err := NewReader(src, size, name)
	if err != nil {
		res.headerErr = err
		return res
	}
	f := r.Format()
	res.inUse = r.InUse()
	// The header is magic, FORMAT_DESCRIPTION, PREVIOUS_GTIDS; a file torn inside it was never
	// listed in the index by a Writer.
	ev, start, err := r.Next()
	if err == nil && ev.Type() != TypePreviousGTIDs {
		err = &CorruptError{File: name, Offset: start, Reason: fmt.Sprintf("%s event where PREVIOUS_GTIDS was expected", ev.Type())}
	}
	if err == nil {
		res.prev, err = DecodePreviousGTIDs(f, ev)
		if err != nil {
			err = &CorruptError{File: name, Offset: start, Reason: err.Error()}
		}
	}
	if err != nil {
		if err == io.EOF {
			err = &CorruptError{File: name, Offset: start, Reason: "file ends before PREVIOUS_GTIDS", Truncated: true}
		}
		res.headerErr = err
		return res
	}
	res.keep = r.Pos()
	res.lastType = TypePreviousGTIDs
	s := txnState{f: f}
	var txStart int64
	for {
		ev, start, err := r.Next()
		if err == io.EOF {
			if s.open() {
				res.tornReason = fmt.Sprintf("%s starting at offset %d (%d events) has no XID or COMMIT", s.describe(), txStart, s.nEvents)
			}
			return res
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				ce = &CorruptError{File: name, Offset: start, Reason: err.Error()}
			}
			if next, ok := findValidEvent(src, size, start+1, f); ok {
				res.mid = &CorruptError{File: name, Offset: start, Reason: fmt.Sprintf("%s; a valid event follows at offset %d", ce.Reason, next)}
				return res
			}
			res.tornReason = "torn event at offset " + fmt.Sprint(start) + ": " + ce.Reason
			if s.open() {
				res.tornReason = fmt.Sprintf("%s starting at offset %d is incomplete: %s", s.describe(), txStart, res.tornReason)
			}
			return res
		}
		wasOpen := s.open()
		b, err := s.feed(ev)
		if err != nil {
			res.mid = &CorruptError{File: name, Offset: start, Reason: err.Error()}
			return res
		}
		switch b {
		case inside:
			if !wasOpen {
				txStart = start
			}
		case outside:
			res.keep, res.lastType = r.Pos(), ev.Type()
		case complete:
			res.keep, res.lastType = r.Pos(), ev.Type()
			if s.hasGTID && !s.gtid.Anonymous {
				// DecodeGTID checked the range, so Add cannot fail.
				_ = res.gtids.Add(s.gtid.GTID)
			}
		}
	}
}

// findValidEvent looks for an offset at or after from where a well-formed event starts: a known
// type, a size that fits, log_pos equal to its end and (with checksums) a matching CRC32. Random
// or zeroed bytes pass all four with negligible probability, so finding one means the damage
// before it is not a torn tail.
func findValidEvent(src io.ReaderAt, size, from int64, f Format) (int64, bool) {
	const chunk = 1 << 20
	if from >= size {
		return 0, false
	}
	buf := make([]byte, min(chunk+HeaderLen, size-from))
	for base := from; base+HeaderLen <= size; base += chunk {
		n, _ := src.ReadAt(buf[:min(int64(len(buf)), size-base)], base)
		for i := 0; i+HeaderLen <= n && i < chunk; i++ {
			h := buf[i : i+HeaderLen]
			t := EventType(h[4])
			if t == TypeUnknown || t > numEventTypes {
				continue
			}
			off := base + int64(i)
			sz := int64(binary.LittleEndian.Uint32(h[9:13]))
			if sz < int64(HeaderLen+f.trailer(t)) || sz > MaxEventSize || off+sz > size {
				continue
			}
			if int64(binary.LittleEndian.Uint32(h[13:17])) != off+sz {
				continue
			}
			ev := make([]byte, sz)
			if _, err := src.ReadAt(ev, off); err != nil {
				continue
			}
			if f.checkFrame(ev) == nil {
				return off, true
			}
		}
	}
	return 0, false
}

// holdsTransactions reports whether a binlog file has any event past its header.
func holdsTransactions(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	r, err := NewReader(f, st.Size(), path)
	if err != nil {
		// Not even a whole header: certainly no transaction.
		return false, nil
	}
	for {
		ev, _, err := r.Next()
		if err != nil {
			return false, nil
		}
		switch ev.Type() {
		case TypeFormatDescription, TypePreviousGTIDs:
		default:
			return true, nil
		}
	}
}

// listFiles returns the numbers of the files in dir named prefix.NNNNNN, ascending.
func listFiles(dir, prefix string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		if n, ok := fileNumber(prefix, e.Name()); ok && e.Type().IsRegular() {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// fullScan reads every file but the last (already scanned), failing on any damage, and checks
// the PREVIOUS_GTIDS chain.
func fullScan(rec *Recovery) error {
	var running gtid.Set
	for i, name := range rec.Files {
		path := filepath.Join(rec.Dir, name)
		prev, err := ReadPreviousGTIDs(path)
		if err != nil {
			return fmt.Errorf("binlog full scan: %w", err)
		}
		if i == 0 {
			running = prev.Clone()
		} else if !prev.Equal(running) {
			return fmt.Errorf("binlog full scan: %s says PREVIOUS_GTIDS %q, the files before it hold %q", name, prev, running)
		}
		if i == len(rec.Files)-1 {
			break
		}
		err = eachTransaction(path, 0, func(tx Transaction) error {
			if !tx.Anonymous {
				return running.Add(tx.GTID)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("binlog full scan: %w", err)
		}
	}
	return nil
}

// eachTransaction calls fn for every complete transaction of a file from offset from (0: the
// start). An incomplete transaction at the end is an error: files are read after recovery.
func eachTransaction(path string, from int64, fn func(Transaction) error) error {
	r, err := OpenFile(path)
	if err != nil {
		return err
	}
	defer r.Close()
	if from > 0 {
		if err := r.SetPos(from); err != nil {
			return err
		}
	}
	for {
		tx, err := r.NextTransaction()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		tx.File = filepath.Base(path)
		if err := fn(tx); err != nil {
			return err
		}
	}
}

// ErrPurged is returned by Pending when storage lacks transactions the binlog no longer holds.
var ErrPurged = errors.New("binlog: transactions storage needs have been purged from the binlog")

// Pending returns, in binlog order, every complete transaction in the binlog whose GTID is not
// in applied (the GTIDs storage has made durable), with its events: replaying them brings
// storage to exactly what the binlog holds. Reading starts at the newest file whose
// PREVIOUS_GTIDS applied covers. Transactions without a GTID cannot be matched and are left
// out; use PendingFrom for those. GTIDs in applied but not in the binlog are not checked here:
// compare applied with Executed.
func (rec *Recovery) Pending(applied gtid.Set) ([]Transaction, error) {
	start := -1
	for i := len(rec.Files) - 1; i >= 0; i-- {
		prev, err := ReadPreviousGTIDs(filepath.Join(rec.Dir, rec.Files[i]))
		if err != nil {
			return nil, err
		}
		if applied.ContainsSet(prev) {
			start = i
			break
		}
		if i == 0 {
			return nil, fmt.Errorf("%w: %s", ErrPurged, gtid.Subtract(prev, applied))
		}
	}
	if start < 0 {
		return nil, nil
	}
	var out []Transaction
	for _, name := range rec.Files[start:] {
		err := eachTransaction(filepath.Join(rec.Dir, name), 0, func(tx Transaction) error {
			if !tx.Anonymous && !applied.Contains(tx.GTID) {
				out = append(out, tx)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingFrom returns every complete transaction from pos (a transaction boundary, such as an
// end position Append returned) to the end of the binlog, with its events.
func (rec *Recovery) PendingFrom(pos Position) ([]Transaction, error) {
	i := slices.Index(rec.Files, pos.File)
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownLog, pos.File)
	}
	var out []Transaction
	for k, name := range rec.Files[i:] {
		from := int64(0)
		if k == 0 {
			from = int64(pos.Offset)
		}
		err := eachTransaction(filepath.Join(rec.Dir, name), from, func(tx Transaction) error {
			out = append(out, tx)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

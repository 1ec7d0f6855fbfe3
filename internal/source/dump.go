package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// Binlog is what a dump needs of the server's binary log (commitlog.Log provides it).
type Binlog interface {
	Writer() *binlog.Writer
	Executed() gtid.Set
	Purged() gtid.Set
	SyncBinlog() int64
}

// Start is where a replica asks to begin: a file and position, or (GTIDs non-nil) the set of
// transactions it already has.
type Start struct {
	File  string
	Pos   uint64
	GTIDs *gtid.Set
}

// Options configure one dump.
type Options struct {
	Log      Binlog
	Dir      string // where the binlog files are
	ServerID uint32 // the source's server_id, for the events it makes up
	// ServerUUID is the source's server_uuid (GTIDs of this server the source never executed
	// make a GTID start fail).
	ServerUUID string
	// Heartbeat is the idle time after which a HEARTBEAT event is sent (0: none).
	Heartbeat time.Duration
	// OnFile, if set, is told each binlog file the dump starts reading (for SHOW REPLICAS and
	// for refusing to purge a file a replica still reads).
	OnFile func(file string)
	// NonBlock ends the dump (Dump returns nil) once everything in the binary log has been
	// sent, instead of waiting for more: BINLOG_DUMP_NON_BLOCK, or server_id 0 (what
	// mysqlbinlog --read-from-remote-server has always sent).
	NonBlock bool
	// ReplicaChecksum is the checksum the replica said it handles (@master_binlog_checksum),
	// nil if it said nothing. The first fake ROTATE goes out before any FORMAT_DESCRIPTION,
	// so it is framed with this one, as MySQL does: mysqlbinlog says NONE and reads a
	// checksummed ROTATE as a different file name.
	ReplicaChecksum *binlog.Checksum
	// RequestAcks, set for a semi-sync replica, is asked each time the dump has sent all that is
	// durable and is about to wait: if it says yes, the last transaction's final event goes out
	// asking the replica to acknowledge it (MySQL's semi-sync flag), so one ack covers the batch.
	RequestAcks func() bool
}

// Error1236 is MySQL's ER_SOURCE_FATAL_ERROR_READING_BINLOG (1236), sent to the replica.
func Error1236(format string, args ...any) error {
	return mysql.NewSQLError(1236, "HY000", "%s", fmt.Sprintf(format, args...))
}

// errCaughtUp ends a non-blocking dump at the end of the binary log.
var errCaughtUp = errors.New("non-blocking dump sent the whole binary log")

// Dump streams the binlog from start to send until ctx ends or send fails (or, NonBlock, until
// everything has been sent: it then returns nil). send receives each event as it goes on the
// wire (without the OK byte), and ackAt when the replica must acknowledge the binlog up to there
// (semi-sync, see Options.RequestAcks); flush is called whenever the dump is about to wait, so
// buffered events reach the replica at once.
func Dump(ctx context.Context, opts Options, start Start, send func(ev binlog.Event, ackAt *binlog.Position) error, flush func() error) error {
	d := &dump{opts: opts, send: send, flush: flush}
	file, pos, err := d.resolve(start)
	if err != nil {
		return err
	}
	d.startFile, d.startPos = file, pos
	err = d.run(ctx, file, pos)
	if errors.Is(err, errCaughtUp) {
		return flush()
	}
	return err
}

type dump struct {
	opts  Options
	send  func(binlog.Event, *binlog.Position) error
	flush func() error
	// With RequestAcks, each event is held back until the next one is read (or the dump is
	// about to wait), so that the last event of what is durable can carry the ack request.
	pending   binlog.Event
	pendingAt binlog.Position
	skip      *gtid.Set // GTID mode: transactions the replica has
	// skipping is set while the events of a transaction the replica has are being passed over;
	// skipUntilEnd when that transaction began with BEGIN (else it is one QUERY).
	skipping, skipUntilEnd bool
	lastSent               time.Time
	// Where the dump started, and how far it got, for MySQL's "the first event ... the last
	// event read ..." error text.
	startFile      string
	startPos       uint64
	lastFile       string
	lastPos        int64
	sentFirstFrame bool // the first fake ROTATE is out: later ones use the file's checksum
}

// resolve checks the start against the binlog and returns the file and offset to read from.
func (d *dump) resolve(start Start) (string, uint64, error) {
	files, err := d.opts.Log.Writer().Files()
	if err != nil {
		return "", 0, err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	if start.GTIDs == nil {
		if start.File == "" {
			// No name: the first file the index lists, as in MySQL.
			if len(names) == 0 {
				return "", 0, Error1236("Could not find first log file name in binary log index file")
			}
			start.File = names[0]
		}
		i := slices.Index(names, start.File)
		if i < 0 {
			return "", 0, Error1236("Could not find first log file name in binary log index file")
		}
		if start.Pos < 4 {
			return "", 0, Error1236("Client requested source to start replication from position < 4")
		}
		// The file's size on disk, as MySQL checks it; in the active file a position past what
		// is durable but within the file is waited for.
		if int64(start.Pos) > files[i].Size {
			return "", 0, Error1236("Client requested source to start replication from position > file size")
		}
		return start.File, start.Pos, nil
	}
	has := *start.GTIDs
	if missing := gtid.Subtract(d.opts.Log.Purged(), has); !missing.IsEmpty() {
		return "", 0, Error1236("Cannot replicate because the source purged required binary logs. Replicate the missing transactions from elsewhere, or provision a new replica from backup. Consider increasing the source's binary log expiration period. The GTID set sent by the replica is '%s', and the missing transactions are '%s'", has, missing)
	}
	if sid, err := gtid.ParseSID(d.opts.ServerUUID); err == nil {
		var own gtid.Set
		for _, iv := range gtid.Subtract(has, d.opts.Log.Executed()).Intervals(sid) {
			_ = own.AddInterval(sid, iv.Start, iv.End)
		}
		if !own.IsEmpty() {
			return "", 0, Error1236("Replica has more GTIDs than the source has, using the source's SERVER_UUID. This may indicate that the end of the binary log was truncated or that the last binary log file was lost, e.g., after a power or disk failure when sync_binlog != 1. The GTIDs the replica has and the source does not: '%s'", own)
		}
	}
	d.skip = &has
	for i := len(names) - 1; i >= 0; i-- {
		prev, err := binlog.ReadPreviousGTIDs(filepath.Join(d.opts.Dir, names[i]))
		if err != nil {
			return "", 0, Error1236("%v", err)
		}
		if has.ContainsSet(prev) {
			return names[i], 4, nil
		}
	}
	return "", 0, Error1236("Cannot replicate: no binary log file starts within the replica's GTID set '%s'", has)
}

// limit is how far file may be read now, and whether the file is finished (no more events
// will be appended to it).
func (d *dump) limit(file string) (int64, bool, error) {
	w := d.opts.Log.Writer()
	end := w.Position()
	if d.opts.Log.SyncBinlog() == 1 {
		end = w.Synced()
	}
	if end.File == file {
		return int64(end.Offset), false, nil
	}
	st, err := os.Stat(filepath.Join(d.opts.Dir, file))
	if err != nil {
		return 0, false, err
	}
	return st.Size(), true, nil
}

func (d *dump) run(ctx context.Context, file string, pos uint64) error {
	for {
		next, err := d.streamFile(ctx, file, pos)
		if err != nil {
			return err
		}
		file, pos = next, 4
	}
}

// streamFile sends file from pos: first the fake ROTATE naming it and its FORMAT_DESCRIPTION,
// then its events as they become durable. It returns the next file's name once file ends.
func (d *dump) streamFile(ctx context.Context, file string, pos uint64) (string, error) {
	if d.opts.OnFile != nil {
		d.opts.OnFile(file)
	}
	r, err := binlog.OpenFile(filepath.Join(d.opts.Dir, file))
	if err != nil {
		return "", Error1236("%v", err)
	}
	defer r.Close()
	f := r.Format()
	rf := f
	if !d.sentFirstFrame && d.opts.ReplicaChecksum != nil {
		rf.Checksum = *d.opts.ReplicaChecksum
	}
	d.sentFirstFrame = true
	rotate := rf.Rotate(binlog.Header{ServerID: d.opts.ServerID, Flags: binlog.FlagArtificial}, pos, file)
	if err := d.emit(rotate); err != nil {
		return "", err
	}
	_, fde := r.FormatDescription()
	// Starting inside the file, the replica needs the format but must not take this event's
	// position as its own, nor its creation time as a restart of the source.
	if err := d.emit(f.FormatDescriptionForDump(fde, pos > 4)); err != nil {
		return "", err
	}
	d.lastFile, d.lastPos = file, r.Pos()
	limit, finished, err := d.limit(file)
	if err != nil {
		return "", err
	}
	for int64(pos) > limit && !finished {
		// The start is in the active file's tail that is written but not yet durable.
		if limit, finished, err = d.wait(ctx, f, file, int64(pos)-1); err != nil {
			return "", err
		}
	}
	r.SetSize(limit)
	if pos > 4 {
		if err := r.SetPos(int64(pos)); err != nil {
			return "", Error1236("Client requested source to start replication from position > file size")
		}
	}
	for {
		ev, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			if finished {
				return d.nextFile(file)
			}
			if limit, finished, err = d.wait(ctx, f, file, int64(r.Pos())); err != nil {
				return "", err
			}
			r.SetSize(limit)
			continue
		}
		if err != nil {
			// An event that cannot be read: damage, or a start that is not an event boundary.
			reason := "bogus data in log event"
			if errors.Is(err, io.ErrUnexpectedEOF) {
				reason = "binlog truncated in the middle of event; consider out of disk space on source"
			}
			detail := err.Error()
			if ce := (*binlog.CorruptError)(nil); errors.As(err, &ce) {
				detail = ce.Reason // without the datadir's path
			}
			return "", Error1236("%s; the first event '%s' at %d, the last event read from '%s' at %d, the last byte read from '%s' at %d. (%s)",
				reason, d.startFile, d.startPos, d.lastFile, d.lastPos, file, r.Pos(), detail)
		}
		d.lastFile, d.lastPos = file, r.Pos()
		if d.skipped(f, ev) {
			continue
		}
		if err := d.emitAt(ev, binlog.Position{File: file, Offset: uint64(r.Pos())}); err != nil {
			return "", err
		}
	}
}

// skipped reports whether ev belongs to a transaction the replica already has (GTID mode).
func (d *dump) skipped(f binlog.Format, ev binlog.Event) bool {
	if d.skip == nil {
		return false
	}
	switch ev.Type() {
	case binlog.TypeGTID:
		g, err := binlog.DecodeGTID(f, ev)
		d.skipping = err == nil && d.skip.Contains(g.GTID)
		d.skipUntilEnd = false
		return d.skipping
	case binlog.TypeFormatDescription, binlog.TypePreviousGTIDs, binlog.TypeRotate, binlog.TypeStop:
		return false
	}
	if !d.skipping {
		return false
	}
	switch ev.Type() {
	case binlog.TypeXID:
		d.skipping = false
	case binlog.TypeQuery:
		q, err := binlog.DecodeQuery(f, ev)
		switch {
		case err != nil:
		case q.SQL == "BEGIN":
			d.skipUntilEnd = true
		case q.SQL == "COMMIT" || q.SQL == "ROLLBACK" || !d.skipUntilEnd:
			d.skipping = false
		}
	}
	return true
}

// nextFile returns the file after file in the index, waiting (it is created before file's
// ROTATE is written, so it is normally there).
func (d *dump) nextFile(file string) (string, error) {
	files, err := d.opts.Log.Writer().Files()
	if err != nil {
		return "", err
	}
	for i, f := range files {
		if f.Name == file && i+1 < len(files) {
			return files[i+1].Name, nil
		}
	}
	return "", Error1236("binary log %s ended and no next file is listed in the index (purged or reset?)", file)
}

// wait blocks until more of file is durable (or it is finished), sending heartbeats while idle.
func (d *dump) wait(ctx context.Context, f binlog.Format, file string, pos int64) (int64, bool, error) {
	if err := d.release(true); err != nil {
		return 0, false, err
	}
	if err := d.flush(); err != nil {
		return 0, false, err
	}
	w := d.opts.Log.Writer()
	for {
		changed := w.Changed()
		limit, finished, err := d.limit(file)
		if err != nil {
			return 0, false, err
		}
		if limit > pos || finished {
			return limit, finished, nil
		}
		if d.opts.NonBlock {
			return 0, false, errCaughtUp
		}
		var beat <-chan time.Time
		var timer *time.Timer
		if d.opts.Heartbeat > 0 {
			timer = time.NewTimer(max(time.Until(d.lastSent.Add(d.opts.Heartbeat)), 0))
			beat = timer.C
		}
		stop := func() {
			if timer != nil {
				timer.Stop()
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return 0, false, ctx.Err()
		case <-changed:
			stop()
		case <-beat:
			hb := f.Heartbeat(d.opts.ServerID, file, uint32(pos))
			d.lastSent = time.Now()
			if err := d.send(hb, nil); err != nil {
				return 0, false, err
			}
			if err := d.flush(); err != nil {
				return 0, false, err
			}
		}
	}
}

func (d *dump) emit(ev binlog.Event) error { return d.emitAt(ev, binlog.Position{}) }

// emitAt sends ev, which ends at pos in the binlog (zero for events the dump makes up), or with
// RequestAcks holds it back until the next event or the end of the batch (see release).
func (d *dump) emitAt(ev binlog.Event, pos binlog.Position) error {
	d.lastSent = time.Now()
	if d.opts.RequestAcks == nil {
		return d.send(ev, nil)
	}
	if err := d.release(false); err != nil {
		return err
	}
	d.pending, d.pendingAt = ev, pos
	return nil
}

// release sends the held-back event. At the end of a batch (everything durable sent), an event
// ending a transaction asks for an acknowledgement if RequestAcks says so.
func (d *dump) release(batchEnd bool) error {
	ev := d.pending
	if ev == nil {
		return nil
	}
	d.pending = nil
	if batchEnd && d.pendingAt.File != "" && (ev.Type() == binlog.TypeXID || ev.Type() == binlog.TypeQuery) && d.opts.RequestAcks() {
		at := d.pendingAt
		return d.send(ev, &at)
	}
	return d.send(ev, nil)
}

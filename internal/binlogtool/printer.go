package binlogtool

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// Options selects what Print prints. The zero value prints everything.
type Options struct {
	// Verbose adds each row event as commented pseudo-SQL (mysqlbinlog -v).
	Verbose bool
	// SkipGTIDs leaves out the SET @@SESSION.GTID_NEXT statements, so that the replaying server
	// gives the transactions new GTIDs.
	SkipGTIDs bool
	// StartPosition (first file) and StopPosition (last file) are file offsets; 0 is unset.
	// Transactions starting before StartPosition are skipped; output ends at the first event
	// starting at or after StopPosition, without the transaction it belongs to.
	StartPosition, StopPosition int64
	// StartDatetime skips transactions whose first event is older; output ends at the first
	// transaction whose first event is at or after StopDatetime. Zero is unset.
	StartDatetime, StopDatetime time.Time
	// IncludeGTIDs, when set, keeps only transactions whose GTID it holds (anonymous ones are
	// left out); ExcludeGTIDs leaves out the transactions whose GTID it holds.
	IncludeGTIDs, ExcludeGTIDs *gtid.Set
	// Location is the time zone of the event times in comments (mysqlbinlog uses local
	// time); nil is time.Local.
	Location *time.Location
}

// Result is what Print reports besides the output.
type Result struct {
	// Unreplayable lists the transactions printed only as comments, each with the reason.
	Unreplayable []string
	// Warnings are things a user should know that do not make the output wrong (an incomplete
	// transaction at the end of a file that is still being written).
	Warnings []string
}

// Preamble starts every output: row values are printed as UTF-8 text and TIMESTAMPs in UTC.
const Preamble = "# relaydb binlog: replayable SQL; lines starting with # are comments.\n" +
	"SET NAMES utf8mb4;\n" +
	"SET @@SESSION.TIME_ZONE='+00:00';\n"

// Print writes the events of files, in order, to w. A missing or damaged file ends the output
// with an error naming the file and offset; what was printed before it is whole transactions.
func Print(w io.Writer, files []string, opts Options) (Result, error) {
	p := newPrinter(w, opts)
	if _, err := io.WriteString(w, Preamble); err != nil {
		return p.res, err
	}
	for i, path := range files {
		r, err := binlog.OpenFile(path)
		if err != nil {
			return p.res, p.fail(fmt.Errorf("open binlog %s: %w", path, err))
		}
		err = p.file(r, path, i == 0, i == len(files)-1)
		r.Close()
		if err != nil || p.stopped {
			return p.res, err
		}
	}
	return p.res, nil
}

// printer carries the replay session's state across transactions and files.
type printer struct {
	w       io.Writer
	opts    Options
	loc     *time.Location
	session session
	stopped bool
	res     Result
}

func newPrinter(w io.Writer, opts Options) *printer {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	return &printer{w: w, opts: opts, loc: loc}
}

// fail notes a fatal error in the output too, so that a reader of a saved output sees where it
// stopped.
func (p *printer) fail(err error) error {
	fmt.Fprintf(p.w, "# ERROR: %s\n", sanitize(err.Error()))
	return err
}

func (p *printer) write(s string) error {
	_, err := io.WriteString(p.w, s)
	return err
}

// file prints one file. first and last say whether the start and stop positions apply to it.
func (p *printer) file(r *binlog.Reader, name string, first, last bool) error {
	f := r.Format()
	_, fde := r.FormatDescription()
	if err := p.write("# file " + sanitize(name) + "\n"); err != nil {
		return err
	}
	if err := p.standalone(f, posEvent{fde, int64(len(binlog.Magic))}); err != nil {
		return err
	}
	g := grouper{f: f}
	if first && p.opts.StartPosition > int64(len(binlog.Magic)) && p.opts.StartPosition != r.Pos() {
		if err := r.SetPos(p.opts.StartPosition); err != nil {
			return p.fail(fmt.Errorf("--start-position: %w", err))
		}
		g.skipping = true
	}
	for {
		ev, off, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *binlog.CorruptError
			if errors.As(err, &ce) && ce.Truncated && r.InUse() {
				p.warn(fmt.Sprintf("%s: file ends inside the event at %d; it is still being written or its writer crashed", name, off))
				return p.cutOpen(g.open(), "it is cut by the end of the file")
			}
			if g.skipping && off == p.opts.StartPosition {
				err = fmt.Errorf("%w (is --start-position=%d the offset of an event?)", err, off)
			}
			return p.fail(err)
		}
		if last && p.opts.StopPosition > 0 && off >= p.opts.StopPosition {
			p.stopped = true
			return p.cutOpen(g.open(), "it continues past --stop-position")
		}
		kind, err := g.feed(ev, off)
		if err != nil {
			return p.fail(&binlog.CorruptError{File: name, Offset: off, Reason: err.Error()})
		}
		switch kind {
		case fedFileLevel:
			if err := p.standalone(f, posEvent{ev, off}); err != nil {
				return err
			}
		case fedSkipped:
			if err := p.write(fmt.Sprintf("# at %d: %s event skipped: its transaction began before --start-position\n", off, ev.Type())); err != nil {
				return err
			}
		case fedComplete:
			if err := p.transaction(f, g.done()); err != nil || p.stopped {
				return err
			}
		}
	}
	if tx := g.open(); tx != nil {
		if r.InUse() {
			p.warn(fmt.Sprintf("%s: the transaction at %d has no end yet; the file is still being written or its writer crashed", name, tx.start()))
			return p.cutOpen(tx, "it has no end in the file")
		}
		return p.fail(&binlog.CorruptError{File: name, Offset: tx.start(), Reason: "transaction has no end (no XID or COMMIT before the end of the file)"})
	}
	return nil
}

func (p *printer) warn(msg string) { p.res.Warnings = append(p.res.Warnings, msg) }

// cutOpen notes a transaction that is not printed because it is incomplete.
func (p *printer) cutOpen(tx *txn, why string) error {
	if tx == nil {
		return nil
	}
	return p.write(fmt.Sprintf("# transaction at %d not printed: %s\n", tx.start(), why))
}

// standalone prints an event that belongs to no transaction, as comments.
func (p *printer) standalone(f binlog.Format, pe posEvent) error {
	var b strings.Builder
	info, body := fileEvent(f, p.loc, pe.ev)
	header(&b, f, p.loc, pe, info)
	b.WriteString(body)
	return p.write(b.String())
}

// selected applies the datetime and GTID filters to a complete transaction.
func (p *printer) selected(tx *txn) bool {
	ts := time.Unix(int64(tx.timestamp()), 0)
	if !p.opts.StopDatetime.IsZero() && !ts.Before(p.opts.StopDatetime) {
		p.stopped = true
		return false
	}
	if !p.opts.StartDatetime.IsZero() && ts.Before(p.opts.StartDatetime) {
		return false
	}
	if p.opts.IncludeGTIDs != nil && (!tx.hasGTID || !p.opts.IncludeGTIDs.Contains(tx.gtid.GTID)) {
		return false
	}
	if p.opts.ExcludeGTIDs != nil && tx.hasGTID && p.opts.ExcludeGTIDs.Contains(tx.gtid.GTID) {
		return false
	}
	return true
}

// transaction converts a complete transaction and prints it: as SQL when every event converts,
// as comments otherwise.
func (p *printer) transaction(f binlog.Format, tx *txn) error {
	if !p.selected(tx) {
		return nil
	}
	var b strings.Builder
	s := p.session
	tables := make(map[uint64]*table) // table ids are only valid within the transaction
	var errs []string
	for _, pe := range tx.events {
		info, body, err := p.txnEvent(f, pe.ev, &s, tables)
		header(&b, f, p.loc, pe, info)
		b.WriteString(body)
		if err != nil {
			msg := fmt.Sprintf("at %d: %v", pe.off, err)
			errs = append(errs, msg)
			b.WriteString("# ERROR: " + sanitize(msg) + "\n")
		}
	}
	if tx.hasGTID && !p.opts.SkipGTIDs {
		b.WriteString("SET @@SESSION.GTID_NEXT='AUTOMATIC';\n")
	}
	out := b.String()
	if len(errs) > 0 {
		what := fmt.Sprintf("transaction at %d", tx.start())
		if tx.hasGTID {
			what += " (" + tx.gtid.GTID.String() + ")"
		}
		reason := what + " cannot be replayed: " + strings.Join(errs, "; ")
		p.res.Unreplayable = append(p.res.Unreplayable, reason)
		out = commentOut(out) + "# ERROR: " + sanitize(reason) + "; it is printed as comments only\n"
	} else {
		p.session = s
	}
	return p.write(out)
}

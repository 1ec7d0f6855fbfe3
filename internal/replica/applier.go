package replica

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
)

// applyLoop is the applier: it replays the relay log in order, skipping transactions already
// executed, until stopped or a transaction fails.
func (r *Replica) applyLoop(ctx context.Context) {
	defer r.setState(false, "")
	if u := r.untilCond(); u != nil && u.After != nil && r.untilReached() {
		// START REPLICA UNTIL SQL_AFTER_GTIDS with a set already executed: nothing to apply.
		return
	}
	r.setState(false, "Waiting for an event from Coordinator")
	select {
	case <-r.relayReadyChan():
	case <-ctx.Done():
		return
	}
	w := r.relayWriterNow()
	file := ""
	for {
		files, err := w.Files()
		if err != nil || len(files) == 0 {
			r.setSQLError(13121, errors.New("relay log index is unreadable"))
			return
		}
		next := files[0].Name
		if file != "" {
			next = ""
			for i, f := range files {
				if f.Name == file && i+1 < len(files) {
					next = files[i+1].Name
				}
			}
			if next == "" {
				r.setSQLError(13121, errors.New("relay log ended without a next file"))
				return
			}
			// The finished file is applied: purge it.
			if _, err := w.PurgeTo(next); err != nil {
				r.opts.Logger.Warn("relay log purge", "err", err)
			}
		}
		file = next
		if !r.applyFile(ctx, w, file) {
			return
		}
	}
}

func (r *Replica) relayReadyChan() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.relayReady
}

func (r *Replica) relayWriterNow() *binlog.Writer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.relay
}

// applyFile applies one relay log file, following it while it is the active one; it returns
// false when the applier must stop.
func (r *Replica) applyFile(ctx context.Context, w *binlog.Writer, file string) bool {
	rd, err := binlog.OpenFile(filepath.Join(r.relayDir(), file))
	if err != nil {
		r.setSQLError(13121, err)
		return false
	}
	defer rd.Close()
	rd.RelayLog = true
	f := rd.Format()
	p := newPool(ctx, r, f, r.workers())
	defer p.close()
	for {
		changed := w.Changed()
		synced := w.Position() // written, whole transactions (see receiver: no fsync)
		finished := synced.File != file
		if !finished {
			rd.SetSize(int64(synced.Offset))
		} else if st, err := statSize(filepath.Join(r.relayDir(), file)); err == nil {
			rd.SetSize(st)
		}
		for {
			t, err := rd.NextTransaction()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.setSQLError(13121, err)
				return false
			}
			if !r.applyOne(ctx, p, f, &t) {
				return false
			}
			r.mu.Lock()
			r.st.relayFile, r.st.relayPos = file, t.End
			r.mu.Unlock()
		}
		if finished {
			return p.drain() == nil
		}
		if p.drain() != nil {
			return false
		}
		r.mu.Lock()
		r.st.caughtUp = true
		r.mu.Unlock()
		r.setState(false, "Replica has read all relay log; waiting for more updates")
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
		r.mu.Lock()
		r.st.caughtUp = false
		r.mu.Unlock()
	}
}

// applyOne hands a transaction to the worker pool, unless it is already executed; it returns
// false when the applier must stop (an error, or its UNTIL condition).
func (r *Replica) applyOne(ctx context.Context, p *pool, f binlog.Format, t *binlog.Transaction) bool {
	last := t.Events[len(t.Events)-1]
	committed := commitTime(f, t)
	if !t.Anonymous && r.opts.Contains(t.GTID) {
		r.noteApplied(r.sourceFileAt(binlog.Position{File: t.File, Offset: t.Start}), uint64(last.LogPos()), committed)
		return !r.untilReached()
	}
	if u := r.untilCond(); u != nil && (u.Before != nil || u.After != nil || u.File != "") {
		// UNTIL conditions are checked between transactions: apply one at a time.
		if p.drain() != nil {
			return false
		}
		if u.Before != nil && u.Before.Contains(t.GTID) {
			r.stopForUntil()
			return false
		}
	}
	if !r.delay(ctx, committed) {
		return false
	}
	if err := p.dispatch(ctx, job{t: *t, committed: committed, sourceFile: r.sourceFileAt(binlog.Position{File: t.File, Offset: t.Start})}); err != nil {
		return false
	}
	if r.untilCond() != nil {
		if p.drain() != nil {
			return false
		}
		return !r.untilReached()
	}
	return true
}

// applyTxn applies one transaction on a worker's session, under its own GTID.
func (r *Replica) applyTxn(sctx *sql.Context, a *apply.Applier, f binlog.Format, t *binlog.Transaction, committed time.Time, sourceFile string) error {
	last := t.Events[len(t.Events)-1]
	r.setState(false, "Applying transaction "+t.GTID.String())
	if !t.Anonymous {
		if err := sctx.SetSessionVariable(sctx, "gtid_next", t.GTID.String()); err != nil {
			r.setSQLError(errno(err, 1105), err)
			return err
		}
	}
	if f := r.Filters(); !f.Empty() {
		a.Filter = f
	} else {
		a.Filter = nil
	}
	if r.opts.SetOrigin != nil && len(t.Events) > 0 {
		defer r.opts.SetOrigin(sctx.Session, t.Events[0].ServerID())()
	}
	if err := a.Apply(sctx, f, t); err != nil {
		_ = sctx.SetSessionVariable(sctx, "gtid_next", "AUTOMATIC")
		if !errors.Is(err, errAborted) {
			r.setSQLError(errno(err, 1105), fmtErr("Coordinator stopped because there were error(s) in the worker(s). The most recent failure being: Worker failed executing transaction '%s' at source log %s, end_log_pos %d; %v",
				t.GTID, r.sourceFileName(), last.LogPos(), err))
		}
		return err
	}
	r.noteApplied(sourceFile, uint64(last.LogPos()), committed)
	if r.wantsAppliedAcks() {
		// Synchronous replication: the source waits for this commit.
		if err := r.sendAck(binlog.Position{File: sourceFile, Offset: uint64(last.LogPos())}, true); err != nil {
			r.opts.Logger.Warn("replication applier: applied acknowledgement not sent", "err", err)
		}
	}
	return nil
}

func (r *Replica) untilCond() *Until {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.until
}

// untilReached stops the applier (reporting true) once an SQL_AFTER_GTIDS or position condition
// holds.
func (r *Replica) untilReached() bool {
	u := r.untilCond()
	if u == nil || u.Before != nil {
		return false
	}
	done := false
	if u.After != nil {
		done = r.opts.Executed().ContainsSet(*u.After)
	} else {
		r.mu.Lock()
		file, pos := r.st.execSourceFile, r.st.execPos
		r.mu.Unlock()
		done = file > u.File || (file == u.File && pos >= u.Pos)
	}
	if done {
		r.stopForUntil()
	}
	return done
}

// stopForUntil records that the applier stops because its UNTIL condition holds (no error).
func (r *Replica) stopForUntil() {
	r.mu.Lock()
	r.cfg.SQLRunning = false
	cfg := *r.cfg
	r.mu.Unlock()
	_ = saveConfig(r.configPath(), &cfg)
	r.opts.Logger.Info("replication applier stopped: its UNTIL condition is reached")
}

// noteApplied records the source position (Relay_Source_Log_File, Exec_Source_Log_Pos) just past
// a transaction applied or skipped: file is the source file it came from, which the receiver,
// reading ahead, may have left already ("" if unknown: the receiver's current one).
func (r *Replica) noteApplied(file string, pos uint64, committed time.Time) {
	r.mu.Lock()
	if file == "" {
		file = r.st.sourceFile
	}
	r.st.execPos, r.st.execSourceFile, r.st.lastApplied = pos, file, committed
	r.mu.Unlock()
}

func (r *Replica) sourceFileName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.sourceFile
}

// commitTime is when the transaction committed on the server where it originated (the GTID
// event's original_commit_timestamp), or its header timestamp.
func commitTime(f binlog.Format, t *binlog.Transaction) time.Time {
	if g, err := binlog.DecodeGTID(f, t.Events[0]); err == nil {
		switch {
		case g.OriginalCommit > 0:
			return time.UnixMicro(g.OriginalCommit)
		case g.ImmediateCommit > 0:
			return time.UnixMicro(g.ImmediateCommit)
		}
	}
	return time.Unix(int64(t.Events[0].Timestamp()), 0)
}

// delay holds a transaction until SOURCE_DELAY seconds after it committed on the source; it
// returns false if the applier is stopped meanwhile.
func (r *Replica) delay(ctx context.Context, committed time.Time) bool {
	r.mu.Lock()
	d := time.Duration(r.cfg.Delay) * time.Second
	r.mu.Unlock()
	if d <= 0 {
		return true
	}
	until := committed.Add(d)
	wait := time.Until(until)
	if wait <= 0 {
		return true
	}
	r.mu.Lock()
	r.st.delayUntil = until
	r.mu.Unlock()
	r.setState(false, "Waiting until SOURCE_DELAY seconds after source executed event")
	ok := sleepCtx(ctx, wait)
	r.mu.Lock()
	r.st.delayUntil = time.Time{}
	r.mu.Unlock()
	return ok
}

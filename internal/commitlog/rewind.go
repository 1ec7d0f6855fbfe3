package commitlog

import (
	"fmt"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// rewindMark is what the store write of a rewind records: the binlog is to end at cut, and the
// undone transactions leave gtid_executed.
type rewindMark struct {
	cut    binlog.Position
	undone gtid.Set
}

// BeginRewind marks the session's next commit as the undo of the binlog's tail from cut (a
// transaction boundary), which holds exactly the transactions undone: the commit logs nothing,
// its store write is synced, and the state stored with it no longer counts the undone
// transactions, which leave gtid_executed when it becomes visible. EndRewind clears the mark.
//
// The binlog still holds the tail afterwards; DropTail removes it. Until then a restart replays
// the tail (the store's state lacks it), so a crash between the two undoes the undo rather than
// leave the store and the binlog disagreeing: the caller rewinds again.
func (l *Log) BeginRewind(sessionID uint32, cut binlog.Position, undone gtid.Set) {
	l.rewinds.Store(sessionID, &rewindMark{cut: cut, undone: undone.Clone()})
}

// EndRewind clears BeginRewind's mark.
func (l *Log) EndRewind(sessionID uint32) { l.rewinds.Delete(sessionID) }

// DropTail cuts the binlog at cut after a rewind's store write (BeginRewind) and starts a new
// file whose PREVIOUS_GTIDS is gtid_executed without the undone transactions. It returns the
// files it deleted whole; the caller has copied them (and the cut file) beforehand. No commit
// may be logged between the rewind's store write and DropTail (the node is read-only and its
// replication stopped): a group appended in between would be cut away with the tail.
func (l *Log) DropTail(cut binlog.Position) ([]string, error) {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	if err := l.w.Close(); err != nil {
		return nil, fmt.Errorf("rewind: close the binlog: %w", err)
	}
	removed, err := binlog.TruncateTail(l.opts.Dir, l.opts.Prefix, cut)
	if err != nil {
		return removed, err
	}
	executed := l.Executed()
	w, err := binlog.Open(binlog.Options{
		Dir: l.opts.Dir, Prefix: l.opts.Prefix, ServerID: l.opts.ServerID, Checksum: l.opts.Checksum,
		MaxSize: l.opts.MaxSize, PurgeGuard: l.guardPurge, Logger: l.opts.Logger, Previous: executed,
	})
	if err != nil {
		return removed, fmt.Errorf("rewind: reopen the binlog: %w", err)
	}
	l.w = w
	l.pos = w.Position()
	l.file, l.seq, l.unsyncedGroups = l.pos.File, 0, 0
	l.mu.Lock()
	l.logged = nil
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	if err := l.refreshPurged(); err != nil {
		return removed, err
	}
	l.log.Info("binary log cut after a rewind", "at", cut.String(), "removed_files", removed, "file", l.pos.File,
		"gtid_executed", executed.String())
	return removed, nil
}

// Reserve keeps this server from ever issuing the GTIDs of set again: they named transactions
// a rewind undid, which the lost-and-found still lists under them.
func (l *Log) Reserve(set gtid.Set) {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	l.reserved.AddSet(set)
	if ivs := l.reserved.Intervals(l.sid); len(ivs) > 0 {
		l.reservedTop = ivs[len(ivs)-1].End
	}
}

// nextGNO is the number of the next transaction this server originates: the first not
// executed and not reserved. Called by WriteGroup (under groupMu).
func (l *Log) nextGNO(executed gtid.Set) int64 {
	next := executed.NextGNO(l.sid)
	if next > l.reservedTop {
		// The common case, on the commit path: everything reserved lies below the next number
		// (a rewind undoes this server's newest transactions), so no set is built per commit.
		return next
	}
	return gtid.Union(executed, l.reserved).NextGNO(l.sid)
}

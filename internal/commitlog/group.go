package commitlog

import (
	"context"
	"fmt"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/commit"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/semisync"
)

// entry is one transaction's log record, built by TxnEntry or DDLEntry.
type entry struct {
	// events follow the GTID event: BEGIN … XID, or one QUERY.
	events   []binlog.Event
	explicit bool // gtid was chosen by gtid_next
	gtid     gtid.GTID
	header   binlog.Header
	sbr      bool // holds statement events
	// replay marks a transaction recovery re-applies from the binlog: it is logged already.
	replay *binlog.Transaction
	// rewind marks the store write that undoes the binlog's tail (Log.BeginRewind).
	rewind *rewindMark
	// wait is what the commit waits for from replicas: in WriteGroup (after the binlog sync,
	// before the store commit) or, if late (AFTER_COMMIT), in Committed. end is where the
	// transaction ends in the binlog, the position replicas must acknowledge.
	wait semisync.Level
	late bool
	end  binlog.Position
}

// WriteGroup implements commit.Log: it assigns GTIDs and logical timestamps to the group's
// transactions, appends them with one write, fsyncs as sync_binlog says and returns the state
// the store must record with the group.
func (l *Log) WriteGroup(entries []any) (commit.LogResult, error) {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	syncStore, synced := false, false
	if l.pos.Offset >= uint64(l.maxSize) {
		if err := l.w.Rotate(); err != nil {
			return commit.LogResult{}, err
		}
		l.expire()
	}
	if cur := l.w.Position().File; cur != l.file {
		// MySQL counts the logical clock per file.
		l.file, l.seq = cur, 0
	}
	// GTIDs are assigned after every group logged so far, visible yet or not (a group may still
	// wait for replicas while the next is logged).
	var next gtid.Set
	if l.logged != nil {
		next = l.logged.Clone()
	} else {
		l.mu.Lock()
		next = l.executed.Clone()
		l.mu.Unlock()
	}
	lastCommitted := l.seq
	seq := l.seq
	now := time.Now().UnixMicro()
	var txns []binlog.Txn
	var logged []*entry
	wait := semisync.Async // the strongest wait of the group's commits at the sync point
	pos := l.pos
	for _, a := range entries {
		e, _ := a.(*entry)
		switch {
		case e == nil:
			syncStore = true
		case e.rewind != nil:
			// The undo of the tail: logged nothing, and the state stored with it says the store
			// no longer holds the undone transactions, so that it and the binlog agree again
			// once DropTail has cut them from the binlog (and recovery would replay them, not
			// lose them, if the process died before that).
			next = gtid.Subtract(next, e.rewind.undone)
			pos = e.rewind.cut
			syncStore = true
		case e.replay != nil:
			if !e.replay.Anonymous {
				if err := next.Add(e.replay.GTID); err != nil {
					return commit.LogResult{}, err
				}
			}
			pos = binlog.Position{File: e.replay.File, Offset: e.replay.End}
		default:
			g := e.gtid
			if !e.explicit {
				g = gtid.GTID{Server: l.sid, Sequence: l.nextGNO(next)}
			} else if next.Contains(g) {
				return commit.LogResult{}, fmt.Errorf("GTID %s is already used by another transaction of the same commit group", g)
			}
			if err := next.Add(g); err != nil {
				return commit.LogResult{}, err
			}
			seq++
			ge := binlog.GTIDEvent{GTID: g, MayHaveSBR: e.sbr, LastCommitted: lastCommitted, SequenceNumber: seq, ImmediateCommit: now}
			txns = append(txns, l.format.NewTxn(e.header, ge, e.events...))
			logged = append(logged, e)
			if !e.late && e.wait > wait {
				wait = e.wait
			}
		}
	}
	if len(txns) > 0 {
		var expected func()
		if l.semi != nil {
			// Before the events can reach a dump, so that it asks its replica to acknowledge them.
			expected = l.semi.Expect(wait)
		}
		positions, err := l.w.Append(txns...)
		if err != nil {
			if expected != nil {
				expected()
			}
			return commit.LogResult{}, err
		}
		for i, e := range logged {
			e.end = positions[i]
		}
		l.seq = seq
		pos = positions[len(positions)-1]
		l.commits.Add(uint64(len(txns)))
		synced, err = l.syncPolicy()
		if err != nil {
			if expected != nil {
				expected()
			}
			return commit.LogResult{}, err
		}
		if wait != semisync.Async {
			// AFTER_SYNC / AFTER_APPLY: durable here, not yet visible to anyone; the pipeline
			// waits before the store write, while it logs the next group.
			end, n := pos, len(txns)
			res := commit.LogResult{State: encodeState(pos, next), SyncStore: syncStore, Synced: synced, Token: &next}
			res.Wait = func() error {
				defer expected()
				return l.semi.Wait(context.Background(), end, wait, n)
			}
			l.pos, l.logged = pos, &next
			return res, nil
		}
		if expected != nil {
			expected()
		}
	}
	l.pos, l.logged = pos, &next
	return commit.LogResult{State: encodeState(pos, next), SyncStore: syncStore, Synced: synced, Token: &next}, nil
}

// syncPolicy fsyncs the binlog as sync_binlog says, after a group was appended.
func (l *Log) syncPolicy() (bool, error) {
	n := l.syncEvery.Load()
	if n <= 0 {
		return false, nil
	}
	l.unsyncedGroups++
	if l.unsyncedGroups < n {
		return false, nil
	}
	l.unsyncedGroups = 0
	if _, err := l.w.Sync(); err != nil {
		return false, err
	}
	l.fsyncs.Add(1)
	return true, nil
}

// GroupVisible implements commit.Log: the group WriteGroup last logged is now visible in the
// store, so its GTIDs join gtid_executed (a reader that waited for them then sees their data).
func (l *Log) GroupVisible(token any) {
	next, _ := token.(*gtid.Set)
	if next == nil {
		return
	}
	l.mu.Lock()
	l.executed = *next
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

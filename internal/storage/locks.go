package storage

import (
	"sync"
	"time"
)

// lockTable holds the row locks of open transactions and, for rows written recently, the
// sequence number of the commit that last wrote them.
//
// A transaction locks every row key (primary key and unique-index values) before writing it and
// keeps the lock until it commits or rolls back. A writer that finds a row locked waits; once it
// holds the lock it checks the row's last commit sequence against its snapshot: a newer commit
// means the row changed after the snapshot was taken, and the transaction fails with 1213 rather
// than overwrite a change it never saw (no lost updates).
//
// Entries for released rows are kept only while some open snapshot could be older than the
// commit that wrote them; prune drops the rest.
type lockTable struct {
	mu      sync.Mutex
	entries map[string]*rowLock
	// released counts entries released since the last prune.
	released int
}

type rowLock struct {
	owner     *txn          // nil when no transaction holds the row
	wake      chan struct{} // closed when owner releases; created by the first waiter
	commitSeq uint64        // sequence of the last commit that wrote the row
}

func newLockTable() *lockTable {
	return &lockTable{entries: make(map[string]*rowLock)}
}

// acquire locks key for t, waiting up to timeout for another owner. It returns errDeadlock when
// waiting would close a cycle, errLockWaitTimeout after timeout, and errWriteConflict when the row
// was committed after t's snapshot.
func (lt *lockTable) acquire(t *txn, key string, timeout time.Duration) error {
	var deadline time.Time
	for {
		lt.mu.Lock()
		l := lt.entries[key]
		if l == nil {
			lt.entries[key] = &rowLock{owner: t}
			lt.mu.Unlock()
			t.locks = append(t.locks, key)
			return nil
		}
		if l.owner == t {
			lt.mu.Unlock()
			return nil
		}
		if l.owner == nil {
			if l.commitSeq > t.snapSeq {
				lt.mu.Unlock()
				return errWriteConflict
			}
			l.owner = t
			lt.mu.Unlock()
			t.locks = append(t.locks, key)
			return nil
		}
		// Someone else holds it: refuse if waiting would deadlock.
		for o := l.owner; o != nil; {
			if o == t {
				lt.mu.Unlock()
				return errDeadlock
			}
			w := o.waitingFor
			if w == nil {
				break
			}
			o = w.owner
		}
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		wake := l.wake
		t.waitingFor = l
		lt.mu.Unlock()

		if deadline.IsZero() {
			deadline = time.Now().Add(timeout)
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-wake:
			timer.Stop()
		case <-timer.C:
			lt.mu.Lock()
			t.waitingFor = nil
			lt.mu.Unlock()
			return errLockWaitTimeout
		}
		lt.mu.Lock()
		t.waitingFor = nil
		lt.mu.Unlock()
	}
}

// release frees every lock t holds. commitSeq is the sequence of t's commit, or 0 for a
// rollback (which leaves each row's last commit sequence unchanged).
func (lt *lockTable) release(t *txn, commitSeq uint64) {
	if len(t.locks) == 0 {
		return
	}
	lt.mu.Lock()
	for _, key := range t.locks {
		l := lt.entries[key]
		if l == nil || l.owner != t {
			continue
		}
		l.owner = nil
		if commitSeq > l.commitSeq {
			l.commitSeq = commitSeq
		}
		if l.wake != nil {
			close(l.wake)
			l.wake = nil
		}
		if l.commitSeq == 0 {
			delete(lt.entries, key)
		}
	}
	lt.released += len(t.locks)
	lt.mu.Unlock()
	t.locks = t.locks[:0]
}

// prune drops released entries whose last commit no open snapshot can miss (commitSeq <= the
// oldest open snapshot's sequence, which oldest computes). It only scans, and only asks oldest,
// after enough releases to make the scan worth it.
func (lt *lockTable) prune(oldest func() uint64, force bool) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if !force && lt.released < 4096 && lt.released < len(lt.entries)/2 {
		return
	}
	lt.released = 0
	oldestSnap := oldest()
	for k, l := range lt.entries {
		if l.owner == nil && l.wake == nil && l.commitSeq <= oldestSnap {
			delete(lt.entries, k)
		}
	}
}

// size reports how many entries the table holds (for status and tests).
func (lt *lockTable) size() int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return len(lt.entries)
}

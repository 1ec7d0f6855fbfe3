package storage

import (
	"bytes"
	"slices"
	"sync"
	"time"
)

// lockMode is a row lock's strength: shared locks (FOR SHARE, the source rows of INSERT …
// SELECT, SERIALIZABLE reads) are compatible with each other; an exclusive lock (every written
// row, FOR UPDATE) with nothing.
type lockMode uint8

const (
	lockShared lockMode = iota + 1
	lockExclusive
)

// lockTable holds the locks of open transactions, in memory, as InnoDB does:
//
//   - Row locks, by key (a row's primary key, or a unique-index value being claimed), shared or
//     exclusive. A transaction that cannot get one waits.
//   - Gap locks, by index: an open key interval in which no other transaction may insert (the
//     "gap" part of InnoDB's next-key locks, taken by locking reads in REPEATABLE READ and
//     SERIALIZABLE). Gap locks never conflict with each other; an insert into a locked gap waits
//     (InnoDB's insert intention).
//
// A wait that would close a cycle of waiting transactions is a deadlock: the transaction of the
// cycle with the least weight (rows written plus locks held; the requester on a tie, as InnoDB)
// is chosen as the victim, fails with 1213 and is rolled back. A wait longer than the session's
// innodb_lock_wait_timeout fails with 1205 and ends only the statement.
//
// Entries exist only while held, so a lock costs nothing once its transaction ends, and a
// transaction that never meets another's locks never waits.
type lockTable struct {
	mu   sync.Mutex
	rows map[string]*rowLock
	// gaps holds every gap lock, by index (the key's first indexPrefixLen bytes).
	gaps map[string][]*gapLock
	// gapFreed is closed (and replaced) whenever a gap lock is released: inserts waiting on a gap
	// look again.
	gapFreed chan struct{}
	// inserts holds, by index, the keys open transactions inserted (past their gap check, not
	// yet committed). A locking scan that locks a gap around one waits for its inserter, as
	// InnoDB's scan meets the uncommitted record: otherwise the row would appear in the locked
	// range once committed (a phantom).
	inserts map[string][]*insertIntent
}

type insertIntent struct {
	key   []byte
	owner *txn
}

type rowLock struct {
	x *txn   // exclusive holder, if any
	s []*txn // shared holders (the exclusive holder may be among them, after an upgrade)
	// queue holds the waiting requests in arrival order. As in InnoDB, a new request also waits
	// for conflicting requests already waiting (so waiters are not starved, and an S-to-X
	// upgrade behind a waiting writer is a deadlock), and a waiter is granted only when nothing
	// ahead of it in the queue conflicts.
	queue []lockRequest
	wake  chan struct{} // closed when a holder lets go or a waiter leaves; created by a waiter
}

type lockRequest struct {
	t *txn
	m lockMode
}

// gapLock forbids other transactions to insert a key k with lo < k < hi.
type gapLock struct {
	lo, hi []byte
	owner  *txn
}

func newLockTable() *lockTable {
	return &lockTable{rows: make(map[string]*rowLock), gaps: make(map[string][]*gapLock),
		gapFreed: make(chan struct{}), inserts: make(map[string][]*insertIntent)}
}

// holds reports whether t holds key in mode m or stronger.
func (l *rowLock) holds(t *txn, m lockMode) bool {
	if l.x == t {
		return true
	}
	return m == lockShared && slices.Contains(l.s, t)
}

// blockers returns the transactions that keep t from locking l in mode m (none: it may): the
// holders of conflicting locks, and conflicting requests waiting ahead of t (all of them when
// t is not queued yet).
func (l *rowLock) blockers(t *txn, m lockMode) []*txn {
	var out []*txn
	add := func(o *txn) {
		if o != t && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if l.x != nil {
		add(l.x)
	}
	if m == lockExclusive {
		for _, o := range l.s {
			add(o)
		}
	}
	for _, w := range l.queue {
		if w.t == t {
			break
		}
		if m == lockExclusive || w.m == lockExclusive {
			add(w.t)
		}
	}
	return out
}

// dequeue removes t's waiting request, if any; it reports whether there was one.
func (l *rowLock) dequeue(t *txn) bool {
	i := slices.IndexFunc(l.queue, func(w lockRequest) bool { return w.t == t })
	if i < 0 {
		return false
	}
	l.queue = slices.Delete(l.queue, i, i+1)
	return true
}

// acquire locks key for t in mode m, waiting up to timeout for holders that conflict. It
// reports whether it had to wait (the row may then have changed: the caller re-reads it).
func (lt *lockTable) acquire(t *txn, key string, m lockMode, timeout time.Duration) (waited bool, err error) {
	defer lt.endVictim(t, &err)
	var deadline time.Time
	for {
		lt.mu.Lock()
		if t.deadlockVictim {
			lt.mu.Unlock()
			return waited, errDeadlock
		}
		l := lt.rows[key]
		if l == nil {
			l = &rowLock{}
			lt.rows[key] = l
		}
		if l.holds(t, m) {
			lt.mu.Unlock()
			return waited, nil
		}
		blockers := l.blockers(t, m)
		if len(blockers) == 0 {
			l.dequeue(t)
			l.grant(t, key, m)
			lt.mu.Unlock()
			return waited, nil
		}
		if !slices.ContainsFunc(l.queue, func(w lockRequest) bool { return w.t == t }) {
			l.queue = append(l.queue, lockRequest{t: t, m: m})
		}
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		err := lt.waitLocked(t, blockers, l.wake, &deadline, timeout)
		if err != nil {
			// Leaving the queue may let requests behind this one through.
			l.dequeue(t)
			if l.wake != nil {
				close(l.wake)
				l.wake = nil
			}
			lt.dropIfFree(key, l)
		}
		lt.mu.Unlock()
		if err != nil {
			return true, err
		}
		waited = true
	}
}

// tryAcquire locks key for t in mode m if it can without waiting (SKIP LOCKED).
func (lt *lockTable) tryAcquire(t *txn, key string, m lockMode) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	l := lt.rows[key]
	if l == nil {
		l = &rowLock{}
		lt.rows[key] = l
	}
	if l.holds(t, m) {
		return true
	}
	if len(l.blockers(t, m)) > 0 {
		return false
	}
	l.grant(t, key, m)
	return true
}

// grant gives t the lock on key in mode m. Caller holds lt.mu and has checked nothing blocks it.
func (l *rowLock) grant(t *txn, key string, m lockMode) {
	if l.x != t && !slices.Contains(l.s, t) {
		t.locks = append(t.locks, key)
	}
	if m == lockExclusive {
		l.x = t
	} else {
		l.s = append(l.s, t)
	}
}

// waitLocked waits, with lt.mu held on entry and on return, until wake is closed, t is chosen as
// a deadlock victim, or the deadline passes. It refuses to wait when waiting would deadlock and
// t is the victim; when another member of the cycle is the victim, it is woken to fail.
func (lt *lockTable) waitLocked(t *txn, blockers []*txn, wake chan struct{}, deadline *time.Time, timeout time.Duration) error {
	if cycle := lt.cycleThrough(t, blockers); cycle != nil {
		victim := t
		for _, o := range cycle {
			if o.lockWeight() < victim.lockWeight() {
				victim = o
			}
		}
		if victim == t {
			t.deadlockVictim = true
			return errDeadlock
		}
		victim.deadlockVictim = true
		if victim.abortWait != nil {
			close(victim.abortWait)
			victim.abortWait = nil
		}
	}
	if deadline.IsZero() {
		*deadline = time.Now().Add(timeout)
	}
	t.waitFor = blockers
	abort := make(chan struct{})
	t.abortWait = abort
	lt.mu.Unlock()
	timer := time.NewTimer(time.Until(*deadline))
	var err error
	select {
	case <-wake:
	case <-abort:
	case <-timer.C:
		err = errLockWaitTimeout
	}
	timer.Stop()
	lt.mu.Lock()
	t.waitFor = nil
	t.abortWait = nil
	if t.deadlockVictim {
		return errDeadlock
	}
	return err
}

// cycleThrough returns the transactions of a wait cycle that t waiting for blockers would
// close (t excluded), or nil. Caller holds lt.mu.
func (lt *lockTable) cycleThrough(t *txn, blockers []*txn) []*txn {
	seen := map[*txn]bool{}
	var path []*txn
	var visit func(o *txn) bool
	visit = func(o *txn) bool {
		if o == t {
			return true
		}
		if seen[o] {
			return false
		}
		seen[o] = true
		path = append(path, o)
		for _, w := range o.waitFor {
			if visit(w) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	for _, b := range blockers {
		if visit(b) {
			return path
		}
	}
	return nil
}

// endVictim rolls back a transaction chosen as a deadlock victim, as InnoDB does: its locks go
// at once, so the rest of the cycle proceeds; the session drops it when the statement ends.
// Called without lt.mu.
func (lt *lockTable) endVictim(t *txn, err *error) {
	if *err == errDeadlock {
		t.e.rollbackTxn(t)
	}
}

// wasDeadlockVictim reports whether t was rolled back as a deadlock victim.
func (lt *lockTable) wasDeadlockVictim(t *txn) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return t.deadlockVictim
}

// dropIfFree removes an entry nobody holds or waits for. Caller holds lt.mu.
func (lt *lockTable) dropIfFree(key string, l *rowLock) {
	if l.x == nil && len(l.s) == 0 && len(l.queue) == 0 && l.wake == nil {
		delete(lt.rows, key)
	}
}

// lockGap gives t a gap lock on the open interval (lo, hi) of one index. It never waits.
func (lt *lockTable) lockGap(t *txn, lo, hi []byte) {
	lt.mu.Lock()
	lt.lockGapLocked(t, lo, hi)
	lt.mu.Unlock()
}

func (lt *lockTable) lockGapLocked(t *txn, lo, hi []byte) {
	if n := len(t.gaps); n > 0 {
		// A scan locks gap after gap, each starting at the row that ended the previous one (a
		// row it holds locked, so nobody can insert it): extend the last gap instead.
		if last := t.gaps[n-1]; bytes.Equal(last.hi, lo) {
			last.hi = hi
			return
		}
	}
	g := &gapLock{lo: lo, hi: hi, owner: t}
	idx := string(lo[:indexPrefixLen])
	lt.gaps[idx] = append(lt.gaps[idx], g)
	t.gaps = append(t.gaps, g)
}

// waitInsert waits until no other transaction holds a gap lock around key (an index key t is
// about to insert), failing on a deadlock or after timeout.
func (lt *lockTable) waitInsert(t *txn, key []byte, timeout time.Duration) (err error) {
	defer lt.endVictim(t, &err)
	var deadline time.Time
	idx := string(key[:indexPrefixLen])
	for {
		lt.mu.Lock()
		if t.deadlockVictim {
			lt.mu.Unlock()
			return errDeadlock
		}
		var blockers []*txn
		for _, g := range lt.gaps[idx] {
			if g.owner != t && bytes.Compare(g.lo, key) < 0 && bytes.Compare(key, g.hi) < 0 &&
				!slices.Contains(blockers, g.owner) {
				blockers = append(blockers, g.owner)
			}
		}
		if len(blockers) == 0 {
			ii := &insertIntent{key: bytes.Clone(key), owner: t}
			lt.inserts[idx] = append(lt.inserts[idx], ii)
			t.intents = append(t.intents, ii)
			lt.mu.Unlock()
			return nil
		}
		err := lt.waitLocked(t, blockers, lt.gapFreed, &deadline, timeout)
		lt.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// waitPendingInserts waits until no other transaction has an uncommitted insert into the open
// interval (lo, hi) of one index (a gap t has just locked). It reports whether it waited (the
// caller then reads the interval again).
func (lt *lockTable) waitPendingInserts(t *txn, lo, hi []byte, timeout time.Duration) (waited bool, err error) {
	defer lt.endVictim(t, &err)
	var deadline time.Time
	idx := string(lo[:indexPrefixLen])
	for {
		lt.mu.Lock()
		if t.deadlockVictim {
			lt.mu.Unlock()
			return waited, errDeadlock
		}
		var owner *txn
		for _, ii := range lt.inserts[idx] {
			if ii.owner != t && bytes.Compare(lo, ii.key) < 0 && bytes.Compare(ii.key, hi) < 0 {
				owner = ii.owner
				break
			}
		}
		if owner == nil {
			lt.mu.Unlock()
			return waited, nil
		}
		if owner.ended == nil {
			owner.ended = make(chan struct{})
		}
		err := lt.waitLocked(t, []*txn{owner}, owner.ended, &deadline, timeout)
		lt.mu.Unlock()
		if err != nil {
			return true, err
		}
		waited = true
	}
}

// releaseRow lets go of one row lock t holds (READ COMMITTED releases the rows a statement
// scanned but did not change).
func (lt *lockTable) releaseRow(t *txn, key string) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if i := slices.Index(t.locks, key); i >= 0 {
		t.locks = slices.Delete(t.locks, i, i+1)
		lt.unlockLocked(t, key)
	}
}

func (lt *lockTable) unlockLocked(t *txn, key string) {
	l := lt.rows[key]
	if l == nil {
		return
	}
	if l.x == t {
		l.x = nil
	}
	if i := slices.Index(l.s, t); i >= 0 {
		l.s = slices.Delete(l.s, i, i+1)
	}
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
	lt.dropIfFree(key, l)
}

// release frees every lock t holds.
func (lt *lockTable) release(t *txn) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for _, key := range t.locks {
		lt.unlockLocked(t, key)
	}
	t.locks = t.locks[:0]
	for _, ii := range t.intents {
		removeByIndex(lt.inserts, string(ii.key[:indexPrefixLen]), ii)
	}
	t.intents = t.intents[:0]
	if t.ended != nil {
		close(t.ended)
		t.ended = nil
	}
	if len(t.gaps) > 0 {
		for _, g := range t.gaps {
			removeByIndex(lt.gaps, string(g.lo[:indexPrefixLen]), g)
		}
		t.gaps = t.gaps[:0]
		close(lt.gapFreed)
		lt.gapFreed = make(chan struct{})
	}
}

// removeByIndex removes v from the list m holds for index idx, and the list once empty.
func removeByIndex[T comparable](m map[string][]T, idx string, v T) {
	list := m[idx]
	if i := slices.Index(list, v); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(m, idx)
	} else {
		m[idx] = list
	}
}

// size reports how many row and gap lock entries the table holds (for status and tests).
func (lt *lockTable) size() int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := len(lt.rows)
	for _, g := range lt.gaps {
		n += len(g)
	}
	return n
}

package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// errHoldsReadLock is MySQL's ER_CANT_UPDATE_WITH_READLOCK: the session itself holds the global
// read lock, so waiting for it to be released would wait forever.
var errHoldsReadLock = mysql.NewSQLError(1223, mysql.SSUnknownSQLState,
	"Can't execute the query because you have a conflicting read lock")

// commitGate is the global read lock (FLUSH TABLES WITH READ LOCK). Every durable change passes
// through it: a transaction's commit and a catalog write. While some session holds the lock,
// changes wait at the gate (honouring lock_wait_timeout and KILL); taking the lock waits for the
// changes already past the gate to finish, so that once it is held the store and the binary log
// stand still and their position can be read (SHOW MASTER STATUS) together with a snapshot.
// Several sessions may hold it at once, as in MySQL.
type commitGate struct {
	mu       sync.Mutex
	holders  map[uint32]int // session id → times taken (a session takes it once; kept for safety)
	open     chan struct{}  // closed while nobody holds the lock; replaced when it is taken
	inflight int            // changes past the gate and not finished
	drained  chan struct{}  // closed when inflight drops to 0 (nil while nobody waits for that)
	held     atomic.Int32   // len(holders), read without mu on every statement
}

func newCommitGate() *commitGate {
	g := &commitGate{holders: make(map[uint32]int), open: make(chan struct{})}
	close(g.open)
	return g
}

// enter waits until no session holds the lock and counts one change in flight; the caller must
// call leave when the change is durable (or failed). A holder's own changes are refused.
func (g *commitGate) enter(ctx context.Context, session uint32, timeout func() time.Duration) error {
	var expire <-chan time.Time
	for {
		g.mu.Lock()
		if len(g.holders) == 0 {
			g.inflight++
			g.mu.Unlock()
			return nil
		}
		if g.holders[session] > 0 {
			g.mu.Unlock()
			return errHoldsReadLock
		}
		open := g.open
		g.mu.Unlock()
		if expire == nil {
			t := time.NewTimer(timeout())
			defer t.Stop()
			expire = t.C
		}
		select {
		case <-open:
		case <-expire:
			return errLockWaitTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *commitGate) leave() {
	g.mu.Lock()
	g.inflight--
	if g.inflight == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
	g.mu.Unlock()
}

// lock takes the global read lock for session and waits for the changes in flight to finish.
// If ctx ends first, the lock is not taken.
func (g *commitGate) lock(ctx context.Context, session uint32) error {
	g.mu.Lock()
	if len(g.holders) == 0 {
		g.open = make(chan struct{})
	}
	g.holders[session]++
	g.held.Store(int32(len(g.holders)))
	for g.inflight > 0 {
		if g.drained == nil {
			g.drained = make(chan struct{})
		}
		drained := g.drained
		g.mu.Unlock()
		select {
		case <-drained:
		case <-ctx.Done():
			g.unlock(session)
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	return nil
}

// unlock releases session's hold on the lock; it reports whether the session held it.
func (g *commitGate) unlock(session uint32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.holders[session] == 0 {
		return false
	}
	delete(g.holders, session)
	g.held.Store(int32(len(g.holders)))
	if len(g.holders) == 0 {
		close(g.open)
	}
	return true
}

func (g *commitGate) holds(session uint32) bool {
	if g.held.Load() == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.holders[session] > 0
}

// LockCommits takes the global read lock (FLUSH TABLES WITH READ LOCK) for a session: it returns
// once every commit and catalog write already under way has finished, and from then on other
// sessions' commits and DDL wait until UnlockCommits. Writes the session itself attempts fail
// with error 1223.
func (e *Engine) LockCommits(ctx context.Context, session uint32) error {
	return e.gate.lock(ctx, session)
}

// UnlockCommits releases the session's global read lock (UNLOCK TABLES, or the session ending).
// It reports whether the session held it.
func (e *Engine) UnlockCommits(session uint32) bool { return e.gate.unlock(session) }

// HoldsCommitLock reports whether the session holds the global read lock.
func (e *Engine) HoldsCommitLock(session uint32) bool { return e.gate.holds(session) }

// enterGate lets one durable change through the global read lock, waiting while another session
// holds it for at most the session's lock_wait_timeout (MySQL's default: a year).
func (e *Engine) enterGate(ctx *sql.Context) error {
	if ctx == nil {
		return e.gate.enter(context.Background(), 0, func() time.Duration { return metadataLockWait })
	}
	var session uint32
	if ctx.Session != nil {
		session = ctx.Session.ID()
	}
	// The session variable is read only when the commit has to wait: every commit passes here.
	return e.gate.enter(ctx, session, func() time.Duration { return sessionSeconds(ctx, "lock_wait_timeout", metadataLockWait) })
}

// metadataLockWait is MySQL's default lock_wait_timeout.
const metadataLockWait = 365 * 24 * time.Hour

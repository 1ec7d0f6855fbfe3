package commit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// ErrClosed is returned by Commit after Close.
var ErrClosed = errors.New("commit pipeline is closed")

// Request is one transaction waiting to commit.
type Request struct {
	// Batch holds the transaction's writes. The pipeline does not close it.
	Batch *pebble.Batch
	// Log is the transaction's entry for the pipeline's Log (nil: nothing to log).
	Log any
	// Durable asks for the store itself to be synced for this request even when a Log is the
	// commit log (catalog changes, which recovery cannot replay from the log).
	Durable bool
	// AfterVisible, if set, runs on the committer goroutine once the group is durable and
	// visible, in sequence order, before Commit returns. It must be quick and must not block.
	AfterVisible func(seq uint64)
	// Check, if set, is asked again just before the request's group is logged while a hold is
	// in force or shortly after one ended (see Hold): the caller's permission to write (a
	// client's, checked before it queued) may have ended meanwhile, when its node handed its
	// primary role over. A request whose Check fails is refused alone, nothing of it logged.
	Check func() error

	seq  uint64
	err  error
	done chan struct{}
}

// Log is a commit log written ahead of the store: the binary log. The pipeline hands it each
// group's entries in commit order before the group's batches reach the store.
type Log interface {
	// WriteGroup logs the entries of one group (nil for requests with nothing to log), in order,
	// and makes them as durable as its policy says. On error nothing is stored.
	WriteGroup(entries []any) (LogResult, error)
	// GroupVisible is called once a group is visible in the store, with its LogResult's Token.
	// Groups become visible in the order they were written.
	GroupVisible(token any)
}

// LogResult is what a Log did with a group.
type LogResult struct {
	// State is stored atomically with the group's writes (nil: nothing).
	State []byte
	// SyncStore asks the store to sync the group itself: the log cannot replay all of it.
	SyncStore bool
	// Synced reports that the log fsynced the group.
	Synced bool
	// Wait, if set, must return before the group is written to the store and becomes visible
	// (semi-sync's AFTER_SYNC wait for replica acknowledgements). The pipeline calls it, and
	// does the store write after it, on its second goroutine, so that the next group can be
	// logged and fsynced meanwhile; an error fails the group.
	Wait func() error
	// Token is handed back to GroupVisible.
	Token any
}

// Options tune a Pipeline.
type Options struct {
	// NoSync makes commits visible without waiting for fsync (sync_binlog=0 style). Unsafe
	// against power loss; kept for benchmarks and tests.
	NoSync bool
	// MaxGroupBytes bounds how many bytes of batches one group may merge (0 = 8 MiB).
	MaxGroupBytes int
	// SpaceCheck, if set, is called before each durable write with the bytes about to be
	// written; a non-nil error fails the group without writing anything. Pebble treats a failed
	// log write as fatal, so running out of disk must be caught before the write.
	SpaceCheck func(n int) error
	// OpenWriters, if set, counts the transactions that have written and not yet finished
	// (committing ones included). When the last group was fsynced and more writers are open
	// than the new group holds, the committer waits for them to join: at most as long as the
	// last group's durable write took (and MaxGroupWait), giving up once none has arrived for
	// GroupArrivalGap. A bigger group shares one fsync; without fsyncs there is nothing to share
	// and no wait.
	OpenWriters func() int
	// MaxGroupWait caps that wait (0 = 2 ms); GroupArrivalGap ends it early (0 = 400 µs).
	MaxGroupWait, GroupArrivalGap time.Duration
}

// Pipeline orders, persists and publishes commits. Create it with New; stop it with Close.
type Pipeline struct {
	db   *pebble.DB
	opts Options

	mu      sync.Mutex
	queue   []*Request
	wake    chan struct{}
	closing bool
	stopped chan struct{}

	log      Log    // set by SetLog before the first commit
	stateKey []byte // where the log's state is stored

	// Owned by the committer goroutine: how the last group went, for gather.
	lastSynced  bool
	lastPersist time.Duration

	// Groups that wait (LogResult.Wait) are finished — written to the store and published — by
	// the finisher goroutine, in order; a group is finished on the committer goroutine only while
	// the finisher has nothing in hand, so finishing never overlaps.
	finishQ   chan *finishing
	inFinish  atomic.Int64  // groups handed to the finisher and not yet finished
	finisherC chan struct{} // closed when the finisher has stopped

	nextSeq    uint64 // owned by whichever goroutine finishes (see finishQ)
	visibleSeq atomic.Uint64

	groups  atomic.Uint64
	commits atomic.Uint64

	// fence, when set, says whether this node may acknowledge commits now (a cluster primary
	// holding its lease); see SetFence.
	fence atomic.Pointer[func() error]
	// pending counts Commit calls not yet returned; progressAt (unix ns) is when the pipeline last
	// finished a group, or when pending last rose from zero (see Stalled).
	pending    atomic.Int64
	progressAt atomic.Int64

	// logMu is held by the committer from its hold check until the group is logged, so that
	// Hold can wait for a group that passed the check; hold is the hold in force (see Hold).
	logMu  sync.Mutex
	holdMu sync.Mutex
	hold   *commitHold // guarded by holdMu
	// unfinished counts groups logged and not yet finished (see Drain).
	unfinished atomic.Int64
	// recheckUntil (unix ns) is until when requests' Check runs before logging: while a hold
	// is in force and for holdRecheck after it ends.
	recheckUntil atomic.Int64
}

// holdRecheck is how long after a hold ends requests are checked again before they are logged:
// a client's commit that passed its permission check before the node stopped being the primary
// may reach the queue a little later (its batch is still being built).
const holdRecheck = 5 * time.Second

// commitHold makes groups wait before they are logged (see Pipeline.Hold).
type commitHold struct {
	done     chan struct{} // closed by release
	err      error         // set before done is closed
	deadline time.Time
	expired  error
}

// NotAcknowledgedError fails a commit that is logged and visible on this node but must not be
// acknowledged to its client: the node lost the right to acknowledge (its lease) meanwhile. The
// caller must treat the transaction as committed locally and report the error.
type NotAcknowledgedError struct{ Err error }

func (e *NotAcknowledgedError) Error() string { return "commit not acknowledged: " + e.Err.Error() }
func (e *NotAcknowledgedError) Unwrap() error { return e.Err }

// SetFence installs the check a cluster primary's lease makes (nil removes it). A group is
// refused before it is logged when the check fails, so nothing of it exists anywhere; a group
// that was logged and then finds the check failing (the lease ran out while it waited for
// replicas) is still written to the store, so that store and log agree, but its commits return
// the check's error instead of success: they are not acknowledged.
func (p *Pipeline) SetFence(check func() error) {
	if check == nil {
		p.fence.Store(nil)
		return
	}
	p.fence.Store(&check)
}

func (p *Pipeline) fenceErr() error {
	if f := p.fence.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// Hold makes every group wait before it is logged until the returned release is called: a
// cluster primary handing over to another node holds its new commits rather than failing them.
// When Hold returns, no group is between its check and its log write, so everything logged
// so far is all that will be logged while the hold lasts. A held group waits at most until
// max after Hold, then fails with expired; release(nil) lets the waiting groups (and later ones)
// be logged, release(err) fails them with err. Nothing of a failed group is logged. Groups
// logged before the hold finish normally (Drain waits for them).
func (p *Pipeline) Hold(max time.Duration, expired error) (release func(error)) {
	h := &commitHold{done: make(chan struct{}), deadline: time.Now().Add(max), expired: expired}
	p.recheckUntil.Store(h.deadline.Add(holdRecheck).UnixNano())
	p.holdMu.Lock()
	p.hold = h
	p.holdMu.Unlock()
	p.logMu.Lock() // a group past the check is logged once this is ours
	p.logMu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			p.holdMu.Lock()
			if p.hold == h {
				p.hold = nil
			}
			p.holdMu.Unlock()
			h.err = err
			p.recheckUntil.Store(time.Now().Add(holdRecheck).UnixNano())
			close(h.done)
		})
	}
}

// waitHold is the committer's hold check; it returns with logMu held and nil, or with an error
// (and logMu not held) when the group must fail.
func (p *Pipeline) waitHold() error {
	for {
		p.logMu.Lock()
		p.holdMu.Lock()
		h := p.hold
		p.holdMu.Unlock()
		if h == nil {
			return nil
		}
		p.logMu.Unlock()
		wait := time.Until(h.deadline)
		if wait <= 0 {
			return h.expired
		}
		t := time.NewTimer(wait)
		select {
		case <-h.done:
			t.Stop()
			if h.err != nil {
				return h.err
			}
		case <-t.C:
			return h.expired
		}
	}
}

// Drain waits until every group logged so far has finished (acknowledged or failed), or until
// done is closed; it reports whether they did.
func (p *Pipeline) Drain(done <-chan struct{}) bool {
	for p.unfinished.Load() > 0 {
		select {
		case <-done:
			return false
		case <-time.After(500 * time.Microsecond):
		}
	}
	return true
}

// Stalled reports whether commits have been waiting for longer than d without the pipeline
// finishing any group: a hung disk, or replicas that never acknowledge.
func (p *Pipeline) Stalled(d time.Duration) bool {
	return p.pending.Load() > 0 && time.Since(time.Unix(0, p.progressAt.Load())) > d
}

// New starts a pipeline over db. lastSeq is the highest commit sequence already visible (0 for a
// fresh store); sequence numbers are not persisted, they order commits within one process.
func New(db *pebble.DB, lastSeq uint64, opts Options) *Pipeline {
	if opts.MaxGroupBytes <= 0 {
		opts.MaxGroupBytes = 8 << 20
	}
	if opts.MaxGroupWait <= 0 {
		opts.MaxGroupWait = 2 * time.Millisecond
	}
	if opts.GroupArrivalGap <= 0 {
		opts.GroupArrivalGap = 400 * time.Microsecond
	}
	p := &Pipeline{
		db:        db,
		opts:      opts,
		wake:      make(chan struct{}, 1),
		stopped:   make(chan struct{}),
		finishQ:   make(chan *finishing, 16),
		finisherC: make(chan struct{}),
		nextSeq:   lastSeq + 1,
	}
	p.visibleSeq.Store(lastSeq)
	go p.run()
	go p.finisher()
	return p
}

// SetLog makes l the commit log: each group is logged first, and l's state is stored under
// stateKey in the same atomic write as the group. Call it before any commit.
func (p *Pipeline) SetLog(l Log, stateKey []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log, p.stateKey = l, stateKey
}

// VisibleSeq returns the sequence number of the last commit visible to new snapshots. A snapshot
// taken after reading VisibleSeq includes at least every commit up to it.
func (p *Pipeline) VisibleSeq() uint64 { return p.visibleSeq.Load() }

// Stats reports how many commits and how many durable writes (groups) the pipeline has done.
func (p *Pipeline) Stats() (commits, groups uint64) { return p.commits.Load(), p.groups.Load() }

// Commit enqueues r and waits until it is durable and visible, or failed.
func (p *Pipeline) Commit(r *Request) (uint64, error) {
	r.done = make(chan struct{})
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return 0, ErrClosed
	}
	p.queue = append(p.queue, r)
	p.mu.Unlock()
	if p.pending.Add(1) == 1 {
		p.progressAt.Store(time.Now().UnixNano())
	}
	defer p.pending.Add(-1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-r.done
	return r.seq, r.err
}

// Close lets queued commits finish, then stops the committer goroutine.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		<-p.stopped
		return
	}
	p.closing = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.stopped
}

func (p *Pipeline) run() {
	defer close(p.stopped)
	defer func() { close(p.finishQ); <-p.finisherC }()
	var group []*Request
	for {
		p.mu.Lock()
		group = append(group[:0], p.queue...)
		clear(p.queue)
		p.queue = p.queue[:0]
		closing := p.closing
		p.mu.Unlock()
		if len(group) == 0 {
			if closing {
				return
			}
			<-p.wake
			continue
		}
		group = p.gather(group)
		for len(group) > 0 {
			n := p.groupLen(group)
			p.commitGroup(group[:n])
			group = group[n:]
		}
	}
}

// gather waits briefly for open writers to join the group (see Options.OpenWriters).
func (p *Pipeline) gather(group []*Request) []*Request {
	if p.opts.OpenWriters == nil || !p.lastSynced || len(group) >= p.opts.OpenWriters() {
		return group
	}
	maxWait := min(p.opts.MaxGroupWait, p.lastPersist)
	gap := min(p.opts.GroupArrivalGap, maxWait)
	start := time.Now()
	lastArrival := start
	for {
		time.Sleep(20 * time.Microsecond)
		now := time.Now()
		p.mu.Lock()
		if len(p.queue) > 0 {
			group = append(group, p.queue...)
			clear(p.queue)
			p.queue = p.queue[:0]
			lastArrival = now
		}
		closing := p.closing
		p.mu.Unlock()
		if closing || len(group) >= p.opts.OpenWriters() || now.Sub(start) >= maxWait ||
			now.Sub(lastArrival) >= gap {
			return group
		}
	}
}

// groupLen returns how many leading requests fit in one merged write.
func (p *Pipeline) groupLen(reqs []*Request) int {
	size := 0
	for i, r := range reqs {
		size += len(r.Batch.Repr())
		if i > 0 && size > p.opts.MaxGroupBytes {
			return i
		}
	}
	return len(reqs)
}

// finishing is a logged group on its way to the store.
type finishing struct {
	group []*Request
	batch *pebble.Batch // the group's merged write (owned: closed when done, unless a request's)
	owned bool
	wo    *pebble.WriteOptions
	res   LogResult
	err   error // the group failed before reaching the store
	// ackErr fails the group's commits after it reached the store: logged and visible, but
	// not acknowledged (see SetFence).
	ackErr error
	logged bool // counted in Pipeline.unfinished
}

func (p *Pipeline) commitGroup(group []*Request) {
	f := p.logGroup(group)
	if f.err == nil && (f.res.Wait != nil || p.inFinish.Load() > 0) {
		p.inFinish.Add(1)
		p.finishQ <- f
		return
	}
	p.finish(f)
}

// finisher finishes, in order, the groups that wait before they become visible.
func (p *Pipeline) finisher() {
	defer close(p.finisherC)
	for f := range p.finishQ {
		if f.err == nil && f.res.Wait != nil {
			if err := f.res.Wait(); err != nil {
				// Logged (and possibly on replicas) but not acknowledged: the group is still
				// written to the store below, so that store and log agree.
				f.ackErr = &NotAcknowledgedError{Err: err}
			}
		}
		p.finish(f)
		p.inFinish.Add(-1)
	}
}

// finish writes a logged group to the store, publishes it and releases its commits.
func (p *Pipeline) finish(f *finishing) {
	err := f.err
	if err == nil {
		start := time.Now()
		if err = p.db.Apply(f.batch, f.wo); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
		if p.log == nil {
			// The store's fsync is the durable write (and without a log, groups are always
			// finished on the committer goroutine, which owns lastPersist).
			p.lastPersist += time.Since(start)
		}
	}
	if f.owned {
		f.batch.Close()
	}
	group := f.group
	p.progressAt.Store(time.Now().UnixNano())
	ackErr := f.ackErr
	if err == nil && ackErr == nil {
		if ferr := p.fenceErr(); ferr != nil {
			ackErr = &NotAcknowledgedError{Err: ferr}
		}
	}
	if err == nil {
		for _, r := range group {
			r.seq = p.nextSeq
			p.nextSeq++
		}
		p.visibleSeq.Store(group[len(group)-1].seq)
		if p.log != nil {
			p.log.GroupVisible(f.res.Token)
		}
		p.groups.Add(1)
		p.commits.Add(uint64(len(group)))
	}
	for _, r := range group {
		if err != nil {
			r.err = err
		} else {
			if r.AfterVisible != nil {
				r.AfterVisible(r.seq)
			}
			r.err = ackErr
		}
		close(r.done)
	}
	if f.logged {
		p.unfinished.Add(-1)
	}
}

var errAllRefused = errors.New("commit: every request of the group was refused")

// recheck refuses, alone, the requests whose Check fails (see Request.Check).
func (p *Pipeline) recheck(group []*Request) []*Request {
	kept := make([]*Request, 0, len(group))
	for _, r := range group {
		if r.Check != nil {
			if err := r.Check(); err != nil {
				r.err = err
				close(r.done)
				continue
			}
		}
		kept = append(kept, r)
	}
	return kept
}

// logGroup logs the group (when there is a Log) and prepares its batches as one atomic store
// write. Without a Log the store's own fsync makes the group durable; with one, the log's does,
// and the store syncs only for what the log cannot replay.
func (p *Pipeline) logGroup(group []*Request) *finishing {
	f := &finishing{group: group}
	n := 0
	durable := false
	for _, r := range group {
		n += len(r.Batch.Repr())
		durable = durable || r.Durable
	}
	if err := p.waitHold(); err != nil {
		f.err = err
		return f
	}
	defer p.logMu.Unlock()
	if time.Now().UnixNano() < p.recheckUntil.Load() {
		group = p.recheck(group)
		f.group = group
		if len(group) == 0 {
			f.err = errAllRefused
			return f
		}
	}
	if err := p.fenceErr(); err != nil {
		f.err = err
		return f
	}
	if p.opts.SpaceCheck != nil {
		if err := p.opts.SpaceCheck(n); err != nil {
			f.err = err
			return f
		}
	}
	start := time.Now()
	sync := true
	logSynced := false
	if p.log != nil {
		entries := make([]any, len(group))
		for i, r := range group {
			entries[i] = r.Log
		}
		res, err := p.log.WriteGroup(entries)
		if err != nil {
			f.err = fmt.Errorf("commit: %w", err)
			return f
		}
		f.logged = true
		p.unfinished.Add(1)
		f.res, logSynced = res, res.Synced
		sync = res.SyncStore || durable
	}
	f.wo = pebble.Sync
	if p.opts.NoSync || !sync {
		f.wo = pebble.NoSync
	}
	p.lastSynced = logSynced || f.wo == pebble.Sync
	p.lastPersist = time.Since(start)
	f.batch = group[0].Batch
	if len(group) > 1 {
		f.batch, f.owned = p.db.NewBatch(), true
		for _, r := range group {
			if err := f.batch.Apply(r.Batch, nil); err != nil {
				f.err = fmt.Errorf("commit: merge batch: %w", err)
				return f
			}
		}
	}
	if f.res.State != nil {
		if err := f.batch.Set(p.stateKey, f.res.State, nil); err != nil {
			f.err = fmt.Errorf("commit: %w", err)
		}
	}
	return f
}

package commit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// ErrClosed is returned by Commit after Close.
var ErrClosed = errors.New("commit pipeline is closed")

// Request is one transaction waiting to commit.
type Request struct {
	// Batch holds the transaction's writes. The pipeline does not close it.
	Batch *pebble.Batch
	// AfterVisible, if set, runs on the committer goroutine once the group is durable and
	// visible, in sequence order, before Commit returns. It must be quick and must not block.
	AfterVisible func(seq uint64)

	seq  uint64
	err  error
	done chan struct{}
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

	nextSeq    uint64 // owned by the committer goroutine
	visibleSeq atomic.Uint64

	groups  atomic.Uint64
	commits atomic.Uint64
}

// New starts a pipeline over db. lastSeq is the highest commit sequence already visible (0 for a
// fresh store); sequence numbers are not persisted, they order commits within one process.
func New(db *pebble.DB, lastSeq uint64, opts Options) *Pipeline {
	if opts.MaxGroupBytes <= 0 {
		opts.MaxGroupBytes = 8 << 20
	}
	p := &Pipeline{
		db:      db,
		opts:    opts,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		nextSeq: lastSeq + 1,
	}
	p.visibleSeq.Store(lastSeq)
	go p.run()
	return p
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
		for len(group) > 0 {
			n := p.groupLen(group)
			p.commitGroup(group[:n])
			group = group[n:]
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

func (p *Pipeline) commitGroup(group []*Request) {
	err := p.persist(group)
	if err == nil {
		for _, r := range group {
			r.seq = p.nextSeq
			p.nextSeq++
		}
		p.visibleSeq.Store(group[len(group)-1].seq)
		p.groups.Add(1)
		p.commits.Add(uint64(len(group)))
	}
	for _, r := range group {
		if err != nil {
			r.err = err
		} else if r.AfterVisible != nil {
			r.AfterVisible(r.seq)
		}
		close(r.done)
	}
}

// persist writes the group's batches as one durable write. A lone batch is applied as is;
// several are merged so that one fsync covers them all.
func (p *Pipeline) persist(group []*Request) error {
	if p.opts.SpaceCheck != nil {
		n := 0
		for _, r := range group {
			n += len(r.Batch.Repr())
		}
		if err := p.opts.SpaceCheck(n); err != nil {
			return err
		}
	}
	wo := pebble.Sync
	if p.opts.NoSync {
		wo = pebble.NoSync
	}
	if len(group) == 1 {
		if err := p.db.Apply(group[0].Batch, wo); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	merged := p.db.NewBatch()
	defer merged.Close()
	for _, r := range group {
		if err := merged.Apply(r.Batch, nil); err != nil {
			return fmt.Errorf("commit: merge batch: %w", err)
		}
	}
	if err := p.db.Apply(merged, wo); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

package replica

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/readonly"
)

// errAborted aborts a transaction whose commit turn cannot come because an earlier one failed.
var errAborted = errors.New("aborted: an earlier transaction failed")

// pool applies transactions on several workers at once (replica_parallel_workers) while
// keeping the source's commit order: a transaction may start once every transaction its
// last_committed names has committed (the source's logical clock says it did not depend on
// the ones after), and it starts its commit only after every transaction dispatched before it
// has started its own, so that they can share the binlog's group commit. (Commits that start in
// order could still finish out of order if a worker were descheduled in between; a crash then
// leaves a gap in gtid_executed, which the applier fills at restart, as MySQL does without
// replica_preserve_commit_order.)
type pool struct {
	r    *Replica
	f    binlog.Format
	jobs chan *job
	wg   sync.WaitGroup

	mu         sync.Mutex
	cond       *sync.Cond
	dispatched uint64           // tickets handed out
	entered    uint64           // tickets that have started to commit, in order
	committed  uint64           // tickets committed
	prefix     uint64           // every ticket up to prefix has committed
	doneSN     map[uint64]int64 // committed tickets above prefix, with their sequence_number
	lastSN     int64            // sequence_number of ticket prefix: everything up to it is committed
	prevSN     int64            // sequence_number of the last dispatched transaction
	failed     error
}

type job struct {
	t          binlog.Transaction
	committed  time.Time // when it committed at its origin (status, delay)
	sourceFile string    // the source binlog file it comes from (applied acks)
	ticket     uint64
}

func newPool(ctx context.Context, r *Replica, f binlog.Format, workers int) *pool {
	p := &pool{r: r, f: f, jobs: make(chan *job), doneSN: map[uint64]int64{}}
	p.cond = sync.NewCond(&p.mu)
	for i := 0; i < workers; i++ {
		p.wg.Add(1)
		go p.worker(ctx)
	}
	return p
}

// close stops the workers after the dispatched transactions are done.
func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
}

// drain waits until every dispatched transaction has committed (or one failed).
func (p *pool) drain() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.committed < p.dispatched && p.failed == nil {
		p.cond.Wait()
	}
	return p.failed
}

// dispatch hands t to a worker once the logical clock allows it.
func (p *pool) dispatch(ctx context.Context, j job) error {
	t := j.t
	ddl := len(t.Events) > 1 && !isBegin(p.f, t.Events[1])
	p.mu.Lock()
	newFile := t.SequenceNumber <= p.prevSN
	p.mu.Unlock()
	if ddl || newFile || t.Anonymous {
		// DDL runs alone, and a new source file restarts the logical clock: wait for the rest.
		if err := p.drain(); err != nil {
			return err
		}
		if newFile {
			p.mu.Lock()
			p.lastSN = 0
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	for p.failed == nil && p.lastSN < t.LastCommitted && p.committed < p.dispatched {
		p.cond.Wait()
	}
	if p.failed != nil {
		p.mu.Unlock()
		return p.failed
	}
	p.dispatched++
	j.ticket = p.dispatched
	p.prevSN = t.SequenceNumber
	p.mu.Unlock()
	select {
	case p.jobs <- &j:
	case <-ctx.Done():
		return ctx.Err()
	}
	if ddl {
		return p.drain()
	}
	return nil
}

func isBegin(f binlog.Format, ev binlog.Event) bool {
	if ev.Type() != binlog.TypeQuery {
		return false
	}
	q, err := binlog.DecodeQuery(f, ev)
	return err == nil && q.SQL == "BEGIN"
}

func (p *pool) worker(ctx context.Context) {
	defer p.wg.Done()
	sess := p.r.opts.NewSession()
	if ls, ok := sess.(sql.LifecycleAwareSession); ok {
		defer ls.SessionEnd() // the storage forgets the session (and rolls back what is open)
	}
	sctx := sql.NewContext(readonly.MarkApplier(ctx), sql.WithSession(sess))
	a := apply.New(p.r.opts.Engine)
	for j := range p.jobs {
		p.run(sctx, a, j)
	}
}

func (p *pool) run(sctx *sql.Context, a *apply.Applier, j *job) {
	t := &j.t
	// Commits start in the source's order: a transaction starts its commit once the one before
	// it has started its own. Waiting for the earlier one to finish instead would put every
	// commit, and its fsync, in a line of its own; this way they share group commits.
	a.BeforeCommit = func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		for p.entered < j.ticket-1 && p.failed == nil {
			p.cond.Wait()
		}
		if p.failed != nil {
			return errAborted
		}
		p.entered = j.ticket
		p.cond.Broadcast()
		return nil
	}
	err := p.r.applyTxn(sctx, a, p.f, t, j.committed, j.sourceFile)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if p.failed == nil { // the first failure; later ones are aborts caused by it
			p.failed = err
		}
		p.cond.Broadcast()
		return
	}
	p.committed++
	// Commits may finish out of order; the logical clock needs every earlier one finished.
	p.doneSN[j.ticket] = t.SequenceNumber
	for {
		sn, ok := p.doneSN[p.prefix+1]
		if !ok {
			break
		}
		delete(p.doneSN, p.prefix+1)
		p.prefix++
		p.lastSN = sn
	}
	p.cond.Broadcast()
}

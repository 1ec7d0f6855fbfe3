package replica

import (
	"context"
	"errors"
	"sync"

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
// the ones after), and it commits only after every transaction dispatched before it.
type pool struct {
	r    *Replica
	f    binlog.Format
	jobs chan *job
	wg   sync.WaitGroup

	mu         sync.Mutex
	cond       *sync.Cond
	dispatched uint64 // tickets handed out
	committed  uint64 // tickets committed, in order
	lastSN     int64  // sequence_number of the last committed transaction (this source file)
	prevSN     int64  // sequence_number of the last dispatched transaction
	failed     error
}

type job struct {
	t      binlog.Transaction
	ticket uint64
}

func newPool(ctx context.Context, r *Replica, f binlog.Format, workers int) *pool {
	p := &pool{r: r, f: f, jobs: make(chan *job)}
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
func (p *pool) dispatch(ctx context.Context, t binlog.Transaction) error {
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
	j := &job{t: t, ticket: p.dispatched}
	p.prevSN = t.SequenceNumber
	p.mu.Unlock()
	select {
	case p.jobs <- j:
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
	sctx := sql.NewContext(readonly.MarkApplier(ctx), sql.WithSession(sess))
	a := apply.New(p.r.opts.Engine)
	for j := range p.jobs {
		p.run(sctx, a, j)
	}
}

func (p *pool) run(sctx *sql.Context, a *apply.Applier, j *job) {
	t := &j.t
	a.BeforeCommit = func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		for p.committed < j.ticket-1 && p.failed == nil {
			p.cond.Wait()
		}
		if p.failed != nil {
			return errAborted
		}
		return nil
	}
	err := p.r.applyTxn(sctx, a, p.f, t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if p.failed == nil { // the first failure; later ones are aborts caused by it
			p.failed = err
		}
		p.cond.Broadcast()
		return
	}
	p.committed = j.ticket
	p.lastSN = t.SequenceNumber
	p.cond.Broadcast()
}

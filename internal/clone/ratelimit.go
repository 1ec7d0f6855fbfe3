package clone

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket in bytes: clone_max_data_bandwidth. golang.org/x/time/rate is not
// among the module's dependencies, and the clone needs only this: one caller, a rate that may
// change between calls (SET GLOBAL), and waiting before a chunk is requested. A request larger
// than the bucket runs the bucket into debt, which later requests wait off, so the long-run
// rate holds for any chunk size.
type limiter struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// wait blocks until n more bytes may be transferred at rate bytes/s (<= 0: unlimited).
func (l *limiter) wait(ctx context.Context, n int64, rate int64) error {
	l.mu.Lock()
	now := time.Now()
	if rate <= 0 {
		l.tokens, l.last = 0, now
		l.mu.Unlock()
		return nil
	}
	burst := float64(rate) / 4 // at most a quarter second of credit
	if !l.last.IsZero() {
		l.tokens += now.Sub(l.last).Seconds() * float64(rate)
	}
	if l.tokens > burst {
		l.tokens = burst
	}
	l.last = now
	l.tokens -= float64(n)
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / float64(rate) * float64(time.Second))
	}
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// chunkFor is the size of one read request at rate bytes/s: a quarter second of data, between
// 64 KiB and maxChunk, so progress moves smoothly at low rates.
func chunkFor(rate int64) int64 {
	if rate <= 0 {
		return maxChunk
	}
	c := rate / 4
	if c < 64<<10 {
		c = 64 << 10
	}
	if c > maxChunk {
		c = maxChunk
	}
	return c
}

// maxChunk is the largest read request (one result row).
const maxChunk = 4 << 20

package clone

import (
	"context"
	"testing"
	"time"
)

// The limiter never lets more than rate × elapsed (+ its quarter-second burst) through. Only a
// lower bound on the time is checked: a slow machine cannot make it fail.
func TestLimiterHoldsRate(t *testing.T) {
	var l limiter
	const rate = 8 << 20
	chunk := chunkFor(rate)
	start := time.Now()
	var sent int64
	for sent < 4<<20 {
		if err := l.wait(context.Background(), chunk, rate); err != nil {
			t.Fatal(err)
		}
		sent += chunk
	}
	min := time.Duration(float64(sent-rate/4) / rate * float64(time.Second))
	if el := time.Since(start); el < min*9/10 {
		t.Fatalf("%d bytes at %d B/s went through in %s, want at least %s", sent, rate, el, min)
	}
	// Unlimited never waits, and a cancelled context ends a wait.
	if err := l.wait(context.Background(), 1<<30, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, 1<<30, 1); err == nil {
		t.Fatal("a wait of ~1e9 s returned without error on a cancelled context")
	}
}

func TestChunkFor(t *testing.T) {
	for rate, want := range map[int64]int64{0: maxChunk, 1 << 20: 256 << 10, 1: 64 << 10, 1 << 40: maxChunk} {
		if got := chunkFor(rate); got != want {
			t.Errorf("chunkFor(%d) = %d, want %d", rate, got, want)
		}
	}
}

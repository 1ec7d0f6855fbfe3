package semisync

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
)

func pos(file string, off uint64) binlog.Position { return binlog.Position{File: file, Offset: off} }

func enabled(s *Source, timeout time.Duration) {
	s.Configure(func(st *Settings) { st.Enabled, st.Timeout = true, timeout })
}

// One ack at or past a group's position releases all of its waiting commits together.
func TestAckReleasesWaitingGroup(t *testing.T) {
	s := NewSource(nil)
	enabled(s, 10*time.Second)
	r := s.Register(2)
	var wg sync.WaitGroup
	released := make(chan time.Time, 3)
	for _, p := range []uint64{100, 200, 300} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Wait(context.Background(), pos("binlog.000001", p), Received, 1); err != nil {
				t.Error(err)
			}
			released <- time.Now()
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if len(released) != 0 {
		t.Fatal("a commit was released before any ack")
	}
	ackAt(r, pos("binlog.000001", 250), false)
	time.Sleep(50 * time.Millisecond)
	if len(released) != 2 {
		t.Fatalf("an ack at 250 released %d commits, want the 2 at 100 and 200", len(released))
	}
	ackAt(r, pos("binlog.000002", 4), false) // a later file covers everything in the earlier one
	wg.Wait()
	st := s.Status()
	if !st.On || st.YesTx != 3 || st.NoTx != 0 || st.Clients != 1 {
		t.Fatalf("status %+v", st)
	}
}

// A wait that times out switches the source to asynchronous; commits then do not wait; once the
// replica acknowledges the latest position, the status is ON again.
func TestTimeoutFallsBackAndRecovers(t *testing.T) {
	s := NewSource(nil)
	enabled(s, 100*time.Millisecond)
	r := s.Register(2)
	start := time.Now()
	if err := s.Wait(context.Background(), pos("binlog.000001", 500), Received, 2); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("returned after %s, before the timeout", waited)
	}
	if s.Active() {
		t.Fatal("still ON after a timeout")
	}
	start = time.Now()
	s.Wait(context.Background(), pos("binlog.000001", 600), Received, 1)
	if waited := time.Since(start); waited > 50*time.Millisecond {
		t.Fatalf("waited %s while OFF", waited)
	}
	ackAt(r, pos("binlog.000001", 500), false)
	if s.Active() {
		t.Fatal("ON again before the replica reached the latest position (600)")
	}
	ackAt(r, pos("binlog.000001", 600), false)
	if !s.Active() {
		t.Fatal("not ON after the replica caught up")
	}
	if st := s.Status(); st.NoTx != 3 || st.Timeouts != 1 || st.SwitchedBackOnTime != 1 {
		t.Fatalf("status %+v", st)
	}
}

// Without fallback a commit waits past the timeout until it is acknowledged.
func TestNoFallbackWaitsForAck(t *testing.T) {
	s := NewSource(nil)
	s.Configure(func(st *Settings) { st.Enabled, st.Timeout, st.Fallback = true, 20*time.Millisecond, false })
	r := s.Register(2)
	done := make(chan struct{})
	go func() {
		s.Wait(context.Background(), pos("binlog.000001", 10), Received, 1)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("returned without an ack")
	case <-time.After(200 * time.Millisecond):
	}
	ackAt(r, pos("binlog.000001", 10), true)
	<-done
	if !s.Active() {
		t.Fatal("status OFF")
	}
}

// Applied acks count for SYNC waits; received ones do not.
func TestAppliedLevel(t *testing.T) {
	s := NewSource(nil)
	enabled(s, time.Second)
	r := s.Register(2)
	ackAt(r, pos("binlog.000001", 10), false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, pos("binlog.000001", 10), Applied, 1); err == nil {
		t.Fatal("a received ack released a SYNC wait")
	}
	ackAt(r, pos("binlog.000001", 10), true)
	if err := s.Wait(context.Background(), pos("binlog.000001", 10), Applied, 1); err != nil {
		t.Fatal(err)
	}
}

// With wait_no_replica OFF, too few connected replicas switch the source off at once.
func TestWaitNoReplicaOff(t *testing.T) {
	s := NewSource(nil)
	s.Configure(func(st *Settings) {
		st.Enabled, st.Timeout, st.WaitNoReplica, st.WaitCount = true, 10*time.Second, false, 2
	})
	s.Register(2)
	start := time.Now()
	s.Wait(context.Background(), pos("binlog.000001", 10), Received, 1)
	if time.Since(start) > time.Second || s.Active() {
		t.Fatalf("waited %s, active %v", time.Since(start), s.Active())
	}
}

func TestCompare(t *testing.T) {
	cases := []struct {
		a, b binlog.Position
		want int
	}{
		{pos("binlog.000001", 5), pos("binlog.000001", 6), -1},
		{pos("binlog.000002", 4), pos("binlog.000001", 9999), 1},
		{pos("binlog.999999", 4), pos("binlog.1000000", 4), -1},
		{binlog.Position{}, pos("binlog.000001", 4), -1},
		{pos("binlog.000003", 7), pos("binlog.000003", 7), 0},
	}
	for _, c := range cases {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// ackAt is the dump asking the replica to acknowledge p, then the replica acknowledging it.
func ackAt(r *Replica, p binlog.Position, applied bool) {
	r.Sent(p)
	r.Ack(p, applied)
}

// An acknowledgement beyond what the dump asked for (a replica acknowledging positions of a
// source it followed before) counts only up to what was asked.
func TestAckBeyondSentIsClamped(t *testing.T) {
	s := NewSource(nil)
	s.Configure(func(st *Settings) { st.Enabled, st.Fallback = true, false })
	r := s.Register(2)
	r.Sent(pos("binlog.000001", 100))
	r.Ack(pos("binlog.000007", 9000), true) // another source's coordinates
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, pos("binlog.000001", 200), Received, 1); err == nil {
		t.Fatal("a commit at 200 was released by an ack of a position never sent to the replica")
	}
	if err := s.Wait(context.Background(), pos("binlog.000001", 100), Received, 1); err != nil {
		t.Fatal(err)
	}
}

package commit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

func openDB(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Concurrent commits are all durable and visible when Commit returns, get distinct increasing
// sequence numbers, and share durable writes (fewer groups than commits).
func TestConcurrentCommitsShareWrites(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	defer p.Close()
	const n = 200
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := db.NewBatch()
			defer b.Close()
			key := []byte(fmt.Sprintf("k%03d", i))
			b.Set(key, []byte("v"), nil)
			var seen uint64
			seq, err := p.Commit(&Request{Batch: b, AfterVisible: func(s uint64) { seen = s }})
			if err != nil {
				t.Error(err)
				return
			}
			if seen != seq {
				t.Errorf("AfterVisible saw %d, Commit returned %d", seen, seq)
			}
			if _, c, err := db.Get(key); err != nil {
				t.Errorf("commit %d not visible after Commit returned: %v", i, err)
			} else {
				c.Close()
			}
			if p.VisibleSeq() < seq {
				t.Errorf("VisibleSeq %d below a returned commit %d", p.VisibleSeq(), seq)
			}
			seqs[i] = seq
		}(i)
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, s := range seqs {
		if s == 0 || s > n || seen[s] {
			t.Fatalf("sequence numbers not dense and distinct: %v", seqs)
		}
		seen[s] = true
	}
	commits, groups := p.Stats()
	if commits != n {
		t.Fatalf("commits = %d, want %d", commits, n)
	}
	t.Logf("%d commits in %d durable writes", commits, groups)
	if groups >= commits {
		t.Errorf("no group commit: %d writes for %d commits", groups, commits)
	}
}

// A refused group writes nothing and fails every member; later commits go through.
func TestSpaceCheckRefusesWithoutWriting(t *testing.T) {
	db := openDB(t)
	full := true
	errFull := errors.New("disk full")
	p := New(db, 0, Options{SpaceCheck: func(int) error {
		if full {
			return errFull
		}
		return nil
	}})
	defer p.Close()
	b := db.NewBatch()
	b.Set([]byte("a"), []byte("1"), nil)
	if _, err := p.Commit(&Request{Batch: b}); !errors.Is(err, errFull) {
		t.Fatalf("want the space error, got %v", err)
	}
	if _, _, err := db.Get([]byte("a")); err != pebble.ErrNotFound {
		t.Fatalf("refused commit was written: %v", err)
	}
	full = false
	b2 := db.NewBatch()
	b2.Set([]byte("a"), []byte("2"), nil)
	if _, err := p.Commit(&Request{Batch: b2}); err != nil {
		t.Fatal(err)
	}
	v, c, err := db.Get([]byte("a"))
	if err != nil || string(v) != "2" {
		t.Fatalf("after space returned: %q %v", v, err)
	}
	c.Close()
}

func TestCommitAfterCloseFails(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	p.Close()
	b := db.NewBatch()
	if _, err := p.Commit(&Request{Batch: b}); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
}

// With OpenWriters saying three writers are open, the committer waits for all three before it
// writes, so their commits share one group (the wait limits are set far out, so the test does not
// depend on timing).
func TestCommitterWaitsForOpenWriters(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{OpenWriters: func() int { return 3 }, MaxGroupWait: time.Minute, GroupArrivalGap: time.Minute})
	defer p.Close()
	p.lastSynced, p.lastPersist = true, time.Minute // as after a slow fsync
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i > 0 {
				time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			}
			b := db.NewBatch()
			defer b.Close()
			b.Set([]byte{byte('a' + i)}, []byte("v"), nil)
			if _, err := p.Commit(&Request{Batch: b}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if commits, groups := p.Stats(); commits != 3 || groups != 1 {
		t.Fatalf("3 commits of 3 open writers took %d groups (commits %d), want 1", groups, commits)
	}
}

// Another log in a group: WriteGroup sees entries in order and its state is stored atomically
// with the group; GroupVisible follows.
type recordingLog struct {
	entries []any
	visible int
}

func (l *recordingLog) WriteGroup(entries []any) (LogResult, error) {
	l.entries = append(l.entries, entries...)
	return LogResult{State: []byte(fmt.Sprint(len(l.entries)))}, nil
}
func (l *recordingLog) GroupVisible(any) { l.visible++ }

func TestLogWrittenBeforeStore(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	l := &recordingLog{}
	p.SetLog(l, []byte("state"))
	for i := 0; i < 3; i++ {
		b := db.NewBatch()
		b.Set([]byte{byte('a' + i)}, []byte("v"), nil)
		if _, err := p.Commit(&Request{Batch: b, Log: i}); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	p.Close()
	v, closer, err := db.Get([]byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if string(v) != "3" || fmt.Sprint(l.entries) != "[0 1 2]" || l.visible != 3 {
		t.Fatalf("state %q, entries %v, visible %d", v, l.entries, l.visible)
	}
}

// A log whose groups wait (semi-sync): the next group is logged while the first waits, and
// groups still become visible, and return, in order.
type waitingLog struct {
	mu      sync.Mutex
	logged  []any
	release map[any]chan struct{}
	visible []any
}

func (l *waitingLog) WriteGroup(entries []any) (LogResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logged = append(l.logged, entries...)
	ch := l.release[entries[0]]
	return LogResult{Token: entries[0], Wait: func() error { <-ch; return nil }}, nil
}

func (l *waitingLog) GroupVisible(tok any) {
	l.mu.Lock()
	l.visible = append(l.visible, tok)
	l.mu.Unlock()
}

func (l *waitingLog) snapshot() (logged, visible string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.logged), fmt.Sprint(l.visible)
}

func TestWaitingGroupsPipelined(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	defer p.Close()
	l := &waitingLog{release: map[any]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}}
	p.SetLog(l, []byte("state"))
	done := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	commit := func(name string) {
		b := db.NewBatch()
		b.Set([]byte(name), []byte("v"), nil)
		if _, err := p.Commit(&Request{Batch: b, Log: name}); err != nil {
			t.Error(err)
		}
		b.Close()
		close(done[name])
	}
	go commit("a")
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("a logged", func() bool { lg, _ := l.snapshot(); return lg == "[a]" })
	go commit("b")
	waitFor("b logged while a waits", func() bool { lg, _ := l.snapshot(); return lg == "[a b]" })
	close(l.release["b"])
	time.Sleep(50 * time.Millisecond)
	select {
	case <-done["b"]:
		t.Fatal("b returned before a, which still waits")
	default:
	}
	if _, vis := l.snapshot(); vis != "[]" {
		t.Fatalf("visible %s while the first group waits", vis)
	}
	if _, closer, err := db.Get([]byte("b")); err == nil {
		closer.Close()
		t.Fatal("b reached the store before a")
	}
	close(l.release["a"])
	<-done["a"]
	<-done["b"]
	if _, vis := l.snapshot(); vis != "[a b]" {
		t.Fatalf("visible in order %s, want [a b]", vis)
	}
}

// A hold makes new groups wait unlogged; Drain waits for the groups logged before it; release
// with an error fails the held commits with nothing logged, release(nil) lets them through.
func TestHoldWaitsThenFailsOrProceeds(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	defer p.Close()
	first := make(chan struct{})
	l := &waitingLog{release: map[any]chan struct{}{"before": first, "held": closedChan(), "after": closedChan()}}
	p.SetLog(l, []byte("state"))
	commit := func(entry string) chan error {
		done := make(chan error, 1)
		go func() {
			b := db.NewBatch()
			defer b.Close()
			b.Set([]byte(entry), []byte("v"), nil)
			_, err := p.Commit(&Request{Batch: b, Log: entry})
			done <- err
		}()
		return done
	}
	before := commit("before")
	for { // logged, waiting for its acknowledgement
		if logged, _ := l.snapshot(); logged == "[before]" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	switched := errors.New("primary switched")
	release := p.Hold(time.Minute, errors.New("hold expired"))
	held := commit("held")
	stop := make(chan struct{})
	drained := make(chan bool)
	go func() { drained <- p.Drain(stop) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-drained:
		t.Fatal("Drain returned while a logged group was unfinished")
	case err := <-held:
		t.Fatalf("a held commit returned: %v", err)
	default:
	}
	close(first)
	if err := <-before; err != nil {
		t.Fatalf("the group logged before the hold: %v", err)
	}
	if !<-drained {
		t.Fatal("Drain gave up")
	}
	if logged, _ := l.snapshot(); logged != "[before]" {
		t.Fatalf("logged during the hold: %s", logged)
	}
	release(switched)
	if err := <-held; !errors.Is(err, switched) {
		t.Fatalf("held commit: %v, want the release error", err)
	}
	// A hold that ends without an error lets its commits be logged.
	release = p.Hold(time.Minute, errors.New("hold expired"))
	after := commit("after")
	time.Sleep(10 * time.Millisecond)
	release(nil)
	if err := <-after; err != nil {
		t.Fatal(err)
	}
	if logged, _ := l.snapshot(); logged != "[before after]" {
		t.Fatalf("logged %s", logged)
	}
	// A hold past its bound fails its commits with the expiry error.
	release = p.Hold(10*time.Millisecond, errors.New("hold expired"))
	defer release(nil)
	if err := <-commit("late"); err == nil || err.Error() != "hold expired" {
		t.Fatalf("commit past the hold's bound: %v", err)
	}
}

func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Around a hold, each request's Check is asked again right before logging, and a request that
// fails it is refused alone.
func TestCheckAskedAgainAfterHold(t *testing.T) {
	db := openDB(t)
	p := New(db, 0, Options{})
	defer p.Close()
	l := &recordingLog{}
	p.SetLog(l, []byte("state"))
	release := p.Hold(time.Minute, errors.New("expired"))
	demoted := errors.New("demoted")
	results := make(chan error, 2)
	for _, c := range []struct {
		key   string
		check func() error
	}{{"client", func() error { return demoted }}, {"applier", func() error { return nil }}} {
		go func() {
			b := db.NewBatch()
			defer b.Close()
			b.Set([]byte(c.key), []byte("v"), nil)
			_, err := p.Commit(&Request{Batch: b, Log: c.key, Check: c.check})
			results <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	release(nil)
	var errs []error
	for range 2 {
		errs = append(errs, <-results)
	}
	if !(errors.Is(errs[0], demoted) && errs[1] == nil) && !(errors.Is(errs[1], demoted) && errs[0] == nil) {
		t.Fatalf("want one refused by its check and one committed, got %v", errs)
	}
	if fmt.Sprint(l.entries) != "[applier]" {
		t.Fatalf("logged %v", l.entries)
	}
}

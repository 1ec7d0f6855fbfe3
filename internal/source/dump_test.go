package source

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

const testUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// testLog is a binlog with a writer, as the server's commit log presents it.
type testLog struct {
	w        *binlog.Writer
	mu       sync.Mutex
	executed gtid.Set
	purged   gtid.Set
	next     int64
}

func (l *testLog) Writer() *binlog.Writer { return l.w }
func (l *testLog) SyncBinlog() int64      { return 1 }
func (l *testLog) Executed() gtid.Set {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executed.Clone()
}
func (l *testLog) Purged() gtid.Set {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.purged.Clone()
}

func newTestLog(t *testing.T) (*testLog, string) {
	dir := t.TempDir()
	w, err := binlog.Open(binlog.Options{Dir: dir, ServerID: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &testLog{w: w}, dir
}

// commit appends and syncs one DDL-like transaction with the next GTID.
func (l *testLog) commit(t *testing.T, sql string) gtid.GTID {
	t.Helper()
	f := l.w.Format()
	l.mu.Lock()
	l.next++
	sid, _ := gtid.ParseSID(testUUID)
	g := gtid.GTID{Server: sid, Sequence: l.next}
	l.mu.Unlock()
	h := binlog.Header{Timestamp: uint32(time.Now().Unix()), ServerID: 1}
	q, err := f.Query(h, binlog.Query{Database: "d", SQL: sql, SQLMode: binlog.DefaultSQLMode})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.w.Append(f.NewTxn(h, binlog.GTIDEvent{GTID: g, SequenceNumber: l.next}, q)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.w.Sync(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	_ = l.executed.Add(g)
	l.mu.Unlock()
	return g
}

// received collects what a dump sends.
type received struct {
	mu     sync.Mutex
	events []binlog.Event
	acks   map[int]binlog.Position // event index → the position its ack request names
	more   chan struct{}
}

func (r *received) send(ev binlog.Event, ackAt *binlog.Position) error {
	r.mu.Lock()
	if ackAt != nil {
		if r.acks == nil {
			r.acks = map[int]binlog.Position{}
		}
		r.acks[len(r.events)] = *ackAt
	}
	r.events = append(r.events, append(binlog.Event(nil), ev...))
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until pred holds over the events received so far.
func (r *received) waitFor(t *testing.T, what string, pred func([]binlog.Event) bool) []binlog.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		evs := append([]binlog.Event(nil), r.events...)
		r.mu.Unlock()
		if pred(evs) {
			return evs
		}
		select {
		case <-r.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %s", what, types(evs))
		}
	}
}

func types(evs []binlog.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type().String())
	}
	return strings.Join(s, ",")
}

func queries(t *testing.T, f binlog.Format, evs []binlog.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type() == binlog.TypeQuery {
			q, err := binlog.DecodeQuery(f, e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, q.SQL)
		}
	}
	return out
}

func startDump(t *testing.T, l *testLog, dir string, start Start, hb time.Duration) (*received, context.CancelFunc, chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &received{more: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- Dump(ctx, Options{Log: l, Dir: dir, ServerID: 1, ServerUUID: testUUID, Heartbeat: hb}, start, r.send, func() error { return nil })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r, cancel, done
}

// A dump from the start sends the fake ROTATE, the FORMAT_DESCRIPTION and every transaction;
// transactions committed later are pushed as they become durable, across a rotation.
func TestDumpStreamsAndFollows(t *testing.T) {
	l, dir := newTestLog(t)
	l.commit(t, "CREATE TABLE a (x INT)")
	r, _, _ := startDump(t, l, dir, Start{File: "binlog.000001", Pos: 4}, 0)
	f := l.w.Format()
	evs := r.waitFor(t, "the first transaction", func(e []binlog.Event) bool { return len(queries(t, f, e)) == 1 })
	if evs[0].Type() != binlog.TypeRotate || evs[0].Flags()&binlog.FlagArtificial == 0 || evs[1].Type() != binlog.TypeFormatDescription {
		t.Fatalf("dump starts with %s", types(evs))
	}
	l.commit(t, "CREATE TABLE b (x INT)")
	if err := l.w.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.commit(t, "CREATE TABLE c (x INT)")
	evs = r.waitFor(t, "pushed transactions", func(e []binlog.Event) bool { return len(queries(t, f, e)) == 3 })
	if got := strings.Join(queries(t, f, evs), "; "); got != "CREATE TABLE a (x INT); CREATE TABLE b (x INT); CREATE TABLE c (x INT)" {
		t.Fatalf("queries: %s", got)
	}
	if !strings.Contains(types(evs), "Rotate,Rotate,Format_desc,Previous_gtids") {
		t.Fatalf("rotation not followed: %s", types(evs))
	}
}

// In GTID mode the dump skips what the replica has, and heartbeats flow while idle.
func TestDumpGTIDAndHeartbeat(t *testing.T) {
	l, dir := newTestLog(t)
	g1 := l.commit(t, "CREATE TABLE a (x INT)")
	l.commit(t, "CREATE TABLE b (x INT)")
	has := gtid.Set{}
	_ = has.Add(g1)
	r, _, _ := startDump(t, l, dir, Start{GTIDs: &has}, 50*time.Millisecond)
	f := l.w.Format()
	evs := r.waitFor(t, "a heartbeat", func(e []binlog.Event) bool { return strings.Contains(types(e), "Heartbeat") })
	if got := strings.Join(queries(t, f, evs), "; "); got != "CREATE TABLE b (x INT)" {
		t.Fatalf("GTID dump sent %q, want only the transaction the replica lacks", got)
	}
}

func TestDumpRefusesWhatItCannotServe(t *testing.T) {
	l, dir := newTestLog(t)
	l.commit(t, "CREATE TABLE a (x INT)")
	sid, _ := gtid.ParseSID(testUUID)
	ahead := gtid.Set{}
	_ = ahead.AddInterval(sid, 1, 5)
	l.purged = gtid.MustParse("4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3")
	for name, start := range map[string]Start{
		"unknown file":     {File: "binlog.000009", Pos: 4},
		"purged GTIDs":     {GTIDs: &gtid.Set{}},
		"replica is ahead": {GTIDs: func() *gtid.Set { s := gtid.Union(ahead, l.purged); return &s }()},
	} {
		err := Dump(context.Background(), Options{Log: l, Dir: dir, ServerID: 1, ServerUUID: testUUID}, start,
			func(binlog.Event, *binlog.Position) error { t.Fatalf("%s: an event was sent", name); return nil }, func() error { return nil })
		var se *mysql.SQLError
		if !errors.As(err, &se) || se.Num != 1236 {
			t.Errorf("%s: %v, want error 1236", name, err)
		} else {
			t.Logf("%s: %s", name, se.Message)
		}
	}
}

// A non-blocking dump sends everything, across files, and returns; the first fake ROTATE is
// framed with the checksum the replica declared, the next ones with the file's.
func TestDumpNonBlock(t *testing.T) {
	l, dir := newTestLog(t)
	l.commit(t, "CREATE TABLE a (x INT)")
	if err := l.w.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.commit(t, "CREATE TABLE b (x INT)")
	r := &received{more: make(chan struct{}, 1)}
	none := binlog.ChecksumNone
	err := Dump(context.Background(), Options{Log: l, Dir: dir, ServerID: 1, ServerUUID: testUUID, NonBlock: true, ReplicaChecksum: &none},
		Start{File: "binlog.000001", Pos: 4}, r.send, func() error { return nil })
	if err != nil {
		t.Fatalf("non-blocking dump: %v", err)
	}
	f := l.w.Format()
	if got := strings.Join(queries(t, f, r.events), "; "); got != "CREATE TABLE a (x INT); CREATE TABLE b (x INT)" {
		t.Fatalf("queries: %s", got)
	}
	var rotates []int
	for _, e := range r.events {
		if e.Type() == binlog.TypeRotate && e.Flags()&binlog.FlagArtificial != 0 {
			rotates = append(rotates, len(e))
		}
	}
	name := len("binlog.000001")
	if len(rotates) != 2 || rotates[0] != binlog.HeaderLen+8+name || rotates[1] != binlog.HeaderLen+8+name+binlog.ChecksumLen {
		t.Fatalf("fake ROTATE sizes %v, want %d (no checksum) then %d (CRC32)", rotates,
			binlog.HeaderLen+8+name, binlog.HeaderLen+8+name+binlog.ChecksumLen)
	}
}

// For a semi-sync replica, only the last event of what is durable asks for an ack, naming the
// position where that transaction ends; a transaction committed later gets its own request.
func TestDumpRequestsAckAtBatchEnd(t *testing.T) {
	l, dir := newTestLog(t)
	for _, q := range []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (x INT)", "CREATE TABLE c (x INT)"} {
		l.commit(t, q)
	}
	end := l.w.Position()
	ctx, cancel := context.WithCancel(context.Background())
	r := &received{more: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- Dump(ctx, Options{Log: l, Dir: dir, ServerID: 1, ServerUUID: testUUID, RequestAcks: func() bool { return true }},
			Start{File: "binlog.000001", Pos: 4}, r.send, func() error { return nil })
	}()
	defer func() { cancel(); <-done }()
	f := l.w.Format()
	r.waitFor(t, "three transactions and an ack request", func(e []binlog.Event) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(queries(t, f, e)) == 3 && len(r.acks) == 1
	})
	r.mu.Lock()
	for i, at := range r.acks {
		if i != len(r.events)-1 || at != end {
			t.Fatalf("ack requested on event %d of %d at %v, want the last one at %v", i, len(r.events), at, end)
		}
	}
	r.mu.Unlock()
	l.commit(t, "CREATE TABLE d (x INT)")
	r.waitFor(t, "a second ack request", func([]binlog.Event) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.acks) == 2
	})
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/fastpath"
)

// fakeControlPlane stands for the cluster's replicated reservation state: per table, the highest
// value ever reserved, shared by every node. Grants never overlap.
type fakeControlPlane struct {
	mu     sync.Mutex
	high   map[string]uint64 // table → highest value reserved
	grants map[string][][2]uint64
	calls  []reserveCall
	// maxGrant, when set, grants at most this many values (a control plane may grant less).
	maxGrant uint64
	// gap leaves this many values unreserved before each grant (other nodes' activity).
	gap uint64
	// delay is slept in every call, standing for the consensus round trip.
	delay time.Duration
	// fail, when set, is returned instead of a grant.
	fail error
}

type reserveCall struct {
	table       string
	from, count uint64
}

func newControlPlane() *fakeControlPlane {
	return &fakeControlPlane{high: map[string]uint64{}, grants: map[string][][2]uint64{}}
}

func (cp *fakeControlPlane) reserve(ctx context.Context, table string, from, count uint64) (uint64, uint64, error) {
	if cp.delay > 0 {
		time.Sleep(cp.delay)
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.calls = append(cp.calls, reserveCall{table, from, count})
	if cp.fail != nil {
		return 0, 0, cp.fail
	}
	lo := max(from, cp.high[table]+1+cp.gap)
	n := count
	if cp.maxGrant > 0 && n > cp.maxGrant {
		n = cp.maxGrant
	}
	hi := lo + n - 1
	cp.high[table] = hi
	cp.grants[table] = append(cp.grants[table], [2]uint64{lo, hi})
	return lo, hi, nil
}

func (cp *fakeControlPlane) callCount() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return len(cp.calls)
}

func (cp *fakeControlPlane) lastCall() reserveCall {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.calls[len(cp.calls)-1]
}

// granted reports whether v lies in a range granted for table.
func (cp *fakeControlPlane) granted(table string, v uint64) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, g := range cp.grants[table] {
		if g[0] <= v && v <= g[1] {
			return true
		}
	}
	return false
}

func ids(t *testing.T, rows []sql.Row) []uint64 {
	t.Helper()
	var out []uint64
	for _, r := range rows {
		v, err := toUint64(r[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func setupAutoIncTable(h *harness) *session {
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
	return s
}

// A primary fails after generating ids whose rows never reached the new primary; the new
// primary must not hand those ids out again (GitHub, 2012). Three failovers, each losing rows.
func TestAutoIncrementReservationSurvivesFailover(t *testing.T) {
	cp := newControlPlane()
	issued := map[uint64]string{}
	var survivors []uint64 // rows the next primary has (replicated before the failure)
	for round, node := range []string{"A", "B", "C", "A"} {
		h := newHarness(t)
		s := setupAutoIncTable(h)
		// What replication delivered: explicit values, which never ask the reserver.
		for _, id := range survivors {
			s.mustExec(fmt.Sprintf("INSERT INTO t VALUES (%d, 0)", id))
		}
		if n := cp.callCount(); round == 0 && n != 0 {
			t.Fatalf("replicated rows called the reserver %d times", n)
		}
		h.e.SetAutoIncrementReserver(cp.reserve)
		s.mustExec("INSERT INTO t (v) VALUES (1),(2),(3),(4),(5)")
		got := ids(t, s.mustExec("SELECT id FROM t WHERE v > 0 ORDER BY id"))
		if len(got) != 5 {
			t.Fatalf("node %s: %d rows", node, len(got))
		}
		for _, id := range got {
			if prev, dup := issued[id]; dup {
				t.Fatalf("round %d: node %s issued id %d again (first issued by %s)", round, node, id, prev)
			}
			if !cp.granted("d.t", id) {
				t.Fatalf("node %s issued id %d outside every granted range", node, id)
			}
			issued[id] = node
		}
		// The next primary received all but the last two rows of this one.
		all := ids(t, s.mustExec("SELECT id FROM t ORDER BY id"))
		survivors = all[:len(all)-2]
		h.close()
	}
	if cp.callCount() != 4 {
		t.Errorf("want one reservation per primary, got %v", cp.calls)
	}
}

func TestAutoIncrementReserverErrorChangesNothing(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	s.mustExec("INSERT INTO t (v) VALUES (1),(2)") // no reserver yet: ids 1, 2
	cp := newControlPlane()
	cp.fail = errors.New("no quorum")
	h.e.SetAutoIncrementReserver(cp.reserve)
	for _, q := range []string{"INSERT INTO t (v) VALUES (3)", "INSERT INTO t (v) VALUES (3),(4)", "INSERT INTO t VALUES (NULL, 3)"} {
		_, err := s.query(q)
		if errCode(err) != 1467 || !strings.Contains(err.Error(), "d.t") || !strings.Contains(err.Error(), "no quorum") {
			t.Fatalf("%s: want error 1467 naming d.t and the reason, got %v (code %d)", q, err, errCode(err))
		}
	}
	s.expect("SELECT id, v FROM t ORDER BY id", "[1 1] [2 2]")
	if c := cp.lastCall(); c.table != "d.t" || c.from != 3 || c.count != autoIncReserveBlock {
		t.Fatalf("reserver asked for %+v, want d.t from 3 count %d", c, autoIncReserveBlock)
	}
	// The counter did not move: without a reserver the next value is still 3.
	h.e.SetAutoIncrementReserver(nil)
	s.mustExec("INSERT INTO t (v) VALUES (3)")
	s.expect("SELECT MAX(id) FROM t", "[3]")
}

func TestAutoIncrementReservationIncrementOffset(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	cp := newControlPlane()
	cp.maxGrant, cp.gap = 7, 3 // small odd-sized grants with holes: ranges start at odd and even values
	h.e.SetAutoIncrementReserver(cp.reserve)
	s.mustExec("SET SESSION auto_increment_increment = 2, auto_increment_offset = 2")
	var vals []string
	for i := 0; i < 20; i++ {
		vals = append(vals, "("+strconv.Itoa(i)+")")
	}
	s.mustExec("INSERT INTO t (v) VALUES " + strings.Join(vals, ","))
	got := ids(t, s.mustExec("SELECT id FROM t ORDER BY id"))
	for i, id := range got {
		if id%2 != 0 {
			t.Fatalf("id %d is not of the series 2+2k: %v", id, got)
		}
		if !cp.granted("d.t", id) {
			t.Fatalf("id %d outside the granted ranges %v", id, cp.grants["d.t"])
		}
		if i > 0 && id <= got[i-1] {
			t.Fatalf("ids not increasing: %v", got)
		}
	}
	if c := cp.calls[0]; c.from != 2 || c.count != 2*autoIncReserveBlock {
		t.Fatalf("first reservation %+v, want from 2, count %d", c, 2*autoIncReserveBlock)
	}
}

func TestAutoIncrementExplicitValueBeyondReservation(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	cp := newControlPlane()
	h.e.SetAutoIncrementReserver(cp.reserve)
	s.mustExec("INSERT INTO t (v) VALUES (1)") // reserves [1, 1000]
	s.mustExec("INSERT INTO t VALUES (500, 2)")
	s.mustExec("INSERT INTO t (v) VALUES (3)") // 501: still inside the held range
	if n := cp.callCount(); n != 1 {
		t.Fatalf("explicit value inside the held range: %d reservations, want 1", n)
	}
	s.mustExec("INSERT INTO t VALUES (5000, 4)") // explicit: moves the counter, no reservation
	if n := cp.callCount(); n != 1 {
		t.Fatalf("explicit value reserved: %d calls", n)
	}
	s.mustExec("INSERT INTO t (v) VALUES (5)")
	if c := cp.lastCall(); cp.callCount() != 2 || c.from != 5001 {
		t.Fatalf("want a second reservation from 5001, got %v", cp.calls)
	}
	s.expect("SELECT id FROM t ORDER BY id", "[1] [500] [501] [5000] [5001]")
}

func TestAutoIncrementReservationConcurrent(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	cp := newControlPlane()
	cp.delay, cp.maxGrant, cp.gap = time.Millisecond, 10, 5
	h.e.SetAutoIncrementReserver(cp.reserve)
	const workers, each = 6, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		ws := h.session()
		ws.db = "d"
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := ws.query("INSERT INTO t (v) VALUES (1)"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := ids(t, s.mustExec("SELECT id FROM t"))
	seen := map[uint64]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("id %d issued twice", id)
		}
		seen[id] = true
		if !cp.granted("d.t", id) {
			t.Fatalf("id %d outside the granted ranges", id)
		}
	}
	if len(got) != workers*each {
		t.Fatalf("%d rows, want %d", len(got), workers*each)
	}
	// Ranges are used up before the next is reserved: 150 values in grants of 10.
	if n := cp.callCount(); n != workers*each/10 {
		t.Errorf("%d reservations for %d values in grants of 10", n, workers*each)
	}
}

// Values are reserved per table name: a renamed table, or a table dropped and created again,
// reserves under its (new) name instead of using what the old one held.
func TestAutoIncrementReservationRenameDrop(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	cp := newControlPlane()
	h.e.SetAutoIncrementReserver(cp.reserve)
	s.mustExec("INSERT INTO t (v) VALUES (1)")
	s.mustExec("RENAME TABLE t TO u")
	s.mustExec("INSERT INTO u (v) VALUES (2)")
	if c := cp.lastCall(); cp.callCount() != 2 || c.table != "d.u" || c.from != 2 {
		t.Fatalf("after rename: calls %v", cp.calls)
	}
	s.mustExec("DROP TABLE u")
	s.mustExec("CREATE TABLE u (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
	s.mustExec("INSERT INTO u (v) VALUES (3)")
	// d.u's values up to 1001 were reserved before the drop: the new table starts above them.
	s.expect("SELECT id FROM u", "[1002]")
	// TRUNCATE resets the counter to 1 (a new, empty table id with fresh counters); the control
	// plane's high-water mark still keeps old values from coming back.
	s.mustExec("TRUNCATE TABLE u")
	s.mustExec("INSERT INTO u (v) VALUES (4)")
	s.expect("SELECT id FROM u", "[2002]")
	if c := cp.lastCall(); c.from != 1 {
		t.Fatalf("after TRUNCATE: reserved from %d, want 1", c.from)
	}
	// Installing a reserver again (a new term as primary) forgets held ranges.
	h.e.SetAutoIncrementReserver(cp.reserve)
	s.mustExec("INSERT INTO u (v) VALUES (5)")
	s.expect("SELECT MAX(id) FROM u", "[3002]")
}

// Values that are not generated here never reserve: SET INSERT_ID (statement-based
// replication) and the hidden row id of a table without a primary key.
func TestAutoIncrementReservationNotForForcedOrHidden(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	s.mustExec("CREATE TABLE k (a INT, b INT)")
	cp := newControlPlane()
	cp.fail = errors.New("must not be called")
	h.e.SetAutoIncrementReserver(cp.reserve)
	s.mustExec("SET insert_id = 77")
	s.mustExec("INSERT INTO t (v) VALUES (1)")
	s.mustExec("INSERT INTO k VALUES (1, 2), (1, 2)")
	s.expect("SELECT id FROM t", "[77]")
	s.expect("SELECT COUNT(*) FROM k", "[2]")
	if n := cp.callCount(); n != 0 {
		t.Fatalf("reserver called %d times: %v", n, cp.calls)
	}
}

// The fast path generates values through the same GetNextAutoIncrementValue, so it reserves
// too, and reports a refusal as its own error.
func TestAutoIncrementReservationFastPath(t *testing.T) {
	h := newHarness(t)
	s := setupAutoIncTable(h)
	cp := newControlPlane()
	cp.gap = 100
	h.e.SetAutoIncrementReserver(cp.reserve)
	run := func(q string) (*fastpath.Outcome, error) {
		t.Helper()
		stmt, err := ast.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		sh := fastpath.Classify(stmt)
		if sh == nil {
			t.Fatalf("%s: not a fast-path shape", q)
		}
		ctx := s.ctx(q)
		p, err := fastpath.Resolve(ctx, h.sql.Analyzer.Catalog, sh, "d")
		if err != nil {
			t.Fatalf("%s: resolve: %v", q, err)
		}
		tx, err := s.s.StartTransaction(ctx, sql.ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		ctx.SetTransaction(tx)
		out, err := p.Run(ctx, nil)
		if err != nil {
			_ = s.s.Rollback(ctx, tx)
			ctx.SetTransaction(nil)
			return nil, err
		}
		if err := s.s.CommitTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		ctx.SetTransaction(nil)
		return out, nil
	}
	out, err := run("INSERT INTO t (v) VALUES (1), (2)")
	if err != nil {
		t.Fatal(err)
	}
	if out.OK.InsertID != 101 || cp.callCount() != 1 {
		t.Fatalf("insert id %d after %d reservations, want 101 after 1", out.OK.InsertID, cp.callCount())
	}
	cp.mu.Lock()
	cp.fail = errors.New("lease lost")
	cp.mu.Unlock()
	h.e.SetAutoIncrementReserver(cp.reserve) // forget the held range
	if _, err := run("INSERT INTO t (v) VALUES (3)"); errCode(err) != 1467 || errors.Is(err, fastpath.ErrFallback) {
		t.Fatalf("fast path with a failing reserver: want 1467, got %v", err)
	}
	s.expect("SELECT id FROM t ORDER BY id", "[101] [102]")
}

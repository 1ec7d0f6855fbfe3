package test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/rewind"
	"github.com/relaydb/relaydb/test/cluster"
)

// The rejoin soak (issue 15): in asynchronous mode the primary is killed or cut off under write
// load, another node is promoted, and the old primary is brought back. Each time it must rejoin
// by itself — undoing the transactions it had that the new primary lacks into its
// lost-and-found — and end identical to the primary (relaydb checksum). The client history is
// then checked against the lost-and-found: every acknowledged write is in the final table or in
// a lost-and-found, nothing in a lost-and-found is in the final table, and nothing appears that
// no client wrote.

// rwWrite is one client transaction: insert id into rw, bump the worker's counter, replace the
// worker's row in recent (an INSERT, an UPDATE and a DELETE for the rewind to undo).
type rwWrite struct {
	id    int64
	node  string
	acked bool
}

type rwLoad struct {
	c       *foCluster
	primary atomic.Pointer[foNode]
	pause   sync.RWMutex // held by the round while it checks; workers hold it shared per write
	mu      sync.Mutex
	writes  []rwWrite
	wg      sync.WaitGroup
}

func (l *rwLoad) worker(ctx context.Context, w int) {
	defer l.wg.Done()
	for seq := int64(1); ctx.Err() == nil; seq++ {
		id := int64(w)*1_000_000_000 + seq
		l.pause.RLock()
		n := l.primary.Load()
		if n == nil {
			l.pause.RUnlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		err := rwOnce(ctx, n, w, id)
		l.pause.RUnlock()
		l.mu.Lock()
		l.writes = append(l.writes, rwWrite{id: id, node: n.name, acked: err == nil})
		l.mu.Unlock()
		if err != nil {
			time.Sleep(30 * time.Millisecond)
		}
	}
}

func rwOnce(ctx context.Context, n *foNode, w int, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO %s.rw (id, w) VALUES (%d, %d)", foDB, id, w),
		fmt.Sprintf("UPDATE %s.counters SET n = n + 1, last = %d WHERE w = %d", foDB, id, w),
		fmt.Sprintf("DELETE FROM %s.recent WHERE w = %d", foDB, w),
		fmt.Sprintf("INSERT INTO %s.recent (w, id) VALUES (%d, %d)", foDB, w, id),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// follow keeps l.primary pointing at the writable primary.
func (l *rwLoad) follow(ctx context.Context) {
	defer l.wg.Done()
	for ctx.Err() == nil {
		if p := l.c.findPrimary(); p != nil {
			l.primary.Store(p)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// rewindFailpoints are the steps a rewind can be killed at (package rewind's Failpoint).
var rewindFailpoints = []string{"lost-and-found-written", "undone", "cut-intent-written"}

func TestRewindRejoinSoak(t *testing.T) {
	rounds := envCount(t, "RELAYDB_REWIND_ROUNDS", 3)
	c := startFailoverCluster(t, cluster.NewRecorder(), "--cluster-mode", "async")
	p, err := c.waitHealthy(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const workers = 4
	stmts := []string{
		"CREATE TABLE " + foDB + ".rw (id BIGINT PRIMARY KEY, w INT NOT NULL)",
		"CREATE TABLE " + foDB + ".counters (w INT PRIMARY KEY, n BIGINT NOT NULL, last BIGINT NOT NULL)",
		"CREATE TABLE " + foDB + ".recent (w INT PRIMARY KEY, id BIGINT NOT NULL)",
	}
	for w := 0; w < workers; w++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.counters VALUES (%d, 0, 0)", foDB, w))
	}
	for _, s := range stmts {
		if _, err := p.admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := c.waitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}

	load := &rwLoad{c: c}
	load.primary.Store(p)
	lctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	load.wg.Add(workers + 1)
	go load.follow(lctx)
	for w := 0; w < workers; w++ {
		go load.worker(lctx, w)
	}

	rnd := rand.New(rand.NewSource(time.Now().UnixNano()))
	seen := map[string]bool{}  // lost-and-found directories already counted
	lost := map[int64]string{} // rw ids undone → lost-and-found directory
	var rewinds, undone, killedInRewind int
	for r := 0; r < rounds; r++ {
		old := c.findPrimary()
		if old == nil {
			if old, err = c.primaryFor(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(300+rnd.Intn(900)) * time.Millisecond)
		failpoint := ""
		if r%3 == 2 {
			failpoint = rewindFailpoints[(r/3)%len(rewindFailpoints)]
		}
		if fp := os.Getenv("RELAYDB_REWIND_FAILPOINT"); fp != "" {
			failpoint = fp // every round: isolate, then kill -9 at this step of the rewind
		}
		var what string
		var bringBack func() error
		if r%2 == 0 && failpoint == "" {
			what = "kill -9 " + old.name
			if err := old.kill(); err != nil {
				t.Fatal(err)
			}
			bringBack = old.proc.Restart
		} else {
			what = "isolate " + old.name
			heal := c.nw.Isolate(old.name)
			bringBack = func() error { heal(); return nil }
			if failpoint != "" {
				// Restart it, still cut off, with the failpoint set: the rewind it starts once the
				// network heals kills it at that step.
				what += ", then kill -9 during its rewind at " + failpoint
				bringBack = func() error {
					if err := old.kill(); err != nil {
						return err
					}
					for old.expectExit.Load() { // the exit watcher has not seen this kill yet
						time.Sleep(10 * time.Millisecond)
					}
					old.proc.SetEnv(append(os.Environ(), "RELAYDB_FAILPOINT=rewind:"+failpoint))
					old.expectExit.Store(true)
					if err := old.proc.Restart(); err != nil {
						return err
					}
					heal()
					select {
					case <-old.proc.Exited():
						killedInRewind++
					case <-time.After(30 * time.Second):
						t.Logf("round %d: the failpoint %s was not reached (no errant transactions?)", r, failpoint)
					}
					old.proc.SetEnv(nil)
					if !old.proc.Running() {
						return old.proc.Restart()
					}
					return nil
				}
			}
		}
		newP := c.waitNewPrimary(t, old, 30*time.Second)
		time.Sleep(time.Duration(500+rnd.Intn(700)) * time.Millisecond)
		if err := bringBack(); err != nil {
			t.Fatalf("round %d: bring %s back: %v", r, old.name, err)
		}
		c.waitRejoined(t, newP, old, 90*time.Second)

		// Quiet the load, then check the old primary against the new one.
		load.pause.Lock()
		newP = c.checkIdentical(t, r, newP)
		entries, err := rewind.List(old.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		var primaryExec string
		_ = newP.admin.QueryRow("SELECT @@global.gtid_executed").Scan(&primaryExec)
		pset := gtid.MustParse(primaryExec)
		note := "nothing to rewind"
		for _, e := range entries {
			if seen[e.Dir] {
				continue
			}
			seen[e.Dir] = true
			if !e.Done {
				t.Errorf("round %d: lost-and-found %s is not marked done although %s rejoined", r, e.Dir, old.name)
			}
			if in := gtid.Intersect(e.Undone, pset); !in.IsEmpty() {
				t.Errorf("round %d: %s undid %s, which the primary %s has", r, old.name, in, newP.name)
			}
			rewinds++
			undone += len(e.Transactions)
			for _, tr := range e.Transactions {
				for _, ch := range tr.Changes {
					if ch.Table == foDB+".rw" && ch.Kind == "INSERT" {
						id, _ := strconv.ParseInt(fmt.Sprint(ch.After["id"]), 10, 64)
						lost[id] = e.Dir
					}
				}
			}
			note = fmt.Sprintf("rewound %d transaction(s) %s", len(e.Transactions), e.Undone)
		}
		load.pause.Unlock()
		t.Logf("round %d: %s; %s promoted; %s rejoined: %s", r, what, newP.name, old.name, note)
	}
	stopLoad()
	load.wg.Wait()

	p, err = c.waitHealthy(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	final, err := foIDs(context.Background(), p.admin, "SELECT id FROM "+foDB+".rw")
	if err != nil {
		t.Fatal(err)
	}
	v, stats := checkLostAndFound(load.writes, final, lost)
	t.Logf("rejoin soak: %d rounds, %d rewinds undid %d transactions, %d rewinds killed and finished after restart; "+
		"writes: %s", rounds, rewinds, undone, killedInRewind, stats)
	for _, x := range v {
		t.Error(x)
	}
}

// waitNewPrimary waits for a writable primary other than old.
func (c *foCluster) waitNewPrimary(t *testing.T, old *foNode, timeout time.Duration) *foNode {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.hint.Store(nil)
		if p := c.findPrimary(); p != nil && p != old {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no new primary within %s after %s failed; views:\n%s", timeout, old.name, describeViews(c.views()))
	return nil
}

// waitRejoined waits until the primary's view shows n replicating from it. A node that says it
// diverged (rejoin refused) fails the test: rewinding is what should have happened.
func (c *foCluster) waitRejoined(t *testing.T, p, n *foNode, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		rows, err := c.statusRows(p)
		if err == nil {
			for _, r := range rows {
				if r["Member"] != n.name {
					continue
				}
				last = fmt.Sprintf("state=%s io=%s sql=%s err=%q", r["State"], r["Replica_IO_Running"], r["Replica_SQL_Running"], r["Last_Error"])
				if r["State"] == "diverged" {
					t.Fatalf("%s did not rejoin: %s", n.name, last)
				}
				if r["State"] == "replica" && r["Replica_IO_Running"] == "Yes" && r["Replica_SQL_Running"] == "Yes" {
					return
				}
				if r["State"] == "primary" {
					// A further failover under CPU starvation (p missed its lease renewal) made n
					// the primary again: it could only be elected as a caught-up member, so it
					// rejoined. checkIdentical then compares the nodes against it.
					t.Logf("%s rejoined and was elected primary again (%s lost its lease meanwhile)", n.name, p.name)
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not rejoin %s within %s: %s", n.name, p.name, timeout, last)
}

// checkIdentical waits until every node replicates from one primary and holds what it holds,
// then runs relaydb checksum. On a machine this loaded a further failover can happen while it
// checks (a lease missed under CPU starvation): the check then starts again with the new
// primary, at most three times. It returns the primary it checked against.
func (c *foCluster) checkIdentical(t *testing.T, round int, p *foNode) *foNode {
	t.Helper()
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			t.Logf("round %d: checking again (%v)", round, last)
			c.hint.Store(nil)
			var err error
			if p, err = c.primaryFor(); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.others(p) {
				c.waitRejoined(t, p, n, 90*time.Second)
			}
		}
		if last = c.converge(p); last != nil {
			continue
		}
		if last = checksumCluster(t, p, c.others(p)); last == nil {
			return p
		}
	}
	t.Fatalf("round %d: %v", round, last)
	return nil
}

// checksumCluster runs `relaydb checksum` against the primary and the given replicas; an exit
// code other than 0 is an error.
func checksumCluster(t *testing.T, p *foNode, replicas []*foNode) error {
	t.Helper()
	host, port, _ := strings.Cut(p.sqlAddr, ":")
	args := []string{"checksum", "--host", host, "--port", port, "--databases", foDB}
	for _, r := range replicas {
		args = append(args, "--replica", r.sqlAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, relaydbBinary(t), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("relaydb checksum %s: %v\n%s", strings.Join(args[1:], " "), err, out)
	}
	return nil
}

// checkLostAndFound checks the client history of the rejoin soak against the final table and
// the lost-and-found, and summarizes it:
//   - an acknowledged write is in the final table or in a lost-and-found (async mode may lose it,
//     never silently);
//   - a write in a lost-and-found is not in the final table (it was undone, not kept twice);
//   - every id in the final table or a lost-and-found was written by a client.
func checkLostAndFound(writes []rwWrite, final []int64, lost map[int64]string) ([]string, string) {
	var v []string
	attempted := map[int64]rwWrite{}
	acked := 0
	for _, w := range writes {
		attempted[w.id] = w
		if w.acked {
			acked++
		}
	}
	inFinal := map[int64]bool{}
	for _, id := range final {
		inFinal[id] = true
		if _, ok := attempted[id]; !ok {
			v = append(v, fmt.Sprintf("id %d is in the final table but no client wrote it", id))
		}
	}
	ackedLost := 0
	var ids []int64
	for id := range lost {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		w, ok := attempted[id]
		switch {
		case !ok:
			v = append(v, fmt.Sprintf("id %d is in the lost-and-found %s but no client wrote it", id, lost[id]))
		case inFinal[id]:
			v = append(v, fmt.Sprintf("id %d is in the lost-and-found %s and also in the final table", id, lost[id]))
		case w.acked:
			ackedLost++
		}
	}
	silent := 0
	for _, w := range writes {
		if w.acked && !inFinal[w.id] && lost[w.id] == "" {
			silent++
			if silent <= 10 {
				v = append(v, fmt.Sprintf("acknowledged write %d (on %s) is neither in the final table nor in any lost-and-found", w.id, w.node))
			}
		}
	}
	if silent > 10 {
		v = append(v, fmt.Sprintf("… %d acknowledged writes vanished in all", silent))
	}
	stats := fmt.Sprintf("%d attempted, %d acknowledged, %d in the final table, %d in lost-and-found (%d of them acknowledged: lost by asynchronous mode, kept for the operator)",
		len(writes), acked, len(final), len(lost), ackedLost)
	return v, stats
}

// TestRewindCheckerCatchesPlantedBugs shows that checkLostAndFound catches each kind of wrong
// outcome: a write that vanished, one kept twice, one invented.
func TestRewindCheckerCatchesPlantedBugs(t *testing.T) {
	writes := []rwWrite{{id: 1, acked: true}, {id: 2, acked: true}, {id: 3, acked: false}, {id: 4, acked: true}}
	good := []int64{1, 2}
	lostOK := map[int64]string{3: "lf", 4: "lf"}
	if v, _ := checkLostAndFound(writes, good, lostOK); len(v) != 0 {
		t.Fatalf("a correct outcome was flagged: %v", v)
	}
	cases := map[string]struct {
		final []int64
		lost  map[int64]string
	}{
		"an acknowledged write left out of the lost-and-found": {good, map[int64]string{3: "lf"}},
		"an undone write also in the final table":              {[]int64{1, 2, 4}, lostOK},
		"an invented row in the final table":                   {[]int64{1, 2, 9}, lostOK},
		"an invented transaction in the lost-and-found":        {good, map[int64]string{3: "lf", 4: "lf", 8: "lf"}},
	}
	for name, tc := range cases {
		if v, _ := checkLostAndFound(writes, tc.final, tc.lost); len(v) == 0 {
			t.Errorf("planted bug not caught: %s", name)
		} else {
			t.Logf("caught %s: %s", name, v[0])
		}
	}
}

// TestRewindErrantDDLGoesTheCloneWay: an errant tail holding DDL cannot be undone from row
// images. The old primary must not rewind part of it: it records the errant transactions in its
// lost-and-found, takes a verified clone of the new primary, restarts itself to install it (its
// old data set aside, never deleted) and rejoins identical to the primary.
func TestRewindErrantDDLGoesTheCloneWay(t *testing.T) {
	c := startFailoverCluster(t, cluster.NewRecorder(), "--cluster-mode", "async")
	old, err := c.waitHealthy(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	heal := c.nw.Isolate(old.name)
	// Cut off from the others, the old primary still acknowledges until its lease runs out
	// (half a second): the DDL and the row after it are its errant tail.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, q := range []string{
		"CREATE TABLE " + foDB + ".errant_ddl (id INT PRIMARY KEY)",
		"INSERT INTO " + foDB + ".errant_ddl VALUES (1)",
	} {
		if _, err := old.admin.ExecContext(ctx, q); err != nil {
			heal()
			t.Skipf("the isolated primary refused %q before its lease ran out (a slow machine): %v", q, err)
		}
	}
	var before string
	if err := old.admin.QueryRowContext(ctx, "SELECT @@global.gtid_executed").Scan(&before); err != nil {
		t.Fatal(err)
	}
	pid := old.proc.Pid()
	newP := c.waitNewPrimary(t, old, 30*time.Second)
	heal()
	c.waitRejoined(t, newP, old, 90*time.Second)
	newP = c.checkIdentical(t, 0, newP)
	if old.proc.Pid() != pid || !old.proc.Running() {
		t.Errorf("%s was restarted from outside (pid %d, was %d): it should restart itself in place", old.name, old.proc.Pid(), pid)
	}
	var after, pexec string
	if err := old.admin.QueryRow("SELECT @@global.gtid_executed").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if err := newP.admin.QueryRow("SELECT @@global.gtid_executed").Scan(&pexec); err != nil {
		t.Fatal(err)
	}
	errant := gtid.Subtract(gtid.MustParse(before), gtid.MustParse(pexec))
	if errant.IsEmpty() {
		t.Fatalf("no errant transactions: %s had %s, the primary %s", old.name, before, pexec)
	}
	if in := gtid.Intersect(gtid.MustParse(after), errant); !in.IsEmpty() {
		t.Fatalf("%s still holds the errant %s after its clone", old.name, in)
	}
	entries, err := rewind.List(old.dataDir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("lost-and-found of %s: %v, %d entries, want 1", old.name, err, len(entries))
	}
	e := entries[0]
	var stmts []string
	for _, tr := range e.Transactions {
		stmts = append(stmts, tr.Statements...)
	}
	if !e.Done || !e.Undone.Equal(errant) || !strings.Contains(strings.Join(stmts, ";"), "CREATE TABLE "+foDB+".errant_ddl") {
		t.Fatalf("lost-and-found entry %s: done %v, GTIDs %s (want %s), statements %q", e.Dir, e.Done, e.Undone, errant, stmts)
	}
	aside, _ := filepath.Glob(filepath.Join(old.dataDir, "clone-old-*"))
	if len(aside) != 1 {
		t.Fatalf("want the old data set aside in one clone-old-* directory, found %v", aside)
	}
	var n int
	if err := old.admin.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'errant_ddl'", foDB).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the errant table is still on %s (%d, %v)", old.name, n, err)
	}
	t.Logf("%s replaced by a clone of %s: errant %s in %s, old data in %s", old.name, newP.name, errant, e.Dir, aside[0])
}

package test

// Planned switchover under load (issue 15, item 3): rounds of SWITCHOVER while eight clients
// write through whichever node is primary, every operation recorded, then the history checked
// with the failover test's checkers. Reliability-first must lose no acknowledged write and
// never let two nodes acknowledge in one epoch; availability-first reports the transactions the
// new primary lacked. Each round's longest write pause is logged, with p50 and max.
//
// Knobs (environment):
//
//	RELAYDB_SWITCHOVER_ROUNDS  switchovers per mode (default 3)
//	RELAYDB_FAILOVER_DIR       keep node logs and the history there

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/rewind"
	"github.com/relaydb/relaydb/test/cluster"
)

func switchoverRounds(t *testing.T) int {
	if s := os.Getenv("RELAYDB_SWITCHOVER_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("RELAYDB_SWITCHOVER_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	return 3
}

// swRound is one switchover as the statement returned it.
type swRound struct {
	start, end     time.Time // around the statement
	startMono      int64     // the same, on the recorder's clock (Op.Mono)
	endMono        int64
	from, to, mode string
	epoch          uint64
	executed       string
	lacked         string
	tookMs         int64
	pause          time.Duration
	acks           int // acknowledged writes in the round's window
	errant         string
	// delayed: the stream to the target was slowed, so that it lacks the primary's last
	// transactions. Availability-first takes over without them (the old primary and the other
	// replica then rewind them before they follow the new primary, which acknowledges nothing
	// until one does); reliability-first waits for them. These rounds' pauses are reported apart.
	delayed time.Duration
}

func TestSwitchoverReliabilityUnderLoad(t *testing.T) {
	runSwitchoverRounds(t, "reliability")
}

func TestSwitchoverAvailabilityUnderLoad(t *testing.T) {
	runSwitchoverRounds(t, "availability")
}

// writeFs are the operations that need an acknowledged commit to end OK.
var writeFs = map[string]bool{cluster.FTransfer: true, cluster.FWrite: true, cluster.FCAS: true, cluster.FInsert: true,
	cluster.FBalances: true, cluster.FRead: true}

func runSwitchoverRounds(t *testing.T, mode string) {
	rounds := switchoverRounds(t)
	rec := cluster.NewRecorder()
	c := startFailoverCluster(t, rec)
	seed := time.Now().UnixNano()
	cl := &foClients{c: c, rec: rec}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rounds)*40*time.Second+2*time.Minute)
	defer cancel()
	wctx, stopWorkers := context.WithCancel(ctx)
	cl.run(wctx, 8, 0, "", seed)
	time.Sleep(2 * time.Second) // load established

	var done []swRound
	var failed []string
	attempts, recover := 0, false
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		if recover {
			// After an availability-first round that left members with transactions the new
			// primary lacks (they rewind them, or are rebuilt), or a failed attempt: let the
			// cluster recover without load, as an operator would before the next switchover.
			cl.paused.Store(true)
		}
		p, err := c.waitHealthy(90 * time.Second)
		if err != nil {
			t.Fatalf("round %d: %v", i+1, err)
		}
		waitReplicasNearlyCaughtUp(t, c, p, cl.paused.Load())
		if cl.paused.Swap(false) {
			time.Sleep(time.Second) // load established again
		}
		// Ask a replica half of the time: the statement works on any member.
		on := p
		if i%2 == 1 {
			on = c.others(p)[i%2]
		}
		r := swRound{}
		target := ""
		var heal func()
		delay := time.Duration(0)
		switch {
		case mode == "availability" && i%4 == 1:
			delay = 300 * time.Millisecond
		case mode == "reliability" && i%5 == 2:
			delay = 150 * time.Millisecond
		}
		if delay > 0 {
			// Slow the stream from the primary to the target, so that the target lacks the
			// primary's last transactions when it is asked to take over: availability-first
			// takes over without them, reliability-first waits for them (held commits wait).
			// The target is the replica that is not the controller (Raft leader): followers
			// exchange no Raft messages, so the delay slows the replication stream only.
			target = c.others(p)[0].name
			if rows, err := c.statusRows(p); err == nil {
				for _, r := range rows {
					if r["Controller"] == "Yes" && r["Member"] == target {
						target = c.others(p)[1].name
					}
				}
			}
			heal = c.nw.Delay(p.name, target, delay)
			rec.Nemesis("delay", fmt.Sprintf("start delay %s-%s %s", p.name, target, delay))
			time.Sleep(time.Second)
		}
		rec.Nemesis("switchover", fmt.Sprintf("start %s-first switchover on %s (primary %s)", mode, on.name, p.name))
		r.start = time.Now()
		var err2 error
		if i%3 == 2 {
			// Every third round through the command, as an operator would.
			r, err2 = switchoverByCommand(t, on, mode, target, r)
		} else {
			stmt := "SWITCHOVER MODE " + strings.ToUpper(mode)
			if target != "" {
				stmt = "SWITCHOVER TO '" + target + "' MODE " + strings.ToUpper(mode)
			}
			qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
			err2 = on.admin.QueryRowContext(qctx, stmt).
				Scan(new(string), &r.mode, &r.from, &r.to, &r.epoch, &r.executed, &r.lacked, &r.tookMs)
			qcancel()
		}
		r.end = time.Now()
		r.delayed = delay
		if heal != nil {
			heal()
			rec.Nemesis("delay", "end delay")
		}
		rec.Nemesis("switchover", fmt.Sprintf("end: %s → %s epoch %d, lacked %q, err %v", r.from, r.to, r.epoch, r.lacked, err2))
		if err2 != nil {
			// A refusal or an abort is the cluster saying no, with its reason: try the round
			// again once the cluster is healthy (a few times), and report it.
			failed = append(failed, fmt.Sprintf("round %d attempt %d on %s: %v", i+1, attempts+1, on.name, err2))
			t.Logf("round %d: switchover on %s: %v", i+1, on.name, err2)
			recover = true
			if attempts++; attempts < 3 {
				i--
			} else {
				attempts = 0
			}
			continue
		}
		attempts, recover = 0, mode == "availability" && r.delayed > 0
		h := rec.History()
		r.startMono, r.endMono = h[len(h)-1].Mono-int64(r.end.Sub(r.start)), h[len(h)-1].Mono
		if mode == "availability" && r.lacked != "" {
			// What the old primary rewinds into its lost-and-found when it rejoins is exactly
			// what the switchover reported the new primary lacked.
			r.errant = lostAndFound(t, c.byName[r.from], r.start, r.lacked)
			if r.errant != r.lacked {
				t.Errorf("round %d: the switchover reported the new primary lacked %q, but %s rewound %q into its lost-and-found",
					i+1, r.lacked, r.from, r.errant)
			}
		}
		done = append(done, r)
		time.Sleep(1500 * time.Millisecond) // writes go on against the new primary
	}
	time.Sleep(time.Second)
	stopWorkers()
	cl.wg.Wait()

	_, h := c.endRun(t, cl, rec)
	measurePauses(t, h, done)

	var pauses, delayed []time.Duration
	for i, r := range done {
		if r.delayed > 0 {
			delayed = append(delayed, r.pause)
		} else {
			pauses = append(pauses, r.pause)
		}
		line := fmt.Sprintf("round %2d: %s → %s (epoch %d) statement %d ms, longest write pause %s, %d acks in the round",
			i+1, r.from, r.to, r.epoch, r.tookMs, r.pause.Round(time.Millisecond), r.acks)
		if r.delayed > 0 {
			line += fmt.Sprintf(" [stream to the target delayed %s]", r.delayed)
		}
		if mode == "availability" {
			line += fmt.Sprintf("; the new primary lacked %q", r.lacked)
			if r.lacked != "" {
				line += fmt.Sprintf(" (%s's lost-and-found: %q)", r.from, r.errant)
			}
		}
		t.Log(line)
	}
	for _, set := range []struct {
		what string
		d    []time.Duration
	}{{"", pauses}, {" with the target's stream delayed (lacking transactions)", delayed},
		{" in all", append(append([]time.Duration(nil), pauses...), delayed...)}} {
		if len(set.d) == 0 {
			continue
		}
		sort.Slice(set.d, func(i, j int) bool { return set.d[i] < set.d[j] })
		t.Logf("%s-first: %d switchovers%s, longest write pause p50 %s, max %s", mode, len(set.d), set.what,
			set.d[(len(set.d)-1)/2].Round(time.Millisecond), set.d[len(set.d)-1].Round(time.Millisecond))
	}
	for _, f := range failed {
		t.Logf("not completed: %s", f)
	}
	if len(done) < rounds {
		t.Errorf("only %d of %d switchovers completed", len(done), rounds)
	}

	if mode == "reliability" {
		for _, v := range check(t, h, true) {
			t.Errorf("%s", v)
		}
		return
	}
	// Availability-first may lose acknowledged writes by design (they are listed as lacked):
	// only the absence of split brain is required.
	for _, v := range cluster.CheckEpochs(h) {
		t.Errorf("%s", v)
	}
	for _, v := range cluster.CheckUniqueIDs(withoutF(h, cluster.FFinalIDs)) {
		t.Errorf("%s", v)
	}
	viol := cluster.CheckBank(h, cluster.BankOptions{Total: foAccounts * foInitial, Accounts: foAccounts})
	t.Logf("availability-first: bank checker found %d violation(s) (acknowledged transfers lost are allowed in this mode)", len(viol))
	// Every acknowledged transfer the cluster lost must be in a lost-and-found: the rewinds
	// undid exactly what the switchovers reported the new primaries lacked.
	lost, err := lostTransfers(h)
	if err != nil {
		t.Fatal(err)
	}
	found := map[int64]string{}
	for _, n := range c.nodes {
		entries, err := rewind.List(n.dataDir)
		if err != nil {
			t.Errorf("lost-and-found of %s: %v", n.name, err)
		}
		for _, e := range entries {
			for _, tr := range e.Transactions {
				for _, ch := range tr.Changes {
					if ch.Table == foDB+".transfers" && ch.Kind == "INSERT" {
						id, _ := strconv.ParseInt(fmt.Sprint(ch.After["id"]), 10, 64)
						found[id] = e.Dir
					}
				}
			}
		}
	}
	missing := 0
	for _, id := range lost {
		if _, ok := found[id]; !ok {
			missing++
			t.Errorf("acknowledged transfer %d is neither in the final state nor in any lost-and-found", id)
		}
	}
	t.Logf("availability-first: %d acknowledged transfer(s) lost by the switchovers, %d of them in a lost-and-found; %d transfer(s) in lost-and-founds; rebuilds: %d",
		len(lost), len(lost)-missing, len(found), c.rebuilds.Load())
}

// lostTransfers returns the ids of the acknowledged transfers missing from the final read.
func lostTransfers(h []cluster.Op) ([]int64, error) {
	ops, err := cluster.Pair(h)
	if err != nil {
		return nil, err
	}
	final := map[int64]bool{}
	var acked []int64
	for _, o := range ops {
		switch {
		case o.F == cluster.FFinalRead && o.Type == cluster.OK:
			if st, ok := o.Output.(cluster.BankState); ok {
				for _, id := range st.Transfers {
					final[id] = true
				}
			}
		case o.F == cluster.FTransfer && o.Type == cluster.OK:
			if x, ok := o.Input.(cluster.Transfer); ok {
				acked = append(acked, x.ID)
			}
		}
	}
	var lost []int64
	for _, id := range acked {
		if !final[id] {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// switchoverByCommand runs `relaydb switchover` against n's cluster port.
func switchoverByCommand(t *testing.T, n *foNode, mode, to string, r swRound) (swRound, error) {
	args := []string{"switchover", "--cluster-addr", n.clusterAddr, "--mode", mode, "--json"}
	if to != "" {
		args = append(args, "--to", to)
	}
	out, err := exec.Command(relaydbBinary(t), args...).CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("relaydb switchover: %v: %s", err, out)
	}
	var ans struct {
		Result *struct {
			From, To, Mode, Executed, Lacked string
			Epoch                            uint64
			Started, Ended                   time.Time
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &ans); err != nil || ans.Result == nil {
		return r, fmt.Errorf("relaydb switchover output %q: %v", out, err)
	}
	x := ans.Result
	r.from, r.to, r.mode, r.executed, r.lacked, r.epoch = x.From, x.To, x.Mode, x.Executed, x.Lacked, x.Epoch
	r.tookMs = x.Ended.Sub(x.Started).Milliseconds()
	return r, nil
}

// lostAndFound waits (bounded) for old's lost-and-found entry made after since, and returns the
// transactions it undid.
func lostAndFound(t *testing.T, old *foNode, since time.Time, want string) string {
	deadline := time.Now().Add(30 * time.Second)
	got := "(no lost-and-found entry within 30s)"
	for time.Now().Before(deadline) {
		entries, err := rewind.List(old.dataDir)
		if err != nil {
			got = err.Error()
		}
		var undone gtid.Set
		for _, e := range entries {
			if e.Started.After(since.Add(-time.Second)) {
				undone.AddSet(e.Undone)
			}
		}
		if !undone.IsEmpty() {
			got = undone.String()
			if got == want {
				return got
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

// waitReplicasNearlyCaughtUp waits (bounded) until every replica's applier is at most a second behind, as an
// operator would before a planned switchover (a rebuilt replica replays everything first).
func waitReplicasNearlyCaughtUp(t *testing.T, c *foCluster, p *foNode, exact bool) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := c.statusRows(p)
		ok := err == nil
		var primaryExec string
		for _, r := range rows {
			if r["Role"] == "primary" {
				primaryExec = r["Executed_Gtid_Set"]
			}
		}
		for _, r := range rows {
			if r["Role"] == "replica" {
				lag, err := strconv.Atoi(r["Seconds_Behind_Source"])
				ok = ok && err == nil && lag <= 1
				// Without load (exact), a replica that replayed everything holds what the
				// primary holds; its lag alone reads 0 before it has fetched its backlog.
				ok = ok && (!exact || r["Executed_Gtid_Set"] == primaryExec)
			}
		}
		if ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, _ := c.statusRows(p)
	var desc []string
	for _, r := range rows {
		desc = append(desc, fmt.Sprintf("%s %s/%s lag=%s executed=%s", r["Member"], r["Role"], r["State"], r["Seconds_Behind_Source"], r["Executed_Gtid_Set"]))
	}
	t.Logf("replicas still lag after 60s; switching over anyway: %s", strings.Join(desc, "; "))
}

// measurePauses sets each round's longest write pause: the longest gap between consecutive
// acknowledged writes (any node) that ends after the switchover began and starts before the
// next round (or the end of the load).
func measurePauses(t *testing.T, h []cluster.Op, rounds []swRound) {
	ops, err := cluster.Pair(h)
	if err != nil {
		t.Errorf("history: %v", err)
		return
	}
	var acks []int64
	for _, o := range ops {
		if o.Type == cluster.OK && writeFs[o.F] && o.Return >= 0 {
			acks = append(acks, o.Return)
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	for i := range rounds {
		r := &rounds[i]
		from := r.startMono
		to := from + int64(1500*time.Millisecond) + (r.endMono - r.startMono)
		var longest int64
		for k := 1; k < len(acks); k++ {
			if acks[k] <= from || acks[k-1] >= to {
				continue
			}
			if g := acks[k] - acks[k-1]; g > longest {
				longest = g
			}
			if acks[k] > from && acks[k] <= to {
				r.acks++
			}
		}
		r.pause = time.Duration(longest)
	}
}

// TestSwitchoverDiskTrigger: each node's datadir is a small tmpfs; the primary's is filled
// below --cluster-min-free-disk under an 8-thread write load, and the cluster hands it over
// by a reliability-first switchover, journaled with its reason, losing no acknowledged write.
func TestSwitchoverDiskTrigger(t *testing.T) {
	base := t.TempDir()
	var dirs []string
	for i := 1; i <= 3; i++ {
		d := filepath.Join(base, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", d).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs for the datadirs (this test needs root): %v: %s", err, out)
		}
		// Registered before the cluster starts: cleanups run last-in first-out, so the
		// processes are stopped before their datadirs are unmounted.
		t.Cleanup(func() {
			if out, err := exec.Command("umount", d).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", d, err, out)
			}
		})
		dirs = append(dirs, d)
	}
	const threshold = 128 << 20
	rec := cluster.NewRecorder()
	c := startFailoverClusterIn(t, rec, dirs, "--cluster-min-free-disk", "128MiB")
	cl := &foClients{c: c, rec: rec}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wctx, stopWorkers := context.WithCancel(ctx)
	cl.run(wctx, 8, 0, "", time.Now().UnixNano())
	time.Sleep(2 * time.Second)

	p, err := c.waitHealthy(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the primary's tmpfs until 96 MiB are left: below the threshold, above the 64 MiB
	// under which a member calls itself unhealthy.
	var st syscall.Statfs_t
	if err := syscall.Statfs(p.dataDir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	fill := filepath.Join(p.dataDir, "fill.bin")
	if err := writeZeros(fill, free-96<<20); err != nil {
		t.Fatal(err)
	}
	syscall.Statfs(p.dataDir, &st)
	t.Logf("filled %s's datadir: %d MiB free, threshold %d MiB", p.name, int64(st.Bavail)*int64(st.Bsize)>>20, threshold>>20)
	rec.Nemesis("disk", "start fill "+p.name)
	filled := time.Now()

	var np *foNode
	for time.Since(filled) < 20*time.Second {
		if n := c.findPrimary(); n != nil && n != p {
			np = n
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if np == nil {
		t.Fatalf("no switchover within 20s of filling %s's disk; views:\n%s", p.name, describeViews(c.views()))
	}
	t.Logf("%s is the primary %s after %s's disk was filled", np.name, time.Since(filled).Round(time.Millisecond), p.name)
	rec.Nemesis("disk", "end: primary "+np.name)
	os.Remove(fill)
	time.Sleep(1500 * time.Millisecond)
	stopWorkers()
	cl.wg.Wait()

	// The journal says why.
	rows, err := np.admin.QueryContext(ctx, "SHOW CLUSTER JOURNAL")
	if err != nil {
		t.Fatal(err)
	}
	var why string
	for rows.Next() {
		var tm, kind, member, reason string
		var epoch uint64
		if err := rows.Scan(&tm, &epoch, &kind, &member, &reason); err != nil {
			t.Fatal(err)
		}
		if kind == "switchover" && strings.Contains(reason, "disk trigger") && why == "" {
			why = fmt.Sprintf("%s epoch %d %s %s: %s", tm, epoch, kind, member, reason)
		}
	}
	rows.Close()
	if why == "" {
		t.Errorf("no disk-trigger switchover in the journal")
	} else {
		t.Logf("journal: %s", why)
	}

	_, h := c.endRun(t, cl, rec)
	r := []swRound{{startMono: nemesisMono(h, "start fill "+p.name)}}
	r[0].endMono = r[0].startMono + int64(time.Since(filled))
	measurePauses(t, h, r)
	t.Logf("longest write pause around the disk-trigger switchover: %s", r[0].pause.Round(time.Millisecond))
	for _, v := range check(t, h, true) {
		t.Errorf("%s", v)
	}
}

func writeZeros(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		n -= k
	}
	return f.Close()
}

// nemesisMono is the recorder time of the nemesis entry whose value is what.
func nemesisMono(h []cluster.Op, what string) int64 {
	for _, op := range h {
		if op.Process == cluster.NemesisProcess && op.Value == what {
			return op.Mono
		}
	}
	return 0
}

// TestSwitchoverAbortedPrimaryServesAgain: a reliability-first switchover whose target cannot
// receive the old primary's last transactions (the stream to it is cut) is aborted after its
// timeout, journaled; the old primary takes its lease back and its held commits go on; nothing
// acknowledged is lost and no two nodes acknowledge in one epoch.
func TestSwitchoverAbortedPrimaryServesAgain(t *testing.T) {
	rec := cluster.NewRecorder()
	c := startFailoverCluster(t, rec)
	cl := &foClients{c: c, rec: rec}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wctx, stopWorkers := context.WithCancel(ctx)
	cl.run(wctx, 8, 0, "", time.Now().UnixNano())
	time.Sleep(2 * time.Second)
	p, err := c.waitHealthy(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The target is the replica that is not the controller: cutting the primary's bytes to it
	// stops its stream and touches no Raft traffic.
	target := c.others(p)[0]
	if rows, err := c.statusRows(p); err == nil {
		for _, r := range rows {
			if r["Controller"] == "Yes" && r["Member"] == target.name {
				target = c.others(p)[1]
			}
		}
	}
	heal := c.nw.CutOneWay(p.name, target.name)
	rec.Nemesis("cut", fmt.Sprintf("start cut %s->%s", p.name, target.name))
	time.Sleep(300 * time.Millisecond) // the primary logs transactions the target cannot receive
	start := time.Now()
	out, err := exec.Command(relaydbBinary(t), "switchover", "--cluster-addr", p.clusterAddr, "--to", target.name, "--timeout", "1s").CombinedOutput()
	took := time.Since(start)
	t.Logf("relaydb switchover --to %s --timeout 1s (%s): %v: %s", target.name, took.Round(time.Millisecond), err, strings.TrimSpace(string(out)))
	if err == nil || !strings.Contains(string(out), "aborted") {
		t.Errorf("want the switchover aborted, got %v: %s", err, out)
	}
	// The old primary serves again.
	deadline := time.Now().Add(10 * time.Second)
	for c.findPrimary() != p && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if q := c.findPrimary(); q != p {
		t.Errorf("after the abort the primary is %v, want %s again", q, p.name)
	}
	time.Sleep(time.Second)
	heal()
	rec.Nemesis("cut", "end cut")
	time.Sleep(time.Second)
	stopWorkers()
	cl.wg.Wait()

	rows, err := p.admin.QueryContext(ctx, "SHOW CLUSTER JOURNAL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tm, kind, member, reason string
		var epoch uint64
		if err := rows.Scan(&tm, &epoch, &kind, &member, &reason); err != nil {
			t.Fatal(err)
		}
		if kind == "switchover_aborted" {
			t.Logf("journal: %s epoch %d %s %s: %s", tm, epoch, kind, member, reason)
			break
		}
	}
	rows.Close()

	_, h := c.endRun(t, cl, rec)
	r := []swRound{{startMono: nemesisMono(h, fmt.Sprintf("start cut %s->%s", p.name, target.name)) + int64(300*time.Millisecond)}}
	r[0].endMono = r[0].startMono + int64(took)
	measurePauses(t, h, r)
	t.Logf("longest write pause around the aborted switchover: %s (commits held, then let through)", r[0].pause.Round(time.Millisecond))
	for _, v := range check(t, h, true) {
		t.Errorf("%s", v)
	}
}

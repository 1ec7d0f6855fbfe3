// Command failover measures how long a RelayDB cluster takes to fail over: three data nodes
// with the default settings (lossless semi-sync, 500 ms lease), an 8-thread write load against
// whichever node is primary, and rounds of faults on the primary — kill -9, SIGSTOP (resumed
// after the failover) and a partition from both other nodes (healed after) — each timed from the
// fault to the first write acknowledged by another node. Between rounds the old primary rejoins
// (rebuilt if it holds unacknowledged transactions) and the cluster settles. It prints p50, p90
// and max per fault kind. With -throughput it also measures, in the same run, the write
// throughput of the cluster in its lossless default against the same cluster in async mode.
//
// The anti-flapping cooldown is set to 0 so that rounds can follow each other; every other
// setting is the default.
//
// usage: go run ./bench/failover [-rounds 20] [-faults kill,stop,partition] [-threads 8] [-throughput 20s]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaydb/relaydb/test/cluster"
)

func main() {
	rounds := flag.Int("rounds", 20, "rounds per fault kind")
	faults := flag.String("faults", "kill,stop,partition", "fault kinds, comma-separated")
	threads := flag.Int("threads", 8, "writer threads")
	throughput := flag.Duration("throughput", 0, "also measure lossless vs async write throughput for this long each (0: skip)")
	verboseFlag := flag.Bool("v", false, "print the cluster journal of every round")
	flag.Parse()
	verbose = *verboseFlag
	level := slog.LevelWarn

	scope := cluster.NewScope(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	defer scope.Close()
	bin, err := cluster.BuildRelayDB(scope.TempDir(), false)
	if err != nil {
		fail(err)
	}
	results := map[string][]time.Duration{}
	kinds := strings.Split(*faults, ",")
	if *rounds > 0 {
		c, err := cluster.StartRelayCluster(scope, cluster.RelayOptions{Bin: bin, Cooldown: 0})
		if err != nil {
			fail(err)
		}
		ctx := context.Background()
		if err := settle(ctx, c); err != nil {
			fail(err)
		}
		load := startLoad(c, *threads)
		for r := 0; r < *rounds; r++ {
			for _, kind := range kinds {
				d, err := round(ctx, c, load, kind)
				if err != nil {
					fail(fmt.Errorf("round %d (%s): %w", r+1, kind, err))
				}
				results[kind] = append(results[kind], d)
				fmt.Fprintf(os.Stderr, "round %2d %-9s %v\n", r+1, kind, d.Round(time.Millisecond))
			}
		}
		load.stop()
		fmt.Printf("failover time, fault on the primary to the first write acknowledged by the new primary (%d writer threads, %d rounds)\n", *threads, *rounds)
		fmt.Printf("%-10s %8s %8s %8s %8s\n", "fault", "p50", "p90", "max", "min")
		for _, kind := range kinds {
			ds := results[kind]
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			fmt.Printf("%-10s %8s %8s %8s %8s\n", kind, ms(pct(ds, 50)), ms(pct(ds, 90)), ms(ds[len(ds)-1]), ms(ds[0]))
		}
		fmt.Printf("writes: %d ok, %d failed during the run\n", load.ok.Load(), load.failed.Load())
		sort.Ints(load.loadAtFault)
		fmt.Printf("write load in the second before each fault: median %d, min %d transactions acknowledged\n",
			load.loadAtFault[len(load.loadAtFault)/2], load.loadAtFault[0])
	}
	if *throughput > 0 {
		tps := map[string]float64{}
		for _, mode := range []string{"lossless", "async"} {
			c, err := cluster.StartRelayCluster(scope, cluster.RelayOptions{Bin: bin, Mode: mode, Cooldown: -1})
			if err != nil {
				fail(err)
			}
			if err := settle(context.Background(), c); err != nil {
				fail(err)
			}
			load := startLoad(c, *threads)
			time.Sleep(2 * time.Second) // warm up
			start, n0 := time.Now(), load.ok.Load()
			time.Sleep(*throughput)
			tps[mode] = float64(load.ok.Load()-n0) / time.Since(start).Seconds()
			load.stop()
			for _, n := range c.Nodes {
				n.Proc.Kill()
			}
		}
		fmt.Printf("write throughput, 3-node cluster, %d threads, %s each (transactions/s: UPDATE by key + INSERT)\n", *threads, *throughput)
		fmt.Printf("lossless (AFTER_SYNC, 1 ack) %8.0f\nasync                        %8.0f\nlossless / async             %8.2f\n",
			tps["lossless"], tps["async"], tps["lossless"]/tps["async"])
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "failover:", err)
	os.Exit(1)
}

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

func pct(ds []time.Duration, p int) time.Duration {
	i := (len(ds)*p + 99) / 100
	return ds[max(min(i, len(ds))-1, 0)]
}

// settle waits for a healthy cluster and creates the load's table.
func settle(ctx context.Context, c *cluster.RelayCluster) error {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.WaitHealthy(cctx); err != nil {
		return err
	}
	p, _, err := c.WaitPrimary(cctx)
	if err != nil {
		return err
	}
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS bench",
		"CREATE TABLE IF NOT EXISTS bench.acct (id INT PRIMARY KEY, n BIGINT NOT NULL)",
		"CREATE TABLE IF NOT EXISTS bench.log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, at BIGINT)"} {
		if _, err := c.DB(p).ExecContext(cctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for i := 0; i < 72; i++ {
		if _, err := c.DB(p).ExecContext(cctx, "INSERT IGNORE INTO bench.acct VALUES (?, 0)", i); err != nil {
			return err
		}
	}
	return c.WaitHealthy(cctx)
}

// load is the writer threads: each writes to whichever node it last found writable.
type load struct {
	c       *cluster.RelayCluster
	primary atomic.Pointer[cluster.RelayNode]
	ok      atomic.Int64
	failed  atomic.Int64
	paused  atomic.Bool // writers idle while the cluster settles between rounds
	probing atomic.Bool // probers write only between a fault and the failover
	mu      sync.Mutex
	acks    []ack // every acknowledged write: when and by whom
	// loadAtFault counts, per round, the writes acknowledged in the second before the fault.
	loadAtFault []int
	done        chan struct{}
	wg          sync.WaitGroup
}

type ack struct {
	at   time.Time
	node string
}

func startLoad(c *cluster.RelayCluster, threads int) *load {
	l := &load{c: c, done: make(chan struct{})}
	for i := 0; i < threads; i++ {
		l.wg.Add(1)
		go l.writer(i)
	}
	// One prober per node writes to it every few milliseconds with short timeouts, so that the
	// moment a new primary acknowledges is seen however long the load's writers stay stuck on the
	// old one (a client's timeouts are not the cluster's failover time).
	for _, n := range c.Data() {
		l.wg.Add(1)
		go l.probe(n)
	}
	return l
}

func (l *load) probe(n *cluster.RelayNode) {
	defer l.wg.Done()
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	for k := 0; ; k++ {
		select {
		case <-l.done:
			return
		case <-time.After(3 * time.Millisecond):
		}
		if !l.probing.Load() || !n.Proc.Running() {
			continue
		}
		if db == nil {
			db = cluster.OpenDB(n.SQLAddr)
			db.SetMaxOpenConns(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := write(ctx, db, 64+k%8)
		cancel()
		if err != nil {
			continue
		}
		l.mu.Lock()
		l.acks = append(l.acks, ack{at: time.Now(), node: n.Name})
		l.mu.Unlock()
	}
}

func (l *load) stop() {
	close(l.done)
	l.wg.Wait()
}

func (l *load) writer(id int) {
	defer l.wg.Done()
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	for k := 0; ; k++ {
		select {
		case <-l.done:
			return
		default:
		}
		if l.paused.Load() {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p := l.primary.Load()
		if p == nil {
			n, _ := l.c.Writable(context.Background())
			if n == nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			l.primary.CompareAndSwap(nil, n)
			p = n
		}
		db := dbs[p.Name]
		if db == nil {
			db = cluster.OpenDB(p.SQLAddr)
			db.SetMaxOpenConns(1)
			dbs[p.Name] = db
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := write(ctx, db, (id*7919+k)%64)
		cancel()
		if err != nil {
			l.failed.Add(1)
			l.primary.CompareAndSwap(p, nil)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		l.ok.Add(1)
		l.mu.Lock()
		l.acks = append(l.acks, ack{at: time.Now(), node: p.Name})
		l.mu.Unlock()
	}
}

func write(ctx context.Context, db *sql.DB, acct int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE bench.acct SET n = n + 1 WHERE id = ?", acct); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO bench.log (acct, at) VALUES (?, ?)", acct, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// firstAckAfter returns the first write acknowledged after t by a node other than old.
func (l *load) firstAckAfter(t time.Time, old string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.acks {
		if a.at.After(t) && a.node != old {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// round injects one fault on the primary and returns the time to the first write acknowledged
// by its successor; then it heals the fault and waits for the cluster to settle.
func round(ctx context.Context, c *cluster.RelayCluster, l *load, kind string) (time.Duration, error) {
	l.paused.Store(true)
	err := waitHealthy(ctx, c)
	l.paused.Store(false)
	if err != nil {
		return 0, err
	}
	p, _ := c.Writable(ctx)
	if p == nil {
		return 0, fmt.Errorf("no primary")
	}
	// Writes must be flowing through p before the fault.
	mark := time.Now()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, ok := l.firstAckAfter(mark, "-"); ok {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no writes before the fault")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A second of load at full speed before the fault.
	time.Sleep(time.Second)
	l.mu.Lock()
	n := 0
	for _, a := range l.acks {
		if time.Since(a.at) <= time.Second {
			n++
		}
	}
	l.loadAtFault = append(l.loadAtFault, n)
	l.acks = l.acks[:0]
	l.mu.Unlock()
	var heal func() error
	l.probing.Store(true)
	defer l.probing.Store(false)
	t0 := time.Now()
	switch kind {
	case "kill":
		if err := p.Proc.Kill(); err != nil {
			return 0, err
		}
		heal = p.Proc.Restart
	case "stop":
		if err := p.Proc.Stop(); err != nil {
			return 0, err
		}
		heal = p.Proc.Cont
	case "partition":
		h := c.Net.Isolate(p.Name)
		heal = func() error { h(); return nil }
	default:
		return 0, fmt.Errorf("unknown fault %q", kind)
	}
	var d time.Duration
	for deadline := t0.Add(30 * time.Second); ; {
		if at, ok := l.firstAckAfter(t0, p.Name); ok {
			d = at.Sub(t0)
			break
		}
		if time.Now().After(deadline) {
			heal()
			return 0, fmt.Errorf("no failover within 30 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := heal(); err != nil {
		return 0, err
	}
	if verbose {
		printJournal(ctx, c, t0)
	}
	return d, nil
}

var verbose bool

// printJournal shows when the controller opened the election and promoted, relative to the fault.
func printJournal(ctx context.Context, c *cluster.RelayCluster, t0 time.Time) {
	p, _ := c.Writable(ctx)
	if p == nil {
		return
	}
	rows, err := c.DB(p).QueryContext(ctx, "SHOW CLUSTER JOURNAL")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var at, kind, member, reason string
		var epoch uint64
		if rows.Scan(&at, &epoch, &kind, &member, &reason) != nil {
			return
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05.000", at, time.Local)
		if err != nil || t.Before(t0.Add(-time.Millisecond)) {
			continue
		}
		fmt.Fprintf(os.Stderr, "    +%4dms %-9s %-4s %.110s\n", t.Sub(t0).Milliseconds(), kind, member, reason)
	}
}

// waitHealthy waits for the cluster to settle, rebuilding a node that refuses to rejoin.
func waitHealthy(ctx context.Context, c *cluster.RelayCluster) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := c.WaitHealthy(cctx)
		cancel()
		if err == nil {
			return nil
		}
		for _, n := range c.Diverged(ctx) {
			fmt.Fprintf(os.Stderr, "  %s holds unacknowledged transactions the new primary lacks: rebuilding it\n", n.Name)
			if err := c.Rebuild(n); err != nil {
				return err
			}
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

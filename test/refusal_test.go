package test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/test/cluster"
)

// startCluster starts a RelayDB cluster on the fault-injection harness and waits until it is
// healthy; every process and proxy is stopped when the test ends.
func startCluster(t *testing.T, o cluster.RelayOptions) *cluster.RelayCluster {
	t.Helper()
	o.Bin = relaydbBinary(t)
	c, err := cluster.StartRelayCluster(t, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.Nodes {
				t.Logf("%s log (cluster lines):\n%s", n.Name, clusterLines(n.Proc.Log(), 60))
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		for _, n := range c.Nodes {
			t.Logf("%s log:\n%s", n.Name, tail(n.Proc.Log(), 40))
		}
		t.Fatal(err)
	}
	return c
}

// clusterLines keeps the control plane's lines of a node's log (not Raft's), the last n.
func clusterLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "cluster") && !strings.Contains(l, "raft: ") {
			keep = append(keep, l)
		}
	}
	return tail(strings.Join(keep, "\n"), n)
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func primaryOf(t *testing.T, c *cluster.RelayCluster) *cluster.RelayNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, _, err := c.WaitPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIsolatedPrimaryStopsAcknowledging: with both replicas unreachable, the primary stops
// acknowledging commits within its lease — in lossless mode (no acks can come) and in async
// mode, where only the lease stops it.
func TestIsolatedPrimaryStopsAcknowledging(t *testing.T) {
	for _, mode := range []string{"lossless", "async"} {
		t.Run(mode, func(t *testing.T) {
			const lease = 500 * time.Millisecond
			c := startCluster(t, cluster.RelayOptions{Mode: mode, Lease: lease, Cooldown: -1})
			p := primaryOf(t, c)
			db := cluster.OpenDB(p.SQLAddr)
			defer db.Close()
			db.SetMaxOpenConns(4)
			mustExec(t, db, "CREATE DATABASE IF NOT EXISTS f")
			mustExec(t, db, "CREATE TABLE IF NOT EXISTS f.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, at BIGINT)")

			var mu sync.Mutex
			var lastAck time.Time
			var acks, refusals int
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						_, err := db.ExecContext(ctx, "INSERT INTO f.t (at) VALUES (?)", time.Now().UnixNano())
						cancel()
						mu.Lock()
						if err == nil {
							lastAck, acks = time.Now(), acks+1
						} else if strings.Contains(err.Error(), "1290") {
							refusals++
						}
						mu.Unlock()
						if err != nil {
							time.Sleep(20 * time.Millisecond)
						}
					}
				}()
			}
			time.Sleep(time.Second)
			mu.Lock()
			before := acks
			mu.Unlock()
			if before == 0 {
				t.Fatal("no write acknowledged before the partition")
			}
			cut := time.Now()
			heal := c.Net.Isolate(p.Name)
			time.Sleep(3 * lease)
			mu.Lock()
			last, after := lastAck, acks-before
			mu.Unlock()
			// The lease was granted before the cut, so nothing may be acknowledged later than one
			// lease after it (plus delivery to the client).
			if limit := cut.Add(lease + 100*time.Millisecond); last.After(limit) {
				t.Errorf("the isolated primary acknowledged a commit %v after it was cut off (lease %v)", last.Sub(cut), lease)
			}
			var ro int
			if err := db.QueryRow("SELECT @@global.super_read_only").Scan(&ro); err != nil || ro != 1 {
				t.Errorf("isolated primary: super_read_only = %d (%v), want 1", ro, err)
			}
			close(stop)
			wg.Wait()
			t.Logf("%s: %d commits acknowledged before the cut, %d after it (last %v after the cut), %d refused with 1290",
				mode, before, after, last.Sub(cut).Round(time.Millisecond), refusals)
			heal()
			// The cluster has a primary again (the old one may win the next election if it holds
			// the most transactions and returned in time).
			t.Logf("%s: primary after the heal: %s (was %s)", mode, primaryOf(t, c).Name, p.Name)
		})
	}
}

// TestNoPromotionWithoutNewestReplica: the one replica holding the newest acknowledged
// transactions is unreachable when the primary dies; the other replica must not be promoted
// (it may lack acknowledged commits), the journal says why, and once the replica returns it is
// promoted with every acknowledged commit.
func TestNoPromotionWithoutNewestReplica(t *testing.T) {
	// Two arbiters keep a Raft quorum (r2 + arb1 + arb2) while p is dead and r1 unreachable.
	c := startCluster(t, cluster.RelayOptions{Arbiters: 2, Cooldown: -1})
	p := primaryOf(t, c)
	var r1, r2 *cluster.RelayNode
	for _, n := range c.Data() {
		switch {
		case n == p:
		case r1 == nil:
			r1 = n
		default:
			r2 = n
		}
	}
	db := cluster.OpenDB(p.SQLAddr)
	defer db.Close()
	mustExec(t, db, "CREATE DATABASE f")
	mustExec(t, db, "CREATE TABLE f.t (id INT PRIMARY KEY)")
	waitRows(t, c, r2, "f.t", 0)
	// r2 stops receiving (p's bytes to it are dropped); r1 alone acknowledges from now on.
	c.Net.CutOneWay(p.Name, r2.Name)
	const acked = 20
	for i := 1; i <= acked; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := db.ExecContext(ctx, "INSERT INTO f.t VALUES (?)", i)
		cancel()
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	healR1 := c.Net.Isolate(r1.Name)
	if err := p.Proc.Kill(); err != nil {
		t.Fatal(err)
	}
	// For several leases, nobody may become writable, and the journal must say why.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if w, _ := c.Writable(context.Background()); w != nil {
			t.Fatalf("%s became writable while %s, which holds the newest acknowledged commits, was unreachable", w.Name, r1.Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	journal := journalText(t, c.DB(r2))
	if !(strings.Contains(journal, "waiting for reports") || strings.Contains(journal, "to register")) || !strings.Contains(journal, r1.Name) {
		t.Fatalf("the journal does not say that the election waits for %s:\n%s", r1.Name, journal)
	}
	t.Logf("while %s was unreachable, the journal said:\n%s", r1.Name, firstLines(journal, 3))
	healR1()
	c.Net.Heal()
	np := primaryOf(t, c)
	if np != r1 {
		t.Fatalf("promoted %s, want %s (the only member holding every acknowledged commit)", np.Name, r1.Name)
	}
	var n int
	if err := c.DB(np).QueryRow("SELECT COUNT(*) FROM f.t").Scan(&n); err != nil || n != acked {
		t.Fatalf("new primary holds %d rows (%v), want all %d acknowledged", n, err, acked)
	}
}

func journalText(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SHOW CLUSTER JOURNAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var at, kind, member, reason string
		var epoch uint64
		if err := rows.Scan(&at, &epoch, &kind, &member, &reason); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s epoch %d %s %s %s\n", at, epoch, kind, member, reason)
	}
	return b.String()
}

func firstLines(s string, n int) string {
	parts := strings.SplitN(s, "\n", n+1)
	if len(parts) > n {
		parts = parts[:n]
	}
	return strings.Join(parts, "\n")
}

// waitRows waits until a node's table has at least min rows.
func waitRows(t *testing.T, c *cluster.RelayCluster, n *cluster.RelayNode, table string, min int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got int
		err := c.DB(n).QueryRow("SELECT COUNT(*) FROM " + table).Scan(&got)
		if err == nil && got >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s has %d rows (%v), want at least %d", n.Name, table, got, err, min)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

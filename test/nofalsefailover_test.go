package test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/test/cluster"
)

// TestBusyPrimaryIsNotFailedOver: a primary that is merely busy — CPU saturated by sysbench at
// 64 threads, a 60 s query, every connection slot taken — keeps its lease: no election happens
// and the epoch does not change. Not run with -short; RELAYDB_BUSY_SECONDS sets how long the
// sysbench load runs (default 60; the check is 300).
func TestBusyPrimaryIsNotFailedOver(t *testing.T) {
	if testing.Short() {
		t.Skip("minutes of load; run without -short")
	}
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Skip("sysbench is not installed")
	}
	seconds := 60
	if s := os.Getenv("RELAYDB_BUSY_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("RELAYDB_BUSY_SECONDS=%q: %v", s, err)
		}
		seconds = n
	}
	c := startCluster(t, cluster.RelayOptions{Cooldown: -1})
	p := primaryOf(t, c)
	db := c.DB(p)
	startEpoch := epochOf(t, db)
	mustExec(t, db, "CREATE DATABASE sbtest")
	host, port, _ := strings.Cut(p.SQLAddr, ":")
	sb := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "sysbench", append([]string{"oltp_write_only", "--db-driver=mysql",
			"--mysql-host=" + host, "--mysql-port=" + port, "--mysql-user=root", "--mysql-db=sbtest",
			"--tables=4", "--table-size=10000", "--mysql-ignore-errors=all"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sb(context.Background(), "--threads=4", "prepare"); err != nil {
		t.Fatalf("sysbench prepare: %v\n%s", err, out)
	}

	var wg sync.WaitGroup
	// The load: 64 threads for the whole run.
	var sbOut string
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+60)*time.Second)
		defer cancel()
		out, err := sb(ctx, "--threads=64", fmt.Sprintf("--time=%d", seconds), "--report-interval=0", "run")
		sbOut = out
		if err != nil {
			t.Errorf("sysbench run: %v\n%s", err, out)
		}
	}()
	// A 60 s query (shorter if the load is shorter).
	wg.Add(1)
	go func() {
		defer wg.Done()
		q := min(60, seconds-5)
		start := time.Now()
		var v int
		long, err := sql.Open("mysql", "root@tcp("+p.SQLAddr+")/")
		if err != nil {
			t.Error(err)
			return
		}
		defer long.Close()
		if err := long.QueryRow(fmt.Sprintf("SELECT SLEEP(%d)", q)).Scan(&v); err != nil {
			t.Errorf("long query: %v", err)
			return
		}
		t.Logf("a %d s query ran to its end (%v)", q, time.Since(start).Round(time.Second))
	}()
	// Every connection slot taken for a while: extra clients are refused, the cluster is not.
	time.Sleep(5 * time.Second)
	var max int
	if err := db.QueryRow("SELECT @@global.max_connections").Scan(&max); err != nil {
		t.Fatal(err)
	}
	var held []*sql.Conn
	refused := 0
	for i := 0; i < max+20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := cluster.OpenDB(p.SQLAddr).Conn(ctx)
		cancel()
		if err != nil {
			refused++
			continue
		}
		held = append(held, conn)
	}
	t.Logf("max_connections %d: held %d more connections, %d refused", max, len(held), refused)
	time.Sleep(10 * time.Second)
	for _, conn := range held {
		conn.Close()
	}
	wg.Wait()

	if e := epochOf(t, db); e != startEpoch {
		t.Errorf("the epoch changed from %d to %d: a busy primary was failed over\n%s", startEpoch, e, journalText(t, db))
	}
	if j := journalText(t, db); strings.Contains(j, " election ") && strings.Count(j, " election ") > 1 {
		t.Errorf("the journal shows an election after the first:\n%s", j)
	}
	for _, line := range strings.Split(sbOut, "\n") {
		if strings.Contains(line, "transactions:") || strings.Contains(line, "ignored errors:") {
			t.Logf("sysbench, 64 threads, %d s: %s", seconds, strings.TrimSpace(line))
		}
	}
	fenced := strings.Count(p.Proc.Log(), "cluster: fenced")
	if fenced > 0 {
		t.Errorf("the primary lost its lease %d times under load (writes refused meanwhile)", fenced)
	}
	t.Logf("epoch %d throughout; primary %s kept its lease (fenced %d times)", startEpoch, p.Name, fenced)
}

func epochOf(t *testing.T, db *sql.DB) uint64 {
	t.Helper()
	var e uint64
	if err := db.QueryRow("SELECT @@global.relaydb_cluster_epoch").Scan(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

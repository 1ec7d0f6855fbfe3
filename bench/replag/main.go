// Command replag measures how far a replica lags behind its primary, the way pt-heartbeat does:
// it writes the current time into a heartbeat row on the primary every interval and reads it
// back on the replica, so lag = now - the newest heartbeat the replica has applied. It runs for
// -duration (the load), then reports lag p50/p99/max over that time and how long after the
// end the replica took to apply the last heartbeat written during the load.
//
// usage: go run ./bench/replag -primary DSN -replica DSN -duration 60s
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

func main() {
	primary := flag.String("primary", "", "primary DSN (go-sql-driver form, e.g. root@tcp(127.0.0.1:3306)/)")
	replica := flag.String("replica", "", "replica DSN")
	duration := flag.Duration("duration", 60*time.Second, "how long the load runs")
	interval := flag.Duration("interval", 50*time.Millisecond, "heartbeat and sampling interval")
	catchUpLimit := flag.Duration("catch-up-limit", 5*time.Minute, "give up waiting for the replica after the load")
	flag.Parse()
	if err := run(*primary, *replica, *duration, *interval, *catchUpLimit); err != nil {
		fmt.Fprintln(os.Stderr, "replag:", err)
		os.Exit(1)
	}
}

func run(pdsn, rdsn string, duration, interval, limit time.Duration) error {
	p, err := sql.Open("mysql", pdsn)
	if err != nil {
		return err
	}
	defer p.Close()
	r, err := sql.Open("mysql", rdsn)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS lagcheck",
		"CREATE TABLE IF NOT EXISTS lagcheck.hb (id INT PRIMARY KEY, ts BIGINT NOT NULL)",
		"REPLACE INTO lagcheck.hb VALUES (1, 0)",
	} {
		if _, err := p.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	// Wait for the table to reach the replica.
	for deadline := time.Now().Add(limit); ; {
		var ts int64
		if err := r.QueryRow("SELECT ts FROM lagcheck.hb WHERE id = 1").Scan(&ts); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the heartbeat table never reached the replica")
		}
		time.Sleep(interval)
	}
	stop := make(chan struct{})
	beats := make(chan error, 1)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				beats <- nil
				return
			case <-t.C:
				if _, err := p.Exec("UPDATE lagcheck.hb SET ts = ? WHERE id = 1", time.Now().UnixMicro()); err != nil {
					beats <- err
					return
				}
			}
		}
	}()
	var lags []time.Duration
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		var ts int64
		if err := r.QueryRow("SELECT ts FROM lagcheck.hb WHERE id = 1").Scan(&ts); err != nil {
			return err
		}
		if ts > 0 {
			lags = append(lags, time.Since(time.UnixMicro(ts)))
		}
		time.Sleep(interval)
	}
	// The last heartbeat written during the load: time until the replica has it.
	loadEnd := time.Now()
	var last int64
	if err := p.QueryRow("SELECT ts FROM lagcheck.hb WHERE id = 1").Scan(&last); err != nil {
		return err
	}
	var caughtUp time.Duration
	for {
		var ts int64
		if err := r.QueryRow("SELECT ts FROM lagcheck.hb WHERE id = 1").Scan(&ts); err != nil {
			return err
		}
		if ts >= last {
			caughtUp = time.Since(loadEnd)
			break
		}
		if time.Since(loadEnd) > limit {
			caughtUp = -1
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	if err := <-beats; err != nil {
		return err
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	pct := func(q float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(q*float64(len(lags))))]
	}
	catch := "never (limit)"
	if caughtUp >= 0 {
		catch = caughtUp.Round(time.Millisecond).String()
	}
	fmt.Printf("samples=%d lag_p50=%s lag_p99=%s lag_max=%s caught_up_after=%s\n", len(lags),
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), catch)
	return nil
}

package storage

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// loadSysbenchTable creates a sysbench-shaped table with n rows.
func loadSysbenchTable(b testing.TB, s *session, n int) {
	s.mustExec("CREATE DATABASE IF NOT EXISTS sb")
	s.db = "sb"
	s.mustExec("CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))")
	for start := 1; start <= n; start += 1000 {
		var vals []string
		for i := start; i < start+1000 && i <= n; i++ {
			vals = append(vals, fmt.Sprintf("(%d,%d,'%s','%s')", i, rand.Intn(n), strings.Repeat("c", 119), strings.Repeat("p", 59)))
		}
		s.mustExec("INSERT INTO sbtest1 VALUES " + strings.Join(vals, ","))
	}
}

func BenchmarkPointSelect(b *testing.B) {
	h := newHarness(b)
	s := h.session()
	const n = 10000
	loadSysbenchTable(b, s, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows := s.mustExec(fmt.Sprintf("SELECT c FROM sbtest1 WHERE id=%d", 1+rand.Intn(n)))
		if len(rows) != 1 {
			b.Fatalf("got %d rows", len(rows))
		}
	}
}

func BenchmarkUpdateIndex(b *testing.B) {
	h := newHarness(b)
	s := h.session()
	const n = 10000
	loadSysbenchTable(b, s, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.mustExec(fmt.Sprintf("UPDATE sbtest1 SET k=k+1 WHERE id=%d", 1+rand.Intn(n)))
	}
}

// BenchmarkUncontendedRowLock is what a lock costs a transaction that meets no other: take one
// row lock, check for gap locks where it would insert, release.
func BenchmarkUncontendedRowLock(b *testing.B) {
	h := newHarness(b)
	key := string(indexPrefix(nil, 1, primaryIndexID)) + "row"
	for i := 0; i < b.N; i++ {
		t := h.e.newTxn(false, RepeatableRead)
		if _, err := h.e.locks.acquire(t, key, lockExclusive, 0); err != nil {
			b.Fatal(err)
		}
		if err := h.e.locks.waitInsert(t, []byte(key), 0); err != nil {
			b.Fatal(err)
		}
		h.e.locks.release(t)
	}
}

// BenchmarkLockingRangeRead is a REPEATABLE READ range scan FOR UPDATE of 10 rows (row locks,
// the gap, the next row) in its own transaction.
func BenchmarkLockingRangeRead(b *testing.B) {
	h := newHarness(b)
	s := h.session()
	const n = 10000
	loadSysbenchTable(b, s, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lo := 1 + rand.Intn(n-10)
		s.mustExec("BEGIN")
		if rows := s.mustExec(fmt.Sprintf("SELECT c FROM sbtest1 WHERE id BETWEEN %d AND %d FOR UPDATE", lo, lo+9)); len(rows) != 10 {
			b.Fatalf("got %d rows", len(rows))
		}
		s.mustExec("COMMIT")
	}
}

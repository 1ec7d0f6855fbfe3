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

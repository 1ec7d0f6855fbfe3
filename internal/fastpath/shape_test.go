package fastpath

import (
	"context"
	"testing"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// TestClassify lists which statements the fast path takes and which it leaves to the general
// path, by their text alone.
func TestClassify(t *testing.T) {
	cases := []struct {
		q    string
		kind Kind // 0: not a fast shape
	}{
		{"SELECT c FROM t WHERE id = ?", KindSelect},
		{"SELECT c FROM sbtest1 WHERE id=?", KindSelect},
		{"select * from d.t where id = 5", KindSelect},
		{"SELECT t.c, k AS kk FROM t WHERE t.id = ? AND t.b = 'x'", KindSelect},
		{"SELECT x.c FROM t AS x WHERE x.id = ?", KindSelect},
		{"SELECT c FROM t WHERE ? = id", KindSelect},
		{"SELECT c FROM t WHERE id BETWEEN ? AND ?", KindSelect},
		{"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c", KindSelect},
		{"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c DESC, k", KindSelect},
		{"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c", KindSelect},
		{"SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ?", KindSelect},
		{"SELECT COUNT(*) FROM t WHERE id BETWEEN 1 AND 10", KindSelect},
		{"UPDATE t SET k = k + 1 WHERE id = ?", KindUpdate},
		{"UPDATE t SET c = ?, k = k - 2 WHERE id = ?", KindUpdate},
		{"DELETE FROM t WHERE id = ?", KindDelete},
		{"INSERT INTO t (id, k, c, pad) VALUES (?, ?, ?, ?)", KindInsert},
		{"INSERT INTO t VALUES (1, 'a'), (2, NULL)", KindInsert},
		{"BEGIN", KindBegin},
		{"START TRANSACTION", KindBegin},
		{"COMMIT", KindCommit},
		{"ROLLBACK", KindRollback},

		{"START TRANSACTION READ ONLY", 0},
		{"SELECT c FROM t WHERE id = ? FOR UPDATE", 0},
		{"SELECT c FROM t WHERE id = ? LIMIT 1", 0},
		{"SELECT c FROM t WHERE id > ?", 0},
		{"SELECT c FROM t WHERE id = ? OR id = ?", 0},
		{"SELECT c FROM t WHERE id = NULL", 0},
		{"SELECT c FROM t WHERE id = 1.5", 0},
		{"SELECT c + 1 FROM t WHERE id = ?", 0},
		{"SELECT c FROM t, u WHERE t.id = ?", 0},
		{"SELECT c FROM t JOIN u ON t.id = u.id WHERE t.id = ?", 0},
		{"SELECT c FROM t WHERE id IN (?, ?)", 0},
		{"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ?", 0},
		{"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c DESC", 0},
		{"SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ? ORDER BY k", 0},
		{"SELECT SUM(DISTINCT k) FROM t WHERE id BETWEEN ? AND ?", 0},
		{"SELECT AVG(k) FROM t WHERE id BETWEEN ? AND ?", 0},
		{"SELECT k, COUNT(*) FROM t WHERE id BETWEEN ? AND ? GROUP BY k", 0},
		{"SELECT c FROM u.t AS x WHERE t.id = ?", 0},
		{"SELECT c FROM t WHERE id = @a", 0},
		{"UPDATE t SET k = k * 2 WHERE id = ?", 0},
		{"UPDATE t SET k = j + 1 WHERE id = ?", 0},
		{"UPDATE t SET k = 1 WHERE id = ? LIMIT 1", 0},
		{"UPDATE IGNORE t SET k = 1 WHERE id = ?", 0},
		{"UPDATE t SET k = 1", 0},
		{"DELETE FROM t WHERE id = ? ORDER BY id LIMIT 1", 0},
		{"DELETE FROM t", 0},
		{"INSERT IGNORE INTO t VALUES (1)", 0},
		{"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE k = 2", 0},
		{"INSERT INTO t SELECT * FROM u", 0},
		{"INSERT INTO t VALUES (NOW())", 0},
		{"INSERT INTO t (a, b) VALUES (1)", 0},
		{"REPLACE INTO t VALUES (1)", 0},
	}
	for _, c := range cases {
		stmt, err := ast.ParseWithOptions(context.Background(), c.q, ast.ParserOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		sh := Classify(stmt)
		got := Kind(0)
		if sh != nil {
			got = sh.Kind
		}
		if got != c.kind {
			t.Errorf("%s: kind %d, want %d", c.q, got, c.kind)
		}
	}
}

package test

import (
	"strings"
	"testing"
)

// TestOptimizerSwitch: SET optimizer_switch, which ORMs and applications send, is accepted with
// MySQL 8.0's flags, shown normalized, and refused with 1231 for a flag MySQL does not know.
func TestOptimizerSwitch(t *testing.T) {
	n := startNode(t, "")
	conn, err := n.db("").Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRowContext(t.Context(), "SELECT @@optimizer_switch").Scan(&v); err != nil || !strings.HasPrefix(v, "index_merge=on,") || !strings.Contains(v, "hash_join=on") {
		t.Fatalf("default optimizer_switch %q, %v", v, err)
	}
	if _, err := conn.ExecContext(t.Context(), "SET optimizer_switch = 'index_merge=off,HASH_JOIN=off,mrr=default'"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(t.Context(), "SELECT @@session.optimizer_switch").Scan(&v); err != nil ||
		!strings.HasPrefix(v, "index_merge=off,") || !strings.Contains(v, ",hash_join=off,") || !strings.Contains(v, ",mrr=on,") {
		t.Fatalf("after SET: %q, %v", v, err)
	}
	_, err = conn.ExecContext(t.Context(), "SET optimizer_switch = 'no_such_flag=on'")
	if err == nil || !strings.Contains(err.Error(), "1231") {
		t.Fatalf("an unknown flag: %v, want error 1231", err)
	}
}

package server

import (
	"errors"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
)

func TestTransactionChars(t *testing.T) {
	for _, c := range []struct {
		in    string
		level string
		ok    bool
	}{
		{"ISOLATION LEVEL READ COMMITTED", "READ-COMMITTED", true},
		{"isolation  level\tread uncommitted", "READ-UNCOMMITTED", true},
		{"ISOLATION LEVEL REPEATABLE READ, READ ONLY", "REPEATABLE-READ", true},
		{"READ WRITE, ISOLATION LEVEL SERIALIZABLE", "SERIALIZABLE", true},
		{"READ ONLY", "", true},
		{"ISOLATION LEVEL FOO", "", false},
		{"READ SOMETIMES", "", false},
		{"", "", false},
	} {
		level, ok := transactionChars(c.in)
		if level != c.level || ok != c.ok {
			t.Errorf("transactionChars(%q) = %q, %v; want %q, %v", c.in, level, ok, c.level, c.ok)
		}
	}
}

func TestNextVariableValue(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		level     string
		ok        bool
		code      int // error code, 0 for none
	}{
		{"tx_isolation", "'READ-COMMITTED'", "READ-COMMITTED", true, 0},
		{"transaction_isolation", `"serializable"`, "SERIALIZABLE", true, 0},
		{"tx_isolation", "1", "READ-COMMITTED", true, 0},
		{"tx_isolation", "3", "SERIALIZABLE", true, 0},
		{"tx_isolation", "4", "", false, 1231},
		{"tx_isolation", "'1'", "", false, 1231},
		{"tx_isolation", "'READ COMMITTED'", "", false, 1231},
		{"tx_isolation", "DEFAULT", "", false, 0},
		{"tx_read_only", "1", "", true, 0},
		{"transaction_read_only", "'OFF'", "", true, 0},
		{"tx_read_only", "'x'", "", false, 1231},
	} {
		level, ok, err := nextVariableValue(c.name, c.raw)
		code := 0
		var se *mysql.SQLError
		if errors.As(err, &se) {
			code = se.Num
		}
		if level != c.level || ok != c.ok || code != c.code {
			t.Errorf("nextVariableValue(%q, %q) = %q, %v, %v; want %q, %v, error %d", c.name, c.raw, level, ok, err, c.level, c.ok, c.code)
		}
	}
}

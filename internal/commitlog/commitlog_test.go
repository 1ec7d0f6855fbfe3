package commitlog

import (
	"testing"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

func TestStateRoundTrip(t *testing.T) {
	set := gtid.MustParse("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,4e11fa47-71ca-11e1-9e33-c80aa9429562:9")
	pos := binlog.Position{File: "binlog.000042", Offset: 123456789}
	st, err := decodeState(encodeState(pos, set))
	if err != nil {
		t.Fatal(err)
	}
	if st.pos != pos || !st.executed.Equal(set) {
		t.Fatalf("got %v %s, want %v %s", st.pos, st.executed, pos, set)
	}
	if st, err := decodeState(nil); err != nil || !st.executed.IsEmpty() || st.pos.File != "" {
		t.Fatalf("empty state: %+v %v", st, err)
	}
	b := encodeState(pos, set)
	for _, bad := range [][]byte{{9}, b[:3], append([]byte{1, 200}, b[2:]...), b[:len(b)-1]} {
		if _, err := decodeState(bad); err == nil {
			t.Errorf("corrupt state %x accepted", bad)
		}
	}
}

func TestIsDDL(t *testing.T) {
	for q, want := range map[string]bool{
		"CREATE TABLE t (a int)":           true,
		"  /* hint */ alter table t add b": true,
		"drop database d":                  true,
		"RENAME TABLE a TO b":              true,
		"truncate t":                       true,
		"Create(":                          true,
		"INSERT INTO t VALUES (1)":         false,
		"UPDATE t SET a = 1":               false,
		"/* unterminated":                  false,
		"":                                 false,
		"CREATEX TABLE":                    false,
	} {
		if got := isDDL(q); got != want {
			t.Errorf("isDDL(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestIsCreateSelect(t *testing.T) {
	for q, want := range map[string]bool{
		"CREATE TABLE t2 AS SELECT * FROM t": true,
		"create table t2 select a from t":    true,
		"CREATE TABLE t2 (a INT)":            false,
		"CREATE TABLE selections (a INT)":    false,
		"CREATE VIEW v AS SELECT 1":          false,
		"CREATE TABLE t3 LIKE t":             false,
	} {
		if got := isCreateSelect(q); got != want {
			t.Errorf("isCreateSelect(%q) = %v, want %v", q, got, want)
		}
	}
}

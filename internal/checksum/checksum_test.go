package checksum

import (
	"reflect"
	"strings"
	"testing"
)

// matches evaluates one term on integer tuples, as the server would evaluate its SQL.
func (tt tupleTerm) matches(row, bound []int) bool {
	for i := 0; i < tt.eq; i++ {
		if row[i] != bound[i] {
			return false
		}
	}
	switch tt.op {
	case ">":
		return row[tt.eq] > bound[tt.eq]
	case "<":
		return row[tt.eq] < bound[tt.eq]
	}
	return true
}

func compareTuples(a, b []int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// allTuples lists every tuple of n values in 0..2, in lexicographic order.
func allTuples(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, head := range allTuples(n - 1) {
		for v := 0; v < 3; v++ {
			out = append(out, append(append([]int{}, head...), v))
		}
	}
	return out
}

// TestTupleTermsAreLexicographic checks the expansion of key > bound and key <= bound into
// disjunctions for keys of one to three columns against the lexicographic order, and that the
// terms of key > bound are disjoint and ordered as upperBound walks them.
func TestTupleTermsAreLexicographic(t *testing.T) {
	for n := 1; n <= 3; n++ {
		tuples := allTuples(n)
		for _, bound := range tuples {
			for _, row := range tuples {
				cmp := compareTuples(row, bound)
				var afterHits []int
				for i, tt := range afterTerms(n) {
					if tt.matches(row, bound) {
						afterHits = append(afterHits, i)
					}
				}
				upTo := false
				for _, tt := range upToTerms(n) {
					upTo = upTo || tt.matches(row, bound)
				}
				if (cmp > 0) != (len(afterHits) > 0) || len(afterHits) > 1 {
					t.Fatalf("n=%d row %v bound %v: after-terms hit %v, compare %d", n, row, bound, afterHits, cmp)
				}
				if (cmp <= 0) != upTo {
					t.Fatalf("n=%d row %v bound %v: up-to %v, compare %d", n, row, bound, upTo, cmp)
				}
			}
			// Rows selected by an earlier term sort before rows selected by a later one.
			last := -1
			for _, row := range tuples {
				for i, tt := range afterTerms(n) {
					if tt.matches(row, bound) {
						if i < last {
							t.Fatalf("n=%d bound %v: row %v in term %d after a row of term %d", n, bound, row, i, last)
						}
						last = i
					}
				}
			}
		}
	}
}

func TestRangeWhere(t *testing.T) {
	where, args := rangeWhere([]string{"a", "b`c"}, []any{int64(1), []byte("x")}, []any{int64(5), []byte("y")})
	want := " WHERE ((`a` = ? AND `b``c` > ?) OR (`a` > ?)) AND ((`a` < ?) OR (`a` = ? AND `b``c` < ?) OR (`a` = ? AND `b``c` = ?))"
	if where != want {
		t.Fatalf("where:\n got %s\nwant %s", where, want)
	}
	wantArgs := []any{int64(1), []byte("x"), int64(1), int64(5), int64(5), []byte("y"), int64(5), []byte("y")}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Fatalf("args %v, want %v", args, wantArgs)
	}
	where, args = rangeWhere([]string{"id"}, nil, []any{int64(9)})
	if where != " WHERE ((`id` < ?) OR (`id` = ?))" || len(args) != 2 {
		t.Fatalf("upper only: %q %v", where, args)
	}
	if where, args = rangeWhere([]string{"id"}, nil, nil); where != "" || args != nil {
		t.Fatalf("no bounds: %q %v", where, args)
	}
}

func TestRowHashExprCoversNullsAndLengths(t *testing.T) {
	got := rowHashExpr([]column{{"id", "int"}, {"v", "varchar"}, {"b", "blob"}})
	want := "CRC32(CONCAT_WS('#', `id`, `v`, HEX(`b`), CONCAT(ISNULL(`id`), ISNULL(`v`), ISNULL(`b`)), CONCAT_WS(',', LENGTH(`id`), LENGTH(`v`), LENGTH(`b`))))"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestValueKeysAndFormatting(t *testing.T) {
	if valueKey(nil) == valueKey([]byte{}) {
		t.Error("NULL and the empty string have the same key")
	}
	if valueKey(int64(7)) != valueKey(uint64(7)) {
		t.Error("7 as int64 and as uint64 differ")
	}
	if rowKey([]any{[]byte("a1"), []byte("")}) == rowKey([]any{[]byte("a"), []byte("1")}) {
		t.Error("row keys are ambiguous")
	}
	cases := []struct {
		v    any
		dt   string
		want string
	}{
		{nil, "varchar", "NULL"},
		{[]byte(""), "varchar", "''"},
		{[]byte("it's"), "varchar", "'it''s'"},
		{[]byte("12.50"), "decimal", "12.50"},
		{int64(-3), "int", "-3"},
		{uint64(18446744073709551615), "bigint", "18446744073709551615"},
		{float64(0.5), "double", "0.5"},
		{[]byte{0, 1, 0xff}, "varbinary", "0x0001ff"},
		{[]byte("from 3 ✓"), "varchar", "'from 3 ✓'"},
	}
	for _, c := range cases {
		if got := formatValue(c.v, c.dt); got != c.want {
			t.Errorf("formatValue(%#v, %s) = %s, want %s", c.v, c.dt, got, c.want)
		}
	}
}

func rowsOf(pairs ...any) []hashedRow {
	var out []hashedRow
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, hashedRow{key: []any{pairs[i]}, hash: pairs[i+1].(string)})
	}
	return out
}

func TestCompareKeyed(t *testing.T) {
	prim := rowsOf(int64(1), "h1", int64(2), "h2", int64(3), "h3", int64(5), "h5")
	repl := rowsOf(int64(1), "h1", int64(3), "hX", int64(4), "h4", int64(5), "h5", int64(9), "h9")
	var got []string
	for _, d := range compareKeyed(prim, repl) {
		got = append(got, valueText(d.row.key[0])+":"+[]string{"primary", "replica", "changed"}[d.kind])
	}
	want := []string{"2:primary", "3:changed", "4:replica", "9:replica"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if d := compareKeyed(prim, prim); len(d) != 0 {
		t.Fatalf("equal chunks differ: %v", d)
	}
}

func TestCompareMultisetsCountsCopies(t *testing.T) {
	row := func(k int64, v any) hashedRow { return hashedRow{key: []any{k, v}} }
	prim := []hashedRow{row(1, []byte("a")), row(2, nil), row(3, []byte("")), row(3, []byte(""))}
	repl := []hashedRow{row(3, []byte("")), row(1, []byte("a")), row(2, []byte("")), row(3, []byte("")), row(3, []byte("")), row(3, []byte(""))}
	var got []string
	for _, d := range compareMultisets(prim, repl) {
		got = append(got, formatValue(d.row.key[0], "int")+","+formatValue(d.row.key[1], "varchar")+":"+
			[]string{"primary", "replica"}[d.kind]+":"+valueText(int64(d.copies)))
	}
	want := []string{"2,NULL:primary:1", "3,'':replica:2", "2,'':replica:1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestChangedValuesAndRowDiffText(t *testing.T) {
	tb := &table{db: "bank", name: "acct", cols: []column{{"id", "int"}, {"balance", "bigint"}, {"note", "varchar"}}, key: []string{"id"}}
	cols := changedValues(tb, tb.columnNames(), []any{int64(5), int64(1000), nil}, []any{int64(5), int64(999999), []byte("")})
	d := RowDiff{Replica: "127.0.0.1:3307", Database: "bank", Table: "acct", Key: describeKey(tb, tb.key, []any{int64(5)}), Kind: Changed, Columns: cols}
	want := "127.0.0.1:3307 bank.acct id=5: different values: balance: primary 1000, replica 999999; note: primary NULL, replica ''"
	if d.String() != want {
		t.Fatalf("got  %s\nwant %s", d, want)
	}
	d = RowDiff{Replica: "r:1", Database: "d", Table: "n", Key: "(k=3, v='')", Kind: OnlyOnReplica, Copies: 2}
	if s := d.String(); !strings.HasSuffix(s, "only on the replica (2 copies)") {
		t.Fatalf("copies: %s", s)
	}
}

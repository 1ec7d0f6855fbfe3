package codec

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// refTrimPad is an independent statement of PAD SPACE over GMS's weights:
// trailing runes that weigh the same as ' ' do not count.
func refTrimPad(typ sql.Type, v any) any {
	st, ok := typ.(sql.StringType)
	if !ok || types.IsBinaryType(typ) || st.Collation().PadAttribute() != "PAD SPACE" {
		return v
	}
	s, ok := v.(string)
	if !ok {
		return v
	}
	sorter := st.Collation().Sorter()
	rs := []rune(s)
	for len(rs) > 0 && sorter(rs[len(rs)-1]) == sorter(' ') {
		rs = rs[:len(rs)-1]
	}
	return string(rs)
}

// refCompare is the order keys must have: NULL first (MySQL's order; GMS's
// Compare puts NULL last), then t.Compare, on values with PAD SPACE applied.
func refCompare(t *testing.T, typ sql.Type, a, b any) int {
	t.Helper()
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	c, err := typ.Compare(testCtx, refTrimPad(typ, a), refTrimPad(typ, b))
	if err != nil {
		t.Fatalf("%s: Compare(%#v, %#v): %v", typ, a, b, err)
	}
	return sign(c)
}

func mustKey(t testing.TB, typ sql.Type, v any) []byte {
	t.Helper()
	k, err := AppendKey(nil, typ, v)
	if err != nil {
		t.Fatalf("%s: AppendKey(%#v): %v", typ, v, err)
	}
	n, err := KeyLen(typ, append(k[:len(k):len(k)], 0x01, 0x00, 0xFF))
	if err != nil || n != len(k) {
		t.Fatalf("%s: KeyLen of %#v = %d, %v; appended %d bytes", typ, v, n, err, len(k))
	}
	return k
}

func TestKeyOrderEachType(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tt := range allTestTypes() {
		if !tt.keyable {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			vals := append(sample(tt, r, 120), nil)
			keys := make([][]byte, len(vals))
			for i, v := range vals {
				keys[i] = mustKey(t, tt.typ, v)
			}
			for i := range vals {
				for j := range vals {
					want := refCompare(t, tt.typ, vals[i], vals[j])
					got := sign(bytes.Compare(keys[i], keys[j]))
					if got != want {
						t.Fatalf("%s: %#v vs %#v: keys compare %d, values %d\n%x\n%x", tt.typ, vals[i], vals[j], got, want, keys[i], keys[j])
					}
				}
			}
		})
	}
}

func TestKeyOrderTuples(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	tts := allTestTypes()
	var keyable []testType
	for _, tt := range tts {
		if tt.keyable {
			keyable = append(keyable, tt)
		}
	}
	for iter := 0; iter < 60; iter++ {
		a, b := keyable[r.IntN(len(keyable))], keyable[r.IntN(len(keyable))]
		// Few distinct values per column, so ties on the first column are common.
		va, vb := append(sample(a, r, 4)[:4], nil), append(sample(b, r, 30), nil)
		type tuple struct {
			x, y any
			key  []byte
		}
		var tuples []tuple
		for n := 0; n < 60; n++ {
			x, y := va[r.IntN(len(va))], vb[r.IntN(len(vb))]
			k := mustKey(t, a.typ, x)
			k, err := AppendKey(k, b.typ, y)
			if err != nil {
				t.Fatal(err)
			}
			// Both columns can be found inside the concatenation.
			n1, err := KeyLen(a.typ, k)
			if err != nil {
				t.Fatal(err)
			}
			n2, err := KeyLen(b.typ, k[n1:])
			if err != nil || n1+n2 != len(k) {
				t.Fatalf("KeyLen split %d+%d of %d: %v", n1, n2, len(k), err)
			}
			tuples = append(tuples, tuple{x, y, k})
		}
		for _, p := range tuples {
			for _, q := range tuples {
				want := refCompare(t, a.typ, p.x, q.x)
				if want == 0 {
					want = refCompare(t, b.typ, p.y, q.y)
				}
				if got := sign(bytes.Compare(p.key, q.key)); got != want {
					t.Fatalf("(%s, %s): (%#v, %#v) vs (%#v, %#v): keys %d, values %d", a.name, b.name, p.x, p.y, q.x, q.y, got, want)
				}
			}
		}
	}
}

func TestCollationKeys(t *testing.T) {
	type rel struct {
		a   string
		cmp int
		b   string
	}
	cases := map[string][]rel{
		"utf8mb4_0900_ai_ci": {{"a", 0, "A"}, {"a", -1, "B"}, {"A", -1, "b"}, {"é", 0, "E"}, {"a", -1, "a "}, {"", -1, " "}, {"ß", -1, "t"}},
		"utf8mb4_0900_as_cs": {{"a", -1, "A"}, {"a", -1, "B"}, {"é", 1, "e"}},
		"utf8mb4_general_ci": {{"a", 0, "A "}, {"a ", 0, "a"}, {"a  ", 0, "A"}, {"a", -1, "b"}, {"B", 1, "a"}, {"", 0, "   "}, {"a\t", 1, "a"}, {" a", -1, "a"}},
		"latin1_swedish_ci":  {{"a", 0, "A "}, {"a ", 0, "a"}, {"å", 0, "Å"}, {"z", -1, "å"}, {"", 0, " "}},
		"utf8mb4_unicode_ci": {{"a", 0, "A "}, {"a\x00", 0, "a"}, {"a", -1, "b"}},
		"utf8mb4_bin":        {{"a", 1, "A"}, {"a ", 0, "a"}, {"a", -1, "b"}, {"a\t", 1, "a"}, {"", 0, " "}, {"a\x00", 1, "a"}},
		"utf8mb4_0900_bin":   {{"a", 1, "A"}, {"a ", 1, "a"}, {"a", -1, "a\x00"}, {"", -1, " "}, {"\x00", 1, ""}, {"日", 1, "z"}},
	}
	for name, rels := range cases {
		coll := mustCollation(name)
		typ := types.MustCreateString(sqltypes.VarChar, 100, coll)
		for _, c := range rels {
			ka, kb := mustKey(t, typ, c.a), mustKey(t, typ, c.b)
			if got := sign(bytes.Compare(ka, kb)); got != c.cmp {
				t.Errorf("%s: key(%q) vs key(%q) = %d, want %d", name, c.a, c.b, got, c.cmp)
			}
			// A unique index on these keys treats equal keys as duplicates.
			if c.cmp == 0 && !bytes.Equal(ka, kb) {
				t.Errorf("%s: %q and %q must encode identically", name, c.a, c.b)
			}
		}
	}
	// NULL sorts first, before the empty string and everything else.
	typ := types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_ai_ci)
	if bytes.Compare(mustKey(t, typ, nil), mustKey(t, typ, "")) >= 0 {
		t.Error("NULL must sort before ''")
	}
}

func TestDecimalKeys(t *testing.T) {
	typ := types.MustCreateDecimalType(65, 30) // not a column type: no rounding to the scale
	ordered := []string{"-1e40", "-10", "-1.5", "-1.25", "-1.2", "-1", "-0.5", "-0.05", "0", "0.05", "0.5", "1", "1.2", "1.25", "1.5", "10", "10.01", "1e40"}
	var prev []byte
	for _, s := range ordered {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		k := mustKey(t, typ, d)
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Errorf("key(%s) does not sort after its predecessor", s)
		}
		prev = k
	}
	for _, eq := range [][]string{{"1.0", "1.00", "1", "1.000000000000000000000000000000"}, {"0", "-0", "0.00", "-0.000"}, {"100", "1e2", "100.0"}, {"-2.50", "-2.5"}} {
		var first []byte
		for _, s := range eq {
			d, _, err := apd.NewFromString(s)
			if err != nil {
				t.Fatal(err)
			}
			k := mustKey(t, typ, d)
			if first == nil {
				first = k
			} else if !bytes.Equal(first, k) {
				t.Errorf("%s and %s encode differently", eq[0], s)
			}
		}
	}
	// A column type compares (and so keys) after rounding to its scale.
	col := types.MustCreateColumnDecimalType(10, 2)
	if !bytes.Equal(mustKey(t, col, apd.New(1001, -3)), mustKey(t, col, apd.New(100, -2))) {
		t.Error("DECIMAL(10,2): 1.001 and 1.00 must key equally, as they compare equally")
	}
}

func TestFloatAndIntKeys(t *testing.T) {
	if !bytes.Equal(mustKey(t, types.Float64, 0.0), mustKey(t, types.Float64, math.Copysign(0, -1))) {
		t.Error("-0 and 0 must encode identically")
	}
	// A bound wider than the column's type still sorts correctly.
	if bytes.Compare(mustKey(t, types.Int8, int8(127)), mustKey(t, types.Int8, int64(1000))) >= 0 {
		t.Error("TINYINT 127 must sort before the bound 1000")
	}
	if bytes.Compare(mustKey(t, types.Uint64, int64(-1)), mustKey(t, types.Uint64, uint64(0))) >= 0 {
		t.Error("the bound -1 must sort before BIGINT UNSIGNED 0")
	}
	if bytes.Compare(mustKey(t, types.Int64, int64(math.MaxInt64)), mustKey(t, types.Uint64, uint64(math.MaxUint64))) >= 0 {
		t.Error("int64 max must sort before uint64 max")
	}
	// Every integer sorts like its value.
	r := rand.New(rand.NewPCG(11, 12))
	vals := []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}
	for i := 0; i < 2000; i++ {
		vals = append(vals, randInt(r, math.MinInt64, math.MaxInt64))
	}
	for i := 0; i < 1000; i++ {
		a, b := vals[r.IntN(len(vals))], vals[r.IntN(len(vals))]
		ka, kb := appendOrderedInt(nil, a), appendOrderedInt(nil, b)
		want := 0
		if a < b {
			want = -1
		} else if a > b {
			want = 1
		}
		if got := sign(bytes.Compare(ka, kb)); got != want {
			t.Fatalf("%d vs %d: %d", a, b, got)
		}
		x, neg, n, err := decodeOrderedInt(ka)
		if err != nil || n != len(ka) || int64(x) != a || neg != (a < 0) {
			t.Fatalf("decode %d: %d %v %d %v", a, int64(x), neg, n, err)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	if _, err := AppendKey(nil, types.JSON, types.JSONDocument{Val: 1.0}); !errors.Is(err, ErrNotIndexable) {
		t.Errorf("JSON key: %v", err)
	}
	// A failed append leaves dst as it was.
	dst := []byte{9}
	out, err := AppendKey(dst, types.JSON, types.JSONDocument{Val: 1.0})
	if err == nil || !bytes.Equal(out, dst) {
		t.Errorf("failed AppendKey returned %x", out)
	}
	enum := types.MustCreateEnumType([]string{"x"}, sql.Collation_Default)
	if _, err := AppendKey(nil, enum, "nope"); err == nil {
		t.Error("non-member ENUM value encoded")
	}
	for _, bad := range [][]byte{nil, {0x02}, {0x01}, {0x01, 0xFF}, {0x01, 0xF9, 1}} {
		if _, err := KeyLen(types.Int64, bad); err == nil {
			t.Errorf("KeyLen(%x) succeeded", bad)
		}
	}
	str := types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_ai_ci)
	for _, bad := range [][]byte{{0x01}, {0x01, 0x41}, {0x01, 0xFF, 0x00}, {0x01, 0x80}} {
		if n, err := KeyLen(str, bad); err == nil {
			t.Errorf("KeyLen(%x) = %d", bad, n)
		}
	}
}

func TestUint64KeyAndPrefix(t *testing.T) {
	var prev []byte
	for _, v := range []uint64{0, 1, 255, 256, 1 << 40, math.MaxUint64} {
		k := AppendUint64Key([]byte("idx"), v)
		if len(k) != 11 {
			t.Fatalf("len %d", len(k))
		}
		got, err := DecodeUint64Key(k[len(k)-8:])
		if err != nil || got != v {
			t.Fatalf("DecodeUint64Key: %d, %v", got, err)
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatal("row id keys out of order")
		}
		prev = k
	}
	if _, err := DecodeUint64Key([]byte{1, 2, 3}); err == nil {
		t.Error("short row id decoded")
	}
	p := mustKey(t, types.Int64, int64(5))
	end := PrefixSuccessor(p)
	inside, _ := AppendKey(append([]byte{}, p...), types.Int64, int64(math.MaxInt64))
	outside := mustKey(t, types.Int64, int64(6))
	if bytes.Compare(inside, end) >= 0 || bytes.Compare(outside, end) < 0 {
		t.Errorf("PrefixSuccessor(%x) = %x", p, end)
	}
	if PrefixSuccessor([]byte{0xFF, 0xFF}) != nil || !bytes.Equal(PrefixSuccessor([]byte{1, 0xFF}), []byte{2}) {
		t.Error("PrefixSuccessor edge cases")
	}
}

// TestIdentityCollations checks that the collations keyed by their UTF-8 bytes
// really weigh runes in code point order, strictly, and only ' ' like ' '.
func TestIdentityCollations(t *testing.T) {
	if testing.Short() {
		t.Skip("walks every rune")
	}
	for c := range identityCollations {
		sorter := c.Sorter()
		prev := int32(math.MinInt32)
		for r := rune(0); r <= utf8.MaxRune; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue // surrogates are not valid in UTF-8
			}
			w := sorter(r)
			if w <= prev {
				t.Fatalf("%s: weight of %U (%d) is not above the previous rune's (%d)", c, r, w, prev)
			}
			prev = w
		}
	}
}

func TestWeightTokens(t *testing.T) {
	ws := []int32{math.MinInt32, -1, 0, 1, w1Max - 1, w1Max, w2Max - 1, w2Max, w3Max - 1, w3Max, w4Max - 1, w4Max, math.MaxInt32}
	for i, a := range ws {
		ka := appendWeight(nil, a)
		if n := weightTokenLen(ka[0]); n != len(ka) {
			t.Fatalf("weight %d: token len %d, encoded %d", a, n, len(ka))
		}
		if ka[0] == weightTerminator {
			t.Fatalf("weight %d encodes as the terminator", a)
		}
		for _, b := range ws[i+1:] {
			if bytes.Compare(ka, appendWeight(nil, b)) >= 0 {
				t.Fatalf("weight %d does not sort before %d", a, b)
			}
		}
	}
}

func TestInvalidUTF8Keys(t *testing.T) {
	// GMS reads each invalid byte as U+FFFD when comparing; so do the keys.
	for _, name := range []string{"utf8mb4_0900_ai_ci", "utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_0900_bin"} {
		typ := types.MustCreateString(sqltypes.VarChar, 100, mustCollation(name))
		for _, p := range [][2]string{{"a\xff", "a\uFFFD"}, {"\xe2\x82", "\uFFFD\uFFFD"}, {"x\xffy ", "x\uFFFDy"}} {
			c, err := typ.Compare(testCtx, refTrimPad(typ, p[0]), refTrimPad(typ, p[1]))
			if err != nil {
				t.Fatal(err)
			}
			if eq := bytes.Equal(mustKey(t, typ, p[0]), mustKey(t, typ, p[1])); eq != (c == 0) {
				t.Errorf("%s: %q vs %q: keys equal %v, Compare %d", name, p[0], p[1], eq, c)
			}
		}
	}
}

func TestStringKeySizes(t *testing.T) {
	for _, c := range []struct {
		coll string
		s    string
		max  int
	}{
		{"utf8mb4_0900_bin", "hello", 1 + 5 + 2},
		{"utf8mb4_bin", "hello   ", 1 + 5 + 2},
		{"utf8mb4_general_ci", "hello", 1 + 5 + 1},
		{"utf8mb4_0900_ai_ci", "hello", 1 + 2*5 + 1},
	} {
		typ := types.MustCreateString(sqltypes.VarChar, 100, mustCollation(c.coll))
		if k := mustKey(t, typ, c.s); len(k) > c.max {
			t.Errorf("%s: key of %q is %d bytes (%x), want at most %d", c.coll, c.s, len(k), k, c.max)
		}
	}
}

package gtid

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
)

const (
	u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	u2 = "e2d0e1b0-0000-4000-8000-000000000002"
)

func TestParseNormalizes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{u1 + ":1-3:4-6", u1 + ":1-6"},
		{u1 + ":4-6:1-3:2-8", u1 + ":1-8"},
		{u1 + ":7:1-3:5", u1 + ":1-3:5:7"},
		{u1 + ":5-3", ""},
		{strings.ToUpper(u1) + ":1", u1 + ":1"},
		{u2 + ":1-2,\n " + u1 + ":9 , " + u2 + ":3", u1 + ":9," + u2 + ":1-3"},
		{u1 + ":1-9223372036854775806", u1 + ":1-9223372036854775806"},
	} {
		s, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		u1,
		u1 + ":",
		u1 + ":0",
		u1 + ":0-5",
		u1 + ":-5",
		u1 + ":1-",
		u1 + ":1-2-3",
		u1 + ":x",
		u1 + ":+3",
		u1 + ":9223372036854775807",
		"not-a-uuid:1",
		u1[:35] + ":1",
	} {
		if s, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, s)
		}
	}
}

func TestParseGTID(t *testing.T) {
	g, err := ParseGTID(u1 + ":42")
	if err != nil || g.Sequence != 42 || g.Server.String() != u1 {
		t.Fatalf("ParseGTID = %v, %v", g, err)
	}
	for _, in := range []string{u1, u1 + ":0", u1 + ":1-2", "x:1"} {
		if _, err := ParseGTID(in); err == nil {
			t.Errorf("ParseGTID(%q) accepted", in)
		}
	}
}

// The cases vitess's Mysql56GTIDSet gets wrong (see doc.go).
func TestAlgebraExamples(t *testing.T) {
	p := MustParse
	if got := Subtract(p(u1+":1-10"), p(u1+":2:5")).String(); got != u1+":1:3-4:6-10" {
		t.Errorf("subtract two points: %s", got)
	}
	if got := Subtract(p(u1+":3-5"), p(u1+":1-10")); !got.IsEmpty() {
		t.Errorf("subtract a covering interval: %s", got)
	}
	if !p(u1 + ":1-3:4-6").Equal(p(u1 + ":1-6")) {
		t.Error("adjacent intervals not equal to their merge")
	}
	if !p(u1 + ":1-3:4-6").ContainsSet(p(u1 + ":2-5")) {
		t.Error("1-6 does not contain 2-5")
	}
	if got := Intersect(p(u1+":1-10:20-30,"+u2+":1-5"), p(u1+":5-25")).String(); got != u1+":5-10:20-25" {
		t.Errorf("intersect: %s", got)
	}
	if got := Union(p(u1+":1-3"), p(u1+":5,"+u2+":1")).String(); got != u1+":1-3:5,"+u2+":1" {
		t.Errorf("union: %s", got)
	}
}

// model is a brute-force set over small numbers, to check the interval code against.
type model map[GTID]bool

func randomSet(r *rand.Rand, sids []SID) (Set, model) {
	var s Set
	m := model{}
	for range r.IntN(12) {
		sid := sids[r.IntN(len(sids))]
		a := int64(1 + r.IntN(40))
		b := a + int64(r.IntN(6))
		if err := s.AddInterval(sid, a, b); err != nil {
			panic(err)
		}
		for g := a; g <= b; g++ {
			m[GTID{Server: sid, Sequence: g}] = true
		}
	}
	return s, m
}

func toModel(s Set) model {
	m := model{}
	for _, sid := range s.SIDs() {
		for _, iv := range s.Intervals(sid) {
			for g := iv.Start; g <= iv.End; g++ {
				m[GTID{Server: sid, Sequence: g}] = true
			}
		}
	}
	return m
}

func checkNormalized(t *testing.T, what string, s Set) {
	t.Helper()
	for sid, ivs := range s.m {
		if len(ivs) == 0 {
			t.Fatalf("%s: empty list for %s", what, sid)
		}
		for i, iv := range ivs {
			if iv.Start < 1 || iv.End < iv.Start || (i > 0 && iv.Start <= ivs[i-1].End+1) {
				t.Fatalf("%s: not normalized: %v", what, ivs)
			}
		}
	}
}

func sameModel(a, b model) bool {
	if len(a) != len(b) {
		return false
	}
	for g := range a {
		if !b[g] {
			return false
		}
	}
	return true
}

func TestAlgebraAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sid1, _ := ParseSID(u1)
	sid2, _ := ParseSID(u2)
	sids := []SID{sid1, sid2}
	for i := 0; i < 3000; i++ {
		a, ma := randomSet(r, sids)
		b, mb := randomSet(r, sids)
		aBefore, bBefore := a.String(), b.String()
		checkNormalized(t, "a", a)
		if !sameModel(toModel(a), ma) {
			t.Fatalf("AddInterval lost GTIDs: %s", a)
		}
		union, diff, inter := model{}, model{}, model{}
		for g := range ma {
			union[g] = true
			if mb[g] {
				inter[g] = true
			} else {
				diff[g] = true
			}
		}
		for g := range mb {
			union[g] = true
		}
		for name, got := range map[string]Set{"union": Union(a, b), "subtract": Subtract(a, b), "intersect": Intersect(a, b)} {
			checkNormalized(t, name, got)
			want := map[string]model{"union": union, "subtract": diff, "intersect": inter}[name]
			if !sameModel(toModel(got), want) {
				t.Fatalf("%s(%s, %s) = %s", name, a, b, got)
			}
		}
		subset := true
		for g := range mb {
			subset = subset && ma[g]
		}
		if a.ContainsSet(b) != subset {
			t.Fatalf("ContainsSet(%s, %s) = %v", a, b, !subset)
		}
		if a.Equal(b) != sameModel(ma, mb) {
			t.Fatalf("Equal(%s, %s) wrong", a, b)
		}
		for g := int64(1); g <= 47; g++ {
			id := GTID{Server: sid1, Sequence: g}
			if a.Contains(id) != ma[id] {
				t.Fatalf("Contains(%s, %d) wrong", a, g)
			}
		}
		next := int64(1)
		for ma[GTID{Server: sid2, Sequence: next}] {
			next++
		}
		if got := a.NextGNO(sid2); got != next {
			t.Fatalf("NextGNO(%s) = %d, want %d", a, got, next)
		}
		// Text and binary forms round-trip.
		if p, err := Parse(a.String()); err != nil || !p.Equal(a) {
			t.Fatalf("Parse(String(%s)) = %s, %v", a, p, err)
		}
		if d, err := Decode(a.Encode()); err != nil || !d.Equal(a) {
			t.Fatalf("Decode(Encode(%s)) = %s, %v", a, d, err)
		}
		if a.String() != aBefore || b.String() != bBefore {
			t.Fatalf("an operation modified its arguments")
		}
	}
}

func TestEncodeMatchesVitess(t *testing.T) {
	s := MustParse(u1 + ":1-5:7," + u2 + ":3")
	if !bytes.Equal(s.Encode(), s.ToVitess().SIDBlock()) {
		t.Fatalf("encodings differ")
	}
	v, err := mysql.ParseMysql56GTIDSet(u1 + ":7:1-5," + u2 + ":3")
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromVitess(v)
	if err != nil || !back.Equal(s) {
		t.Fatalf("FromVitess = %s, %v", back, err)
	}
	empty := Set{}
	if got := empty.Encode(); !bytes.Equal(got, make([]byte, 8)) {
		t.Fatalf("empty set encodes as %x", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := MustParse(u1 + ":1-5").Encode()
	bad := map[string][]byte{
		"short":        good[:7],
		"truncated":    good[:len(good)-1],
		"trailing":     append(append([]byte{}, good...), 0),
		"huge count":   append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...),
		"empty iv":     patch(good, 32, 6, 40, 6),
		"reversed iv":  patch(good, 32, 6, 40, 2),
		"zero start":   patch(good, 32, 0, 40, 6),
		"end too high": patch(good, 32, 1, 40, 0),
	}
	for name, b := range bad {
		if s, err := Decode(b); err == nil {
			t.Errorf("%s: Decode accepted %x as %s", name, b, s)
		}
	}
}

func patch(b []byte, off1 int, v1 uint64, off2 int, v2 uint64) []byte {
	c := append([]byte{}, b...)
	put := func(off int, v uint64) {
		for i := 0; i < 8; i++ {
			c[off+i] = byte(v >> (8 * i))
		}
	}
	put(off1, v1)
	if v2 == 0 {
		// 0 stands for "one past the largest allowed end".
		put(off2, uint64(MaxGNO)+2)
	} else {
		put(off2, v2)
	}
	return c
}

func FuzzDecode(f *testing.F) {
	f.Add(MustParse(u1 + ":1-5:7," + u2 + ":3").Encode())
	f.Add(make([]byte, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		checkNormalized(t, "decoded", s)
		if d, err := Decode(s.Encode()); err != nil || !d.Equal(s) {
			t.Fatalf("re-decode of %s: %v", s, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add(u1 + ":1-5:7," + u2 + ":3")
	f.Add(u1 + ":5-3")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		checkNormalized(t, "parsed", s)
		if p, err := Parse(s.String()); err != nil || !p.Equal(s) {
			t.Fatalf("re-parse of %s: %v", s, err)
		}
	})
}

func TestCount(t *testing.T) {
	for s, want := range map[string]int64{
		"": 0,
		"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5":                                                5,
		"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,4e11fa47-71ca-11e1-9e33-c80aa9429562:100-199": 106,
	} {
		if got := MustParse(s).Count(); got != want {
			t.Errorf("Count(%q) = %d, want %d", s, got, want)
		}
	}
}

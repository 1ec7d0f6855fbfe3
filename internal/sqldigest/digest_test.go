package sqldigest

import (
	"strings"
	"testing"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		q, digest string
		lits      []string // kind:value
		ansi      bool
	}{
		{q: "SELECT c FROM sbtest1 WHERE id=5012", digest: "SELECT c FROM sbtest1 WHERE id=?", lits: []string{"int:5012"}},
		{q: "select c from t where id = 1.50 and k=2e3", digest: "select c from t where id = ? and k=?", lits: []string{"decimal:1.50", "float:2e3"}},
		{q: "UPDATE t SET c='a''b\\n' WHERE id=7", digest: "UPDATE t SET c=? WHERE id=?", lits: []string{"string:a'b\n", "int:7"}},
		{q: `INSERT INTO t VALUES (1,"x\"y",NULL, 18446744073709551616)`, digest: "INSERT INTO t VALUES (?,?,NULL, ?)", lits: []string{"int:1", `string:x"y`, "int:18446744073709551616"}},
		{q: `SELECT "c" FROM t WHERE id=3`, digest: `SELECT "c" FROM t WHERE id=?`, ansi: true, lits: []string{"int:3"}},
		{q: "SELECT c FROM t /* id=5 */ WHERE id=5 -- 6\n", digest: "SELECT c FROM t /* id=5 */ WHERE id=? -- 6\n", lits: []string{"int:5"}},
		{q: "SELECT `a``5` FROM t1 WHERE x1 = 'q?'", digest: "SELECT `a``5` FROM t1 WHERE x1 = ?", lits: []string{"string:q?"}},
		{q: "SELECT c FROM t WHERE id = -5", digest: "SELECT c FROM t WHERE id = -?", lits: []string{"int:5"}},
	}
	var s Scratch
	for _, c := range cases {
		d, lits, ok := s.Normalize(c.q, Options{AnsiQuotes: c.ansi})
		if !ok {
			t.Errorf("%q: not normalized", c.q)
			continue
		}
		if string(d) != c.digest {
			t.Errorf("%q: digest %q, want %q", c.q, d, c.digest)
		}
		var got []string
		for _, l := range lits {
			got = append(got, l.Kind.String()+":"+string(l.Value))
		}
		if strings.Join(got, "|") != strings.Join(c.lits, "|") {
			t.Errorf("%q: literals %q, want %q", c.q, got, c.lits)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, q := range []string{
		"SELECT x'41'", "SELECT X'41' FROM t", "SELECT N'a'", "SELECT _utf8mb4'a'", "SELECT _latin1 'a'",
		"SELECT 0x41", "SELECT 1abc", "SELECT .5", "SELECT t.5", "SELECT 'a' 'b'", "SELECT 'a'\n\"b\"",
		"CREATE USER 'u'@'h'", "SELECT @'v'", "SELECT ?", "SET @a := 1", "SELECT /*!80000 1 */", "SELECT /* ? */ 1",
		"SELECT 'unterminated", "SELECT 1 /* open", "SELECT `a?`", "SELECT 1.", "SELECT 1e", "SELECT 1.5.2",
		"SELECT c FROM t WHERE id = 5 # ?",
	} {
		var s Scratch
		if d, _, ok := s.Normalize(q, Options{}); ok {
			t.Errorf("%q: normalized to %q, want a refusal", q, d)
		}
	}
}

func TestTemplate(t *testing.T) {
	if got := Template([]byte("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")); got != "INSERT INTO t VALUES (:v1, :v2, :v3, :v4, :v5, :v6, :v7, :v8, :v9, :v10, :v11)" {
		t.Fatal(got)
	}
}

func TestMatches(t *testing.T) {
	cases := []struct {
		q    string
		want bool
	}{
		{"SELECT c FROM t WHERE id = 5", true},
		{"UPDATE t SET k = k + 1, c = 'x' WHERE id = 9", true},
		{"INSERT INTO t (id, c) VALUES (1, 'a'), (2, 'b')", true},
		{"SELECT c FROM t WHERE id BETWEEN 1 AND 100 ORDER BY c", true},
		// ORDER BY 1 is a column position: not a value, so not the template's :v2.
		{"SELECT c FROM t WHERE id = 5 ORDER BY 1", false},
		// A negative number: the parser folds the sign into the literal.
		{"SELECT c FROM t WHERE id = -5", false},
		{"SELECT c FROM t WHERE d = DATE '2020-01-01'", false},
	}
	for _, c := range cases {
		var s Scratch
		d, lits, ok := s.Normalize(c.q, Options{})
		if !ok {
			t.Fatalf("%q: not normalized", c.q)
		}
		parsed, err := ast.Parse(c.q)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		tmpl, err := ast.Parse(Template(d))
		if err != nil {
			if c.want {
				t.Errorf("%q: template %q: %v", c.q, Template(d), err)
			}
			continue
		}
		if got := Matches(parsed, tmpl, lits); got != c.want {
			t.Errorf("%q: Matches = %v, want %v (template %q)", c.q, got, c.want, Template(d))
		}
	}
}

// FuzzLiteral checks the lexer against the parser on one value position: whenever Normalize
// takes the text after "= " for exactly one literal, the parser must read a single literal of
// the same kind and value there. This is what a digest's validation cannot see (it checks one
// text per digest): how the lexer reads any other literal in the same place.
func FuzzLiteral(f *testing.F) {
	for _, seed := range []string{"5", "'a'", `"b\""`, "'it''s'", `'\0\n\r\Z\%\_\\'`, "1.5", "2e-3", "18446744073709551616",
		"'x' 'y'", "x'41'", "0x41", "'a'@'b'", "1e", "'\\", "'é'", "-1", "''", `'\''`, `"'"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := "SELECT a FROM t WHERE a = " + raw
		var s Scratch
		d, lits, ok := s.Normalize(q, Options{})
		if !ok || string(d) != "SELECT a FROM t WHERE a = ?" || len(lits) != 1 {
			return
		}
		stmt, err := ast.Parse(q)
		if err != nil {
			t.Fatalf("%q: the lexer read one literal, the parser failed: %v", q, err)
		}
		sel, ok := stmt.(*ast.Select)
		if !ok || sel.Where == nil {
			t.Fatalf("%q: parsed as %T", q, stmt)
		}
		cmp, ok := sel.Where.Expr.(*ast.ComparisonExpr)
		if !ok {
			t.Fatalf("%q: WHERE is %T", q, sel.Where.Expr)
		}
		v, ok := cmp.Right.(*ast.SQLVal)
		if !ok {
			t.Fatalf("%q: right side is %T (%s), lexer says %s %q", q, cmp.Right, ast.String(cmp.Right), lits[0].Kind, lits[0].Value)
		}
		want := map[Kind]ast.ValType{Int: ast.IntVal, Decimal: ast.FloatVal, Float: ast.FloatVal, String: ast.StrVal}[lits[0].Kind]
		if v.Type != want || string(v.Val) != string(lits[0].Value) {
			t.Fatalf("%q: parser %d %q, lexer %s %q", q, v.Type, v.Val, lits[0].Kind, lits[0].Value)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	q := "UPDATE sbtest1 SET c='38377066541-95364049627-68391564651-85066547212-71604457009-32133519426-65155596521-71425389211-56102587355-73524307433' WHERE id=10021"
	var s Scratch
	b.ReportAllocs()
	for b.Loop() {
		s.Normalize(q, Options{})
	}
}

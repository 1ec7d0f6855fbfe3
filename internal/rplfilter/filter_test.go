package rplfilter

import (
	"reflect"
	"testing"
)

func rules(t *testing.T, sets map[string][]string) *Rules {
	t.Helper()
	r := &Rules{}
	for k, v := range sets {
		if err := r.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestLike(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"shop.tmp%", "shop.tmp_orders", true},
		{"shop.tmp%", "shop.tm", false},
		{"shop.t_p", "shop.tmp", true},
		{"shop.t_p", "shop.tp", false},
		{"%.%", "a.b", true},
		{"shop.a\\_b", "shop.a_b", true},
		{"shop.a\\_b", "shop.axb", false},
		{"SHOP.%", "shop.x", true},
		{"s%p.x", "shop.x", true},
	} {
		if got := Like(c.p, c.s); got != c.want {
			t.Errorf("Like(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func TestDatabaseLevel(t *testing.T) {
	r := rules(t, map[string][]string{"REPLICATE_DO_DB": {"shop"}, "REPLICATE_IGNORE_DB": {"shop", "x"}})
	// do-db wins: ignore-db is not consulted when do-db is set.
	if !r.Table("shop", "t") || r.Table("x", "t") || r.Table("other", "t") {
		t.Error("do-db")
	}
	r = rules(t, map[string][]string{"REPLICATE_IGNORE_DB": {"x"}})
	if r.Table("x", "t") || !r.Table("y", "t") {
		t.Error("ignore-db")
	}
	// Statements: the default database, none being kept by ignore lists only.
	if r.Statement("x", "INSERT INTO y.t VALUES (1)") || !r.Statement("", "INSERT INTO x.t VALUES (1)") {
		t.Error("ignore-db statements use the default database")
	}
	r = rules(t, map[string][]string{"REPLICATE_DO_DB": {"shop"}})
	if r.Statement("", "INSERT INTO shop.t VALUES (1)") || !r.Statement("shop", "INSERT INTO other.t VALUES (1)") {
		t.Error("do-db statements use the default database")
	}
	// Database DDL is judged by the database it names.
	if !r.Statement("", "CREATE DATABASE shop") || r.Statement("shop", "DROP DATABASE IF EXISTS `other`") {
		t.Error("database DDL")
	}
	if !r.Statement("shop", "ALTER DATABASE CHARACTER SET utf8mb4") || r.Statement("other", "ALTER DATABASE DEFAULT COLLATE utf8mb4_bin") ||
		!r.Statement("other", "ALTER SCHEMA shop READ ONLY = 0") {
		t.Error("ALTER DATABASE without a name uses the default database")
	}
}

func TestTableLevel(t *testing.T) {
	r := rules(t, map[string][]string{
		"REPLICATE_DO_TABLE":          {"shop.orders"},
		"REPLICATE_IGNORE_TABLE":      {"shop.orders", "shop.audit"},
		"REPLICATE_WILD_DO_TABLE":     {"shop.a%"},
		"REPLICATE_WILD_IGNORE_TABLE": {"shop.%"},
	})
	for _, c := range []struct {
		table string
		want  bool
	}{
		{"orders", true},   // do-table before ignore-table
		{"audit", false},   // ignore-table before wild-do-table
		{"accounts", true}, // wild-do before wild-ignore
		{"items", false},   // wild-ignore
	} {
		if got := r.Table("shop", c.table); got != c.want {
			t.Errorf("shop.%s: %v", c.table, got)
		}
	}
	// Nothing matched: dropped when a do option exists, kept otherwise.
	if r.Table("other", "x") {
		t.Error("unmatched table with do-table set")
	}
	r = rules(t, map[string][]string{"REPLICATE_WILD_IGNORE_TABLE": {"shop.tmp%"}})
	if !r.Table("other", "x") || r.Table("shop", "tmp1") || !r.Table("shop", "t") {
		t.Error("ignore only")
	}
	// Database level first: a do-table does not bring back an ignored database.
	r = rules(t, map[string][]string{"REPLICATE_IGNORE_DB": {"shop"}, "REPLICATE_DO_TABLE": {"shop.t"}})
	if r.Table("shop", "t") {
		t.Error("database level comes first")
	}
}

func TestStatementTables(t *testing.T) {
	r := rules(t, map[string][]string{"REPLICATE_IGNORE_TABLE": {"shop.audit"}})
	for _, c := range []struct {
		db, q string
		want  bool
	}{
		{"shop", "INSERT INTO audit VALUES (1)", false},
		{"other", "INSERT INTO shop.audit VALUES (1)", false},
		{"other", "INSERT INTO audit VALUES (1)", true},
		{"shop", "UPDATE items SET n = n + 1", true},
		{"shop", "CREATE TABLE audit (id INT PRIMARY KEY)", false},
		{"shop", "DROP TABLE audit", false},
		{"shop", "CREATE DATABASE x", true},
	} {
		if got := r.Statement(c.db, c.q); got != c.want {
			t.Errorf("%s: %q = %v", c.db, c.q, got)
		}
	}
	// The first table an option matches decides; INSERT … SELECT counts the written table.
	r = rules(t, map[string][]string{"REPLICATE_DO_TABLE": {"shop.orders"}, "REPLICATE_IGNORE_TABLE": {"shop.audit"}})
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"UPDATE orders JOIN audit ON orders.id = audit.id SET orders.n = 1", true},
		{"UPDATE audit JOIN orders ON orders.id = audit.id SET audit.n = 1", false},
		{"INSERT INTO audit SELECT * FROM orders", false},
		{"INSERT INTO orders SELECT * FROM audit", true},
		{"UPDATE other SET n = 1", false}, // unmatched, do-table set
	} {
		if got := r.Statement("shop", c.q); got != c.want {
			t.Errorf("%q = %v", c.q, got)
		}
	}
	if got := statementTables("d", "UPDATE a JOIN e.b ON a.id = b.id SET a.x = 1"); !reflect.DeepEqual(got, [][2]string{{"d", "a"}, {"e", "b"}}) {
		t.Errorf("tables: %v", got)
	}
}

func TestRewriteAndShow(t *testing.T) {
	r := rules(t, map[string][]string{"REPLICATE_REWRITE_DB": {"a->b", " c -> d "}, "REPLICATE_DO_DB": {"b", "x"}})
	if r.RewriteName("a") != "b" || r.RewriteName("c") != "d" || r.RewriteName("b") != "b" {
		t.Error("rewrite")
	}
	if got := r.Show("REPLICATE_REWRITE_DB"); got != "(a,b),(c,d)" {
		t.Errorf("show rewrite %q", got)
	}
	if got := r.Show("REPLICATE_DO_DB"); got != "b,x" {
		t.Errorf("show do-db %q", got)
	}
	for k, v := range map[string]string{"REPLICATE_DO_TABLE": "t", "REPLICATE_REWRITE_DB": "a>b", "REPLICATE_WILD_DO_TABLE": "x%", "NOPE": "x"} {
		if err := (&Rules{}).Set(k, []string{v}); err == nil {
			t.Errorf("%s = %q accepted", k, v)
		}
	}
	if !(&Rules{}).Empty() || r.Empty() {
		t.Error("empty")
	}
}

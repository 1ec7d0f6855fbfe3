package server

import (
	"reflect"
	"testing"
)

func TestParseFilters(t *testing.T) {
	got, err := parseFilters("REPLICATE_DO_DB = (db1, `db 2`), replicate_ignore_table = (db.t, `x`.`y`), " +
		"REPLICATE_WILD_DO_TABLE = ('db.t%', \"a.b\\_c\"), REPLICATE_REWRITE_DB = ((a, b), (`c`, d)), REPLICATE_IGNORE_DB = ()")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"REPLICATE_DO_DB":         {"db1", "db 2"},
		"REPLICATE_IGNORE_TABLE":  {"db.t", "x.y"},
		"REPLICATE_WILD_DO_TABLE": {"db.t%", `a.b\_c`},
		"REPLICATE_REWRITE_DB":    {"a->b", "c->d"},
		"REPLICATE_IGNORE_DB":     nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for _, bad := range []string{"", "REPLICATE_DO_DB = db1", "REPLICATE_DO_DB = (a,)", "NOPE = (a)",
		"REPLICATE_REWRITE_DB = ((a))", "REPLICATE_DO_DB = (a) REPLICATE_IGNORE_DB = (b)", "REPLICATE_DO_DB = (a), REPLICATE_DO_DB = (b)"} {
		if _, err := parseFilters(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

package fastpath

import (
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/sorters"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// TestSortByTextMatchesGMS sorts random rows both ways — with collationCompare
// and with GMS's RowSorter — and requires the same order, ties included (both are stable).
func TestSortByTextMatchesGMS(t *testing.T) {
	ctx := sql.NewEmptyContext()
	words := []string{"a", "A", "á", "b", "B", "ß", "ss", "SS", "a ", "a  ", "", " ", "é", "e", "E", "z", "Z", "ü", "u", "12", "1-2", "日本", "ﬁ", "fi", "\xff", "\xe9t\xe9", "a\xc3"}
	rnd := rand.New(rand.NewSource(1))
	for _, coll := range []sql.CollationID{sql.Collation_utf8mb4_0900_ai_ci, sql.Collation_utf8mb4_general_ci, sql.Collation_utf8mb4_bin, sql.Collation_utf8mb4_0900_bin, sql.Collation_latin1_swedish_ci, sql.Collation_utf8mb3_general_ci} {
		typ := types.MustCreateString(sqltypes.VarChar, 40, coll)
		for _, order := range []sql.SortOrder{sql.Ascending, sql.Descending} {
			for round := 0; round < 50; round++ {
				var rows []sql.Row
				for i := 0; i < 1+rnd.Intn(60); i++ {
					s := ""
					for k := 0; k < rnd.Intn(4); k++ {
						s += words[rnd.Intn(len(words))]
					}
					rows = append(rows, sql.Row{int64(i), s})
				}
				p := &Plan{sortBy: sql.SortConditions{{Expr: expression.NewGetField(1, typ, "c", false), Order: order}}}
				got := append([]sql.Row(nil), rows...)
				if ok, err := p.sortByText(ctx, got); !ok || err != nil {
					t.Fatalf("%s: not sorted by text: %v", coll, err)
				}
				want := append([]sql.Row(nil), rows...)
				sorter := sorters.NewRowSorterWithRows(ctx, p.sortBy, want)
				sort.Stable(sorter)
				if err := sorter.GetError(); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %v: weights %v, GMS %v", coll, order, got, want)
				}
			}
		}
	}
}

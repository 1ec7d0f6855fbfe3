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

// TestSortByWeightsMatchesGMS sorts random rows both ways — by precomputed collation weights
// and with GMS's RowSorter — and requires the same order, ties included (both are stable).
func TestSortByWeightsMatchesGMS(t *testing.T) {
	ctx := sql.NewEmptyContext()
	words := []string{"a", "A", "á", "b", "B", "ß", "ss", "SS", "a ", "a  ", "", " ", "é", "e", "E", "z", "Z", "ü", "u", "12", "1-2", "日本", "ﬁ", "fi"}
	rnd := rand.New(rand.NewSource(1))
	for _, coll := range []sql.CollationID{sql.Collation_utf8mb4_0900_ai_ci, sql.Collation_utf8mb4_general_ci, sql.Collation_utf8mb4_bin, sql.Collation_utf8mb4_0900_bin} {
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
				if !p.sortByWeights(ctx, got) {
					t.Fatalf("%s: weights not used", coll)
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

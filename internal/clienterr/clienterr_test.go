package clienterr

import (
	"errors"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// TestTranslate feeds Translate the errors GMS itself builds (so a change of GMS's texts fails
// here) and checks MySQL's code, SQLSTATE and text.
func TestTranslate(t *testing.T) {
	fk := sql.ForeignKeyConstraint{Name: "fk", Database: "db", Table: "c", Columns: []string{"pid", "k"},
		ParentDatabase: "db", ParentTable: "p", ParentColumns: []string{"id", "k"},
		OnDelete: sql.ForeignKeyReferentialAction_Cascade, OnUpdate: sql.ForeignKeyReferentialAction_Restrict}
	env := Env{
		DuplicateKey: func() (string, string, string, bool) { return "uk", "a-b", "[a,b]", true },
		ForeignKey: func(table, name string) (sql.ForeignKeyConstraint, bool) {
			return fk, table == "c" && name == "fk"
		},
	}
	for _, c := range []struct {
		name  string
		err   error
		env   Env
		code  int
		state string
		text  string
	}{
		{"pk", sql.NewUniqueKeyErr("[1]", true, nil), Env{}, 1062, "23000", "Duplicate entry '1' for key 'PRIMARY'"},
		{"pk of two columns", sql.NewUniqueKeyErr("[1,2]", true, nil), Env{}, 1062, "23000", "Duplicate entry '1-2' for key 'PRIMARY'"},
		{"unique, noted", sql.NewUniqueKeyErr("[a,b]", false, nil), env, 1062, "23000", "Duplicate entry 'a-b' for key 'uk'"},
		{"unique, note of another key", sql.NewUniqueKeyErr("[c]", false, nil), env, 1062, "23000", "duplicate unique key given: [c]"},
		{"child", sql.ErrForeignKeyChildViolation.New("fk", "c", "p", "[5]"), env, 1452, "23000",
			"Cannot add or update a child row: a foreign key constraint fails (`db`.`c`, CONSTRAINT `fk` FOREIGN KEY (`pid`, `k`) REFERENCES `p` (`id`, `k`) ON DELETE CASCADE)"},
		{"parent", sql.ErrForeignKeyParentViolation.New("fk", "c", "p", "[5]"), env, 1451, "23000",
			"Cannot delete or update a parent row: a foreign key constraint fails (`db`.`c`, CONSTRAINT `fk` FOREIGN KEY (`pid`, `k`) REFERENCES `p` (`id`, `k`) ON DELETE CASCADE)"},
		{"not null", sql.ErrInsertIntoNonNullableProvidedNull.New("id"), Env{}, 1048, "23000", "Column 'id' cannot be null"},
		{"too long", types.ErrLengthBeyondLimit.New("abcd", "v"), Env{}, 1406, "22001", "Data too long for column 'v' at row 1"},
		{"out of range", sql.ErrValueOutOfRange.New(300, types.Int8), Env{}, 1264, "22003", "300 out of range for tinyint"},
		{"too long, row known", types.ErrLengthBeyondLimit.New("abcd", "v"), Env{
			TooLong: func(v, col string) (int, bool) { return 3, v == "abcd" && col == "v" },
		}, 1406, "22001", "Data too long for column 'v' at row 3"},
		{"out of range, column known", sql.ErrValueOutOfRange.New(300, types.Int8), Env{
			OutOfRange: func(v, typ string) (string, int, bool) { return "ti", 2, v == "300" && typ == "tinyint" },
		}, 1264, "22003", "Out of range value for column 'ti' at row 2"},
		{"check", sql.ErrCheckConstraintViolated.New("chk_x"), Env{}, 3819, "HY000", "Check constraint 'chk_x' is violated."},
		{"no default", sql.ErrInsertIntoNonNullableDefaultNullColumn.New("id"), Env{}, 1364, "HY000", "Field 'id' doesn't have a default value"},
		{"other", sql.ErrTableNotFound.New("x"), Env{}, 1146, "HY000", "table not found: x"}, // left as GMS has it,
	} {
		got := Translate(sql.CastSQLError(c.err), c.env)
		var se *mysql.SQLError
		if !errors.As(got, &se) {
			t.Errorf("%s: %v is not a MySQL error", c.name, got)
			continue
		}
		if se.Num != c.code || se.State != c.state || se.Message != c.text {
			t.Errorf("%s:\n got %d (%s) %s\nwant %d (%s) %s", c.name, se.Num, se.State, se.Message, c.code, c.state, c.text)
		}
	}
	if Translate(nil, Env{}) != nil {
		t.Error("nil error translated to an error")
	}
}

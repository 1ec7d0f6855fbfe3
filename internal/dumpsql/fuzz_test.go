package dumpsql

import (
	"context"
	"testing"

	"github.com/dolthub/go-mysql-server/memory"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// FuzzStatements feeds any text to the parts of the engine's parser this package adds: they
// must never panic, and a text that is not theirs must be left to GMS's parser.
func FuzzStatements(f *testing.F) {
	for _, s := range []string{
		"CREATE DEFINER=`root`@`%` FUNCTION `f`(a INT, b VARCHAR(3)) RETURNS varchar(80) CHARSET utf8mb4 READS SQL DATA RETURN (SELECT 1)",
		"CREATE FUNCTION f() RETURNS INT BEGIN DECLARE x INT DEFAULT 1; l: LOOP LEAVE l; END LOOP; RETURN x; END; SELECT 1",
		"/*!50003 CREATE*/ /*!50020 DEFINER=`u`@`h`*/ /*!50003 FUNCTION f() RETURNS INT RETURN 1 */",
		"CREATE OR REPLACE FUNCTION IF NOT EXISTS d.f(",
		"CREATE FUNCTION f RETURNS STRING SONAME 'x.so'",
		"DROP FUNCTION IF EXISTS `d`.`f`;", "SHOW CREATE FUNCTION f", "SHOW FUNCTION STATUS LIKE", "SHOW FUNCTION STATUS WHERE Db = 'x'",
		"CREATE TABLE t (`yr` year(4), y year(", "ALTER TABLE t ADD y YEAR(2", "SELECT 'unterminated", "/*M!999999\\- enable the sandbox mode */",
		"CREATE DEFINER=", "CREATE FUNCTION", "CREATE FUNCTION f(x INT) RETURNS", "-- c\nCREATE # c\n FUNCTION f() RETURNS INT RETURN 1",
	} {
		f.Add(s)
	}
	p := New(memory.NewDBProvider()).Parser().(*parser)
	f.Fuzz(func(t *testing.T, q string) {
		scan(q, 0)
		blankYearWidth(q)
		stripExecMarkers(q)
		definerOf(q)
		if cf, err := parseCreateFunction(stripExecMarkers(q), ast.ParserOptions{}); err == nil {
			compile("d", cf) //nolint:errcheck // only panics matter here
		}
		parseDropOrShow(q)
		p.ours(context.Background(), q, ast.ParserOptions{}) //nolint:errcheck
		if len(blankYearWidth(q)) != len(q) {
			t.Fatalf("blankYearWidth changed the length of %q", q)
		}
	})
}

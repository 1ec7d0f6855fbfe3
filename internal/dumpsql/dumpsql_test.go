package dumpsql

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

func TestParseCreateFunction(t *testing.T) {
	for _, c := range []struct {
		q                       string
		db, name, definer, rets string
		tail                    string
		orReplace, ifNotExists  bool
	}{
		{q: "CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `kind_label`(p_id BIGINT) RETURNS varchar(80) CHARSET utf8mb4 COLLATE utf8mb4_general_ci\n    READS SQL DATA\n    DETERMINISTIC\nRETURN (SELECT 1)",
			name: "kind_label", definer: "`root`@`127.0.0.1`", rets: "varchar(80) CHARSET utf8mb4 COLLATE utf8mb4_general_ci",
			tail: "(p_id BIGINT) RETURNS varchar(80) CHARSET utf8mb4 COLLATE utf8mb4_general_ci\n    READS SQL DATA\n    DETERMINISTIC\nRETURN (SELECT 1)"},
		{q: "create or replace function if not exists d.f(a int, b decimal(10,2) unsigned) returns decimal(12, 2) unsigned begin return a + b; end",
			db: "d", name: "f", rets: "decimal(12, 2) unsigned", orReplace: true, ifNotExists: true,
			tail: "(a int, b decimal(10,2) unsigned) returns decimal(12, 2) unsigned begin return a + b; end"},
		{q: "CREATE FUNCTION f() RETURNS ENUM('a','b') lbl: BEGIN RETURN 'a'; END", name: "f", rets: "ENUM('a','b')",
			tail: "() RETURNS ENUM('a','b') lbl: BEGIN RETURN 'a'; END"},
		{q: "CREATE DEFINER = 'u'@'%' FUNCTION f(x INT) RETURNS INT COMMENT 'c' RETURN x", name: "f", definer: "'u'@'%'", rets: "INT",
			tail: "(x INT) RETURNS INT COMMENT 'c' RETURN x"},
	} {
		f, err := parseCreateFunction(c.q, ast.ParserOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if f.db != c.db || f.name != c.name || f.definer != c.definer || f.returns != c.rets || f.tail != c.tail ||
			f.orReplace != c.orReplace || f.ifNotExists != c.ifNotExists {
			t.Errorf("%s:\n got %q %q %q %q %q %v %v", c.q, f.db, f.name, f.definer, f.returns, f.tail, f.orReplace, f.ifNotExists)
		}
		if _, err := compile("d", f); err != nil {
			t.Errorf("%s: compile: %v", c.q, err)
		}
	}
	for _, q := range []string{"CREATE TABLE t (a INT)", "CREATE PROCEDURE p() SELECT 1", "CREATE VIEW function AS SELECT 1"} {
		if _, err := parseCreateFunction(q, ast.ParserOptions{}); err != errNotOurs {
			t.Errorf("%s: %v, want errNotOurs", q, err)
		}
	}
	for _, q := range []string{"CREATE FUNCTION f RETURNS STRING SONAME 'x.so'", "CREATE AGGREGATE FUNCTION f() RETURNS INT RETURN 1",
		"CREATE FUNCTION f(x INT) RETURN x", "CREATE FUNCTION f(OUT x INT) RETURNS INT RETURN 1"} {
		if _, err := parseCreateFunction(q, ast.ParserOptions{}); err == nil || err == errNotOurs {
			t.Errorf("%s: %v, want an error", q, err)
		}
	}
}

func TestCheckBody(t *testing.T) {
	for q, ok := range map[string]bool{
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN DECLARE y INT DEFAULT 1; IF x > 0 THEN SET y = 2; ELSE RETURN 0; END IF; RETURN y; END": true,
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN DECLARE y INT; SET y = x; END":                                                          false, // no RETURN
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN SET @u = x; RETURN x; END":                                                              false, // user variable
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN INSERT INTO t VALUES (x); RETURN x; END":                                                false,
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN DECLARE i INT DEFAULT 0; l: LOOP SET i = i + 1; IF i > x THEN LEAVE l; END IF; ITERATE l; END LOOP; " +
			"WHILE i > 0 DO SET i = i - 1; END WHILE; REPEAT SET i = i + 1; UNTIL i > 2 END REPEAT; CASE i WHEN 3 THEN RETURN 1; ELSE RETURN 2; END CASE; END": true,
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN DECLARE y INT; SELECT COUNT(*) INTO y FROM t; RETURN y; END": true,
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN SELECT x; RETURN x; END":                                     false, // returns rows
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN DECLARE c CURSOR FOR SELECT 1; RETURN x; END":                false,
	} {
		f, err := parseCreateFunction(q, ast.ParserOptions{})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if _, err := compile("d", f); (err == nil) != ok {
			t.Errorf("%s: compile error %v, want ok=%v", q, err, ok)
		}
	}
}

func TestDropAndShowCreateFunction(t *testing.T) {
	x, _, err := parseDropOrShow("DROP FUNCTION IF EXISTS `d`.`f`")
	if d, ok := x.(*dropFunction); err != nil || !ok || d.db != "d" || d.name != "f" || !d.ifExists {
		t.Errorf("DROP: %#v %v", x, err)
	}
	x, _, err = parseDropOrShow("show create function f")
	if s, ok := x.(*showCreateFunction); err != nil || !ok || s.name != "f" || s.db != "" {
		t.Errorf("SHOW CREATE: %#v %v", x, err)
	}
	if _, _, err := parseDropOrShow("DROP PROCEDURE p"); err != errNotOurs {
		t.Errorf("DROP PROCEDURE: %v", err)
	}
	if _, _, err := parseDropOrShow("DROP FUNCTION f g"); err == nil || err == errNotOurs {
		t.Errorf("DROP FUNCTION f g: %v", err)
	}
}

func TestStripExecMarkers(t *testing.T) {
	for in, want := range map[string]string{
		"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER t */": "CREATE DEFINER=`root`@`%` TRIGGER t ",
		"SELECT '/*!50003 x */' /* plain */":                                    "SELECT '/*!50003 x */' /* plain */",
		"/*M!100101 SET x=1 */":                                                 "SET x=1 ",
		"no comments":                                                           "no comments",
	} {
		if got := stripExecMarkers(in); got != want {
			t.Errorf("stripExecMarkers(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBlankYearWidth(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE TABLE t (`yr` year(4) DEFAULT NULL, y2 YEAR (2))": "CREATE TABLE t (`yr` year    DEFAULT NULL, y2 YEAR    )",
		"ALTER TABLE t ADD COLUMN y year(4)":                      "ALTER TABLE t ADD COLUMN y year   ",
		"SELECT year(4)":                                          "SELECT year(4)",
		"CREATE TABLE t (d DATE, g INT AS (year(d)))":             "CREATE TABLE t (d DATE, g INT AS (year(d)))",
		"CREATE TABLE t (c VARCHAR(9) DEFAULT 'year(4)')":         "CREATE TABLE t (c VARCHAR(9) DEFAULT 'year(4)')",
		"CREATE TABLE t (y INT DEFAULT year(4))":                  "CREATE TABLE t (y INT DEFAULT year(4))",
		"CREATE TABLE t (y INT, CHECK (y > 0 AND year(4) > 0))":   "CREATE TABLE t (y INT, CHECK (y > 0 AND year(4) > 0))",
	} {
		if got := blankYearWidth(in); got != want {
			t.Errorf("blankYearWidth(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnumSetDefault(t *testing.T) {
	e := types.MustCreateEnumType([]string{"3", "it's", "2"}, sql.Collation_Default)
	s := types.MustCreateSetType([]string{"x", "y", "z"}, sql.Collation_Default)
	for _, c := range []struct {
		typ       sql.Type
		def, want string
	}{
		{e, "'1'", "'3'"}, {e, "'2'", "'it''s'"}, {e, "'3'", "'2'"}, {e, "NULL", "NULL"},
		{s, "'5'", "'x,z'"}, {s, "'0'", "''"},
		{types.Int32, "'5'", "'5'"},
	} {
		if got := enumSetDefault(&sql.Column{Type: c.typ}, c.def); got != c.want {
			t.Errorf("%s DEFAULT %s: got %s, want %s", c.typ, c.def, got, c.want)
		}
	}
}

func TestDefinerOf(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE DEFINER=`root`@`127.0.0.1` FUNCTION f": "root@127.0.0.1",
		"CREATE DEFINER='u'@'%' FUNCTION f":            "u@%",
		"DEFINER = root@localhost":                     "root@localhost",
		"CREATE FUNCTION f":                            "",
	} {
		if got := definerOf(in); got != want {
			t.Errorf("definerOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The engine's parser keeps the refusal GMS's planner applies only with its own parser type.
func TestForeignKeySetDefaultRefused(t *testing.T) {
	p := (&Routines{}).Parser()
	for q, refused := range map[string]bool{
		"CREATE TABLE c (a INT, FOREIGN KEY (a) REFERENCES p (a) ON DELETE SET DEFAULT)":          true,
		"ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (a) ON UPDATE SET DEFAULT":   true,
		"ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (a) ON DELETE CASCADE":       false,
		"CREATE TABLE c (a INT, yr YEAR(4), FOREIGN KEY (a) REFERENCES p (a) ON DELETE SET NULL)": false,
	} {
		_, err := p.ParseSimple(q)
		if (err != nil) != refused || (refused && !sql.ErrForeignKeySetDefault.Is(err)) {
			t.Errorf("%s: %v, want refused=%v", q, err, refused)
		}
	}
}

// Syntax errors point into the statement as written, in vitess's words (which the server turns
// into error 1064 with the text near the token).
func TestCreateFunctionSyntaxErrors(t *testing.T) {
	for q, want := range map[string]string{
		"CREATE FUNCTION f(x INT) RETURN x":                        "syntax error at position 31 near 'RETURN'",
		"CREATE FUNCTION f(x INT) RETURNS INT BEGIN RETURN x; EDN": "syntax error at position 56 near 'EDN'",
		"CREATE FUNCTION f(x INT) RETURNS INT RETURN x +":          "syntax error at position 45 near 'x'",
	} {
		_, err := parseCreateFunction(q, ast.ParserOptions{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", q, err, want)
		}
	}
}

package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/mariadb"
)

// TestApplicationDifferential runs what an ORM or application sees on RelayDB and on MariaDB
// side by side, and requires the same answers:
//
//   - result metadata (database/sql's ColumnType: DatabaseTypeName, DecimalSize, Nullable,
//     ScanType, the column name) and values of COUNT, SUM, AVG, MIN and MAX over every numeric
//     type, through the text protocol and as prepared statements;
//   - the error codes, SQLSTATEs and texts of constraint violations (duplicate keys, foreign
//     keys, NOT NULL, data too long and out of range in strict mode, CHECK, missing default);
//   - SHOW FULL FIELDS, SHOW CREATE TABLE and information_schema.COLUMNS for every common type.
//
// Every difference that remains is in appAllowed with its reason: the test fails on any other
// difference, and on an allowance that no longer matches any difference (so the list stays
// the list of what differs).
func TestApplicationDifferential(t *testing.T) {
	maria := mariadb.Start(t)
	relay := startNode(t, "")
	sides := []*appSide{
		{name: "RelayDB", db: openApp(t, fmt.Sprintf("root@tcp(127.0.0.1:%d)/", relay.port))},
		{name: "MariaDB", db: openApp(t, fmt.Sprintf("root@tcp(127.0.0.1:%d)/", maria.Port))},
	}
	for _, s := range sides {
		for _, q := range appSchema {
			if _, err := s.db.Exec(q); err != nil {
				t.Fatalf("%s: %s: %v", s.name, q, err)
			}
		}
	}
	d := &appDiffer{t: t, used: map[int]bool{}, normalUsed: map[int]bool{}}

	// Aggregates over every numeric type, as text and as prepared statements.
	for _, col := range appNumericColumns {
		// The column itself, then its aggregates.
		d.compareQuery(sides, "column", fmt.Sprintf("SELECT %s FROM app.nums ORDER BY id", col), false)
		d.compareQuery(sides, "column", fmt.Sprintf("SELECT %s FROM app.nums ORDER BY id", col), true)
		for _, fn := range []string{"COUNT", "SUM", "AVG", "MIN", "MAX"} {
			for _, where := range []string{"", " WHERE id < 0"} { // some rows; no rows
				q := fmt.Sprintf("SELECT %s(%s) FROM app.nums%s", fn, col, where)
				d.compareQuery(sides, "aggregate", q, false)
				d.compareQuery(sides, "aggregate", q, true)
			}
		}
	}
	d.compareQuery(sides, "aggregate", "SELECT id, SUM(dec20) OVER (ORDER BY id), AVG(i) OVER () FROM app.nums ORDER BY id", false)
	d.compareQuery(sides, "aggregate", "SELECT SUM(DISTINCT ti), AVG(DISTINCT dec10) FROM app.nums", false)
	d.compareQuery(sides, "aggregate", "SELECT ti, SUM(bi), AVG(biu) FROM app.nums GROUP BY ti HAVING SUM(i) > 0 ORDER BY ti", false)

	// Constraint violations: every statement must fail alike (and change nothing).
	for _, q := range appViolations {
		d.compareError(sides, q)
	}
	d.compareQuery(sides, "after the violations", "SELECT * FROM app.parent ORDER BY id", false)
	d.compareQuery(sides, "after the violations", "SELECT * FROM app.child ORDER BY id", false)

	// Metadata of every common type.
	d.compareRows(sides, "SHOW FULL FIELDS", "SHOW FULL FIELDS FROM app.types")
	d.compareRows(sides, "SHOW FULL FIELDS", "SHOW COLUMNS FROM app.types")
	d.compareRows(sides, "information_schema.COLUMNS", `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS col, ORDINAL_POSITION, COLUMN_DEFAULT,
		IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE,
		DATETIME_PRECISION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_TYPE, COLUMN_KEY, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' ORDER BY TABLE_NAME, ORDINAL_POSITION`)
	for _, tbl := range []string{"types", "child"} {
		d.compareCreateTable(sides, tbl)
	}
	d.compareRows(sides, "SHOW INDEX", "SHOW INDEX FROM app.child")
	d.compareIndexes(sides, "app.types")
	d.compareTableStatus(sides)

	for i, a := range appAllowed {
		if !d.used[i] {
			t.Errorf("allow-list entry %q (%s) matched no difference: remove it", a.key, a.why)
		}
	}
	for i, n := range appCreateNormal {
		if !d.normalUsed[i] {
			t.Errorf("SHOW CREATE TABLE rewrite %q (%s) applied to no line: remove it", n.re, n.why)
		}
	}
}

// appAllowed are the differences from MariaDB that remain, each with why. A key is matched
// (as a regular expression, anchored) against "section | statement | what".
var appAllowed = []struct{ key, why string }{
	// Result metadata.
	{`(aggregate|column) \| SELECT ((SUM|AVG|MIN|MAX)\(f72\)|f72) .*\| DecimalSize`,
		"FLOAT(7,2): GMS keeps no (M,D) for FLOAT, so its results are announced with decimals not fixed (31) where MariaDB announces 2 (6 for AVG)"},
	{`aggregate \| SELECT (SUM|AVG)\(f72\) FROM app.nums \[text\] \| value`,
		"FLOAT(7,2): GMS keeps no (M,D) for FLOAT, so the sum is printed with all its digits where MariaDB rounds to 2 (and AVG to 6) decimals"},
	{`(aggregate|column) \| SELECT ((MIN|MAX)\(decu\)|decu) .*\| DecimalSize`,
		"DECIMAL UNSIGNED: GMS has no unsigned decimals, so the result length counts a sign (precision 12 read back instead of 11)"},
	{`aggregate \| SELECT (MIN|MAX)\(bt\) .*\| value`,
		"MIN/MAX of BIT(8): RelayDB sends the bit string's bytes, as MySQL does for BIT; MariaDB sends the number's digits"},
	{`aggregate \| SELECT id, SUM\(dec20\) OVER .* \| id\.(Nullable|ScanType)`,
		"a NOT NULL column selected beside window functions: MariaDB reports it nullable (its window temporary table), MySQL and RelayDB not"},
	{`aggregate \| SELECT AVG\(d65\) .*\| DecimalSize`,
		"AVG of DECIMAL(65,0): GMS caps decimals at 65 digits (DECIMAL(65,4)); MariaDB announces 69 digits, beyond its own DECIMAL limit"},
	// Errors.
	{`error \| (INSERT INTO|UPDATE) app.checked .* \| (code|sqlstate|message)`,
		"CHECK: RelayDB is MySQL 8.0 flavoured and answers ER_CHECK_CONSTRAINT_VIOLATED 3819 (HY000) \"Check constraint 'c' is violated.\"; MariaDB has its own 4025 (23000)"},
	// Metadata.
	{`(SHOW FULL FIELDS|information_schema.COLUMNS) \| .* \| ([a-z0-9]+\.)?(id|ti|tiu|si|siu|mi|miu|i|iu|bi|biu|yr|a|b|qty|v|parent_id)\.(Type|COLUMN_TYPE)`,
		"MySQL 8.0 prints integer and YEAR types without display width (int, not int(11)); MariaDB keeps it"},
	{`information_schema.COLUMNS \| .* \| nums\.f72\.(COLUMN_TYPE|NUMERIC_PRECISION|NUMERIC_SCALE)`,
		"FLOAT(7,2): GMS keeps no (M,D) for FLOAT: the column is a plain FLOAT"},
	{`information_schema.COLUMNS \| .* \| nums\.decu\.COLUMN_TYPE`,
		"DECIMAL UNSIGNED: GMS has no unsigned decimals (the column accepts negative values)"},
	{`(SHOW FULL FIELDS|information_schema.COLUMNS) \| .* \| ([a-z0-9]+\.)?tm\.(Type|COLUMN_TYPE|DATETIME_PRECISION)`,
		"GMS's TIME has no fractional-seconds precision of its own: it is always TIME(6)"},
	{`(SHOW FULL FIELDS|information_schema.COLUMNS) \| .* \| ([a-z0-9]+\.)?js\..*`,
		"JSON: MariaDB's JSON is LONGTEXT (utf8mb4_bin) with a JSON_VALID check; RelayDB has MySQL's JSON type, without a character set"},
	{`(SHOW FULL FIELDS|information_schema.COLUMNS) \| .* \| ([a-z0-9]+\.)?(ts|dt)\.(Default|Extra|COLUMN_DEFAULT|EXTRA)`,
		"DEFAULT CURRENT_TIMESTAMP: MySQL 8.0 spells it CURRENT_TIMESTAMP with Extra DEFAULT_GENERATED; MariaDB current_timestamp() with no Extra"},
	{`information_schema.COLUMNS \| .* \| ([a-z0-9]+\.)?(vc|en)\.COLUMN_DEFAULT`,
		"MariaDB quotes string defaults in COLUMN_DEFAULT ('x'); MySQL 8.0 (and RelayDB) print the value (x)"},
	{"SHOW CREATE TABLE \\| .* \\| `tm`",
		"GMS's TIME is always TIME(6)"},
	{"SHOW CREATE TABLE \\| .* \\| `ts`",
		"a nullable TIMESTAMP: MySQL 8.0 and MariaDB print `timestamp NULL DEFAULT …`; GMS drops the NULL"},
	{"SHOW CREATE TABLE \\| .* \\| `js`",
		"JSON: MariaDB's JSON is LONGTEXT with a JSON_VALID check; RelayDB has MySQL's JSON type"},
	{"SHOW CREATE TABLE \\| .* \\| key order",
		"MySQL 8.0 and MariaDB list UNIQUE keys before other keys; GMS lists keys in creation order"},
	{`SHOW INDEX \| .* \| (header|[A-Za-z_0-9]+\.(Visible|Expression|Ignored))`,
		"SHOW INDEX columns: MySQL 8.0 has Visible and Expression, MariaDB Ignored"},
	{`SHOW TABLE STATUS \| .* \| (Row_format|Avg_row_length|Data_length|Update_time)`,
		"SHOW TABLE STATUS estimates (Row_format, lengths) are the storage's own (InnoDB counts 16 KiB pages); RelayDB keeps no Update_time"},
}

// appCreateNormal are the rewrites of MariaDB's SHOW CREATE TABLE lines into MySQL 8.0's
// spelling (which RelayDB prints) before they are compared, each with why. Like appAllowed,
// each must apply at least once.
var appCreateNormal = []struct{ re, repl, why string }{
	{`\b(tinyint|smallint|mediumint|int|bigint)\((?:[02-9]|\d\d+)\)`, "$1",
		"MySQL 8.0 prints integer types without display width (but tinyint(1))"},
	{` DEFAULT (-?[0-9][0-9.]*)\b`, " DEFAULT '$1'", "MySQL 8.0 quotes numeric defaults"},
	{` CHARACTER SET utf8mb4 COLLATE`, " COLLATE",
		"MySQL 8.0 omits the character set when it is the table's (utf8mb4)"},
	{` DEFAULT NULL`, "",
		"GMS omits DEFAULT NULL, which MySQL 8.0 prints for nullable columns without a default (a difference from MySQL too; SHOW CREATE TABLE is the dumps work's)"},
	{`current_timestamp\(\)`, "CURRENT_TIMESTAMP", "MySQL 8.0's spelling"},
	{`\byear\(4\)`, "year", "MySQL 8.0 prints YEAR without a width"},
}

// appNumericColumns are the columns of app.nums the aggregates run over.
var appNumericColumns = []string{"ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu",
	"dec10", "dec20", "decu", "d65", "f", "f72", "dbl", "yr", "bt", "bo"}

var appSchema = []string{
	"DROP DATABASE IF EXISTS app",
	"CREATE DATABASE app",
	`CREATE TABLE app.nums (id INT PRIMARY KEY,
		ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
		i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
		dec10 DECIMAL(10,3), dec20 DECIMAL(20,2), decu DECIMAL(12,4) UNSIGNED, d65 DECIMAL(65,0),
		f FLOAT, f72 FLOAT(7,2), dbl DOUBLE, yr YEAR, bt BIT(8), bo BOOL)`,
	`INSERT INTO app.nums VALUES
		(1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
			-1234567.125, 12345678901234567.89, 99999999.9999, 99999999999999999999999999999999999999999999999999999999999999999,
			1.5, 12345.67, 1e300, 1901, b'00000001', TRUE),
		(2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 18446744073709551615,
			7654321.5, 0.01, 0.0001, -1, 2.25, -0.01, -2.5e-300, 2155, b'11111111', FALSE),
		(3, 1, 1, 2, 2, 3, 3, 5, 5, 7, 7, 0.001, -0.05, 1, 2, 0.1, 0.5, 0.3, 2000, b'1010', NULL),
		(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	`CREATE TABLE app.parent (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, a INT, b INT,
		UNIQUE KEY uk_code (code), UNIQUE KEY uk_ab (a, b)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
	`CREATE TABLE app.child (id INT PRIMARY KEY, parent_id INT NOT NULL, note VARCHAR(5),
		CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES app.parent (id))
		DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
	// An index that can serve the foreign key replaces the one made for it (SHOW INDEX).
	"ALTER TABLE app.child ADD INDEX ix_parent_note (parent_id, note)",
	`CREATE TABLE app.pk2 (a INT, b VARCHAR(5), PRIMARY KEY (a, b)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
	`CREATE TABLE app.checked (id INT PRIMARY KEY, qty INT, CONSTRAINT qty_positive CHECK (qty > 0))`,
	`CREATE TABLE app.nodefault (id INT PRIMARY KEY, v INT NOT NULL)`,
	"INSERT INTO app.parent VALUES (1, 'one', 1, 1), (2, 'two', 2, 2)",
	"INSERT INTO app.child VALUES (10, 1, 'x')",
	"INSERT INTO app.pk2 VALUES (1, 'a')",
	"INSERT INTO app.checked VALUES (2, 5)",
	`CREATE TABLE app.types (
		id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		ti TINYINT NOT NULL DEFAULT 5, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
		bi BIGINT, biu BIGINT UNSIGNED, dec10 DECIMAL(10,2) DEFAULT 1.50, f FLOAT, dbl DOUBLE, bt BIT(8), yr YEAR,
		bo BOOL, dt DATETIME DEFAULT CURRENT_TIMESTAMP, dt3 DATETIME(3), ts TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
		d DATE, tm TIME,
		ch CHAR(4), vc VARCHAR(20) NOT NULL DEFAULT 'x', vcb VARCHAR(20) COLLATE utf8mb4_bin, vl VARCHAR(10) CHARACTER SET latin1,
		tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, bn BINARY(3), vb VARBINARY(7), tb TINYBLOB, bl BLOB,
		mb MEDIUMBLOB, lb LONGBLOB, en ENUM('a','bb') DEFAULT 'a', st SET('x','yy'), js JSON,
		UNIQUE KEY uk_vc (vc), KEY ix_i (i), KEY ix_tx (tx(10), ch)
	) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
}

// appViolations must fail on both servers.
var appViolations = []string{
	"INSERT INTO app.parent VALUES (1, 'dup', 9, 9)",                     // duplicate primary key
	"INSERT INTO app.parent VALUES (3, 'one', 3, 3)",                     // duplicate unique key
	"INSERT INTO app.parent VALUES (3, 'three', 1, 1)",                   // duplicate two-column unique key
	"UPDATE app.parent SET code = 'one' WHERE id = 2",                    // duplicate by update
	"INSERT INTO app.pk2 VALUES (1, 'a')",                                // two-column primary key
	"INSERT INTO app.child VALUES (11, 99, 'y')",                         // no parent
	"UPDATE app.child SET parent_id = 98 WHERE id = 10",                  // no parent by update
	"DELETE FROM app.parent WHERE id = 1",                                // parent still referenced
	"UPDATE app.parent SET id = 5 WHERE id = 1",                          // parent key still referenced
	"INSERT INTO app.parent VALUES (NULL, 'n', 0, 0)",                    // NOT NULL primary key
	"INSERT INTO app.parent (id, code) VALUES (7, NULL)",                 // NOT NULL column
	"UPDATE app.parent SET code = NULL WHERE id = 2",                     // NOT NULL by update
	"INSERT INTO app.child VALUES (12, 1, 'toolong')",                    // data too long
	"UPDATE app.child SET note = 'toolong' WHERE id = 10",                // data too long by update
	"INSERT INTO app.parent VALUES (5, 'five', 5, 5), (6, 'five', 6, 6)", // duplicate within the statement
	"INSERT INTO app.parent (id, code) VALUES (8, 'eight'), (1, 'x')",    // duplicate of a stored row, second row
	"UPDATE app.checked SET qty = -1",                                    // CHECK by update
	"INSERT INTO app.nums (id, ti) VALUES (100, 300)",                    // out of range
	"INSERT INTO app.nums (id, tiu) VALUES (101, -1)",
	"INSERT INTO app.nums (id, si, i) VALUES (102, 1, 2), (103, 2, 3000000000)",   // out of range, second row
	"INSERT INTO app.child VALUES (13, 1, 'a'), (14, 1, 'b'), (15, 1, 'toolong')", // data too long, third row                    // out of range, unsigned
	"INSERT INTO app.checked VALUES (1, 0)",                                       // CHECK
	"INSERT INTO app.nodefault (id) VALUES (1)",                                   // no default
	"ALTER TABLE app.child DROP INDEX ix_parent_note",                             // index the foreign key needs
}

type appSide struct {
	name string
	db   *sql.DB
}

func openApp(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn+"?timeout=10s&readTimeout=60s&writeTimeout=60s")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one session: session state is the same on both sides
	t.Cleanup(func() { db.Close() })
	return db
}

type appDiffer struct {
	t                *testing.T
	used, normalUsed map[int]bool // appAllowed and appCreateNormal entries that applied
}

// differ reports a difference unless an allowance matches it.
func (d *appDiffer) differ(section, stmt, what string, relay, maria any) {
	d.t.Helper()
	key := section + " | " + strings.Join(strings.Fields(stmt), " ") + " | " + what
	for i, a := range appAllowed {
		if regexp.MustCompile(`^(?s:` + a.key + `)$`).MatchString(key) {
			d.used[i] = true
			d.t.Logf("allowed difference: %s: RelayDB %v, MariaDB %v (%s)", key, relay, maria, a.why)
			return
		}
	}
	d.t.Errorf("difference: %s:\n  RelayDB: %v\n  MariaDB: %v", key, relay, maria)
}

// appResult is what a client reads of a result set.
type appResult struct {
	cols []appColumn
	rows [][]string
	err  error
}

type appColumn struct {
	name, dbType, scanType string
	precision, scale       int64
	hasDecimal             bool
	nullable               bool
}

func (c appColumn) decimalSize() string {
	if !c.hasDecimal {
		return "n/a"
	}
	f := func(v int64) string {
		if v == math.MaxInt64 {
			return "unknown"
		}
		return fmt.Sprint(v)
	}
	return f(c.precision) + "," + f(c.scale)
}

func appQuery(db *sql.DB, q string, prepared bool) appResult {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rows *sql.Rows
	var err error
	if prepared {
		var st *sql.Stmt
		if st, err = db.PrepareContext(ctx, q); err != nil {
			return appResult{err: err}
		}
		defer st.Close()
		rows, err = st.QueryContext(ctx)
	} else {
		rows, err = db.QueryContext(ctx, q)
	}
	if err != nil {
		return appResult{err: err}
	}
	defer rows.Close()
	var res appResult
	cts, err := rows.ColumnTypes()
	if err != nil {
		return appResult{err: err}
	}
	for _, ct := range cts {
		c := appColumn{name: ct.Name(), dbType: ct.DatabaseTypeName(), scanType: fmt.Sprint(ct.ScanType())}
		c.precision, c.scale, c.hasDecimal = ct.DecimalSize()
		c.nullable, _ = ct.Nullable()
		res.cols = append(res.cols, c)
	}
	vals, err := scanNullStrings(rows)
	if err != nil {
		return appResult{err: err}
	}
	for _, r := range vals {
		var out []string
		for _, v := range r {
			if v.Valid {
				out = append(out, v.String)
			} else {
				out = append(out, "NULL")
			}
		}
		res.rows = append(res.rows, out)
	}
	return res
}

// compareQuery compares result metadata and values.
func (d *appDiffer) compareQuery(sides []*appSide, section, q string, prepared bool) {
	d.t.Helper()
	r, m := appQuery(sides[0].db, q, prepared), appQuery(sides[1].db, q, prepared)
	mode := "text"
	if prepared {
		mode = "prepared"
	}
	stmt := q + " [" + mode + "]"
	if r.err != nil || m.err != nil {
		if fmt.Sprint(r.err) != fmt.Sprint(m.err) {
			d.differ(section, stmt, "error", r.err, m.err)
		}
		return
	}
	if len(r.cols) != len(m.cols) {
		d.differ(section, stmt, "columns", len(r.cols), len(m.cols))
		return
	}
	for i := range r.cols {
		rc, mc := r.cols[i], m.cols[i]
		for _, p := range []struct {
			what string
			a, b any
		}{
			{"name", rc.name, mc.name},
			{"DatabaseTypeName", rc.dbType, mc.dbType},
			{"DecimalSize", rc.decimalSize(), mc.decimalSize()},
			{"Nullable", rc.nullable, mc.nullable},
			{"ScanType", rc.scanType, mc.scanType},
		} {
			if p.a != p.b {
				what := p.what
				if len(r.cols) > 1 {
					what = rc.name + "." + what
				}
				d.differ(section, stmt, what, p.a, p.b)
			}
		}
	}
	if fmt.Sprint(r.rows) != fmt.Sprint(m.rows) {
		d.differ(section, stmt, "value", r.rows, m.rows)
	}
}

// compareError runs a statement that must fail on both sides alike.
func (d *appDiffer) compareError(sides []*appSide, q string) {
	d.t.Helper()
	var errs [2]*mysql.MySQLError
	for i, s := range sides {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := s.db.ExecContext(ctx, q)
		cancel()
		if err == nil {
			d.t.Errorf("%s: %s succeeded; it must fail", s.name, q)
			return
		}
		if !errors.As(err, &errs[i]) {
			d.t.Errorf("%s: %s: %v is not a MySQL error", s.name, q, err)
			return
		}
	}
	r, m := errs[0], errs[1]
	if r.Number != m.Number {
		d.differ("error", q, "code", r.Number, m.Number)
	}
	if r.SQLState != m.SQLState {
		d.differ("error", q, "sqlstate", string(r.SQLState[:]), string(m.SQLState[:]))
	}
	if r.Message != m.Message {
		d.differ("error", q, "message", r.Message, m.Message)
	}
}

// queryKeyed runs q on both sides and returns each side's rows as column → value ("NULL" for
// NULL), keyed by key(row); order is the keys in RelayDB's row order. ok is false after an error,
// which it reports.
func (d *appDiffer) queryKeyed(sides []*appSide, q string, key func(cols []string, row map[string]string) string) (res [2]map[string]map[string]string, order []string, ok bool) {
	d.t.Helper()
	for i, s := range sides {
		rows, err := s.db.Query(q)
		if err != nil {
			d.t.Errorf("%s: %s: %v", s.name, q, err)
			return res, nil, false
		}
		cols, _ := rows.Columns()
		vals, err := scanNullStrings(rows)
		rows.Close()
		if err != nil {
			d.t.Errorf("%s: %s: %v", s.name, q, err)
			return res, nil, false
		}
		res[i] = map[string]map[string]string{}
		for _, r := range vals {
			row := map[string]string{}
			for j, c := range cols {
				row[c] = "NULL"
				if r[j].Valid {
					row[c] = r[j].String
				}
			}
			k := key(cols, row)
			res[i][k] = row
			if i == 0 {
				order = append(order, k)
			}
		}
	}
	return res, order, true
}

// compareRows compares a result set cell by cell, keyed by its first column and the header.
func (d *appDiffer) compareRows(sides []*appSide, section, q string) {
	d.t.Helper()
	res, order, ok := d.queryKeyed(sides, q, func(cols []string, row map[string]string) string { return row[cols[0]] })
	if !ok {
		return
	}
	for k := range res[1] {
		if _, ok := res[0][k]; !ok {
			d.differ(section, q, k, "missing", "present")
		}
	}
	for _, k := range order {
		mr, ok := res[1][k]
		if !ok {
			d.differ(section, q, k, "present", "missing")
			continue
		}
		var cols []string
		for c := range res[0][k] {
			cols = append(cols, c)
		}
		for c := range mr {
			if _, ok := res[0][k][c]; !ok {
				cols = append(cols, c)
			}
		}
		sort.Strings(cols)
		for _, c := range cols {
			a, aok := res[0][k][c]
			b, bok := mr[c]
			if !aok || !bok {
				d.differ(section, q, "header", c+fmt.Sprintf(" (RelayDB has it: %v)", aok), c+fmt.Sprintf(" (MariaDB has it: %v)", bok))
				continue
			}
			if a != b {
				d.differ(section, q, strings.ToLower(k)+"."+c, a, b)
			}
		}
	}
}

// compareIndexes compares SHOW INDEX of a table row by row (keyed by index and position).
func (d *appDiffer) compareIndexes(sides []*appSide, table string) {
	d.t.Helper()
	q := "SHOW INDEX FROM " + table
	res, order, ok := d.queryKeyed(sides, q, func(_ []string, row map[string]string) string {
		return row["Key_name"] + "#" + row["Seq_in_index"]
	})
	if !ok {
		return
	}
	for _, k := range order {
		mr, ok := res[1][k]
		if !ok {
			d.differ("SHOW INDEX", q, k, "present", "missing")
			continue
		}
		for _, c := range []string{"Non_unique", "Column_name", "Collation", "Sub_part", "Null", "Index_type", "Comment", "Index_comment"} {
			if res[0][k][c] != mr[c] {
				d.differ("SHOW INDEX", q, k+"."+c, res[0][k][c], mr[c])
			}
		}
	}
	for k := range res[1] {
		if _, ok := res[0][k]; !ok {
			d.differ("SHOW INDEX", q, k, "missing", "present")
		}
	}
}

// compareCreateTable compares SHOW CREATE TABLE line by line, each line keyed by what it
// defines (a column, a key, the table options), after appCreateNormal; and the order of keys.
func (d *appDiffer) compareCreateTable(sides []*appSide, table string) {
	d.t.Helper()
	q := "SHOW CREATE TABLE app." + table
	var lines [2]map[string]string
	var keys [2][]string
	var order []string
	for i, s := range sides {
		var name, text string
		if err := s.db.QueryRow(q).Scan(&name, &text); err != nil {
			d.t.Errorf("%s: %s: %v", s.name, q, err)
			return
		}
		lines[i] = map[string]string{}
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSuffix(strings.TrimSpace(l), ",")
			if i == 1 {
				for k, n := range appCreateNormal {
					re := regexp.MustCompile(n.re)
					if re.MatchString(l) {
						d.normalUsed[k] = true
						l = re.ReplaceAllString(l, n.repl)
					}
				}
			}
			id := l
			switch {
			case strings.HasPrefix(l, "`"):
				id = l[:strings.Index(l[1:], "`")+2]
			case strings.HasPrefix(l, ")"):
				id = "table options"
			case strings.Contains(l, "KEY"):
				id = l[:strings.Index(l, "(")]
				keys[i] = append(keys[i], id)
			}
			lines[i][id] = l
			if i == 0 {
				order = append(order, id)
			}
		}
	}
	for _, id := range order {
		if lines[0][id] != lines[1][id] {
			d.differ("SHOW CREATE TABLE", q, id, lines[0][id], lines[1][id])
		}
	}
	for id := range lines[1] {
		if _, ok := lines[0][id]; !ok {
			d.differ("SHOW CREATE TABLE", q, id, "missing", lines[1][id])
		}
	}
	if fmt.Sprint(keys[0]) != fmt.Sprint(keys[1]) {
		d.differ("SHOW CREATE TABLE", q, "key order", keys[0], keys[1])
	}
}

// compareTableStatus compares SHOW TABLE STATUS of app.types, whose Auto_increment and
// Create_time applications read (Create_time only for being set: the servers created the
// table at different instants).
func (d *appDiffer) compareTableStatus(sides []*appSide) {
	d.t.Helper()
	q := "SHOW TABLE STATUS FROM app LIKE 'types'"
	var st [2]map[string]string
	for i, s := range sides {
		if _, err := s.db.Exec("INSERT INTO app.types (vc) VALUES ('status')"); err != nil {
			d.t.Fatalf("%s: %v", s.name, err)
		}
		rows, err := s.db.Query(q)
		if err != nil {
			d.t.Fatalf("%s: %s: %v", s.name, q, err)
		}
		cols, _ := rows.Columns()
		vals, err := scanNullStrings(rows)
		rows.Close()
		if err != nil || len(vals) != 1 {
			d.t.Fatalf("%s: %s: %v (%d rows)", s.name, q, err, len(vals))
		}
		st[i] = map[string]string{}
		for j, c := range cols {
			v := "NULL"
			if vals[0][j].Valid {
				v = vals[0][j].String
			}
			st[i][c] = v
		}
	}
	for _, c := range []string{"Name", "Engine", "Row_format", "Rows", "Avg_row_length", "Data_length",
		"Auto_increment", "Update_time", "Collation", "Comment"} {
		if st[0][c] != st[1][c] {
			d.differ("SHOW TABLE STATUS", q, c, st[0][c], st[1][c])
		}
	}
	for i, s := range sides {
		if _, err := time.Parse("2006-01-02 15:04:05", st[i]["Create_time"]); err != nil {
			d.t.Errorf("%s: SHOW TABLE STATUS Create_time %q: not a time", s.name, st[i]["Create_time"])
		}
	}
}

package binlogtool

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// shopBinlog is one file: a DDL, an insert of two rows, an update and a delete of the wide table.
func shopBinlog(t *testing.T) string {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	tbl := wideTable(t)
	r1, rn := wideRow1(), wideRowNull(2)
	r1b := wideRow1()
	r1b[7] = "changed"
	return x.write(
		x.ddl("shop", "CREATE TABLE wide (id INT PRIMARY KEY)"),
		x.rows(tbl, rowenc.MetadataFull, change{after: r1}, change{after: rn}),
		x.rows(tbl, rowenc.MetadataFull, change{before: r1, after: r1b}),
		x.rows(tbl, rowenc.MetadataFull, change{before: rn}),
	)
}

const row1Values = "1, -128, 18446744073709551615, -9223372036854775808, 0.10000000149011612, -1.5e-300, -12345678.90, " +
	"'héllo 😀 it''s', 'café', CONVERT(0x6c696e65310a6c696e65325c USING utf8mb4), 0x00275cff, 0x61620000, X'', " +
	"'2024-02-29', '2024-05-06 07:08:09.120', '2038-01-19 03:14:07.999999', '-838:59:59.000000', 2024, 'b''c', 'x,z', 1023, " +
	`CAST(CONVERT(0x7b2261223a206e756c6c2c202262223a205b312c20322e352c20332c2022715c22756f7465225d7d USING utf8mb4) AS JSON), ` +
	"ST_GeomFromWKB(0x0101000000000000000000f03f00000000000000c0), -1"

func TestReplaySQL(t *testing.T) {
	out, res, err := printFiles(t, Options{}, shopBinlog(t))
	if err != nil || len(res.Unreplayable) > 0 || len(res.Warnings) > 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	gtidNext := func(n int) string {
		return fmt.Sprintf("SET @@SESSION.GTID_NEXT='%s:%d';", testUUID, n)
	}
	const auto = "SET @@SESSION.GTID_NEXT='AUTOMATIC';"
	cols := "(`id`, `ti`, `u64`, `i64`, `fl`, `db`, `dc`, `vc`, `ch`, `tx`, `vb`, `bn`, `bl`, `d`, `dt`, `ts`, `tm`, `y`, `e`, `st`, `bt`, `j`, `g`, `odd``name`)"
	nulls := strings.Repeat(", NULL", 23)
	setRow1 := "`id`=1, `ti`=-128, `u64`=18446744073709551615, `i64`=-9223372036854775808, `fl`=0.10000000149011612, `db`=-1.5e-300, " +
		"`dc`=-12345678.90, `vc`='changed', `ch`='café', `tx`=CONVERT(0x6c696e65310a6c696e65325c USING utf8mb4), `vb`=0x00275cff, " +
		"`bn`=0x61620000, `bl`=X'', `d`='2024-02-29', `dt`='2024-05-06 07:08:09.120', `ts`='2038-01-19 03:14:07.999999', " +
		"`tm`='-838:59:59.000000', `y`=2024, `e`='b''c', `st`='x,z', `bt`=1023, " +
		"`j`=CAST(CONVERT(0x7b2261223a206e756c6c2c202262223a205b312c20322e352c20332c2022715c22756f7465225d7d USING utf8mb4) AS JSON), " +
		"`g`=ST_GeomFromWKB(0x0101000000000000000000f03f00000000000000c0), `odd``name`=-1"
	want := []string{
		"SET NAMES utf8mb4;",
		"SET @@SESSION.TIME_ZONE='+00:00';",
		gtidNext(1), "USE `shop`;", "CREATE TABLE wide (id INT PRIMARY KEY);", auto,
		gtidNext(2), "BEGIN;",
		"INSERT INTO `shop`.`wide` " + cols + " VALUES (" + row1Values + "), (2" + nulls + ");",
		"COMMIT;", auto,
		gtidNext(3), "BEGIN;",
		"UPDATE `shop`.`wide` SET " + setRow1 + " WHERE `id`=1;",
		"COMMIT;", auto,
		gtidNext(4), "BEGIN;",
		"DELETE FROM `shop`.`wide` WHERE `id`=2;",
		"COMMIT;", auto,
	}
	if got := withoutTimestamps(t, sqlLines(out)); !slices.Equal(got, want) {
		t.Errorf("SQL:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(out, "###") {
		t.Error("row comments without -v")
	}
	for _, s := range []string{
		"# at 4\n#240506  7:08:09 server id 1  end_log_pos 126 CRC32 0x",
		"\tQuery\tthread_id=7\texec_time=0\terror_code=0\n",
		"\tGtid\tlast_committed=1\tsequence_number=2\t",
		"\tTable_map\t`shop`.`wide` mapped to number 108\n",
		"\tWrite_rows\ttable id 108 flags: STMT_END_F\n",
		"\tXid\tXid = 1002\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func TestVerbose(t *testing.T) {
	out, _, err := printFiles(t, Options{Verbose: true}, shopBinlog(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"### INSERT INTO `shop`.`wide`\n### SET\n###   @1=1 /* id */\n###   @2=-128 /* ti */\n",
		"###   @8='héllo 😀 it''s' /* vc */\n",
		"###   @24=-1 /* odd`name */\n### INSERT INTO `shop`.`wide`\n### SET\n###   @1=2 /* id */\n###   @2=NULL /* ti */\n",
		"### UPDATE `shop`.`wide`\n### WHERE\n###   @1=1 /* id */\n",
		"###   @7=-12345678.90 /* dc */\n###   @8='changed' /* vc */\n",
		"### DELETE FROM `shop`.`wide`\n### WHERE\n###   @1=2 /* id */\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("-v output lacks %q", s)
		}
	}
	// The comments change nothing in the SQL.
	plain, _, _ := printFiles(t, Options{}, shopBinlog(t))
	if !slices.Equal(sqlLines(out), sqlLines(plain)) {
		t.Error("-v changed the SQL")
	}
}

// Without a primary key, UPDATE and DELETE find their row by
// every column, NULLs included.
func TestNoPrimaryKey(t *testing.T) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumNone))
	tbl, err := rowenc.NewTable("db", "nopk", sql.NewPrimaryKeySchema(sql.Schema{
		{Name: "a", Type: types.Int32, Nullable: true, Source: "nopk"},
		{Name: "b", Type: types.Text, Nullable: true, Source: "nopk"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	path := x.write(
		x.rows(tbl, rowenc.MetadataFull, change{before: sql.Row{int32(1), nil}, after: sql.Row{int32(2), "x"}}),
		x.rows(tbl, rowenc.MetadataFull, change{before: sql.Row{int32(2), "x"}}))
	out, _, err := printFiles(t, Options{SkipGTIDs: true}, path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SET NAMES utf8mb4;", "SET @@SESSION.TIME_ZONE='+00:00';",
		"BEGIN;", "UPDATE `db`.`nopk` SET `a`=2, `b`='x' WHERE `a`<=>1 AND `b`<=>NULL LIMIT 1;", "COMMIT;",
		"BEGIN;", "DELETE FROM `db`.`nopk` WHERE `a`<=>2 AND `b`<=>'x' LIMIT 1;", "COMMIT;"}
	if got := sqlLines(out); !slices.Equal(got, want) {
		t.Errorf("SQL:\n%s", strings.Join(got, "\n"))
	}
	if strings.Contains(out, "CRC32 0x") {
		t.Error("checksums printed for a file without them")
	}
}

// A TABLE_MAP without column names (binlog_row_metadata=MINIMAL) cannot give SQL: the
// transaction is printed as comments, the rest of the file as SQL, and the command fails.
func TestNoColumnNames(t *testing.T) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	tbl := wideTable(t)
	path := x.write(
		x.rows(tbl, rowenc.MetadataMinimal, change{after: wideRow1()}),
		x.ddl("shop", "DROP TABLE wide"))
	var stdout, stderr bytes.Buffer
	if code := Run([]string{path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	out := stdout.String()
	if got := withoutTimestamps(t, sqlLines(out)); !slices.Equal(got[2:], []string{
		"SET @@SESSION.GTID_NEXT='" + testUUID + ":2';", "USE `shop`;", "DROP TABLE wide;", "SET @@SESSION.GTID_NEXT='AUTOMATIC';"}) {
		t.Errorf("SQL:\n%s", strings.Join(got, "\n"))
	}
	for _, s := range []string{
		"# SET @@SESSION.GTID_NEXT='" + testUUID + ":1';\n",
		"# BEGIN;\n",
		"###   @1=1\n###   @2=-128\n", // rows shown, without names
		"# ERROR: transaction at 157 (" + testUUID + ":1) cannot be replayed: at ",
		"binlog_row_metadata=FULL",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if !strings.Contains(stderr.String(), "binlog_row_metadata=FULL") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// JSON documents whose binary form holds a DECIMAL have no exact JSON text: refused, not changed.
func TestInexactJSONRefused(t *testing.T) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	tbl, err := rowenc.NewTable("db", "j", sql.NewPrimaryKeySchema(sql.Schema{
		{Name: "id", Type: types.Int32, PrimaryKey: true, Source: "j"},
		{Name: "doc", Type: types.JSON, Nullable: true, Source: "j"},
	}, 0))
	if err != nil {
		t.Fatal(err)
	}
	path := x.write(x.rows(tbl, rowenc.MetadataFull,
		change{after: sql.Row{int32(1), types.JSONDocument{Val: map[string]any{"price": dec("9.99")}}}}))
	out, res, err := printFiles(t, Options{}, path)
	if err != nil || len(res.Unreplayable) != 1 || !strings.Contains(res.Unreplayable[0], "DECIMAL 9.99") {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if strings.Contains(strings.Join(sqlLines(out), "\n"), "INSERT") {
		t.Error("printed an INSERT it cannot make exact")
	}
}

// A statement holding ';' is framed by DELIMITER so that the client sends it whole.
func TestStatementWithSemicolon(t *testing.T) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	path := x.write(x.ddl("", "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"))
	out, _, err := printFiles(t, Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "DELIMITER /*!*/;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END\n/*!*/;\nDELIMITER ;\n") {
		t.Error(out)
	}
	if strings.Contains(out, "USE ") {
		t.Error("USE without a default database")
	}
}

// An event time is printed in the given zone, as mysqlbinlog prints local time.
func TestCommentTimesInLocation(t *testing.T) {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	path := x.write(x.ddl("d", "CREATE TABLE t (a INT)"))
	var out bytes.Buffer
	if _, err := Print(&out, []string{path}, Options{Location: time.FixedZone("x", 3600)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "#240506  8:08:09 server id 1") {
		t.Error(out.String())
	}
}

func TestMissingFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"/nonexistent/binlog.000001"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "/nonexistent/binlog.000001") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// Damage in the middle of a file: what comes before it is printed whole, the error names the
// file and offset, and nothing after it is printed.
func TestCorruptFile(t *testing.T) {
	path := shopBinlog(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[1500] ^= 0xff // inside the UPDATE's rows event (1356..1791)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Run([]string{path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if want := "binlog " + path + " at offset 1356: "; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
	sqls := sqlLines(stdout.String())
	if last := sqls[len(sqls)-1]; last != "SET @@SESSION.GTID_NEXT='AUTOMATIC';" || strings.Contains(stdout.String(), "UPDATE") {
		t.Errorf("output after the damage or a partial transaction:\n%s", stdout.String())
	}

	// A file cut between events, inside a transaction, by something other than a crash of its
	// writer (the file is closed): an error too.
	path = shopBinlog(t)
	data, _ = os.ReadFile(path)
	if err := os.WriteFile(path, data[:1356], 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{path}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "at offset 986: transaction has no end") {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
}

// withoutTimestamps drops the SET TIMESTAMP lines, checking that each is followed by a statement
// (not BEGIN or COMMIT), which it makes run at the source's time.
func withoutTimestamps(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for i, l := range lines {
		if strings.HasPrefix(l, "SET TIMESTAMP=") {
			if i+1 >= len(lines) || lines[i+1] == "BEGIN;" || lines[i+1] == "COMMIT;" {
				t.Errorf("%s is not followed by a statement", l)
			}
			continue
		}
		out = append(out, l)
	}
	return out
}

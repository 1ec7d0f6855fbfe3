package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestFastPathDifferential runs the same randomized statements on two nodes, one with the
// prepared-statement fast path (relaydb_fast_path = ON) and one without it (OFF: GMS's general
// path only), and requires identical answers: errors, result metadata and values, affected
// rows, insert ids, warnings, ROW_COUNT() / FOUND_ROWS() / LAST_INSERT_ID(), and table contents.
//
// The statements cover every fast shape and near misses of them (values that need a
// conversion, shapes the fast path does not take, tables it must not touch). The run is
// reproducible: RELAYDB_DIFF_SEED sets the seed (logged on every run) and
// RELAYDB_DIFF_STATEMENTS the number of statements (3,000 with -short, 100,000 without); the
// statements depend on both, never on results. RELAYDB_DIFF_VERBOSE=1 logs every statement node A
// handed from the fast path to the general path, and the session and DDL statements (after
// which prepared statements are planned again).
//
// Statements go as prepared statements (bound or with literals) and as text; RELAYDB_DIFF_MODE=text
// (or TestFastPathDifferentialText) sends every one as text, through the text-protocol fast path:
// literals in varied spellings, comments and hints, mixed case, multi-statements, sql_mode
// changes between executions (textify), and statements repeated with other numbers, as an
// application repeats its statements.
//
// Each node has two sessions, the same on both: the main one, which runs transactions and
// session settings, and one with CLIENT_FOUND_ROWS for some autocommit statements (affected rows
// are then matched rows). After every statement its session's SHOW WARNINGS and
// SELECT ROW_COUNT(), FOUND_ROWS(), LAST_INSERT_ID() are compared too, in a seeded order (each
// of the two resets what the other reports); every 300 statements, every table.
//
// Node A must run a good share of the statements on the fast path (Relaydb_fast_path_executions)
// and node B none, or the test would compare the general path with itself.
func TestFastPathDifferential(t *testing.T) {
	textOnly := false
	switch m := os.Getenv("RELAYDB_DIFF_MODE"); m {
	case "", "mixed":
	case "text":
		textOnly = true
	default:
		t.Fatalf("RELAYDB_DIFF_MODE: %q (want mixed or text)", m)
	}
	fastPathDifferential(t, textOnly)
}

// TestFastPathDifferentialText is the differential test with every statement sent as text
// (COM_QUERY), the text-protocol fast path's own check; RELAYDB_DIFF_MODE=text runs the same
// through TestFastPathDifferential.
func TestFastPathDifferentialText(t *testing.T) {
	if os.Getenv("RELAYDB_DIFF_MODE") != "" {
		t.Skip("RELAYDB_DIFF_MODE chooses the mode of TestFastPathDifferential")
	}
	fastPathDifferential(t, true)
}

func fastPathDifferential(t *testing.T, textOnly bool) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("RELAYDB_DIFF_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("RELAYDB_DIFF_SEED: %v", err)
		}
		seed = v
	}
	count := 100000
	if testing.Short() {
		count = 3000
	}
	if s := os.Getenv("RELAYDB_DIFF_STATEMENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("RELAYDB_DIFF_STATEMENTS: %q", s)
		}
		count = v
	}
	verbose := os.Getenv("RELAYDB_DIFF_VERBOSE") != ""
	// RELAYDB_DIFF_WATCH=db.table reads that table on both sides after every statement, to find
	// the statement after which a difference the periodic comparison found first appears.
	watch := os.Getenv("RELAYDB_DIFF_WATCH")
	t.Logf("seed %d, %d statements, text only %v (repeat with RELAYDB_DIFF_SEED=%d RELAYDB_DIFF_STATEMENTS=%d RELAYDB_DIFF_MODE=%s)",
		seed, count, textOnly, seed, count, map[bool]string{true: "text", false: "mixed"}[textOnly])
	started := time.Now()

	fast := startNode(t, "")
	slow := startNode(t, "")
	fastAdmin, slowAdmin := fast.db(""), slow.db("")
	mustExec(t, slowAdmin, "SET GLOBAL relaydb_fast_path = OFF")
	setup := diffSchema(rand.New(rand.NewSource(seed)))
	for _, db := range []*sql.DB{fastAdmin, slowAdmin} {
		for _, q := range setup {
			mustExec(t, db, q)
		}
	}
	a := openDiffSide(t, fast, "A (fast path ON)", true)
	b := openDiffSide(t, slow, "B (fast path OFF)", false)
	aExec0, aFall0 := fastPathCounters(t, fastAdmin)
	bExec0, _ := fastPathCounters(t, slowAdmin)

	d := &differ{t: t, seed: seed, a: a, b: b, nodes: [2]*node{fast, slow}}
	watchDBs := [2]*sql.DB{fast.db(""), slow.db("")} // fresh sessions: none of the statements' settings
	g := newDiffGen(seed, count)
	g.textOnly = textOnly
	d.compareTables("after setup")
	shapes := map[string]int{}
	fastShapes := map[string]int{} // executions A ran on the fast path, by shape
	fallShapes := map[string]int{} // and those it handed to the general path
	modes := map[string]int{}
	executions := 0
	lastExec, lastFall := aExec0, aFall0
	winExec, winExecutions := aExec0, 0
	for i := 0; i < count; i++ {
		st := g.next()
		shapes[st.shape]++
		modes[modeNames[st.mode]]++
		executions += max(1, st.repeat)
		d.step(i, st)
		if watch != "" {
			d.watchTable(i, st, watch, watchDBs)
		}
		if verbose && (st.shape == "session" || st.shape == "ddl") {
			t.Logf("#%d %s", i, st)
		}
		e, f := fastPathCounters(t, fastAdmin)
		fastShapes[st.shape] += int(e - lastExec)
		fallShapes[st.shape] += int(f - lastFall)
		if verbose && f > lastFall {
			t.Logf("A handed to the general path: #%d %s", i, st)
		}
		lastExec, lastFall = e, f
		if (i+1)%300 == 0 {
			d.compareTables(fmt.Sprintf("after statement %d", i+1))
		}
		if window := max(count/10, 1000); (i+1)%window == 0 {
			// The fast share over time: it falls if fast-path state is lost.
			t.Logf("%d statements, %v: A ran %.1f%% of the last %d executions fast", i+1,
				time.Since(started).Round(time.Second), 100*float64(lastExec-winExec)/float64(executions-winExecutions),
				executions-winExecutions)
			winExec, winExecutions = lastExec, executions
		}
	}
	for _, st := range g.finish() {
		d.step(count, st)
	}
	d.compareTables("at the end")

	aExec, aFall := fastPathCounters(t, fastAdmin)
	bExec, bFall := fastPathCounters(t, slowAdmin)
	aExec, aFall, bExec = aExec-aExec0, aFall-aFall0, bExec-bExec0
	var names []string
	for s := range shapes {
		names = append(names, s)
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n  %-20s %10s %10s %10s", "shape", "statements", "A fast", "A fallback")
	for _, s := range names {
		fmt.Fprintf(&sb, "\n  %-20s %10d %10d %10d", s, shapes[s], fastShapes[s], fallShapes[s])
	}
	t.Logf("%d statements (%d executions) in %v, seed %d; modes %v; shapes:%s", count, executions,
		time.Since(started).Round(time.Millisecond), seed, modes, sb.String())
	t.Logf("A: Relaydb_fast_path_executions %d, Relaydb_fast_path_fallbacks %d (%.1f%% of executions fast); "+
		"B: executions %d, fallbacks %d", aExec, aFall, 100*float64(aExec)/float64(executions), bExec, bFall)
	if bExec != 0 {
		t.Errorf("node B ran %d statements on the fast path with relaydb_fast_path = OFF", bExec)
	}
	// Text-only runs spell a good share of their numbers in ways that are not integers ('5',
	// 5.0, 5e0) and repeat statements less than an application would: a smaller fast share.
	minShare := 0.3
	if textOnly {
		minShare = 0.1
	}
	if float64(aExec) < minShare*float64(executions) {
		t.Errorf("node A ran only %d of %d executions on the fast path: the test would mostly compare the general path with itself", aExec, executions)
	}
}

// fastPathCounters reads the node's Relaydb_fast_path_executions and _fallbacks (one query:
// they are read after every statement).
func fastPathCounters(t *testing.T, db *sql.DB) (executions, fallbacks uint64) {
	t.Helper()
	rows, err := db.Query("SHOW GLOBAL STATUS LIKE 'Relaydb_fast_path_%'")
	if err != nil {
		t.Fatalf("Relaydb_fast_path_* status: %v", err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			t.Fatalf("%s = %q", name, value)
		}
		switch strings.ToLower(name) {
		case "relaydb_fast_path_executions":
			executions, seen = n, seen+1
		case "relaydb_fast_path_fallbacks":
			fallbacks, seen = n, seen+1
		}
	}
	if err := rows.Err(); err != nil || seen != 2 {
		t.Fatalf("Relaydb_fast_path_* status: %v (%d of 2 variables)", err, seen)
	}
	return executions, fallbacks
}

// ---------------------------------------------------------------------------------------------
// Schema

// diffTables lists the tables and their dump order, by database.
var diffTables = []struct{ db, table, orderBy string }{
	{"dt", "sbtest", "id"}, {"dt", "ci", "name"}, {"dt", "cbin", "name"}, {"dt", "comp", "a, b"},
	{"dt", "uq", "id"}, {"dt", "ints", "id"}, {"dt", "tiny", "id"}, {"dt", "ubig", "id"},
	{"dt", "aitiny", "id"}, {"dt", "aiu", "id"}, {"dt", "trg", "id"}, {"dt", "trg_log", "seq"},
	{"dt", "parent", "id"}, {"dt", "child", "id"}, {"dt", "gen", "id"}, {"dt", "chk", "id"},
	{"dt", "dect", "id"}, {"dt", "nopk", "a"}, {"dt", "audit", "seq"},
	{"dt2", "sbtest", "id"}, {"dt2", "ci", "name"}, {"dt2", "comp", "a, b"},
}

// diffSchema returns the statements creating the schema and its first rows; rnd makes the
// rows (the same on both nodes).
func diffSchema(rnd *rand.Rand) []string {
	q := []string{
		"CREATE DATABASE dt",
		"CREATE DATABASE dt2",
		`CREATE TABLE dt.sbtest (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
			c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))`,
		`CREATE TABLE dt.ci (name VARCHAR(24) COLLATE utf8mb4_0900_ai_ci NOT NULL PRIMARY KEY, v INT,
			note VARCHAR(16), txt TEXT)`,
		`CREATE TABLE dt.cbin (name VARCHAR(24) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 1,
			note VARCHAR(16) CHARACTER SET latin1, vb VARBINARY(8))`,
		`CREATE TABLE dt.comp (a INT NOT NULL, b VARCHAR(16) NOT NULL, v BIGINT, s VARCHAR(10) NOT NULL DEFAULT 'x',
			PRIMARY KEY (a, b))`,
		`CREATE TABLE dt.uq (id INT NOT NULL PRIMARY KEY, email VARCHAR(32) NULL, n INT NOT NULL DEFAULT 0,
			c1 INT NOT NULL DEFAULT 0, c2 CHAR(4) NOT NULL DEFAULT 'aa', UNIQUE KEY uq_email (email), UNIQUE KEY uq_c (c1, c2))`,
		`CREATE TABLE dt.ints (id BIGINT NOT NULL PRIMARY KEY, ti TINYINT NOT NULL DEFAULT 0, tin TINYINT NULL,
			tu TINYINT UNSIGNED NOT NULL DEFAULT 7, si SMALLINT NULL DEFAULT -5, su SMALLINT UNSIGNED NULL,
			mi MEDIUMINT NOT NULL DEFAULT 0, iu INT UNSIGNED NOT NULL DEFAULT 0, i INT NULL, bi BIGINT NOT NULL DEFAULT 0,
			bu BIGINT UNSIGNED NULL, nd INT NOT NULL, nds VARCHAR(8) NOT NULL, KEY ints_i (i))`,
		"CREATE TABLE dt.tiny (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, v SMALLINT NULL)",
		"CREATE TABLE dt.ubig (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v INT NULL)",
		"CREATE TABLE dt.aitiny (id TINYINT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL DEFAULT 0)",
		"CREATE TABLE dt.aiu (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8) NULL)",
		"CREATE TABLE dt.trg (id INT NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 0)",
		"CREATE TABLE dt.trg_log (seq INT NOT NULL AUTO_INCREMENT PRIMARY KEY, id INT, v INT, op VARCHAR(8))",
		"CREATE TRIGGER dt.trg_bi BEFORE INSERT ON dt.trg FOR EACH ROW SET NEW.v = NEW.v + 1000",
		"CREATE TRIGGER dt.trg_au AFTER UPDATE ON dt.trg FOR EACH ROW INSERT INTO dt.trg_log (id, v, op) VALUES (NEW.id, NEW.v, 'upd')",
		"CREATE TABLE dt.parent (id INT NOT NULL PRIMARY KEY, v INT)",
		"CREATE TABLE dt.child (id INT NOT NULL PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES dt.parent (id))",
		"CREATE TABLE dt.gen (id INT NOT NULL PRIMARY KEY, a INT, b INT AS (a * 2) STORED, c INT AS (a + 1) VIRTUAL)",
		"CREATE TABLE dt.chk (id INT NOT NULL PRIMARY KEY, v INT, CONSTRAINT chk_v CHECK (v >= 0))",
		`CREATE TABLE dt.dect (id INT NOT NULL PRIMARY KEY, d DECIMAL(10,2) NOT NULL DEFAULT 0.00, dt DATETIME NULL,
			v INT NULL, e INT DEFAULT (7 + 1))`,
		"CREATE TABLE dt.nopk (a INT NOT NULL, b INT, UNIQUE KEY nopk_a (a))",
		"CREATE TABLE dt.audit (seq INT NOT NULL AUTO_INCREMENT PRIMARY KEY, tbl VARCHAR(8), op VARCHAR(8), k VARCHAR(32))",
		// dt2 has tables named as in dt with other keys, collations and defaults: a prepared
		// statement run after USE dt2 must read dt2's table.
		`CREATE TABLE dt2.sbtest (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 5, c VARCHAR(120) NOT NULL DEFAULT 'dflt',
			pad CHAR(60) NOT NULL DEFAULT '', UNIQUE KEY k_1 (k))`,
		"CREATE TABLE dt2.ci (name VARCHAR(24) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, v INT, note VARCHAR(16), txt TEXT)",
		`CREATE TABLE dt2.comp (a INT NOT NULL, b VARCHAR(16) NOT NULL, v BIGINT, s VARCHAR(10) NOT NULL DEFAULT 'y',
			PRIMARY KEY (b, a))`,
	}
	word := func() string { return diffWords[rnd.Intn(len(diffWords))] }
	var rows []string
	for i := 1; i <= 200; i++ {
		rows = append(rows, fmt.Sprintf("(%d, '%s-%d', '%s')", rnd.Intn(100), word(), rnd.Intn(1000000), word()))
	}
	q = append(q, "INSERT INTO dt.sbtest (k, c, pad) VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for i := 1; i <= 100; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, 'c%d', 'p')", i, i+1000, rnd.Intn(100)))
	}
	q = append(q, "INSERT INTO dt2.sbtest (id, k, c, pad) VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	// Distinct under utf8mb4_0900_ai_ci too (no two equal ignoring case and accents).
	for _, w := range []string{"Alpha", "beta", "gamma", "Epsilon", "x y", "ü", "omega", "12", "ß", "a ", "theta", "Kappa"} {
		if rnd.Intn(3) != 0 {
			rows = append(rows, fmt.Sprintf("('%s', %d, 'n%d', 'text')", w, rnd.Intn(50), rnd.Intn(9)))
		}
	}
	q = append(q, "INSERT INTO dt.ci VALUES "+strings.Join(rows, ", "),
		"INSERT INTO dt2.ci VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for _, w := range diffWords[:20] {
		if rnd.Intn(2) == 0 {
			rows = append(rows, fmt.Sprintf("('%s', %d, 'n', 'b')", w, rnd.Intn(50)))
		}
	}
	q = append(q, "INSERT INTO dt.cbin VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for a := 1; a <= 10; a++ {
		for _, b := range []string{"x", "y", "Z"} {
			rows = append(rows, fmt.Sprintf("(%d, '%s', %d, 's')", a, b, rnd.Intn(1000)))
		}
	}
	q = append(q, "INSERT INTO dt.comp VALUES "+strings.Join(rows, ", "),
		"INSERT INTO dt2.comp VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for i := 1; i <= 30; i++ {
		email := "NULL"
		if i%3 != 0 {
			email = fmt.Sprintf("'u%d@x'", i)
		}
		rows = append(rows, fmt.Sprintf("(%d, %s, %d, %d, '%s')", i, email, i*10, i%5, []string{"aa", "bb", "cc", "dd", "ee", "ff"}[(i-1)/5]))
	}
	q = append(q, "INSERT INTO dt.uq VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for i := 1; i <= 40; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, NULL, %d, %d, %d, %d, %d, %d, %d, %d, %d, 'n%d')", i,
			rnd.Intn(256)-128, rnd.Intn(256), rnd.Intn(65536)-32768, rnd.Intn(65536), rnd.Intn(1<<24)-(1<<23),
			rnd.Uint32(), rnd.Int31()-rnd.Int31(), rnd.Int63()-rnd.Int63(), rnd.Uint64(), rnd.Intn(10), i))
	}
	rows = append(rows, "(127, 127, 127, 255, 32767, 65535, 8388607, 4294967295, 2147483647, 9223372036854775807, 18446744073709551615, 1, 'max')",
		"(-128, -128, -128, 0, -32768, 0, -8388608, 0, -2147483648, -9223372036854775808, 0, 2, 'min')")
	q = append(q, "INSERT INTO dt.ints VALUES "+strings.Join(rows, ", "))
	q = append(q, "INSERT INTO dt.tiny VALUES (0, 0), (1, 1), (2, NULL), (10, 10), (127, 127), (128, -128), (255, 255)",
		"INSERT INTO dt.ubig VALUES (0, 0), (1, 1), (9223372036854775807, 2), (9223372036854775808, 3), (18446744073709551615, 4)")
	rows = rows[:0]
	for i := 1; i <= 90; i++ {
		rows = append(rows, fmt.Sprintf("(%d)", i))
	}
	q = append(q, "INSERT INTO dt.aitiny (v) VALUES "+strings.Join(rows, ", "),
		"INSERT INTO dt.aiu (v) VALUES ('a'), ('b'), (NULL)",
		"INSERT INTO dt.trg VALUES (1, 1), (2, 2), (3, 3)",
		"INSERT INTO dt.parent VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9), (10, 10)",
		"INSERT INTO dt.child VALUES (1, 1, 1), (2, 2, 2), (3, NULL, 3)",
		"INSERT INTO dt.gen (id, a) VALUES (1, 1), (2, 2), (3, NULL)",
		"INSERT INTO dt.chk VALUES (1, 1), (2, 2)",
		"INSERT INTO dt.dect (id, d, dt, v) VALUES (1, 1.50, '2024-01-02 03:04:05', 1), (2, 0, NULL, NULL)",
		"INSERT INTO dt.nopk VALUES (1, 1), (2, NULL), (3, 3)")
	return q
}

var diffWords = []string{"alpha", "Alpha", "ALPHA", "beta", "Beta", "béta", "gamma", "delta", "épsilon",
	"Epsilon", "zeta", "ß", "ss", "a", "A", "x y", "ü", "u", "omega", "Omega", "0", "12", "eta", "theta",
	"iota", "kappa", "lambda", "mu", ""}

// ---------------------------------------------------------------------------------------------
// Statements and their execution

const (
	modeParam   = iota // prepared, with ? bound to the arguments
	modeLitPrep        // prepared, the arguments written into the text as literals
	modeText           // COM_QUERY, the arguments written into the text as literals
)

var modeNames = []string{"prepared+args", "prepared+literals", "text"}

// dstmt is one generated statement.
type dstmt struct {
	shape  string
	sql    string // with a ? for each argument
	args   []any
	mode   int
	query  bool // returns rows
	conn   int  // 0: the main session; 1: a session with CLIENT_FOUND_ROWS
	pin    bool // must run in the main session (it uses what the statement before set)
	repeat int  // executions of a prepared statement (0: 1)
	// textSQL is the text a modeText statement sends (g.textify): literals in varied spellings,
	// comments, mixed case, sometimes with a second statement.
	textSQL string
	// countersFirst runs SELECT ROW_COUNT(), … before SHOW WARNINGS (each of the two resets
	// what the other reports).
	countersFirst bool
}

// numLit is a number argument: a string when bound, an unquoted literal in a statement's text.
type numLit string

func (s *dstmt) text() string {
	if s.mode == modeParam {
		return s.sql
	}
	if s.mode == modeText && s.textSQL != "" {
		return s.textSQL
	}
	return renderLiterals(s.sql, s.args)
}

func renderLiterals(q string, args []any) string {
	var sb strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' && n < len(args) {
			sb.WriteString(literal(args[n]))
			n++
			continue
		}
		sb.WriteByte(q[i])
	}
	return sb.String()
}

func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case numLit:
		return string(x)
	case string:
		return quote(x)
	case []byte:
		return quote(string(x))
	case time.Time:
		return quote(x.Format("2006-01-02 15:04:05"))
	}
	panic(fmt.Sprintf("no literal for %T", v))
}

func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func describeArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case nil:
			parts[i] = "nil"
		case []byte:
			parts[i] = fmt.Sprintf("[]byte(%q)", x)
		case string:
			parts[i] = fmt.Sprintf("%q", x)
		case numLit:
			parts[i] = fmt.Sprintf("numLit(%q)", string(x))
		default:
			parts[i] = fmt.Sprintf("%T(%v)", a, a)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (s *dstmt) String() string {
	out := fmt.Sprintf("[%s, %s, conn %d", s.shape, modeNames[s.mode], s.conn)
	if s.repeat > 1 {
		out += fmt.Sprintf(", %d executions", s.repeat)
	}
	if s.textSQL != "" {
		out += fmt.Sprintf(", text %q", s.textSQL)
	}
	out += "] " + s.text()
	if s.mode == modeParam && len(s.args) > 0 {
		out += "  args " + describeArgs(s.args)
	}
	return out
}

// result is what one execution returned, as text.
type result struct {
	Err      string
	Cols     []string
	Types    []string
	Rows     [][]string
	Affected string
	InsertID string
}

func (r result) String() string {
	var sb strings.Builder
	if r.Err != "" {
		fmt.Fprintf(&sb, "error %s", r.Err)
	}
	if r.Cols != nil {
		fmt.Fprintf(&sb, "columns %q types %q rows %d:", r.Cols, r.Types, len(r.Rows))
		for _, row := range r.Rows {
			fmt.Fprintf(&sb, "\n      %s", strings.Join(row, " | "))
		}
	}
	if r.Affected != "" {
		fmt.Fprintf(&sb, "affected %s insert id %s", r.Affected, r.InsertID)
	}
	return sb.String()
}

// outcome is everything compared after one statement.
type outcome struct {
	Execs    []result
	Warnings result
	Counters result
}

func (o outcome) String() string {
	var sb strings.Builder
	for i, e := range o.Execs {
		fmt.Fprintf(&sb, "\n    execution %d: %s", i+1, e)
	}
	fmt.Fprintf(&sb, "\n    SHOW WARNINGS: %s", o.Warnings)
	fmt.Fprintf(&sb, "\n    ROW_COUNT(), FOUND_ROWS(), LAST_INSERT_ID(): %s", o.Counters)
	return sb.String()
}

func errText(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		msg := me.Message
		if i := strings.Index(msg, "\ngoroutine "); i >= 0 {
			// A panic GMS recovered from (the general path's, e.g. comparing '1e' with 3.0)
			// comes with its stack trace: goroutine ids and addresses differ from run to run.
			msg = msg[:i] + " [stack trace left out]"
		}
		return fmt.Sprintf("%d (%s): %s", me.Number, string(me.SQLState[:]), msg)
	}
	return "client: " + err.Error()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return strconv.Quote(string(x))
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func readResult(rows *sql.Rows, err error) result {
	var r result
	if err != nil {
		r.Err = errText(err)
		return r
	}
	defer rows.Close()
	if r.Cols, err = rows.Columns(); err != nil {
		r.Err = "columns: " + errText(err)
		return r
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		r.Err = "column types: " + errText(err)
		return r
	}
	for _, ct := range cts {
		l, lok := ct.Length()
		nl, nok := ct.Nullable()
		p, s, dok := ct.DecimalSize()
		scan := "<nil>"
		if ct.ScanType() != nil {
			scan = ct.ScanType().String()
		}
		r.Types = append(r.Types, fmt.Sprintf("%s len=%d/%v null=%v/%v dec=%d,%d/%v scan=%s",
			ct.DatabaseTypeName(), l, lok, nl, nok, p, s, dok, scan))
	}
	r.Rows = [][]string{}
	for rows.Next() {
		vals := make([]any, len(r.Cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			r.Err = "scan: " + errText(err)
			return r
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = cell(v)
		}
		r.Rows = append(r.Rows, row)
	}
	if err := rows.Err(); err != nil {
		r.Err = errText(err)
	}
	return r
}

func execResult(res sql.Result, err error) result {
	if err != nil {
		return result{Err: errText(err)}
	}
	var r result
	if n, err := res.RowsAffected(); err != nil {
		r.Affected = "error " + err.Error()
	} else {
		r.Affected = strconv.FormatInt(n, 10)
	}
	if id, err := res.LastInsertId(); err != nil {
		r.InsertID = "error " + err.Error()
	} else {
		r.InsertID = strconv.FormatInt(id, 10)
	}
	return r
}

// diffSide is one node's sessions: conns[0] the main one, conns[1] one with CLIENT_FOUND_ROWS.
type diffSide struct {
	name  string
	conns [2]*sql.Conn
	stmts [2]map[string]*sql.Stmt // prepared statements kept for reuse, by text
}

// maxKeptStatements bounds the prepared statements a side keeps open per session.
const maxKeptStatements = 1500

func openDiffSide(t *testing.T, n *node, name string, fastOn bool) *diffSide {
	t.Helper()
	s := &diffSide{name: name}
	onOff := map[bool]string{true: "ON", false: "OFF"}[fastOn]
	for i, extra := range []string{"", "&clientFoundRows=true"} {
		// multiStatements: text statements go as COM_QUERY with CLIENT_MULTI_STATEMENTS, as
		// sysbench and the mariadb client send them, and may carry a second statement.
		dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/dt?timeout=10s&readTimeout=60s&writeTimeout=60s&multiStatements=true%s", n.port, extra)
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		conn, err := db.Conn(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { conn.Close() })
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := conn.ExecContext(ctx, "SET SESSION relaydb_fast_path = "+onOff); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v string
		if err := conn.QueryRowContext(ctx, "SELECT @@session.relaydb_fast_path").Scan(&v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cancel()
		if want := map[bool]string{true: "1", false: "0"}[fastOn]; v != want {
			t.Fatalf("%s: @@session.relaydb_fast_path = %s, want %s", name, v, want)
		}
		s.conns[i] = conn
		s.stmts[i] = map[string]*sql.Stmt{}
	}
	return s
}

// prepare returns a prepared statement for text, kept for reuse when keep is set.
func (s *diffSide) prepare(ctx context.Context, conn int, text string, keep bool) (*sql.Stmt, error) {
	if st, ok := s.stmts[conn][text]; ok && keep {
		return st, nil
	}
	st, err := s.conns[conn].PrepareContext(ctx, text)
	if err != nil || !keep {
		return st, err
	}
	if len(s.stmts[conn]) >= maxKeptStatements {
		for _, old := range s.stmts[conn] {
			old.Close()
		}
		clear(s.stmts[conn])
	}
	s.stmts[conn][text] = st
	return st, nil
}

func (s *diffSide) run(ctx context.Context, st *dstmt) outcome {
	var o outcome
	c := s.conns[st.conn]
	text := st.text()
	var args []any
	if st.mode == modeParam {
		args = st.args
	}
	if st.mode == modeText {
		if st.query {
			rows, err := c.QueryContext(ctx, text)
			o.Execs = append(o.Execs, readResult(rows, err))
		} else {
			res, err := c.ExecContext(ctx, text)
			o.Execs = append(o.Execs, execResult(res, err))
		}
	} else {
		ps, err := s.prepare(ctx, st.conn, text, st.mode == modeParam)
		if err != nil {
			o.Execs = append(o.Execs, result{Err: "prepare: " + errText(err)})
		} else {
			for i := 0; i < max(1, st.repeat); i++ {
				if st.query {
					rows, err := ps.QueryContext(ctx, args...)
					o.Execs = append(o.Execs, readResult(rows, err))
				} else {
					res, err := ps.ExecContext(ctx, args...)
					o.Execs = append(o.Execs, execResult(res, err))
				}
			}
			if st.mode != modeParam {
				ps.Close()
			}
		}
	}
	warnings := func() {
		rows, err := c.QueryContext(ctx, "SHOW WARNINGS")
		o.Warnings = readResult(rows, err)
	}
	counters := func() {
		rows, err := c.QueryContext(ctx, "SELECT ROW_COUNT(), FOUND_ROWS(), LAST_INSERT_ID()")
		o.Counters = readResult(rows, err)
	}
	if st.countersFirst {
		counters()
		warnings()
	} else {
		warnings()
		counters()
	}
	return o
}

// differ runs statements on both sides and compares.
type differ struct {
	t       *testing.T
	seed    int64
	a, b    *diffSide
	nodes   [2]*node
	history []string
}

func (d *differ) both(f func(s *diffSide) any) (any, any) {
	var ra any
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ra = f(d.a)
	}()
	rb := f(d.b)
	wg.Wait()
	return ra, rb
}

func (d *differ) step(i int, st *dstmt) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ra, rb := d.both(func(s *diffSide) any { return s.run(ctx, st) })
	desc := fmt.Sprintf("#%d %s", i, st)
	if !reflect.DeepEqual(ra, rb) {
		d.fail(fmt.Sprintf("statement %s", desc), ra, rb)
	}
	if clientError(ra.(outcome)) || clientError(rb.(outcome)) {
		// A lost connection or a malformed packet, the same on both sides, is no agreement.
		d.logs()
		d.fail(fmt.Sprintf("client-side error after statement %s", desc), ra, rb)
	}
	d.history = append(d.history, desc)
	if len(d.history) > 40 {
		d.history = d.history[len(d.history)-40:]
	}
}

// logs logs the end of both servers' logs.
func (d *differ) logs() {
	for i, n := range d.nodes {
		log := n.log()
		if len(log) > 6000 {
			log = log[len(log)-6000:]
		}
		d.t.Logf("end of %s's log:\n%s", []string{d.a.name, d.b.name}[i], log)
	}
}

func (d *differ) fail(what string, ra, rb any) {
	d.t.Helper()
	d.t.Fatalf("DIFFERENCE (seed %d): %s\n  %s:%v\n  %s:%v\n\npreceding statements:\n  %s",
		d.seed, what, d.a.name, ra, d.b.name, rb, strings.Join(d.history, "\n  "))
}

func clientError(o outcome) bool {
	for _, r := range append(o.Execs, o.Warnings, o.Counters) {
		if strings.Contains(r.Err, "client: ") {
			return true
		}
	}
	return false
}

// watchTable reads table on both sides (through sessions of its own, so no session setting of
// the statements applies) and fails at the first statement after which either read errs or
// the two differ.
func (d *differ) watchTable(i int, st *dstmt, table string, dbs [2]*sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := "SELECT * FROM " + table + " ORDER BY 1 LIMIT 100000000"
	var res [2]result
	for k, db := range dbs {
		rows, err := db.QueryContext(ctx, q)
		res[k] = readResult(rows, err)
	}
	if res[0].Err != "" || res[1].Err != "" || !reflect.DeepEqual(res[0], res[1]) {
		d.fail(fmt.Sprintf("%s after statement #%d (%s)", table, i, st), res[0], res[1])
	}
}

// compareTables compares every table's rows, in key order, and the auto-increment counters,
// as the main session sees them.
func (d *differ) compareTables(when string) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	queries := []string{"SELECT table_schema, table_name, auto_increment FROM information_schema.tables " +
		"WHERE table_schema IN ('dt', 'dt2') ORDER BY table_schema, table_name"}
	for _, tb := range diffTables {
		// The LIMIT keeps sql_select_limit, which the statements change now and then, out.
		queries = append(queries, fmt.Sprintf("SELECT * FROM %s.%s ORDER BY %s LIMIT 100000000", tb.db, tb.table, tb.orderBy))
	}
	for _, q := range queries {
		ra, rb := d.both(func(s *diffSide) any {
			rows, err := s.conns[0].QueryContext(ctx, q)
			return readResult(rows, err)
		})
		// A table must also read without an error: the same error on both sides once hid a row
		// neither server could read (a virtual column out of range).
		if !reflect.DeepEqual(ra, rb) || ra.(result).Err != "" || rb.(result).Err != "" {
			d.fail(fmt.Sprintf("table contents %s: %s", when, q), ra, rb)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The generator

type colKind int

const (
	kInt colKind = iota
	kStr
	kDec
	kTime
	kBin
)

type dcol struct {
	name     string
	kind     colKind
	bits     int
	unsigned bool
	size     int // characters (kStr, kBin)
	nullable bool
	deflt    bool // may be omitted from an INSERT: a default, NULL, auto-increment
	autoInc  bool
	gen      bool // generated: not written
	// dom draws a value of a key column (rows that exist and rows that do not); nil: by type.
	dom func(g *diffGen) any
}

type dtable struct {
	db, name string
	cols     []*dcol
	pk       []string
	uniq     [][]string // unique keys (other than the primary key)
	other    [][]string // non-unique indexes and other columns to look up by (near misses)
	weight   int
	auto     bool // has an auto-increment column
}

func (t *dtable) col(name string) *dcol {
	for _, c := range t.cols {
		if c.name == name {
			return c
		}
	}
	panic("no column " + name)
}

// isKey reports whether column name is part of the primary key or of a unique key.
func (t *dtable) isKey(name string) bool {
	if contains(t.pk, name) {
		return true
	}
	for _, u := range t.uniq {
		if contains(u, name) {
			return true
		}
	}
	return false
}

func icol(name string, bits int, unsigned, nullable, deflt bool) *dcol {
	return &dcol{name: name, kind: kInt, bits: bits, unsigned: unsigned, nullable: nullable, deflt: deflt || nullable}
}

func scol(name string, size int, nullable, deflt bool) *dcol {
	return &dcol{name: name, kind: kStr, size: size, nullable: nullable, deflt: deflt || nullable}
}

func withDom(c *dcol, f func(g *diffGen) any) *dcol { c.dom = f; return c }

func intDom(lo, hi int) func(g *diffGen) any {
	return func(g *diffGen) any { return int64(lo + g.r.Intn(hi-lo+1)) }
}

func wordDom(words ...string) func(g *diffGen) any {
	return func(g *diffGen) any { return words[g.r.Intn(len(words))] }
}

var nameWords = []string{"alpha", "Alpha", "ALPHA", "alpha ", "beta", "Beta", "béta", "gamma", "delta",
	"épsilon", "Epsilon", "epsilon", "zeta", "ß", "ss", "a", "A", "a ", "x y", "ü", "u", "omega", "new1", "new2", "New1", ""}

func diffSpecs(count int) map[string][]*dtable {
	sbID := func(g *diffGen) any { return int64(1 + g.r.Intn(260+g.n/6)) }
	aiuID := func(g *diffGen) any {
		if g.n > count/2 && g.r.Intn(40) == 0 {
			return uint64(1)<<63 + uint64(g.r.Intn(3))
		}
		return int64(1 + g.r.Intn(20+g.n/20))
	}
	dt := []*dtable{
		{name: "sbtest", weight: 8, pk: []string{"id"}, other: [][]string{{"k"}, {"c"}}, auto: true, cols: []*dcol{
			withDom(&dcol{name: "id", kind: kInt, bits: 32, deflt: true, autoInc: true}, sbID),
			withDom(icol("k", 32, false, false, true), intDom(0, 120)),
			scol("c", 120, false, true), scol("pad", 60, false, true)}},
		{name: "ci", weight: 2, pk: []string{"name"}, cols: []*dcol{
			withDom(scol("name", 24, false, false), wordDom(nameWords...)),
			icol("v", 32, false, true, false), scol("note", 16, true, false), scol("txt", 1000, true, false)}},
		{name: "cbin", weight: 1, pk: []string{"name"}, cols: []*dcol{
			withDom(scol("name", 24, false, false), wordDom(nameWords...)),
			icol("v", 32, false, false, true), scol("note", 16, true, false),
			{name: "vb", kind: kBin, size: 8, nullable: true, deflt: true}}},
		{name: "comp", weight: 3, pk: []string{"a", "b"}, other: [][]string{{"a"}, {"b"}}, cols: []*dcol{
			withDom(icol("a", 32, false, false, false), intDom(0, 13)),
			withDom(scol("b", 16, false, false), wordDom("x", "X", "y", "Z", "z", "yy", "", "x ")),
			icol("v", 64, false, true, false), scol("s", 10, false, true)}},
		{name: "uq", weight: 3, pk: []string{"id"}, uniq: [][]string{{"email"}, {"c1", "c2"}}, other: [][]string{{"n"}, {"c1"}}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 45)),
			withDom(scol("email", 32, true, false), func(g *diffGen) any {
				if g.r.Intn(12) == 0 {
					return nil
				}
				return wordDom("u1@x", "U1@x", "u2@x", "u4@x", "u5@x", "u7@x", "u8@x", "u1@x ", "new@x", "é@x", "e@x", "")(g)
			}),
			withDom(icol("n", 32, false, false, true), intDom(0, 400)),
			withDom(icol("c1", 32, false, false, true), intDom(0, 5)),
			withDom(scol("c2", 4, false, true), wordDom("aa", "AA", "bb", "cc", "dd", "gg", "aa ", "b"))}},
		{name: "ints", weight: 4, pk: []string{"id"}, other: [][]string{{"i"}, {"ti"}}, cols: []*dcol{
			withDom(icol("id", 64, false, false, false), func(g *diffGen) any {
				switch g.r.Intn(30) {
				case 0:
					return int64(math.MaxInt64)
				case 1:
					return int64(math.MinInt64)
				case 2:
					return int64(127)
				case 3:
					return int64(-128)
				}
				return int64(1 + g.r.Intn(55))
			}),
			icol("ti", 8, false, false, true), icol("tin", 8, false, true, false), icol("tu", 8, true, false, true),
			icol("si", 16, false, true, true), icol("su", 16, true, true, false), icol("mi", 24, false, false, true),
			icol("iu", 32, true, false, true), icol("i", 32, false, true, false), icol("bi", 64, false, false, true),
			icol("bu", 64, true, true, false), icol("nd", 32, false, false, false), scol("nds", 8, false, false)}},
		{name: "tiny", weight: 2, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 8, true, false, false), func(g *diffGen) any {
				if g.r.Intn(5) == 0 {
					return int64(250 + g.r.Intn(6))
				}
				return int64(g.r.Intn(40))
			}),
			icol("v", 16, false, true, false)}},
		{name: "ubig", weight: 2, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 64, true, false, false), func(g *diffGen) any {
				switch g.r.Intn(8) {
				case 0:
					return uint64(math.MaxUint64) - uint64(g.r.Intn(2))
				case 1:
					return uint64(1) << 63
				case 2:
					return int64(math.MaxInt64)
				}
				return int64(g.r.Intn(40))
			}),
			icol("v", 32, false, true, false)}},
		{name: "aitiny", weight: 1, pk: []string{"id"}, auto: true, cols: []*dcol{
			withDom(&dcol{name: "id", kind: kInt, bits: 8, deflt: true, autoInc: true}, intDom(1, 127)),
			icol("v", 32, false, false, true)}},
		{name: "aiu", weight: 1, pk: []string{"id"}, auto: true, cols: []*dcol{
			withDom(&dcol{name: "id", kind: kInt, bits: 64, unsigned: true, deflt: true, autoInc: true}, aiuID),
			scol("v", 8, true, false)}},
		{name: "trg", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 40)), icol("v", 32, false, false, true)}},
		{name: "parent", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 14)), icol("v", 32, false, true, false)}},
		{name: "child", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 40)),
			withDom(icol("pid", 32, false, true, false), intDom(1, 16)), icol("v", 32, false, true, false)}},
		{name: "gen", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 40)), icol("a", 32, false, true, false),
			{name: "b", kind: kInt, bits: 32, nullable: true, deflt: true, gen: true},
			{name: "c", kind: kInt, bits: 32, nullable: true, deflt: true, gen: true}}},
		{name: "chk", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 40)),
			withDom(icol("v", 32, false, true, false), intDom(-3, 60))}},
		{name: "dect", weight: 1, pk: []string{"id"}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 40)),
			{name: "d", kind: kDec, deflt: true}, {name: "dt", kind: kTime, nullable: true, deflt: true},
			icol("v", 32, false, true, false), icol("e", 32, false, true, true)}},
		{name: "nopk", weight: 1, pk: []string{"a"}, cols: []*dcol{
			withDom(icol("a", 32, false, false, false), intDom(1, 30)), icol("b", 32, false, true, false)}},
	}
	dt2 := []*dtable{
		{name: "sbtest", weight: 4, pk: []string{"id"}, uniq: [][]string{{"k"}}, cols: []*dcol{
			withDom(icol("id", 32, false, false, false), intDom(1, 130)),
			withDom(icol("k", 32, false, false, true), intDom(995, 1110)),
			scol("c", 120, false, true), scol("pad", 60, false, true)}},
		{name: "ci", weight: 2, pk: []string{"name"}, cols: []*dcol{
			withDom(scol("name", 24, false, false), wordDom(nameWords...)),
			icol("v", 32, false, true, false), scol("note", 16, true, false), scol("txt", 1000, true, false)}},
		{name: "comp", weight: 2, pk: []string{"b", "a"}, cols: []*dcol{
			withDom(icol("a", 32, false, false, false), intDom(0, 13)),
			withDom(scol("b", 16, false, false), wordDom("x", "X", "y", "Z", "z", "yy", "", "x ")),
			icol("v", 64, false, true, false), scol("s", 10, false, true)}},
	}
	for _, tb := range dt {
		tb.db = "dt"
	}
	for _, tb := range dt2 {
		tb.db = "dt2"
	}
	// nopk has no primary key: its unique key is what lookups use.
	dt[len(dt)-1].uniq, dt[len(dt)-1].pk = [][]string{{"a"}}, []string{"a"}
	return map[string][]*dtable{"dt": dt, "dt2": dt2}
}

// diffGen generates statements. It never looks at results: the sequence depends only on the
// seed and the statement count.
type diffGen struct {
	r     *rand.Rand
	n     int // statements generated
	count int
	specs map[string][]*dtable

	db      string // the main session's current database
	dbLeft  int    // statements until USE dt again
	txLeft  int    // statements until COMMIT/ROLLBACK of an explicit transaction
	noAuto  int    // statements until the end of an autocommit = 0 stretch
	limLeft int    // statements until sql_select_limit is reset
	modLeft int    // statements until sql_mode is reset
	aiLeft  int    // statements until auto_increment_increment/offset are reset
	roLeft  int    // statements until transaction_read_only is reset
	sessRO  bool   // transaction_read_only is ON
	pending []*dstmt
	ddl     int // DDL toggles done
	// readOnly: in a START TRANSACTION READ ONLY. GMS's general path panics (and drops the
	// connection, on both nodes alike) on a write to a table with generated columns in a
	// read-only transaction, so such writes are not generated then (nor with
	// transaction_read_only ON).
	readOnly bool
	// textOnly: every statement is sent as text (RELAYDB_DIFF_MODE=text).
	textOnly bool
	// recent holds recent statements without rows or with, which text-only runs send again
	// with other numbers, as applications repeat a handful of statement shapes.
	recent []*dstmt
}

func newDiffGen(seed int64, count int) *diffGen {
	return &diffGen{r: rand.New(rand.NewSource(seed ^ 0x5eed)), count: count, specs: diffSpecs(count), db: "dt"}
}

func (g *diffGen) chance(pct int) bool { return g.r.Intn(100) < pct }

func (g *diffGen) inTx() bool { return g.txLeft > 0 || g.noAuto > 0 }

// finish returns the statements that end what is open: a transaction, session settings.
func (g *diffGen) finish() []*dstmt {
	var out []*dstmt
	if g.inTx() {
		out = append(out, &dstmt{shape: "commit", sql: "COMMIT", mode: modeLitPrep})
	}
	if g.noAuto > 0 {
		out = append(out, g.session("SET autocommit = 1"))
	}
	return out
}

func (g *diffGen) session(q string) *dstmt {
	return &dstmt{shape: "session", sql: q, mode: modeText}
}

func (g *diffGen) next() *dstmt {
	st := g.next1()
	if g.textOnly && st.mode != modeText {
		st.mode, st.repeat = modeText, 0
	}
	if g.textOnly && isDML(st.shape) && !st.pin {
		// Not in read-only stretches: the statement was made for what was allowed then (see
		// readOnly).
		if len(g.recent) > 0 && !g.readOnly && !g.sessRO && g.chance(60) {
			st = g.again(g.recent[g.r.Intn(len(g.recent))])
		} else if len(g.recent) < 40 {
			g.recent = append(g.recent, st)
		} else {
			g.recent[g.r.Intn(len(g.recent))] = st
		}
	}
	if st.mode == modeText && (st.shape != "session" && st.shape != "ddl" || g.chance(10)) {
		st.textSQL = g.textify(st)
	}
	g.n++
	st.countersFirst = g.chance(35)
	dml := strings.HasPrefix(st.shape, "select") || strings.HasPrefix(st.shape, "update") ||
		strings.HasPrefix(st.shape, "delete") || strings.HasPrefix(st.shape, "insert")
	if dml && !st.pin && !g.inTx() && g.chance(8) {
		st.conn = 1
	}
	return st
}

func (g *diffGen) next1() *dstmt {
	if len(g.pending) > 0 {
		st := g.pending[0]
		g.pending = g.pending[1:]
		return st
	}
	// Session state that expires.
	if g.limLeft > 0 {
		if g.limLeft--; g.limLeft == 0 {
			return g.session("SET SESSION sql_select_limit = DEFAULT")
		}
	}
	if g.modLeft > 0 {
		if g.modLeft--; g.modLeft == 0 {
			return g.session("SET SESSION sql_mode = DEFAULT")
		}
	}
	if g.roLeft > 0 {
		if g.roLeft--; g.roLeft == 0 {
			g.sessRO = false
			return g.session("SET SESSION transaction_read_only = OFF")
		}
	}
	if g.aiLeft > 0 {
		if g.aiLeft--; g.aiLeft == 0 {
			return g.session("SET SESSION auto_increment_increment = DEFAULT, auto_increment_offset = DEFAULT")
		}
	}
	if g.dbLeft > 0 {
		if g.dbLeft--; g.dbLeft == 0 {
			g.db = "dt"
			return g.session("USE dt")
		}
	}
	if g.txLeft > 0 {
		if g.txLeft--; g.txLeft == 0 {
			return g.endTx()
		}
		if g.chance(3) {
			// BEGIN inside a transaction commits it and starts another.
			g.txLeft += 2
			return g.beginTx()
		}
		return g.dml()
	}
	if g.noAuto > 0 {
		if g.noAuto--; g.noAuto == 0 {
			g.pending = append(g.pending, g.session("SET autocommit = 1"))
			return g.endTx()
		}
		if g.chance(8) {
			return g.endTx() // COMMIT/ROLLBACK with autocommit off: the next statement starts anew
		}
		return g.dml()
	}
	switch x := g.r.Intn(1000); {
	case x < 55:
		g.txLeft = 2 + g.r.Intn(8)
		return g.beginTx()
	case x < 60:
		g.noAuto = 3 + g.r.Intn(10)
		return g.session("SET autocommit = 0")
	case x < 62 && g.db == "dt":
		g.db, g.dbLeft = "dt2", 20+g.r.Intn(60)
		return g.session("USE dt2")
	case x < 64 && g.limLeft == 0:
		g.limLeft = 5 + g.r.Intn(20)
		return g.session(fmt.Sprintf("SET SESSION sql_select_limit = %d", g.r.Intn(3)))
	case x < 66 && g.modLeft == 0:
		g.modLeft = 10 + g.r.Intn(40)
		modes := []string{"''", "'NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES'", "'STRICT_ALL_TABLES'", "'ANSI_QUOTES'",
			"'NO_BACKSLASH_ESCAPES'", "'PIPES_AS_CONCAT,STRICT_TRANS_TABLES'", "'ANSI'"}
		return g.session("SET SESSION sql_mode = " + modes[g.r.Intn(len(modes))])
	case x < 68:
		return g.ddlToggle()
	case x < 69 && g.roLeft == 0:
		g.roLeft, g.sessRO = 3+g.r.Intn(8), true
		return g.session("SET SESSION transaction_read_only = ON")
	case x < 70 && g.aiLeft == 0:
		g.aiLeft = 10 + g.r.Intn(30)
		return g.session(fmt.Sprintf("SET SESSION auto_increment_increment = %d, auto_increment_offset = %d",
			2+g.r.Intn(4), 1+g.r.Intn(3)))
	case x < 72:
		// SET insert_id chooses the next generated AUTO_INCREMENT value (statement-based
		// replication sends it); an INSERT that generates one follows.
		var rows []string
		var args []any
		for i := 0; i < 1+g.r.Intn(3); i++ {
			rows = append(rows, "(?, ?, ?)")
			args = append(args, g.val(g.specs["dt"][0].col("k"), false), fmt.Sprintf("insert-id-%d", i), "")
		}
		g.pending = append(g.pending, &dstmt{shape: "insert.insert_id", mode: modeParam, pin: true,
			sql: "INSERT INTO dt.sbtest (k, c, pad) VALUES " + strings.Join(rows, ", "), args: args})
		id := 1 + g.r.Intn(300+g.n/6)
		if g.chance(50) {
			id = 100000 + g.n
		}
		return g.session(fmt.Sprintf("SET insert_id = %d", id))
	}
	return g.dml()
}

func (g *diffGen) beginTx() *dstmt {
	texts := []string{"BEGIN", "START TRANSACTION", "begin", "START TRANSACTION READ WRITE",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT", "START TRANSACTION READ ONLY"}
	q := texts[0]
	if x := g.r.Intn(100); x >= 50 {
		q = texts[1+x%len(texts[1:])]
	}
	g.readOnly = strings.HasSuffix(q, "READ ONLY")
	return &dstmt{shape: "begin", sql: q, mode: g.txMode()}
}

func (g *diffGen) endTx() *dstmt {
	g.readOnly = false
	if g.chance(35) {
		return &dstmt{shape: "rollback", sql: []string{"ROLLBACK", "rollback", "ROLLBACK WORK"}[g.r.Intn(3)], mode: g.txMode()}
	}
	return &dstmt{shape: "commit", sql: []string{"COMMIT", "commit", "COMMIT WORK"}[g.r.Intn(3)], mode: g.txMode()}
}

func (g *diffGen) txMode() int {
	if g.chance(75) {
		return modeLitPrep // prepared without arguments; kept for reuse like any other
	}
	return modeText
}

// ddlToggle changes the catalog in ways that change what the fast path may do with a table:
// plans cached by prepared statements must notice.
func (g *diffGen) ddlToggle() *dstmt {
	g.ddl++
	on := g.ddl%2 == 1
	var q string
	switch g.r.Intn(5) {
	case 0:
		q = "DROP TRIGGER dt.ci_ai"
		if on {
			q = "CREATE TRIGGER dt.ci_ai AFTER INSERT ON dt.ci FOR EACH ROW INSERT INTO dt.audit (tbl, op, k) VALUES ('ci', 'ins', NEW.name)"
		}
	case 1:
		q = "ALTER TABLE dt.ints DROP INDEX ints_iu"
		if on {
			q = "ALTER TABLE dt.ints ADD UNIQUE INDEX ints_iu (i)"
		}
	case 2:
		q = fmt.Sprintf("ALTER TABLE dt.sbtest ALTER COLUMN pad SET DEFAULT '%s'", []string{"", "pad-default"}[g.ddl%2])
	case 3:
		q = "ALTER TABLE dt.uq DROP CHECK uq_n"
		if on {
			q = "ALTER TABLE dt.uq ADD CONSTRAINT uq_n CHECK (n < 300)"
		}
	case 4:
		// Changes the result metadata of prepared SELECTs of note.
		q = fmt.Sprintf("ALTER TABLE dt.ci MODIFY note VARCHAR(%d)", []int{16, 20}[g.ddl%2])
	}
	return &dstmt{shape: "ddl", sql: q, mode: modeText}
}

// pickTable picks a table of the current database, or now and then one named with its
// database.
func (g *diffGen) pickTable() (*dtable, string) {
	db := g.db
	qualified := false
	if g.chance(6) {
		db, qualified = []string{"dt", "dt2"}[g.r.Intn(2)], true
	}
	tables := g.specs[db]
	total := 0
	for _, tb := range tables {
		total += tb.weight
	}
	x := g.r.Intn(total)
	for _, tb := range tables {
		if x -= tb.weight; x < 0 {
			if qualified {
				return tb, tb.db + "." + tb.name
			}
			return tb, tb.name
		}
	}
	panic("unreachable")
}

func (g *diffGen) dml() *dstmt {
	tb, ref := g.pickTable()
	var st *dstmt
	switch x := g.r.Intn(100); {
	case x < 42 || ((g.readOnly || g.sessRO) && tb.name == "gen"):
		st = g.selectStmt(tb, ref)
	case x < 64:
		st = g.updateStmt(tb, ref)
	case x < 72:
		st = g.deleteStmt(tb, ref)
	default:
		st = g.insertStmt(tb, ref)
	}
	switch x := g.r.Intn(100); {
	case x < 65:
		st.mode = modeParam
	case x < 77:
		st.mode = modeLitPrep
		if st.query && g.chance(60) {
			st.repeat = 2 // the first execution of a prepared SELECT always takes the general path
		}
	default:
		st.mode = modeText
	}
	return st
}

// values --------------------------------------------------------------------------------------

func (c *dcol) bounds() (lo, hi *big.Int) {
	if c.unsigned {
		return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(c.bits)), big.NewInt(1))
	}
	hi = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(c.bits-1)), big.NewInt(1))
	return new(big.Int).Neg(new(big.Int).Add(hi, big.NewInt(1))), hi
}

// bigArg is n as the narrowest Go integer argument, or a numeric literal beyond uint64.
func bigArg(n *big.Int) any {
	if n.IsInt64() {
		return n.Int64()
	}
	if n.IsUint64() {
		return n.Uint64()
	}
	return numLit(n.String())
}

// val is a value for column c: of its type and in range, unless miss.
func (g *diffGen) val(c *dcol, miss bool) any {
	if miss {
		return g.missVal(c)
	}
	if c.dom != nil && g.chance(85) {
		return g.unsignedSometimes(c.dom(g))
	}
	if c.nullable && g.chance(10) {
		return nil
	}
	switch c.kind {
	case kInt:
		lo, hi := c.bounds()
		var v *big.Int
		switch x := g.r.Intn(10); {
		case x < 6:
			v = big.NewInt(int64(g.r.Intn(120)) - 20)
			if v.Cmp(lo) < 0 {
				v = new(big.Int).Neg(v)
			}
		case x < 8:
			edges := []*big.Int{lo, hi, new(big.Int).Add(lo, big.NewInt(1)), new(big.Int).Sub(hi, big.NewInt(1)), big.NewInt(0), big.NewInt(1)}
			v = edges[g.r.Intn(len(edges))]
		default:
			span := new(big.Int).Add(new(big.Int).Sub(hi, lo), big.NewInt(1))
			v = new(big.Int).Add(lo, new(big.Int).Rand(g.r, span))
		}
		return g.unsignedSometimes(bigArg(v))
	case kStr:
		var s string
		switch x := g.r.Intn(10); {
		case x < 5:
			s = diffWords[g.r.Intn(len(diffWords))]
		case x < 9:
			b := make([]byte, g.r.Intn(min(c.size, 14)+1))
			for i := range b {
				b[i] = "abcdefghijklmnopqrstuvwxyzABC0123456789 -_"[g.r.Intn(42)]
				if i > 0 && (b[i] == 'e' || b[i] == 'E') && (b[i-1] >= '0' && b[i-1] <= '9' || b[i-1] == '.') {
					// GMS's general path panics comparing a stored '4e' (a digit, then e and no
					// exponent) with a DECIMAL or float value, on both nodes alike, and drops the
					// connection when the statement is prepared: such strings are not stored.
					b[i] = 'f'
				}
			}
			s = strings.TrimRight(string(b), " ")
		default:
			s = strings.Repeat("m", c.size) // exactly the column's length
		}
		if r := []rune(s); len(r) > c.size {
			s = string(r[:c.size])
		}
		return s
	case kDec:
		return []any{numLit("12.34"), "7.5", int64(3), numLit("-0.01"), "0"}[g.r.Intn(5)]
	case kTime:
		return []any{"2024-01-02 03:04:05", "2023-12-31 23:59:59", time.Date(2022, 6, 7, 8, 9, 10, 0, time.UTC)}[g.r.Intn(3)]
	case kBin:
		return []any{[]byte("ab"), []byte{}, []byte("\x00\x01")}[g.r.Intn(3)]
	}
	panic("kind")
}

// freshVal is a key value from a range the initial rows do not use, which INSERTs fill (so
// that not every INSERT hits a duplicate key) and lookups read; ok is false for columns too
// narrow for it.
func (g *diffGen) freshVal(c *dcol) (any, bool) {
	switch {
	case c.kind == kInt && !c.autoInc && c.bits >= 32:
		return int64(1000 + g.r.Intn(500)), true
	case c.kind == kStr && c.size >= 8:
		return fmt.Sprintf("k%03d", g.r.Intn(300)), true
	}
	return nil, false
}

// trimTrailingSpaces removes trailing spaces from a string value (other values pass unchanged).
func trimTrailingSpaces(v any) any {
	if s, ok := v.(string); ok {
		return strings.TrimRight(s, " ")
	}
	return v
}

// unsignedSometimes passes a non-negative int64 as uint64 now and then (an unsigned bind).
func (g *diffGen) unsignedSometimes(v any) any {
	if i, ok := v.(int64); ok && i >= 0 && g.chance(10) {
		return uint64(i)
	}
	return v
}

// missVal is a value that does not fit column c as it is: NULL, out of range, of another type,
// too long, differing in case or trailing spaces…
func (g *diffGen) missVal(c *dcol) any {
	common := []any{nil, 1.5, 2.0, []byte("3"), "", numLit("3.0"), numLit("1e2")}
	switch c.kind {
	case kInt:
		lo, hi := c.bounds()
		vals := []any{bigArg(new(big.Int).Add(hi, big.NewInt(1))), bigArg(new(big.Int).Sub(lo, big.NewInt(1))),
			"12", "12abc", " 7", "-0", "0x10", uint64(1) << 63, int64(math.MinInt64), int64(300), int64(-1),
			int64(math.MaxInt64), uint64(math.MaxUint64), numLit("-0"), numLit("0x1F"), "１"}
		return append(vals, common...)[g.r.Intn(len(vals)+len(common))]
	case kStr:
		w := "alpha"
		if c.dom != nil {
			if s, ok := c.dom(g).(string); ok {
				w = s
			}
		}
		vals := []any{strings.Repeat("L", c.size+1), strings.Repeat("é", c.size+1), w + " ", w + "  ", " " + w,
			strings.ToUpper(w), strings.ToLower(w), int64(42), uint64(7), int64(-5), "ß", "\xff\xfe", "😀", "NULL", []byte(w),
			w + strings.Repeat(" ", c.size)}
		return append(vals, common...)[g.r.Intn(len(vals)+len(common))]
	case kDec:
		return []any{"abc", numLit("1e20"), "99999999.999", 1.25, nil}[g.r.Intn(5)]
	case kTime:
		return []any{"2024-02-30 00:00:00", "not a date", int64(20240102030405), nil, ""}[g.r.Intn(5)]
	case kBin:
		return []any{"ab", "123456789", []byte("123456789"), int64(5), nil}[g.r.Intn(5)]
	}
	panic("kind")
}

// writable are the columns a statement may assign.
func (t *dtable) writable() []*dcol {
	var out []*dcol
	for _, c := range t.cols {
		if !c.gen {
			out = append(out, c)
		}
	}
	return out
}

// values of one statement: at most one of them (with probability missPct) is a near miss.
type valPlan struct {
	g    *diffGen
	miss int // index of the value to make a near miss, or -1
	i    int
}

func (g *diffGen) valPlan(slots int) *valPlan {
	vp := &valPlan{g: g, miss: -1}
	if slots > 0 && g.chance(18) {
		vp.miss = g.r.Intn(slots)
	}
	return vp
}

func (vp *valPlan) val(c *dcol) any {
	miss := vp.i == vp.miss
	vp.i++
	return vp.g.val(c, miss)
}

// where builds a conjunction of key = value.
func (g *diffGen) where(tb *dtable, cols []string, qual string, vp *valPlan) (string, []any) {
	order := append([]string(nil), cols...)
	if len(order) > 1 && g.chance(30) {
		order[0], order[1] = order[1], order[0]
	}
	var parts []string
	var args []any
	for _, name := range order {
		if g.chance(5) {
			parts = append(parts, "? = "+qual+name)
		} else {
			parts = append(parts, qual+name+" = ?")
		}
		c := tb.col(name)
		if f, ok := g.freshVal(c); ok && vp.i != vp.miss && g.chance(25) {
			vp.i++
			args = append(args, f)
			continue
		}
		args = append(args, vp.val(c))
	}
	w := strings.Join(parts, " AND ")
	if len(parts) > 1 && g.chance(10) {
		w = "(" + w + ")"
	}
	return " WHERE " + w, args
}

// lookupKey picks the columns a statement looks its rows up by: the primary key or a unique key
// (fast), or now and then something else (a near miss).
func (g *diffGen) lookupKey(tb *dtable, miss bool) ([]string, bool) {
	if miss {
		var cands [][]string
		cands = append(cands, tb.other...)
		if len(tb.pk) > 1 {
			cands = append(cands, tb.pk[:1])
		}
		nonKey := []string{}
		for _, c := range tb.cols {
			if !contains(tb.pk, c.name) {
				nonKey = append(nonKey, c.name)
			}
		}
		if len(nonKey) > 0 {
			cands = append(cands, append(append([]string(nil), tb.pk...), nonKey[g.r.Intn(len(nonKey))]))
		}
		if len(cands) > 0 {
			return cands[g.r.Intn(len(cands))], true
		}
	}
	if len(tb.uniq) > 0 && g.chance(35) {
		return tb.uniq[g.r.Intn(len(tb.uniq))], false
	}
	return tb.pk, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// statements ----------------------------------------------------------------------------------

func (g *diffGen) selectStmt(tb *dtable, ref string) *dstmt {
	from, qual := ref, ""
	switch x := g.r.Intn(100); {
	case x < 6:
		from, qual = ref+" AS x", "x."
	case x < 9:
		from = ref + " x"
	case x < 15:
		qual = tb.name + "."
	}
	// The projection: a few fixed choices per table, so prepared statements are reused (the
	// first execution of a prepared SELECT always takes the general path).
	var proj string
	switch x := g.r.Intn(100); {
	case x < 45:
		proj = "*"
	case x < 65:
		proj = tb.cols[len(tb.cols)-1].name
	case x < 78:
		var names []string
		for i, c := range tb.cols {
			if i%2 == 0 {
				names = append(names, qual+c.name)
			}
		}
		proj = strings.Join(names, ", ")
	case x < 88:
		c := tb.cols[len(tb.cols)/2]
		proj = qual + c.name + " AS x_" + c.name + ", " + tb.cols[0].name + " f1"
	default:
		names := []string{}
		for i := len(tb.cols) - 1; i >= 0; i-- {
			names = append(names, tb.cols[i].name)
		}
		proj = strings.Join(names, ", ")
	}
	st := &dstmt{query: true}
	// A BETWEEN range on a one-column primary key.
	if len(tb.pk) == 1 && g.chance(20) {
		k := tb.col(tb.pk[0])
		vp := g.valPlan(2)
		lo, hi := vp.val(k), vp.val(k)
		if k.kind == kStr {
			// Known difference, not the fast path's: for BETWEEN bounds that differ only in
			// trailing spaces ('a ' AND 'a') on a PAD SPACE collation, GMS's general path
			// compares without padding (no row) while the fast path's key encoding pads, as
			// MySQL does (the row 'a'). Seed 1796629646377606445 found it on 2026-12-07; until
			// the general path pads, bounds here carry no trailing spaces.
			lo, hi = trimTrailingSpaces(lo), trimTrailingSpaces(hi)
		}
		if g.chance(70) {
			lo, hi = orderArgs(lo, hi) // mostly lo <= hi; reversed bounds otherwise
		}
		st.shape = "select.range"
		op := "BETWEEN"
		if g.chance(5) {
			op, st.shape = "NOT BETWEEN", "select.range.miss"
		}
		tail := ""
		// ORDER BY, DISTINCT … ORDER BY and aggregates over the range (sysbench's range queries
		// and their near misses). A few fixed choices per table, so statements are reused.
		c := tb.cols[len(tb.cols)-1]
		c2 := tb.cols[len(tb.cols)/2]
		switch x := g.r.Intn(100); {
		case x < 15:
			tail, st.shape = " ORDER BY "+qual+c.name, st.shape+".order"
		case x < 22:
			tail, st.shape = " ORDER BY "+c2.name+" DESC, "+qual+c.name, st.shape+".order"
		case x < 34:
			proj, tail, st.shape = "DISTINCT "+qual+c.name, " ORDER BY "+c.name, st.shape+".distinct"
		case x < 37:
			// DISTINCT without ORDER BY, and ORDER BY a different column: general path.
			proj, st.shape = "DISTINCT "+c.name, st.shape+".distinct.miss"
			if g.chance(50) {
				tail = " ORDER BY " + c2.name
			}
		case x < 55:
			fns := []string{"SUM(%s)", "MIN(%s)", "MAX(%s)", "COUNT(%s)", "COUNT(*)", "SUM(%s)"}
			arg := c.name
			if g.chance(50) {
				arg = c2.name
			}
			proj, st.shape = fmt.Sprintf(fns[g.r.Intn(len(fns))], qual+arg), st.shape+".agg"
			if strings.HasPrefix(proj, "COUNT(*") {
				proj = "COUNT(*)"
			}
		case x < 58:
			// Aggregates the fast path leaves alone.
			proj, st.shape = []string{"AVG(" + c.name + ")", "SUM(DISTINCT " + c.name + ")", "COUNT(" + c.name + "), MAX(" + c.name + ")"}[g.r.Intn(3)], st.shape+".agg.miss"
		}
		st.sql = fmt.Sprintf("SELECT %s FROM %s WHERE %s%s %s ? AND ?%s", proj, from, qual, k.name, op, tail)
		st.args = []any{lo, hi}
		return st
	}
	missShape := g.chance(12)
	key, missKey := g.lookupKey(tb, missShape)
	vp := g.valPlan(len(key))
	where, args := g.where(tb, key, qual, vp)
	st.shape, st.sql, st.args = "select.point", "SELECT "+proj+" FROM "+from+where, args
	if missKey {
		st.shape = "select.miss"
	} else if missShape {
		st.shape = "select.miss"
		switch g.r.Intn(6) {
		case 0:
			st.sql += " LIMIT 1"
		case 1:
			st.sql += " FOR UPDATE"
		case 2:
			st.sql = "SELECT " + tb.cols[0].name + " + 0 FROM " + from + where
		case 3:
			st.sql += " ORDER BY " + tb.pk[0]
		case 4:
			st.sql = "SELECT DISTINCT " + proj + " FROM " + from + where
		case 5:
			st.sql = "SELECT SQL_CALC_FOUND_ROWS " + proj + " FROM " + from + where
		}
	}
	return st
}

// orderArgs returns two integer arguments in ascending order (others as they are).
func orderArgs(a, b any) (any, any) {
	toBig := func(v any) *big.Int {
		switch x := v.(type) {
		case int64:
			return big.NewInt(x)
		case uint64:
			return new(big.Int).SetUint64(x)
		}
		return nil
	}
	ba, bb := toBig(a), toBig(b)
	if ba != nil && bb != nil && ba.Cmp(bb) > 0 {
		return b, a
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok && sa > sb {
			return b, a
		}
	}
	return a, b
}

func (g *diffGen) updateStmt(tb *dtable, ref string) *dstmt {
	target, qual := ref, ""
	if g.chance(6) {
		target, qual = ref+" AS u", "u."
	} else if g.chance(6) {
		qual = tb.name + "."
	}
	missShape := g.chance(10)
	// Assignments: one to three columns, mostly not of the key.
	cols := tb.writable()
	var cands []*dcol
	for _, c := range cols {
		if !contains(tb.pk, c.name) || g.chance(5) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		cands = cols
	}
	g.r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	n := 1 + g.r.Intn(min(3, len(cands)))
	sets := cands[:n]
	vp := g.valPlan(n + len(tb.pk))
	var parts []string
	var args []any
	arith := false
	for _, c := range sets {
		if c.kind == kInt && !c.autoInc && g.chance(45) {
			arith = true
			op := "+"
			if g.chance(40) {
				op = "-"
			}
			parts = append(parts, fmt.Sprintf("%s = %s%s %s ?", qual+c.name, qual, c.name, op))
			if vp.i == vp.miss {
				vp.i++
				args = append(args, g.missVal(c))
			} else {
				vp.i++
				deltas := []any{int64(1), int64(1), int64(3), int64(-3), int64(100), int64(0), uint64(2),
					int64(math.MaxInt32), int64(math.MaxInt64), int64(math.MinInt64), int64(255), int64(1) << 40}
				args = append(args, deltas[g.r.Intn(len(deltas))])
			}
			continue
		}
		parts = append(parts, qual+c.name+" = ?")
		args = append(args, vp.val(c))
	}
	st := &dstmt{shape: "update"}
	if arith {
		st.shape = "update.arith"
	}
	key, missKey := g.lookupKey(tb, missShape)
	where, wargs := g.where(tb, key, qual, vp)
	set := strings.Join(parts, ", ")
	st.sql, st.args = "UPDATE "+target+" SET "+set+where, append(args, wargs...)
	if missKey {
		st.shape = "update.miss"
	} else if missShape {
		st.shape = "update.miss"
		c := sets[0]
		switch g.r.Intn(6) {
		case 0:
			st.sql = "UPDATE IGNORE " + target + " SET " + set + where
		case 1:
			st.sql += " LIMIT 1"
		case 2:
			st.sql = "UPDATE " + target + " SET " + qual + c.name + " = ?, " + set + where
			st.args = append([]any{g.val(c, false)}, st.args...)
		case 3:
			st.sql = "UPDATE " + target + " SET " + qual + c.name + " = ? + " + qual + c.name + where
			st.args = append([]any{int64(1)}, wargs...)
		case 4:
			st.sql = "UPDATE " + target + " SET " + qual + c.name + " = " + qual + c.name + " * ?" + where
			st.args = append([]any{int64(2)}, wargs...)
		case 5:
			st.sql += " ORDER BY " + tb.pk[0]
		}
	}
	return st
}

func (g *diffGen) deleteStmt(tb *dtable, ref string) *dstmt {
	missShape := g.chance(10)
	key, missKey := g.lookupKey(tb, missShape)
	qual := ""
	if g.chance(8) {
		qual = tb.name + "."
	}
	where, args := g.where(tb, key, qual, g.valPlan(len(key)))
	st := &dstmt{shape: "delete", sql: "DELETE FROM " + ref + where, args: args}
	if missKey {
		st.shape = "delete.miss"
	} else if missShape {
		st.shape = "delete.miss"
		switch g.r.Intn(3) {
		case 0:
			st.sql += " LIMIT 1"
		case 1:
			st.sql += " ORDER BY " + tb.pk[0]
		case 2:
			if len(tb.pk) == 1 {
				st.sql = "DELETE FROM " + ref + " WHERE " + tb.pk[0] + " BETWEEN ? AND ?"
				k := tb.col(tb.pk[0])
				st.args = []any{g.val(k, false), g.val(k, false)}
			}
		}
	}
	return st
}

func (g *diffGen) insertStmt(tb *dtable, ref string) *dstmt {
	all := tb.writable()
	var cols []*dcol
	listed := true
	switch x := g.r.Intn(20); {
	case x < 7 && len(all) == len(tb.cols):
		cols, listed = all, false // INSERT INTO t VALUES (…): every column, in table order
	case x < 14:
		cols = append(cols, all...)
		g.r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	default:
		// Leave out some columns: those with defaults mostly, now and then one without.
		for _, c := range all {
			if (c.deflt && g.chance(50)) || g.chance(4) {
				continue
			}
			cols = append(cols, c)
		}
		if len(cols) == 0 {
			cols = all[len(all)-1:]
		}
	}
	nrows := 1
	if g.chance(35) {
		nrows = 2 + g.r.Intn(4)
	}
	vp := g.valPlan(nrows * len(cols))
	var tuples []string
	var args []any
	var firstKey []any
	for r := 0; r < nrows; r++ {
		var ph []string
		var rowKey []any
		for _, c := range cols {
			ph = append(ph, "?")
			var v any
			switch {
			case c.autoInc:
				vp.i++
				switch x := g.r.Intn(10); {
				case x < 5:
					v = nil
				case x < 7:
					v = int64(0)
				case x < 9:
					v = c.dom(g)
				default:
					v = g.missVal(c)
				}
			default:
				v = vp.val(c)
				if f, ok := g.freshVal(c); ok && tb.isKey(c.name) && g.chance(60) {
					v = f
				}
			}
			if contains(tb.pk, c.name) {
				rowKey = append(rowKey, v)
			}
			args = append(args, v)
		}
		// Now and then a row repeats the first row's key: a duplicate in the middle.
		if r > 0 && len(rowKey) == len(tb.pk) && len(firstKey) == len(tb.pk) && g.chance(25) {
			k := 0
			for i, c := range cols {
				if contains(tb.pk, c.name) {
					args[len(args)-len(cols)+i] = firstKey[k]
					k++
				}
			}
		}
		if r == 0 {
			firstKey = rowKey
		}
		tuples = append(tuples, "("+strings.Join(ph, ", ")+")")
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	head := "INSERT INTO " + ref
	if listed {
		head += " (" + strings.Join(names, ", ") + ")"
	}
	st := &dstmt{shape: "insert", sql: head + " VALUES " + strings.Join(tuples, ", "), args: args}
	if nrows > 1 {
		st.shape = "insert.multi"
	}
	if g.chance(10) {
		st.shape = "insert.miss"
		switch g.r.Intn(6) {
		case 0:
			st.sql = strings.Replace(st.sql, "INSERT INTO", "INSERT IGNORE INTO", 1)
		case 1:
			st.sql = strings.Replace(st.sql, "INSERT INTO", "REPLACE INTO", 1)
		case 2:
			st.sql += " ON DUPLICATE KEY UPDATE " + cols[len(cols)-1].name + " = VALUES(" + cols[len(cols)-1].name + ")"
		case 3:
			if nrows == 1 {
				// INSERT … SET is an INSERT with a column list to the parser: a fast shape.
				st.shape = "insert"
				sets := make([]string, len(names))
				for i, n := range names {
					sets[i] = n + " = ?"
				}
				st.sql = "INSERT INTO " + ref + " SET " + strings.Join(sets, ", ")
			}
		case 4:
			st.sql, st.args = "INSERT INTO "+ref+" () VALUES ()", nil
		case 5:
			st.sql = strings.Replace(st.sql, "(?", "(? + 0", 1)
		}
	}
	return st
}

// textify writes a text statement as applications do, in varied ways that must not change what
// either path does with it: each argument in one of several spellings of a literal (escapes,
// double quotes, introducers, hex, exponents, quoted numbers — some of these change the value's
// type, which the fast path must notice), keywords in mixed case, comments before, inside and
// after it, and for statements without rows now and then a second statement.
func (g *diffGen) textify(st *dstmt) string {
	q := st.sql
	if g.chance(15) {
		q = g.mixCase(q)
	}
	var sb strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' && n < len(st.args) {
			sb.WriteString(g.spell(st.args[n]))
			n++
			continue
		}
		sb.WriteByte(q[i])
	}
	out := sb.String()
	switch x := g.r.Intn(100); {
	case x < 6:
		out = "/* app:" + strconv.Itoa(g.r.Intn(3)) + " */ " + out
	case x < 10:
		out += " -- trailing"
	case x < 13:
		out += " # trailing\n"
	case x < 16:
		out = "\n  " + out + " ;"
	case x < 19 && strings.HasPrefix(out, "SELECT "):
		out = "SELECT /*!40001 SQL_NO_CACHE */ " + out[len("SELECT "):]
	case x < 22 && strings.HasPrefix(out, "SELECT "):
		out = "SELECT /*+ NO_ICP(t) */ " + out[len("SELECT "):]
	}
	if !st.query && g.chance(8) {
		if g.chance(50) {
			out = "SET @diff_multi = " + strconv.Itoa(g.n) + "; " + out
		} else {
			out += "; SET @diff_multi = " + strconv.Itoa(g.n)
		}
	}
	return out
}

// mixCase flips the case of some letters outside quotes (keywords and names are
// case-insensitive; the names' spelling shows in result metadata, the same on both nodes).
func (g *diffGen) mixCase(q string) string {
	b := []byte(q)
	var quote byte
	for i, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case 'a' <= c && c <= 'z' && g.chance(40):
			b[i] = c - 32
		case 'A' <= c && c <= 'Z' && g.chance(40):
			b[i] = c + 32
		}
	}
	return string(b)
}

// spell writes v as a literal, in one of several spellings.
func (g *diffGen) spell(v any) string {
	x := g.r.Intn(100)
	switch v := v.(type) {
	case nil:
		if x < 30 {
			return "null"
		}
	case int64, uint64:
		s := literal(v)
		neg := strings.HasPrefix(s, "-")
		switch {
		case x < 6:
			return "'" + s + "'"
		case x < 9 && !neg:
			return fmt.Sprintf("0x%X", v)
		case x < 12:
			return s + ".0"
		case x < 14:
			return s + "e0"
		case x < 16 && !neg:
			return "+" + s
		case x < 18:
			return "(" + s + ")"
		}
		return s
	case string:
		return g.spellString(v)
	case []byte:
		if x < 20 {
			return fmt.Sprintf("X'%X'", v)
		}
		return g.spellString(string(v))
	}
	return literal(v)
}

func (g *diffGen) spellString(s string) string {
	switch x := g.r.Intn(100); {
	case x < 10:
		// Backslash escapes instead of doubled quotes.
		return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`, "\n", `\n`, "\t", `\t`).Replace(s) + "'"
	case x < 15:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace(s) + `"`
	case x < 19:
		return "_utf8mb4" + quote(s)
	case x < 22:
		return fmt.Sprintf("X'%X'", s)
	case x < 25:
		return "N" + quote(s)
	case x < 28:
		return quote(s) + " COLLATE utf8mb4_bin"
	case x < 31 && len(s) > 1:
		// Two adjacent literals, which MySQL concatenates.
		return quote(s[:1]) + " " + quote(s[1:])
	}
	return quote(s)
}

func isDML(shape string) bool {
	for _, p := range []string{"select", "update", "delete", "insert"} {
		if strings.HasPrefix(shape, p) {
			return true
		}
	}
	return false
}

// again is st once more, with its integer arguments moved a little (the same types, mostly the
// same digest, other values).
func (g *diffGen) again(st *dstmt) *dstmt {
	c := *st
	c.args = append([]any(nil), st.args...)
	for i, a := range c.args {
		switch x := a.(type) {
		case int64:
			if x > math.MinInt64+8 && x < math.MaxInt64-8 {
				c.args[i] = x + int64(g.r.Intn(7)-3)
			}
		case uint64:
			if x > 8 && x < math.MaxUint64-8 {
				c.args[i] = x + uint64(g.r.Intn(7)) - 3
			}
		}
	}
	c.conn, c.countersFirst, c.textSQL = 0, false, ""
	return &c
}

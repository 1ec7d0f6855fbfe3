package test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/mariadb"
)

// TestIsolationDifferential runs the same concurrent transactions on RelayDB and on MariaDB
// 10.11 (InnoDB), step by step, at each isolation level, and requires the same transcript: for
// every step whether it blocked, its rows or affected-rows count and its error code, and at the
// end the tables' contents. The cases are the classic anomaly set (Hermitage's, with SQL of our
// own) plus InnoDB's locking rules: current reads after a lock wait, semi-consistent reads in
// READ COMMITTED, next-key and gap locks in REPEATABLE READ, shared locks, duplicate-key waits,
// deadlock victims and lock wait timeouts. Shared locks use LOCK IN SHARE MODE: MariaDB 10.11
// does not parse FOR SHARE (nor does RelayDB today).
//
// How a case runs (isoRun): each session is one connection with the case's isolation level and
// innodb_lock_wait_timeout = isoLockWaitSeconds. A step sends its statement without waiting for
// it; a statement with no answer after isoStepWait counts as BLOCKED and stays pending: its
// session's next step (or the end of the case) first waits for it (at most isoAwaitBound; after
// that the harness kills the statement and gives the session up). After every step, statements
// still pending get a further isoStepWait to finish, so one that the step released answers
// before the next step runs. At the end every session rolls back what is still open and the
// tables are read.
//
// Known differences (isoKnownDifferences) are reported but do not fail the test. The summary
// table at the end lists every case at every level: MATCH, KNOWN-DIFF or DIFF.
//
// RELAYDB_ISODIFF_CASES=regexp runs only the matching cases; RELAYDB_ISODIFF_MARIADB_TWICE=1 runs
// the MariaDB side twice and fails if the two runs disagree (the harness must be deterministic);
// RELAYDB_ISODIFF_VERBOSE=1 also prints the transcripts that match.
func TestIsolationDifferential(t *testing.T) {
	cases := isoCases
	if re := os.Getenv("RELAYDB_ISODIFF_CASES"); re != "" {
		rx, err := regexp.Compile(re)
		if err != nil {
			t.Fatalf("RELAYDB_ISODIFF_CASES: %v", err)
		}
		cases = nil
		for _, c := range isoCases {
			if rx.MatchString(c.name) {
				cases = append(cases, c)
			}
		}
	}
	twice := os.Getenv("RELAYDB_ISODIFF_MARIADB_TWICE") != ""
	verbose := os.Getenv("RELAYDB_ISODIFF_VERBOSE") != ""
	started := time.Now()

	maria := mariadb.Start(t)
	relayNode := startNode(t, "")
	servers := []*isoServer{
		newIsoServer(t, "MariaDB", maria.Port, true),
		newIsoServer(t, "RelayDB", relayNode.port, false),
	}
	if twice {
		servers = append(servers, &isoServer{name: "MariaDB (2nd run)", port: maria.Port, mariadb: true,
			admin: servers[0].admin, dbSuffix: "_b"})
	}
	t.Logf("servers up in %v", time.Since(started).Round(time.Millisecond))

	res := isoRunAll(t, servers, cases)

	var rows []isoSummaryRow
	failed := 0
	for _, c := range cases {
		row := isoSummaryRow{name: c.name, cells: map[string]string{}}
		for _, level := range c.runLevels() {
			m, r := res[isoKey{"MariaDB", c.name, level}], res[isoKey{"RelayDB", c.name, level}]
			if twice {
				m2 := res[isoKey{"MariaDB (2nd run)", c.name, level}]
				if d := isoCompare(m, m2); d != nil {
					t.Errorf("MariaDB is not deterministic on %s at %s (harness timing?):\n%s", c.name, level,
						isoSideBySide(c, "MariaDB", m, "MariaDB (2nd run)", m2, d))
				}
			}
			status, reason := isoClassify(c, level, m, r, func(l string) *isoTranscript {
				return res[isoKey{"MariaDB", c.name, l}]
			})
			row.cells[level] = status
			switch status {
			case isoMatch:
				if verbose {
					t.Logf("MATCH %s at %s:\n%s", c.name, level, isoSideBySide(c, "MariaDB", m, "RelayDB", r, nil))
				}
			case isoKnown:
				row.notes = append(row.notes, fmt.Sprintf("%s: %s", isoShort[level], reason))
				t.Logf("KNOWN-DIFF %s at %s (%s):\n%s", c.name, level, reason,
					isoSideBySide(c, "MariaDB", m, "RelayDB", r, isoCompare(m, r)))
			default:
				failed++
				d := isoCompare(m, r)
				row.notes = append(row.notes, fmt.Sprintf("%s: %s", isoShort[level], isoFirstDiff(c, m, r, d)))
				t.Errorf("DIFF %s at %s:\n%s", c.name, level, isoSideBySide(c, "MariaDB", m, "RelayDB", r, d))
			}
		}
		rows = append(rows, row)
	}
	for _, s := range servers {
		if notes := s.noteList(); len(notes) > 0 {
			t.Logf("%s session setup notes:\n  %s", s.name, strings.Join(notes, "\n  "))
		}
	}
	t.Logf("isolation differential: %d cases, %d case×level runs differ, %v\n%s", len(cases), failed,
		time.Since(started).Round(time.Millisecond), isoSummary(rows))
}

// TestIsolationCheckerSelfTest shows that the differential checker can fail: it plants
// differences and requires the comparison to report them. It needs only MariaDB.
func TestIsolationCheckerSelfTest(t *testing.T) {
	maria := mariadb.Start(t)
	srv := newIsoServer(t, "MariaDB", maria.Port, true)
	c := isoCaseNamed(t, "g_single_read_skew")
	rr1 := srv.run(t, c, "REPEATABLE-READ", "self_rr1")
	rr2 := srv.run(t, c, "REPEATABLE-READ", "self_rr2")
	rc := srv.run(t, c, "READ-COMMITTED", "self_rc")
	for _, tr := range []*isoTranscript{rr1, rr2, rc} {
		if tr.SetupErr != "" {
			t.Fatalf("setup: %s", tr.SetupErr)
		}
	}

	// The same case at the same level twice: equal.
	if d := isoCompare(rr1, rr2); d != nil {
		t.Fatalf("two runs at REPEATABLE READ differ:\n%s", isoSideBySide(c, "run 1", rr1, "run 2", rr2, d))
	}
	// Planted bug 1: the "RelayDB" side ran at another isolation level. Read skew shows.
	d := isoCompare(rr1, rc)
	if d == nil {
		t.Fatalf("REPEATABLE READ and READ COMMITTED transcripts compare equal:\n%s", isoSideBySide(c, "RR", rr1, "RC", rc, nil))
	}
	if st, _ := isoClassify(c, "REPEATABLE-READ", rr1, rc, func(string) *isoTranscript { return nil }); st != isoDiff {
		t.Fatalf("a run at the wrong level classified %s, want DIFF", st)
	}
	out := isoSideBySide(c, "MariaDB", rr1, "planted", rc, d)
	if !strings.Contains(out, "<<<") {
		t.Fatalf("side-by-side output does not mark the differing step:\n%s", out)
	}
	t.Logf("planted level change reported:\n%s", out)

	// Planted bug 2: one step altered (a statement that did not block reported as blocked; the
	// final table changed).
	alt := rr1.clone()
	alt.Steps[3].Blocked = !alt.Steps[3].Blocked
	d = isoCompare(rr1, alt)
	if len(d.steps) != 1 || d.steps[0] != 3 || d.final {
		t.Fatalf("altered step 4: comparison reported %+v", d)
	}
	alt = rr1.clone()
	alt.Final[0] = alt.Final[0] + "x"
	if d = isoCompare(rr1, alt); d == nil || !d.final {
		t.Fatalf("altered final table not reported: %+v", d)
	}
	// A known difference at READ UNCOMMITTED counts only if RelayDB's transcript equals
	// MariaDB's at READ COMMITTED: an aborted read shows the difference.
	g1a := isoCaseNamed(t, "g1a_aborted_read")
	ru := srv.run(t, g1a, "READ-UNCOMMITTED", "self_g1a_ru")
	rcG1a := srv.run(t, g1a, "READ-COMMITTED", "self_g1a_rc")
	if isoCompare(ru, rcG1a) == nil {
		t.Fatalf("MariaDB shows no dirty read at READ UNCOMMITTED:\n%s", isoSideBySide(g1a, "RU", ru, "RC", rcG1a, nil))
	}
	mariaAt := func(l string) *isoTranscript {
		if l == "READ-COMMITTED" {
			return rcG1a
		}
		return nil
	}
	if st, _ := isoClassify(g1a, "READ-UNCOMMITTED", ru, rcG1a, mariaAt); st != isoKnown {
		t.Fatalf("RelayDB at RU answering as MariaDB at RC classified %s, want KNOWN-DIFF", st)
	}
	// Planted bug 3: at RU, an answer that matches neither MariaDB at RU nor at RC.
	alt = rcG1a.clone()
	alt.Steps[len(alt.Steps)-1].Err = 1213
	if st, _ := isoClassify(g1a, "READ-UNCOMMITTED", ru, alt, mariaAt); st != isoDiff {
		t.Fatalf("an altered RU transcript classified %s, want DIFF", st)
	}
}

// ---------------------------------------------------------------------------------------------
// Cases

// isoCase is one concurrency scenario. Steps are written "N: SQL" (session N, from 1).
type isoCase struct {
	name     string
	setup    []string // run in the case's fresh database before the sessions start
	sessions int
	levels   []string // nil: all four
	steps    []string
	final    []string // queries read at the end; nil: SELECT * FROM t ORDER BY id
}

func (c *isoCase) runLevels() []string {
	if c.levels != nil {
		return c.levels
	}
	return isoLevels
}

func (c *isoCase) finalQueries() []string {
	if c.final != nil {
		return c.final
	}
	return []string{"SELECT * FROM t ORDER BY id"}
}

type isoStep struct {
	session int // 0-based
	sql     string
}

func (c *isoCase) parsedSteps() []isoStep {
	out := make([]isoStep, 0, len(c.steps))
	for _, s := range c.steps {
		n, q, ok := strings.Cut(s, ":")
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil || i < 1 || i > c.sessions {
			panic(fmt.Sprintf("case %s: bad step %q", c.name, s))
		}
		out = append(out, isoStep{session: i - 1, sql: strings.TrimSpace(q)})
	}
	return out
}

var isoLevels = []string{"READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE"}

var isoShort = map[string]string{"READ-UNCOMMITTED": "RU", "READ-COMMITTED": "RC", "REPEATABLE-READ": "RR", "SERIALIZABLE": "SER"}

// Hermitage's table.
var isoT = []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)", "INSERT INTO t VALUES (1, 10), (2, 20)"}

// A table with gaps between the keys, for range and gap locks.
var isoGaps = []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)",
	"INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (5, 50), (8, 80), (10, 100)"}

// A UNIQUE secondary index.
var isoUnique = []string{"CREATE TABLE t (id INT PRIMARY KEY, k INT, value INT, UNIQUE KEY uk (k))",
	"INSERT INTO t VALUES (1, 1, 10), (2, 2, 20)"}

// A non-unique secondary index with enough rows that equality lookups use it (k = 2*id - 1).
var isoNonUnique = []string{"CREATE TABLE t (id INT PRIMARY KEY, k INT, value INT, KEY ik (k))",
	"INSERT INTO t VALUES (1, 1, 10), (2, 3, 20), (3, 5, 30), (4, 7, 40), (5, 9, 50), (6, 11, 60), " +
		"(7, 13, 70), (8, 15, 80), (9, 17, 90), (10, 19, 100)"}

var isoCases = []*isoCase{
	// --- Hermitage's anomalies -------------------------------------------------------------
	{name: "g0_write_cycles", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 12 WHERE id = 1", // waits for 1
		"1: UPDATE t SET value = 21 WHERE id = 2",
		"1: COMMIT",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"2: COMMIT",
	}},
	{name: "g1a_aborted_read", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 101 WHERE id = 1",
		"2: SELECT * FROM t ORDER BY id",
		"1: ROLLBACK",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "g1b_intermediate_read", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 101 WHERE id = 1",
		"2: SELECT * FROM t ORDER BY id",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: COMMIT",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "g1c_circular_information_flow", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"1: SELECT * FROM t WHERE id = 2",
		"2: SELECT * FROM t WHERE id = 1",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "otv_observed_transaction_vanishes", setup: isoT, sessions: 3, steps: []string{
		"1: BEGIN", "2: BEGIN", "3: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: UPDATE t SET value = 19 WHERE id = 2",
		"2: UPDATE t SET value = 12 WHERE id = 1", // waits for 1
		"1: COMMIT",
		"3: SELECT * FROM t ORDER BY id",
		"2: UPDATE t SET value = 18 WHERE id = 2",
		"3: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
		"3: SELECT * FROM t ORDER BY id",
		"3: COMMIT",
	}},
	{name: "pmp_predicate_many_preceders", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE value = 30",
		"2: INSERT INTO t VALUES (3, 30)",
		"2: COMMIT",
		"1: SELECT * FROM t WHERE value % 3 = 0 ORDER BY id",
		"1: COMMIT",
	}},
	{name: "pmp_write", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = value + 10",
		"2: DELETE FROM t WHERE value = 20", // waits; which rows match is decided on the newest versions
		"1: COMMIT",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "p4_lost_update", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1",
		"2: SELECT * FROM t WHERE id = 1",
		"1: UPDATE t SET value = 11 WHERE id = 1", // 10 + 1, computed from the read
		"2: UPDATE t SET value = 12 WHERE id = 1", // 10 + 2, computed from the read; waits
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "lost_update_for_update", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"2: SELECT * FROM t WHERE id = 1 FOR UPDATE", // waits, then reads 11
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: COMMIT",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"2: COMMIT",
	}},
	{name: "g_single_read_skew", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1",
		"2: SELECT * FROM t WHERE id = 1",
		"2: SELECT * FROM t WHERE id = 2",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"2: UPDATE t SET value = 18 WHERE id = 2",
		"2: COMMIT",
		"1: SELECT * FROM t WHERE id = 2",
		"1: COMMIT",
	}},
	{name: "g_single_predicate", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE value % 5 = 0 ORDER BY id",
		"2: UPDATE t SET value = 12 WHERE value = 10",
		"2: COMMIT",
		"1: SELECT * FROM t WHERE value % 3 = 0 ORDER BY id",
		"1: COMMIT",
	}},
	{name: "g_single_write_delete", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"2: UPDATE t SET value = 18 WHERE id = 2",
		"1: DELETE FROM t WHERE value = 20", // waits for 2; 18 no longer matches
		"2: COMMIT",
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
	}},
	{name: "g2_item_write_skew", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id IN (1, 2) ORDER BY id",
		"2: SELECT * FROM t WHERE id IN (1, 2) ORDER BY id",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 21 WHERE id = 2",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "g2_predicate_anti_dependency", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE value % 3 = 0",
		"2: SELECT * FROM t WHERE value % 3 = 0",
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT INTO t VALUES (4, 42)",
		"1: COMMIT", "2: COMMIT",
	}},

	// --- Current reads after a lock wait -----------------------------------------------------
	{name: "increment_same_row", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = value + 1 WHERE id = 1",
		"2: UPDATE t SET value = value + 1 WHERE id = 1", // waits, then increments 11
		"1: COMMIT",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "increment_whole_table", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = value + 1",
		"2: UPDATE t SET value = value + 1",
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "update_waits_then_newest_row", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"2: SELECT * FROM t ORDER BY id", // 2's read view predates 1's commit
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"1: COMMIT",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "update_where_value_rechecked", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 100 WHERE value = 10", // waits; the newest version (11) no longer matches
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "delete_predicate_rechecked", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 25 WHERE id = 2",
		"2: DELETE FROM t WHERE value = 20", // waits; 25 no longer matches
		"1: COMMIT",
		"2: SELECT * FROM t ORDER BY id",
		"2: COMMIT",
	}},
	{name: "semi_consistent_update", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		// No index on value: RR waits for row 1; RC reads its last committed version (10), which
		// does not match, and goes on.
		"2: UPDATE t SET value = value + 100 WHERE value = 20",
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "write_after_concurrent_commit", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: SELECT * FROM t ORDER BY id",
		"2: UPDATE t SET value = 11 WHERE id = 1", // autocommit, after 1's read view
		"1: UPDATE t SET value = value + 1 WHERE id = 1",
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
	}},
	{name: "locking_read_vs_snapshot", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: SELECT * FROM t WHERE id = 1",
		"2: UPDATE t SET value = 11 WHERE id = 1",
		"1: SELECT * FROM t WHERE id = 1 FOR UPDATE", // current read: 11
		"1: SELECT * FROM t WHERE id = 1",            // consistent read
		"1: COMMIT",
	}},
	{name: "update_sees_committed_phantom", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: SELECT * FROM t ORDER BY id",
		"2: INSERT INTO t VALUES (3, 30)",
		"1: SELECT * FROM t ORDER BY id",
		"1: UPDATE t SET value = value + 1 WHERE value >= 20",
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
	}},
	{name: "autocommit_update_waits_rollback", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = value + 100 WHERE id = 1", // waits, then works on 10
		"1: ROLLBACK",
		"2: SELECT * FROM t ORDER BY id",
	}},

	// --- Read views --------------------------------------------------------------------------
	{name: "read_view_at_first_select", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: UPDATE t SET value = 21 WHERE id = 2", // no read view yet
		"2: UPDATE t SET value = 11 WHERE id = 1",
		"1: SELECT * FROM t ORDER BY id", // read view from here: sees 11
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
	}},
	{name: "consistent_snapshot", setup: isoT, sessions: 2, steps: []string{
		"1: START TRANSACTION WITH CONSISTENT SNAPSHOT",
		"2: UPDATE t SET value = 11 WHERE id = 1",
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
		"1: SELECT * FROM t ORDER BY id",
	}},

	// --- Phantoms, ranges and gaps -----------------------------------------------------------
	{name: "phantom_for_update_predicate", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE value % 3 = 0 FOR UPDATE",
		"2: INSERT INTO t VALUES (3, 30)",
		"1: SELECT * FROM t WHERE value % 3 = 0",
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "range_lock_insert_inside", setup: isoGaps, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"2: INSERT INTO t VALUES (4, 40)",
		"1: COMMIT", "2: COMMIT",
	}},
	// The insert comes first: a locking range read meets the uncommitted row and waits for its
	// inserter, then returns it (no phantom appears in the locked range afterwards).
	{name: "range_read_waits_for_uncommitted_insert", setup: isoGaps, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"2: INSERT INTO t VALUES (4, 40)",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"2: COMMIT",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"1: COMMIT",
	}},
	{name: "range_lock_insert_next_gap", setup: isoGaps, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"2: INSERT INTO t VALUES (6, 60)", // between 5 and the next key, 8
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "range_lock_update_next_key", setup: isoGaps, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"2: UPDATE t SET value = 81 WHERE id = 8", // the next key past the range
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "range_lock_insert_far", setup: isoGaps, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id BETWEEN 1 AND 5 FOR UPDATE",
		"2: INSERT INTO t VALUES (9, 90)",
		"2: INSERT INTO t VALUES (20, 200)",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "gap_lock_missing_key", setup: []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)",
		"INSERT INTO t VALUES (1, 10), (5, 50), (10, 100)"}, sessions: 3, steps: []string{
		"1: BEGIN", "2: BEGIN", "3: BEGIN",
		"1: SELECT * FROM t WHERE id = 3 FOR UPDATE", // no such row: locks the gap (1, 5)
		"3: INSERT INTO t VALUES (7, 70)",
		"3: UPDATE t SET value = 51 WHERE id = 5", // the gap lock does not cover 5 itself
		"2: INSERT INTO t VALUES (2, 20)",
		"1: COMMIT", "2: COMMIT", "3: COMMIT",
	}},
	{name: "gap_locks_compatible_deadlock", setup: []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)",
		"INSERT INTO t VALUES (1, 10), (5, 50), (10, 100)"}, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 3 FOR UPDATE",
		"2: SELECT * FROM t WHERE id = 4 FOR UPDATE", // gap locks do not conflict
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT INTO t VALUES (4, 40)",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "check_then_insert_same_key", setup: []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)",
		"INSERT INTO t VALUES (1, 10), (5, 50), (10, 100)"}, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 3 FOR UPDATE",
		"2: SELECT * FROM t WHERE id = 3 FOR UPDATE",
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT INTO t VALUES (3, 31)",
		"1: COMMIT", "2: COMMIT",
	}},

	// --- Shared locks ------------------------------------------------------------------------
	{name: "share_share", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
		"2: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "share_then_for_update", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
		"2: SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"1: COMMIT",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"2: COMMIT",
	}},
	{name: "for_update_then_share", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"2: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", // waits, then reads 11
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "share_upgrade_deadlock", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
		"2: SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 12 WHERE id = 1",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "serializable_select_blocks_writer", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: SELECT * FROM t WHERE id = 1", // SERIALIZABLE: a shared lock
		"2: UPDATE t SET value = 11 WHERE id = 1",
		"1: SELECT * FROM t WHERE id = 1",
		"1: COMMIT",
	}},
	{name: "serializable_autocommit_select", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: SELECT * FROM t ORDER BY id", // autocommit: a consistent read even in SERIALIZABLE
		"2: BEGIN",
		"2: SELECT * FROM t WHERE id = 2",
		"2: SELECT * FROM t WHERE id = 1",
		"1: COMMIT",
		"2: COMMIT",
	}},
	{name: "for_update_nowait_skip_locked", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"2: SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT",
		"2: SELECT * FROM t ORDER BY id FOR UPDATE SKIP LOCKED",
		"1: COMMIT", "2: COMMIT",
	}},

	// --- Duplicate keys ----------------------------------------------------------------------
	{name: "dup_pk_insert_commit", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT INTO t VALUES (3, 31)", // waits, then 1062
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "dup_pk_insert_rollback", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT INTO t VALUES (3, 31)", // waits, then succeeds
		"1: ROLLBACK", "2: COMMIT",
	}},
	{name: "dup_unique_insert_commit", setup: isoUnique, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (3, 3, 30)",
		"2: INSERT INTO t VALUES (4, 3, 40)",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "dup_unique_insert_rollback", setup: isoUnique, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (3, 3, 30)",
		"2: INSERT INTO t VALUES (4, 3, 40)",
		"1: ROLLBACK", "2: COMMIT",
	}},
	{name: "delete_then_insert_same_key", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: DELETE FROM t WHERE id = 1",
		"2: INSERT INTO t VALUES (1, 99)", // waits, then succeeds
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "insert_ignore_waits", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: INSERT INTO t VALUES (3, 30)",
		"2: INSERT IGNORE INTO t VALUES (3, 31)", // waits, then ignores the duplicate
		"1: COMMIT",
	}},
	{name: "insert_on_duplicate_existing", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (1, 100) ON DUPLICATE KEY UPDATE value = value + 1",
		"2: INSERT INTO t VALUES (1, 100) ON DUPLICATE KEY UPDATE value = value + 1",
		"1: COMMIT",
		"2: SELECT * FROM t WHERE id = 1",
		"2: COMMIT",
	}},
	{name: "insert_on_duplicate_new_key", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: INSERT INTO t VALUES (3, 30) ON DUPLICATE KEY UPDATE value = value + 1",
		"2: INSERT INTO t VALUES (3, 30) ON DUPLICATE KEY UPDATE value = value + 1",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "replace_same_key", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: REPLACE INTO t VALUES (1, 11)",
		"2: REPLACE INTO t VALUES (1, 12)",
		"1: COMMIT", "2: COMMIT",
	}},

	// --- Secondary indexes -------------------------------------------------------------------
	{name: "nonunique_lock_insert_same_k", setup: isoNonUnique, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: SELECT * FROM t WHERE k = 5 FOR UPDATE",
		"2: INSERT INTO t VALUES (20, 5, 200)",
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "nonunique_lock_gap_neighbours", setup: isoNonUnique, sessions: 3, steps: []string{
		"1: BEGIN", "2: BEGIN", "3: BEGIN",
		"1: SELECT * FROM t WHERE k = 5 FOR UPDATE",
		"3: INSERT INTO t VALUES (22, 8, 220)", // past the next key (7)
		"2: INSERT INTO t VALUES (21, 4, 210)", // in the gap before 5
		"1: COMMIT", "2: COMMIT", "3: COMMIT",
	}, final: []string{"SELECT * FROM t WHERE id > 10 ORDER BY id"}},
	{name: "nonunique_lock_update_into_k", setup: isoNonUnique, sessions: 3, steps: []string{
		"1: BEGIN", "2: BEGIN", "3: BEGIN",
		"1: SELECT * FROM t WHERE k = 5 FOR UPDATE",
		"2: UPDATE t SET k = 5 WHERE id = 9",      // moves a row into the locked key
		"3: UPDATE t SET value = 31 WHERE id = 3", // the locked row itself
		"1: COMMIT", "2: COMMIT", "3: COMMIT",
	}, final: []string{"SELECT * FROM t WHERE id IN (3, 9) ORDER BY id"}},
	{name: "insert_select_locked_source", setup: append([]string{"CREATE TABLE t2 (id INT PRIMARY KEY, value INT)"}, isoT...),
		sessions: 2, steps: []string{
			"1: BEGIN", "2: BEGIN",
			"1: UPDATE t SET value = 11 WHERE id = 1",
			"2: INSERT INTO t2 SELECT * FROM t",
			"1: COMMIT", "2: COMMIT",
		}, final: []string{"SELECT * FROM t ORDER BY id", "SELECT * FROM t2 ORDER BY id"}},

	// --- Deadlocks and timeouts --------------------------------------------------------------
	{name: "deadlock_two_rows", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"1: UPDATE t SET value = 21 WHERE id = 2", // waits for 2
		"2: UPDATE t SET value = 12 WHERE id = 1", // closes the cycle
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "deadlock_heavier_closer", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: INSERT INTO t VALUES (10, 100), (11, 110), (12, 120)",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"1: UPDATE t SET value = 21 WHERE id = 2", // waits for 2
		"2: UPDATE t SET value = 12 WHERE id = 1", // closes the cycle; 2 has done more work
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "deadlock_heavier_waiter", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN", "2: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: INSERT INTO t VALUES (10, 100), (11, 110), (12, 120)",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"1: UPDATE t SET value = 21 WHERE id = 2", // waits for 2; 1 has done more work
		"2: UPDATE t SET value = 12 WHERE id = 1", // closes the cycle
		"1: COMMIT", "2: COMMIT",
	}},
	{name: "deadlock_three_sessions", setup: []string{"CREATE TABLE t (id INT PRIMARY KEY, value INT)",
		"INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)"}, sessions: 3, steps: []string{
		"1: BEGIN", "2: BEGIN", "3: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"2: UPDATE t SET value = 22 WHERE id = 2",
		"3: UPDATE t SET value = 33 WHERE id = 3",
		"1: UPDATE t SET value = 12 WHERE id = 2", // 1 waits for 2
		"2: UPDATE t SET value = 23 WHERE id = 3", // 2 waits for 3
		"3: UPDATE t SET value = 31 WHERE id = 1", // 3 waits for 1: a cycle
		"3: COMMIT", "2: COMMIT", "1: COMMIT",
	}},
	{name: "lock_wait_timeout_keeps_transaction", setup: isoT, sessions: 2,
		levels: []string{"READ-COMMITTED", "REPEATABLE-READ"}, steps: []string{
			"1: BEGIN", "2: BEGIN",
			"1: UPDATE t SET value = 11 WHERE id = 1",
			"2: UPDATE t SET value = 21 WHERE id = 2",
			"2: UPDATE t SET value = 12 WHERE id = 1", // 1205 after innodb_lock_wait_timeout
			"2: SELECT * FROM t ORDER BY id",          // the transaction is still open
			"2: COMMIT",
			"1: COMMIT",
		}},
	{name: "savepoint_rollback_keeps_locks", setup: isoT, sessions: 2, steps: []string{
		"1: BEGIN",
		"1: UPDATE t SET value = 11 WHERE id = 1",
		"1: SAVEPOINT sp",
		"1: UPDATE t SET value = 21 WHERE id = 2",
		"1: ROLLBACK TO SAVEPOINT sp",
		"2: UPDATE t SET value = 22 WHERE id = 2", // row 2 stays locked until 1 ends
		"1: SELECT * FROM t ORDER BY id",
		"1: COMMIT",
	}},
}

func isoCaseNamed(t *testing.T, name string) *isoCase {
	for _, c := range isoCases {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no case %s", name)
	return nil
}

// ---------------------------------------------------------------------------------------------
// Known differences

type isoKnownDiff struct {
	reason string
	// asMariaDBAt, if set, makes the difference known only while RelayDB's transcript equals
	// MariaDB's for the same case at this level.
	asMariaDBAt string
}

// isoKnownDifferences: "case@LEVEL" → why RelayDB differs there on purpose. "*@LEVEL" applies to
// every case at that level.
var isoKnownDifferences = map[string]isoKnownDiff{
	"*@READ-UNCOMMITTED": {
		reason:      "no dirty reads: RelayDB never shows uncommitted writes, its READ UNCOMMITTED is READ COMMITTED",
		asMariaDBAt: "READ-COMMITTED",
	},
	// InnoDB's semi-consistent read: a READ COMMITTED UPDATE or DELETE that meets a row locked by
	// another transaction evaluates its WHERE on the row's last committed version and skips the
	// row without waiting if it does not match. go-mysql-server evaluates the WHERE above the
	// storage engine, so the engine cannot tell a non-matching row and waits for the lock; the
	// statement then acts on the newest version, so the rows changed and the final table are
	// the same, only the wait differs.
	"semi_consistent_update@READ-COMMITTED": {
		reason: "no semi-consistent read: RelayDB's READ COMMITTED UPDATE waits for a locked row InnoDB would skip as not matching; same rows changed, same final table",
	},
	"semi_consistent_update@READ-UNCOMMITTED": {
		reason: "no semi-consistent read (as at READ COMMITTED)",
	},
}

const (
	isoMatch = "MATCH"
	isoKnown = "KNOWN-DIFF"
	isoDiff  = "DIFF"
)

// isoClassify compares RelayDB's transcript with MariaDB's for c at level. mariaAt gives
// MariaDB's transcript of the same case at another level.
func isoClassify(c *isoCase, level string, maria, relay *isoTranscript, mariaAt func(string) *isoTranscript) (string, string) {
	if isoCompare(maria, relay) == nil {
		return isoMatch, ""
	}
	for _, key := range []string{c.name + "@" + level, "*@" + level} {
		k, ok := isoKnownDifferences[key]
		if !ok {
			continue
		}
		if k.asMariaDBAt == "" {
			return isoKnown, k.reason
		}
		if other := mariaAt(k.asMariaDBAt); other != nil && isoCompare(other, relay) == nil {
			return isoKnown, fmt.Sprintf("%s (RelayDB answers as MariaDB at %s)", k.reason, k.asMariaDBAt)
		}
	}
	return isoDiff, ""
}

// ---------------------------------------------------------------------------------------------
// Transcripts

// isoResult is what one step did.
type isoResult struct {
	Blocked  bool     // no answer within isoStepWait
	Rows     []string // a query's rows ("1,10"); nil for other statements
	Affected int64    // affected rows of other statements; -1 for queries and errors
	Err      int      // MySQL error code; 0: none; isoErrOther: another error; isoErrNoAnswer, isoErrSessionLost: see below
	Msg      string   // the error message (not compared)
}

const (
	isoErrOther       = -1 // an error without a MySQL code (connection trouble)
	isoErrNoAnswer    = -2 // no answer within isoAwaitBound: the harness killed the statement
	isoErrSessionLost = -3 // the session was given up at an earlier step
)

func (r isoResult) String() string {
	var s string
	switch {
	case r.Err == isoErrNoAnswer:
		s = fmt.Sprintf("NO ANSWER in %v", isoAwaitBound)
	case r.Err == isoErrSessionLost:
		s = "session lost"
	case r.Err == isoErrOther:
		s = "ERROR " + r.Msg
	case r.Err != 0:
		s = fmt.Sprintf("ERROR %d", r.Err)
	case r.Rows != nil && len(r.Rows) == 0:
		s = "(no rows)"
	case r.Rows != nil:
		s = strings.Join(r.Rows, " | ")
	default:
		s = fmt.Sprintf("affected %d", r.Affected)
	}
	if r.Blocked {
		s = "BLOCKED, then " + s
	}
	return s
}

// render is String, but "ok" for a statement that changes no rows by nature (BEGIN, COMMIT, …).
func (r isoResult) render(q string) string {
	s := r.String()
	switch strings.ToUpper(strings.Fields(q)[0]) {
	case "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET":
		s = strings.Replace(s, "affected 0", "ok", 1)
	}
	return s
}

func (r isoResult) equal(o isoResult) bool {
	if r.Blocked != o.Blocked || r.Err != o.Err || r.Affected != o.Affected || (r.Rows == nil) != (o.Rows == nil) {
		return false
	}
	if r.Err == isoErrOther && r.Msg != o.Msg {
		return false
	}
	return strings.Join(r.Rows, "\n") == strings.Join(o.Rows, "\n")
}

type isoTranscript struct {
	SetupErr string      // the case could not be set up (compared)
	Steps    []isoResult // one per step
	Final    []string    // per final query: its rows, " | "-joined, or its error
}

func (tr *isoTranscript) clone() *isoTranscript {
	c := *tr
	c.Steps = append([]isoResult(nil), tr.Steps...)
	c.Final = append([]string(nil), tr.Final...)
	return &c
}

// isoDiffs lists where two transcripts differ; nil when they are equal.
type isoDiffs struct {
	setup bool
	steps []int
	final bool
}

func isoCompare(a, b *isoTranscript) *isoDiffs {
	if a == nil || b == nil {
		if a == b {
			return nil
		}
		return &isoDiffs{setup: true}
	}
	d := &isoDiffs{setup: a.SetupErr != b.SetupErr}
	for i := 0; i < max(len(a.Steps), len(b.Steps)); i++ {
		if i >= len(a.Steps) || i >= len(b.Steps) || !a.Steps[i].equal(b.Steps[i]) {
			d.steps = append(d.steps, i)
		}
	}
	d.final = strings.Join(a.Final, "\n") != strings.Join(b.Final, "\n")
	if !d.setup && !d.final && len(d.steps) == 0 {
		return nil
	}
	return d
}

// isoSideBySide renders two transcripts of c in columns, marking the differing lines with <<<.
func isoSideBySide(c *isoCase, an string, a *isoTranscript, bn string, b *isoTranscript, d *isoDiffs) string {
	type line struct {
		label, a, b string
		diff        bool
	}
	var lines []line
	if a == nil || b == nil {
		return fmt.Sprintf("  (missing transcript: %s %v, %s %v)", an, a != nil, bn, b != nil)
	}
	if a.SetupErr != "" || b.SetupErr != "" {
		lines = append(lines, line{"setup", a.SetupErr, b.SetupErr, a.SetupErr != b.SetupErr})
	}
	marked := map[int]bool{}
	if d != nil {
		for _, i := range d.steps {
			marked[i] = true
		}
	}
	steps := c.parsedSteps()
	get := func(tr *isoTranscript, i int) string {
		if i < len(tr.Steps) {
			return tr.Steps[i].render(steps[i].sql)
		}
		return "-"
	}
	for i, st := range steps {
		lines = append(lines, line{fmt.Sprintf("%2d s%d> %s", i+1, st.session+1, st.sql), get(a, i), get(b, i), marked[i]})
	}
	for i, q := range c.finalQueries() {
		fa, fb := "-", "-"
		if i < len(a.Final) {
			fa = a.Final[i]
		}
		if i < len(b.Final) {
			fb = b.Final[i]
		}
		lines = append(lines, line{"final: " + q, fa, fb, fa != fb})
	}
	wl, wa := len("step"), len(an)
	for _, l := range lines {
		wl, wa = max(wl, len(l.label)), max(wa, len(l.a))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "  %-*s  %-*s  %s\n", wl, "step", wa, an, bn)
	for _, l := range lines {
		mark := ""
		if l.diff {
			mark = "  <<<"
		}
		fmt.Fprintf(&sb, "  %-*s  %-*s  %s%s\n", wl, l.label, wa, l.a, l.b, mark)
	}
	return strings.TrimRight(sb.String(), "\n")
}

// isoFirstDiff describes the first difference in one line, for the summary.
func isoFirstDiff(c *isoCase, m, r *isoTranscript, d *isoDiffs) string {
	switch {
	case d == nil:
		return "no difference"
	case d.setup:
		return fmt.Sprintf("setup: MariaDB %q, RelayDB %q", m.SetupErr, r.SetupErr)
	case len(d.steps) > 0:
		i := d.steps[0]
		st := c.parsedSteps()[i]
		ms, rs := "-", "-"
		if i < len(m.Steps) {
			ms = m.Steps[i].render(st.sql)
		}
		if i < len(r.Steps) {
			rs = r.Steps[i].render(st.sql)
		}
		more := ""
		if len(d.steps) > 1 {
			more = fmt.Sprintf(" (+%d more steps)", len(d.steps)-1)
		}
		return fmt.Sprintf("step %d s%d> %s: MariaDB %s; RelayDB %s%s", i+1, st.session+1, isoAbbrev(st.sql, 48), ms, rs, more)
	default:
		return fmt.Sprintf("final tables: MariaDB %s; RelayDB %s", strings.Join(m.Final, " / "), strings.Join(r.Final, " / "))
	}
}

func isoAbbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

type isoSummaryRow struct {
	name  string
	cells map[string]string // level → status
	notes []string
}

func isoSummary(rows []isoSummaryRow) string {
	w := len("case")
	for _, r := range rows {
		w = max(w, len(r.name))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-*s", w, "case")
	for _, l := range isoLevels {
		fmt.Fprintf(&sb, "  %-10s", isoShort[l])
	}
	sb.WriteString("\n")
	counts := map[string]int{}
	for _, r := range rows {
		fmt.Fprintf(&sb, "%-*s", w, r.name)
		for _, l := range isoLevels {
			s, ok := r.cells[l]
			if !ok {
				s = "-"
			}
			counts[s]++
			fmt.Fprintf(&sb, "  %-10s", s)
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "totals: %d MATCH, %d KNOWN-DIFF, %d DIFF (\"-\": the case does not run at that level)\n",
		counts[isoMatch], counts[isoKnown], counts[isoDiff])
	sb.WriteString("\nnotes (first differing step per case and level; KNOWN-DIFF reasons):\n")
	for _, r := range rows {
		for _, n := range r.notes {
			fmt.Fprintf(&sb, "  %s %s\n", r.name, n)
		}
	}
	return strings.TrimRight(sb.String(), "\n")
}

// ---------------------------------------------------------------------------------------------
// Running cases

const (
	// isoStepWait: a statement with no answer after this long counts as BLOCKED. Statements that
	// do not wait for a lock answer within milliseconds.
	isoStepWait = 300 * time.Millisecond
	// isoLockWaitSeconds is every session's innodb_lock_wait_timeout.
	isoLockWaitSeconds = 2
	// isoAwaitBound bounds the wait for a pending statement's answer.
	isoAwaitBound = (isoLockWaitSeconds + 5) * time.Second
	// isoWorkers: cases run this many at a time (each in its own database), both servers at once.
	isoWorkers = 6
)

type isoServer struct {
	name     string
	port     int
	mariadb  bool
	admin    *sql.DB // no default database; connections are not reused
	dbSuffix string

	mu    sync.Mutex
	notes map[string]bool
}

func newIsoServer(t *testing.T, name string, port int, isMaria bool) *isoServer {
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=10s&readTimeout=60s&writeTimeout=60s", port))
	if err != nil {
		t.Fatal(err)
	}
	// Every session is a new connection: no session state carries over from one case to the next.
	db.SetMaxIdleConns(0)
	t.Cleanup(func() { db.Close() })
	return &isoServer{name: name, port: port, mariadb: isMaria, admin: db}
}

func (s *isoServer) note(n string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notes == nil {
		s.notes = map[string]bool{}
	}
	s.notes[n] = true
}

func (s *isoServer) noteList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.notes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type isoKey struct{ server, c, level string }

// isoRunAll runs every case at each of its levels on every server, isoWorkers at a time.
func isoRunAll(t *testing.T, servers []*isoServer, cases []*isoCase) map[isoKey]*isoTranscript {
	type job struct {
		srv   *isoServer
		c     *isoCase
		idx   int
		level string
	}
	var jobs []job
	for i, c := range cases {
		for _, level := range c.runLevels() {
			for _, s := range servers {
				jobs = append(jobs, job{s, c, i, level})
			}
		}
	}
	ch := make(chan job)
	var mu sync.Mutex
	res := map[isoKey]*isoTranscript{}
	var wg sync.WaitGroup
	for w := 0; w < isoWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				dbName := fmt.Sprintf("iso%02d_%s%s", j.idx, strings.ToLower(isoShort[j.level]), j.srv.dbSuffix)
				tr := j.srv.run(t, j.c, j.level, dbName)
				mu.Lock()
				res[isoKey{j.srv.name, j.c.name, j.level}] = tr
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return res
}

// isoSession is one client session of a case: a dedicated connection.
type isoSession struct {
	n       int
	conn    *sql.Conn
	ctx     context.Context
	cancel  context.CancelFunc
	connID  int64
	pending chan isoResult // the answer of a BLOCKED statement not yet collected
	pendIdx int            // its step
	lost    bool
}

// run runs c at level on the server in a fresh database and returns the transcript.
func (s *isoServer) run(t *testing.T, c *isoCase, level, dbName string) *isoTranscript {
	tr := &isoTranscript{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		tr.SetupErr = "CREATE DATABASE: " + isoErrString(err)
		return tr
	}
	if err := s.setup(ctx, dbName, c.setup); err != nil {
		tr.SetupErr = err.Error()
		return tr
	}

	sessions := make([]*isoSession, c.sessions)
	defer func() {
		for _, se := range sessions {
			if se != nil {
				se.cancel()
				se.conn.Close()
			}
		}
	}()
	for i := range sessions {
		se, err := s.openSession(ctx, i, dbName, level)
		if err != nil {
			tr.SetupErr = fmt.Sprintf("session %d: %v", i+1, err)
			return tr
		}
		sessions[i] = se
	}

	steps := c.parsedSteps()
	tr.Steps = make([]isoResult, len(steps))
	for i, st := range steps {
		se := sessions[st.session]
		s.await(se, tr)
		if se.lost {
			tr.Steps[i] = isoResult{Affected: -1, Err: isoErrSessionLost}
			continue
		}
		ans := se.start(st.sql)
		timer := time.NewTimer(isoStepWait)
		select {
		case r := <-ans:
			tr.Steps[i] = r
		case <-timer.C:
			se.pending, se.pendIdx = ans, i
		}
		timer.Stop()
		// Give statements this step may have released the time to answer, so that the next
		// step sees their effects (e.g. a dirty read of an update that was waiting).
		settle := time.NewTimer(isoStepWait)
		for _, o := range sessions {
			if o.pending == nil || o == se && se.pendIdx == i {
				continue
			}
			select {
			case r := <-o.pending:
				r.Blocked = true
				tr.Steps[o.pendIdx] = r
				o.pending = nil
			case <-settle.C:
				settle.Reset(0)
			}
		}
		settle.Stop()
	}
	for _, se := range sessions {
		s.await(se, tr)
	}
	for _, se := range sessions {
		if !se.lost {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			se.conn.ExecContext(rctx, "ROLLBACK")
			rcancel()
		}
	}
	tr.Final = s.final(ctx, dbName, c.finalQueries())
	return tr
}

// setup creates the case's tables.
func (s *isoServer) setup(ctx context.Context, dbName string, stmts []string) error {
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %v", err)
	}
	defer conn.Close()
	for _, q := range append([]string{"USE " + dbName}, stmts...) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s", q, isoErrString(err))
		}
	}
	return nil
}

func (s *isoServer) final(ctx context.Context, dbName string, queries []string) []string {
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return []string{"connect: " + err.Error()}
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+dbName); err != nil {
		return []string{"USE: " + isoErrString(err)}
	}
	var out []string
	for _, q := range queries {
		r := isoStatement(ctx, conn, q)
		if r.Err != 0 {
			out = append(out, fmt.Sprintf("ERROR %d %s", r.Err, r.Msg))
		} else {
			out = append(out, isoResult{Rows: r.Rows}.String())
		}
	}
	return out
}

// openSession connects a session: database, isolation level, lock wait timeout.
func (s *isoServer) openSession(ctx context.Context, i int, dbName, level string) (*isoSession, error) {
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*isoSession, error) {
		conn.Close()
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "USE "+dbName); err != nil {
		return fail(fmt.Errorf("USE: %s", isoErrString(err)))
	}
	// Two ways to set the level, both exercised: even sessions try the variable first, odd
	// ones the statement; if the first is refused the other is used (and the refusal noted).
	forms := []string{fmt.Sprintf("SET SESSION transaction_isolation = '%s'", level),
		"SET SESSION TRANSACTION ISOLATION LEVEL " + strings.ReplaceAll(level, "-", " ")}
	if i%2 == 1 {
		forms[0], forms[1] = forms[1], forms[0]
	}
	if _, err := conn.ExecContext(ctx, forms[0]); err != nil {
		s.note(fmt.Sprintf("%q refused (%s); used the other form",
			strings.ReplaceAll(forms[0], level, "<level>"), strings.ReplaceAll(isoErrString(err), level, "<level>")))
		if _, err := conn.ExecContext(ctx, forms[1]); err != nil {
			return fail(fmt.Errorf("%s: %s", forms[1], isoErrString(err)))
		}
	}
	// MariaDB 10.11 names the variable tx_isolation (transaction_isolation came in 11.1).
	var got string
	err = conn.QueryRowContext(ctx, "SELECT @@transaction_isolation").Scan(&got)
	if err != nil {
		err = conn.QueryRowContext(ctx, "SELECT @@tx_isolation").Scan(&got)
	}
	if err != nil || got != level {
		return fail(fmt.Errorf("the session's isolation level is %q (%v), want %s", got, err, level))
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", isoLockWaitSeconds)); err != nil {
		// RelayDB refuses this today; its lock waits then last its default (50 s), and the
		// harness gives up on a statement after isoAwaitBound.
		s.note(fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d refused: %s", isoLockWaitSeconds, isoErrString(err)))
	}
	var lockWait string
	if err := conn.QueryRowContext(ctx, "SELECT @@innodb_lock_wait_timeout").Scan(&lockWait); err != nil {
		s.note(fmt.Sprintf("SELECT @@innodb_lock_wait_timeout: %s", isoErrString(err)))
	} else if lockWait != strconv.Itoa(isoLockWaitSeconds) {
		s.note(fmt.Sprintf("sessions run with innodb_lock_wait_timeout = %s, not %d", lockWait, isoLockWaitSeconds))
	}
	if s.mariadb {
		// MariaDB 10.11 can refuse writes to rows changed after the snapshot (write-write
		// conflict detection); InnoDB's classic behaviour, the reference here, is OFF (the default).
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_snapshot_isolation = OFF"); err != nil {
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1193 { // 1193: unknown variable (older 10.11)
				return fail(fmt.Errorf("innodb_snapshot_isolation: %s", isoErrString(err)))
			}
		}
	}
	se := &isoSession{n: i, conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&se.connID); err != nil {
		return fail(fmt.Errorf("CONNECTION_ID(): %v", err))
	}
	// Statements run under their own context: cancelling it (when the harness gives a statement
	// up) closes the connection.
	se.ctx, se.cancel = context.WithCancel(context.Background())
	return se, nil
}

// start sends q on the session; its answer arrives on the returned channel.
func (se *isoSession) start(q string) chan isoResult {
	ans := make(chan isoResult, 1)
	go func() { ans <- isoStatement(se.ctx, se.conn, q) }()
	return ans
}

// await collects the session's pending statement, if any, waiting at most isoAwaitBound; after
// that it kills the statement and gives the session up.
func (s *isoServer) await(se *isoSession, tr *isoTranscript) {
	if se.pending == nil {
		return
	}
	defer func() { se.pending = nil }()
	timer := time.NewTimer(isoAwaitBound)
	defer timer.Stop()
	select {
	case r := <-se.pending:
		r.Blocked = true
		tr.Steps[se.pendIdx] = r
		return
	case <-timer.C:
	}
	tr.Steps[se.pendIdx] = isoResult{Blocked: true, Affected: -1, Err: isoErrNoAnswer}
	kctx, kcancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, kerr := s.admin.ExecContext(kctx, fmt.Sprintf("KILL QUERY %d", se.connID))
	kcancel()
	select {
	case <-se.pending:
		s.note(fmt.Sprintf("a statement got no answer within %v; KILL QUERY stopped it (session given up)", isoAwaitBound))
	case <-time.After(time.Second):
		se.cancel() // closes the connection
		<-se.pending
		s.note(fmt.Sprintf("a statement got no answer within %v; KILL QUERY did not stop it (%v), connection closed", isoAwaitBound, kerr))
	}
	se.lost = true
}

// isoStatement runs one statement and records its answer.
func isoStatement(ctx context.Context, conn *sql.Conn, q string) isoResult {
	r := isoResult{Affected: -1}
	if isoIsQuery(q) {
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			r.setErr(err)
			return r
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			r.setErr(err)
			return r
		}
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		r.Rows = []string{}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				r.setErr(err)
				r.Rows = nil
				return r
			}
			fields := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					fields[i] = "NULL"
				} else {
					fields[i] = string(v)
				}
			}
			r.Rows = append(r.Rows, strings.Join(fields, ","))
		}
		if err := rows.Err(); err != nil {
			r.setErr(err)
			r.Rows = nil
		}
		return r
	}
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		r.setErr(err)
		return r
	}
	if n, err := res.RowsAffected(); err == nil {
		r.Affected = n
	}
	return r
}

func (r *isoResult) setErr(err error) {
	r.Affected = -1
	r.Msg = err.Error()
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		r.Err = int(me.Number)
		r.Msg = me.Message
	} else {
		r.Err = isoErrOther
	}
}

func isoIsQuery(q string) bool {
	f := strings.ToUpper(strings.Fields(q)[0])
	switch f {
	case "SELECT", "WITH", "SHOW", "VALUES", "TABLE", "(":
		return true
	}
	return strings.HasPrefix(f, "(")
}

func isoErrString(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("%d %s", me.Number, me.Message)
	}
	return err.Error()
}

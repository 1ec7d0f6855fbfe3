package test

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relaydb/relaydb/test/mariadb"
)

// dumpZoo is a database with every common column type, a view, a trigger, a procedure and two
// stored functions (one RETURN expression reading tables, one BEGIN … END block).
//
//go:embed testdata/dumpzoo.sql
var dumpZoo string

// runTool runs one of MariaDB's command-line tools with stdin and returns its stdout; a
// non-zero exit fails the test with its stderr.
func runMariaTool(t *testing.T, stdin []byte, tool string, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is needed: apt-get install -y mariadb-client", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--no-defaults"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

func hostPort(port int) []string {
	return []string{"-h127.0.0.1", fmt.Sprintf("-P%d", port), "-uroot"}
}

// mustDump runs mariadb-dump --routines --triggers (and any extra options) of db and checks that
// it ran to the end.
func mustDump(t *testing.T, port int, db string, extra ...string) []byte {
	t.Helper()
	args := append(append(hostPort(port), "--routines", "--triggers"), extra...)
	out := runMariaTool(t, nil, "mariadb-dump", append(args, db)...)
	if !bytes.Contains(out, []byte("-- Dump completed")) {
		t.Fatalf("mariadb-dump of %s stopped early:\n%s", db, out)
	}
	return out
}

// tableRows reads a table in primary-key order as strings; a TIME value's zero fraction is
// dropped, as RelayDB's TIME columns always have six digits of fraction (time(6)).
func tableRows(t *testing.T, db *sql.DB, table string) [][]sql.NullString {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table + " ORDER BY 1")
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	defer rows.Close()
	out, err := scanNullStrings(rows)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	for _, r := range out {
		for i := range r {
			if timeZeroFraction.MatchString(r[i].String) {
				r[i].String = r[i].String[:strings.IndexByte(r[i].String, '.')]
			}
		}
	}
	return out
}

var timeZeroFraction = regexp.MustCompile(`^-?\d{2,3}:\d{2}:\d{2}\.0+$`)

// sameTables fails the test unless every table has the same rows in a and b.
func sameTables(t *testing.T, what string, a, b *sql.DB, tables ...string) {
	t.Helper()
	for _, tb := range tables {
		ra, rb := tableRows(t, a, tb), tableRows(t, b, tb)
		if len(ra) == 0 {
			t.Fatalf("%s: table %s is empty at the source", what, tb)
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: table %s differs:\n source %v\n copy   %v", what, tb, ra, rb)
		}
	}
}

// checkObjects checks that the view, trigger, procedure and functions exist and work in db.
func checkObjects(t *testing.T, what string, db *sql.DB, source *sql.DB) {
	t.Helper()
	var twice int
	var label string
	if err := db.QueryRow("SELECT twice(21), kind_label(1)").Scan(&twice, &label); err != nil {
		t.Fatalf("%s: calling the functions: %v", what, err)
	}
	if twice != 42 || label != "large/alpha" {
		t.Errorf("%s: twice(21) = %d, kind_label(1) = %q; want 42, large/alpha", what, twice, label)
	}
	sameTables(t, what+" (view)", source, db, "big_kinds")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "CALL add_parent('added at "+what+"', @id)"); err != nil {
		t.Fatalf("%s: CALL add_parent: %v", what, err)
	}
	var id int
	if err := conn.QueryRowContext(ctx, "SELECT @id").Scan(&id); err != nil || id != 5 {
		t.Errorf("%s: CALL add_parent gave id %d (%v), want 5 (AUTO_INCREMENT carried over)", what, id, err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO kinds (parent_id, vc) VALUES (5, 'fires the trigger')"); err != nil {
		t.Fatalf("%s: insert: %v", what, err)
	}
	var note string
	if err := conn.QueryRowContext(ctx, "SELECT note FROM audit WHERE kind_id = 5").Scan(&note); err != nil || note != "inserted medium" {
		t.Errorf("%s: the trigger wrote %q (%v), want \"inserted medium\"", what, note, err)
	}
}

// TestDumpRoundTripWithMariaDB carries a database from MariaDB to RelayDB and back with the real
// tools: mariadb-dump --routines --triggers of MariaDB, loaded into RelayDB with the mariadb
// client (no --force: every statement must succeed), mariadb-dump --routines --triggers of
// RelayDB, loaded into a fresh MariaDB database. The rows of every table are equal at all three
// places, and the view, trigger, procedure and functions exist and work at both copies.
func TestDumpRoundTripWithMariaDB(t *testing.T) {
	m := mariadb.Start(t)
	n := startNode(t, "")
	mdb, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	mustExec(t, mdb, "CREATE DATABASE zoo")
	mustExec(t, mdb, "CREATE DATABASE zoo_back")
	runMariaTool(t, []byte(dumpZoo), "mariadb", append(hostPort(m.Port), "zoo")...)
	source, err := sql.Open("mysql", m.DSN("zoo"))
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close()

	// MariaDB → RelayDB, with the database's CREATE DATABASE (its character set), as one moves a
	// database to another server.
	dump1 := mustDump(t, m.Port, "zoo", "--databases")
	for _, want := range []string{"year(4)", "CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `twice`", "TRIGGER kinds_ai", "PROCEDURE `add_parent`"} {
		if !bytes.Contains(dump1, []byte(want)) {
			t.Fatalf("MariaDB's dump lacks %q, which this test is about:\n%s", want, dump1)
		}
	}
	runMariaTool(t, dump1, "mariadb", hostPort(n.port)...)
	relay := n.db("zoo")
	sameTables(t, "MariaDB → RelayDB", source, relay, "parent", "kinds", "audit")

	// RelayDB → a new database in MariaDB (created with the server's defaults, as zoo was).
	dump2 := mustDump(t, n.port, "zoo")
	for _, want := range []string{"FUNCTION `twice`", "FUNCTION `kind_label`", "PROCEDURE `add_parent`", "TRIGGER kinds_ai",
		"DEFAULT 'medium'", "DEFAULT 'red,blue'"} {
		if !bytes.Contains(dump2, []byte(want)) {
			t.Fatalf("RelayDB's dump lacks %q:\n%s", want, dump2)
		}
	}
	runMariaTool(t, dump2, "mariadb", append(hostPort(m.Port), "zoo_back")...)
	back, err := sql.Open("mysql", m.DSN("zoo_back"))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	sameTables(t, "RelayDB → MariaDB", source, back, "parent", "kinds", "audit")

	checkObjects(t, "RelayDB", relay, source)
	checkObjects(t, "MariaDB", back, source)
}

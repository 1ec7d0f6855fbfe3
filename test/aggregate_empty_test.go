package test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/relaydb/relaydb/test/mariadb"
)

// MIN and MAX over an empty table (or no matching rows) return one row holding NULL, as in MySQL:
// GMS's rewrite of MAX(pk) into ORDER BY pk DESC LIMIT 1 returned no row, and INSERT … SELECT
// COALESCE(MAX(id), 0) + 1 then inserted nothing. Compared with MariaDB.
func TestAggregatesOverNoRowsAsMariaDB(t *testing.T) {
	relay := startNode(t, "").db("")
	maria, err := sql.Open("mysql", mariadb.Start(t).DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer maria.Close()
	queries := []string{
		"SELECT MAX(id) FROM agg.t",
		"SELECT MIN(id) FROM agg.t",
		"SELECT MAX(id) + 1 FROM agg.t",
		"SELECT COALESCE(MAX(id), 0) + 1 FROM agg.t",
		"SELECT MAX(id) FROM agg.t WHERE id > 100",
		"SELECT MIN(id), MAX(id), COUNT(*) FROM agg.t",
		"SELECT MAX(v) FROM agg.t",
		"SELECT MAX(id) FROM agg.t GROUP BY v",
	}
	run := func(db *sql.DB, name string) []string {
		for _, q := range []string{"DROP DATABASE IF EXISTS agg", "CREATE DATABASE agg",
			"CREATE TABLE agg.t (id INT PRIMARY KEY, v INT)", "CREATE TABLE agg.u (id INT PRIMARY KEY)"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %s: %v", name, q, err)
			}
		}
		var out []string
		for _, q := range queries {
			out = append(out, q+" -> "+rowsString(t, db, q))
		}
		// The insert the rewrite broke: it must insert one row with id 1.
		if _, err := db.Exec("INSERT INTO agg.u SELECT COALESCE(MAX(id), 0) + 1 FROM agg.u"); err != nil {
			t.Fatalf("%s: insert-select: %v", name, err)
		}
		out = append(out, "after INSERT … SELECT COALESCE(MAX(id), 0) + 1: "+rowsString(t, db, "SELECT id FROM agg.u"))
		return out
	}
	want, got := run(maria, "MariaDB"), run(relay, "RelayDB")
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("MariaDB: %s\nRelayDB: %s", want[i], got[i])
		}
	}
}

// rowsString returns a query's rows as one string ("[]" for none; NULL as <nil>).
func rowsString(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		return "error: " + err.Error()
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var row []string
		for _, v := range vals {
			if v.Valid {
				row = append(row, v.String)
			} else {
				row = append(row, "<nil>")
			}
		}
		out = append(out, fmt.Sprint(row))
	}
	return fmt.Sprint(out)
}

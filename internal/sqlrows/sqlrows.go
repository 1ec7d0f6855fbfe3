// Package sqlrows reads database/sql result rows as text, for the client-side tools (relaydb
// dump, relaydb checksum) that inspect a server's answers to SHOW statements and queries.
//
// Invariant: a NULL reads as "", so callers that must tell NULL from the empty string do not
// use this package.
package sqlrows

import "database/sql"

// Row reads the current row of rows as text, one string per column.
func Row(rows *sql.Rows, ncols int) ([]string, error) {
	vals := make([]sql.NullString, ncols)
	ptrs := make([]any, ncols)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, ncols)
	for i, v := range vals {
		out[i] = v.String
	}
	return out, nil
}

// Map reads the current row of rows as column name → text.
func Map(rows *sql.Rows) (map[string]string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	r, err := Row(rows, len(cols))
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[c] = r[i]
	}
	return m, nil
}

// All reads every remaining row and closes rows.
func All(rows *sql.Rows) ([][]string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		r, err := Row(rows, len(cols))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

package checksum

import (
	"strings"
)

// quoteIdent quotes a MySQL identifier with backquotes.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// qualified is `db`.`tbl`.
func qualified(db, tbl string) string { return quoteIdent(db) + "." + quoteIdent(tbl) }

// rowHashExpr is the expression whose value is one row's checksum: CRC32 over every column's
// text joined by '#', then one ISNULL flag per column (so NULL and the empty string differ) and
// the length of every non-NULL value (so a '#' inside a value cannot make two different rows
// join to the same text: the joined text, the flags and the lengths together can be split back
// into the values). Binary columns enter as HEX(): the server refuses to join bytes that are
// not valid in the connection's character set.
func rowHashExpr(cols []column) string {
	var vals, nulls, lens []string
	for _, c := range cols {
		q := quoteIdent(c.name)
		if binaryTypes[c.dataType] {
			vals = append(vals, "HEX("+q+")")
		} else {
			vals = append(vals, q)
		}
		nulls = append(nulls, "ISNULL("+q+")")
		lens = append(lens, "LENGTH("+q+")")
	}
	return "CRC32(CONCAT_WS('#', " + strings.Join(vals, ", ") +
		", CONCAT(" + strings.Join(nulls, ", ") + "), CONCAT_WS(',', " + strings.Join(lens, ", ") + ")))"
}

// binaryTypes hold bytes rather than text.
var binaryTypes = map[string]bool{
	"binary": true, "varbinary": true, "tinyblob": true, "blob": true, "mediumblob": true, "longblob": true,
	"bit": true, "geometry": true, "point": true, "linestring": true, "polygon": true, "multipoint": true,
	"multilinestring": true, "multipolygon": true, "geometrycollection": true, "geomcollection": true,
}

// figuresQuery returns the chunk's figures in one row: COUNT(*), BIT_XOR and SUM of the row
// hashes. BIT_XOR and SUM are order-independent, so both servers may read the rows in any order;
// SUM also counts duplicate rows, which cancel out in an XOR (tables without a primary key).
// The server computes SUM in floating point; the cast back to an integer is exact while the sum
// stays below 2^53 (2 million rows of 2^32), which chunks do by far. A sum beyond that could
// round differently with another row order: no difference is reported on figures alone (see
// the package doc), so that could cost a drill-down, never a false report.
func figuresQuery(t *table, where string) string {
	return "SELECT COUNT(*), COALESCE(BIT_XOR(h), 0), COALESCE(CAST(SUM(h) AS UNSIGNED), 0) FROM (SELECT " +
		rowHashExpr(t.cols) + " AS h FROM " + qualified(t.db, t.name) + where + ") AS chunk_rows"
}

// tupleTerm is one conjunction of a lexicographic comparison on the primary key: the first len(eq)
// key columns equal the bound's, and the next one compares with op (or, when op is "", nothing
// more: every column is equal).
type tupleTerm struct {
	eq int    // the first eq key columns equal the bound's values
	op string // ">", "<", or "" (the term is "all columns equal")
}

// afterTerms is key > bound, lexicographically, as the disjunction MySQL (and GMS) turn into
// index ranges: (k0 > v0) OR (k0 = v0 AND k1 > v1) OR … The terms are ordered by the key ranges
// they cover, highest eq first: that is the order of the rows they select.
func afterTerms(n int) []tupleTerm {
	var ts []tupleTerm
	for i := n - 1; i >= 0; i-- {
		ts = append(ts, tupleTerm{eq: i, op: ">"})
	}
	return ts
}

// upToTerms is key <= bound: (k0 < v0) OR (k0 = v0 AND k1 < v1) OR … OR (all equal).
func upToTerms(n int) []tupleTerm {
	var ts []tupleTerm
	for i := 0; i < n; i++ {
		ts = append(ts, tupleTerm{eq: i, op: "<"})
	}
	return append(ts, tupleTerm{eq: n})
}

// render writes one term with placeholders, appending its arguments.
func (tt tupleTerm) render(key []string, bound []any, args []any) (string, []any) {
	var parts []string
	for i := 0; i < tt.eq; i++ {
		parts = append(parts, quoteIdent(key[i])+" = ?")
		args = append(args, bound[i])
	}
	if tt.op != "" {
		parts = append(parts, quoteIdent(key[tt.eq])+" "+tt.op+" ?")
		args = append(args, bound[tt.eq])
	}
	return strings.Join(parts, " AND "), args
}

// renderOr is the disjunction of terms.
func renderOr(terms []tupleTerm, key []string, bound []any, args []any) (string, []any) {
	var parts []string
	for _, tt := range terms {
		var s string
		s, args = tt.render(key, bound, args)
		parts = append(parts, "("+s+")")
	}
	if len(parts) == 1 {
		return parts[0], args
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// rangeWhere is the WHERE clause of the chunk (lower, upper] on the primary key; a nil bound
// means no limit on that side.
func rangeWhere(key []string, lower, upper []any) (string, []any) {
	var conds []string
	var args []any
	if lower != nil {
		var s string
		s, args = renderOr(afterTerms(len(key)), key, lower, args)
		conds = append(conds, s)
	}
	if upper != nil {
		var s string
		s, args = renderOr(upToTerms(len(key)), key, upper, args)
		conds = append(conds, s)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// orderBy is ORDER BY the key columns.
func orderBy(key []string) string {
	var q []string
	for _, k := range key {
		q = append(q, quoteIdent(k))
	}
	return " ORDER BY " + strings.Join(q, ", ")
}

// columnList is the quoted, comma-separated column names.
func columnList(cols []string) string {
	var q []string
	for _, c := range cols {
		q = append(q, quoteIdent(c))
	}
	return strings.Join(q, ", ")
}

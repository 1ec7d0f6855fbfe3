package checksum

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
)

// hashedRow is one row of a drill-down: its key values (every column for a table without a
// primary key) and its row hash.
type hashedRow struct {
	key  []any
	hash string
}

// drillDown compares one chunk row by row between the primary and replica i, in the current
// sync point's snapshots (the same that gave the chunk's figures), and returns the rows that
// differ.
func (c *checker) drillDown(ctx context.Context, t *table, i int, where string, args []any) ([]RowDiff, error) {
	keyCols := t.key
	if len(keyCols) == 0 {
		keyCols = t.columnNames()
	}
	q := "SELECT " + columnList(keyCols) + ", " + rowHashExpr(t.cols) + " FROM " + qualified(t.db, t.name) + where
	if len(t.key) > 0 {
		q += orderBy(t.key)
	}
	var prim, repl []hashedRow
	var g errgroup.Group
	g.Go(func() (err error) {
		prim, err = readHashed(ctx, c.sp.primary, q, args, len(keyCols))
		if err != nil {
			err = fmt.Errorf("primary %s: %w", c.primary.addr, err)
		}
		return err
	})
	g.Go(func() (err error) {
		repl, err = readHashed(ctx, c.sp.replicas[i], q, args, len(keyCols))
		if err != nil {
			err = fmt.Errorf("replica %s: %w", c.replicas[i].addr, err)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	addr := c.replicas[i].addr
	var out []RowDiff
	if len(t.key) == 0 {
		for _, d := range compareMultisets(prim, repl) {
			out = append(out, RowDiff{Replica: addr, Database: t.db, Table: t.name, Key: "(" + describeKey(t, keyCols, d.row.key) + ")", Kind: d.kind, Copies: d.copies})
		}
		return out, nil
	}
	for _, d := range compareKeyed(prim, repl) {
		rd := RowDiff{Replica: addr, Database: t.db, Table: t.name, Key: describeKey(t, keyCols, d.row.key), Kind: d.kind}
		if d.kind == Changed {
			cols, err := c.changedColumns(ctx, t, i, d.row.key)
			if err != nil {
				return nil, err
			}
			rd.Columns = cols
		}
		out = append(out, rd)
	}
	return out, nil
}

// readHashed reads the drill-down query's rows: nKey values then the hash.
func readHashed(ctx context.Context, conn *sql.Conn, q string, args []any, nKey int) ([]hashedRow, error) {
	var out []hashedRow
	err := query(ctx, conn, q, args, func(rows *sql.Rows) error {
		vals, err := scanAll(rows, nKey+1)
		out = append(out, hashedRow{key: vals[:nKey], hash: valueText(vals[nKey])})
		return err
	})
	return out, err
}

// rowDiff is a difference found by compareKeyed or compareMultisets.
type rowDiff struct {
	row    hashedRow
	kind   Kind
	copies int
}

// compareKeyed compares rows by key: keys only one side has, and keys whose hashes differ. The
// result follows the primary's order, then the replica's for keys only it has.
func compareKeyed(prim, repl []hashedRow) []rowDiff {
	byKey := make(map[string]string, len(repl))
	for _, r := range repl {
		byKey[rowKey(r.key)] = r.hash
	}
	seen := make(map[string]bool, len(prim))
	var out []rowDiff
	for _, p := range prim {
		k := rowKey(p.key)
		seen[k] = true
		h, ok := byKey[k]
		switch {
		case !ok:
			out = append(out, rowDiff{row: p, kind: OnlyOnPrimary})
		case h != p.hash:
			out = append(out, rowDiff{row: p, kind: Changed})
		}
	}
	for _, r := range repl {
		if !seen[rowKey(r.key)] {
			out = append(out, rowDiff{row: r, kind: OnlyOnReplica})
		}
	}
	return out
}

// compareMultisets compares two bags of whole rows (tables without a primary key, where a row
// can appear several times): each row one side has more copies of is a difference, with the
// number of extra copies.
func compareMultisets(prim, repl []hashedRow) []rowDiff {
	type entry struct {
		row  hashedRow
		n    int
		rank int // first appearance, for a stable order
	}
	counts := map[string]*entry{}
	add := func(rows []hashedRow, sign int) {
		for _, r := range rows {
			k := rowKey(r.key)
			e := counts[k]
			if e == nil {
				e = &entry{row: r, rank: len(counts)}
				counts[k] = e
			}
			e.n += sign
		}
	}
	add(prim, 1)
	add(repl, -1)
	out := make([]rowDiff, 0)
	ordered := make([]*entry, len(counts))
	for _, e := range counts {
		ordered[e.rank] = e
	}
	for _, e := range ordered {
		switch {
		case e.n > 0:
			out = append(out, rowDiff{row: e.row, kind: OnlyOnPrimary, copies: e.n})
		case e.n < 0:
			out = append(out, rowDiff{row: e.row, kind: OnlyOnReplica, copies: -e.n})
		}
	}
	return out
}

// changedColumns reads one row on both sides (in their snapshots) and lists the columns whose
// values differ.
func (c *checker) changedColumns(ctx context.Context, t *table, i int, key []any) ([]ColumnDiff, error) {
	var conds []string
	for _, k := range t.key {
		conds = append(conds, quoteIdent(k)+" = ?")
	}
	cols := t.columnNames()
	q := "SELECT " + columnList(cols) + " FROM " + qualified(t.db, t.name) + " WHERE " + strings.Join(conds, " AND ")
	read := func(conn *sql.Conn) (vals []any, err error) {
		err = query(ctx, conn, q, key, func(rows *sql.Rows) (err error) {
			vals, err = scanAll(rows, len(cols))
			return err
		})
		return vals, err
	}
	p, err := read(c.sp.primary)
	if err != nil {
		return nil, fmt.Errorf("primary %s: %w", c.primary.addr, err)
	}
	r, err := read(c.sp.replicas[i])
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", c.replicas[i].addr, err)
	}
	if p == nil || r == nil {
		return nil, fmt.Errorf("%s: row %s vanished from a snapshot", t, describeKey(t, t.key, key))
	}
	return changedValues(t, cols, p, r), nil
}

// changedValues lists the columns whose values differ between two versions of a row.
func changedValues(t *table, cols []string, p, r []any) []ColumnDiff {
	var out []ColumnDiff
	for j, col := range cols {
		if valueKey(p[j]) != valueKey(r[j]) {
			dt := t.dataType(col)
			out = append(out, ColumnDiff{Column: col, Primary: formatValue(p[j], dt), Replica: formatValue(r[j], dt)})
		}
	}
	return out
}

// describeKey writes key values as "a=1, b='x'".
func describeKey(t *table, cols []string, vals []any) string {
	parts := make([]string, len(cols))
	for j, col := range cols {
		parts[j] = col + "=" + formatValue(vals[j], t.dataType(col))
	}
	return strings.Join(parts, ", ")
}

package checksum

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// figures are one chunk's numbers on one server.
type figures struct {
	count    int64
	xor, sum string
}

// checkTable walks t chunk by chunk and compares each chunk on every replica with the primary,
// at the current sync point; a chunk that differs is compared row by row at the same sync point.
func (c *checker) checkTable(ctx context.Context, t *table) (TableReport, error) {
	tr := TableReport{Database: t.db, Table: t.name, NoPrimaryKey: len(t.key) == 0, DiffChunksOn: map[string]int{}}
	skip := make([]bool, len(c.replicas)) // replicas where the table cannot be compared
	var lower []any
	for {
		if err := c.ensureSync(ctx); err != nil {
			return tr, err
		}
		var upper []any
		if len(t.key) > 0 {
			var err error
			if upper, err = c.upperBound(ctx, t, lower); err != nil {
				return tr, fmt.Errorf("primary %s: %w", c.primary.addr, err)
			}
		}
		where, args := rangeWhere(t.key, lower, upper)
		q := figuresQuery(t, where)
		figs := make([]figures, len(c.replicas)+1)
		errs := make([]error, len(c.replicas)+1)
		var wg sync.WaitGroup
		wg.Go(func() { figs[0], errs[0] = chunkFigures(ctx, c.sp.primary, q, args) })
		for i := range c.replicas {
			if !skip[i] {
				wg.Go(func() { figs[i+1], errs[i+1] = chunkFigures(ctx, c.sp.replicas[i], q, args) })
			}
		}
		wg.Wait()
		if errs[0] != nil {
			return tr, fmt.Errorf("primary %s: %w", c.primary.addr, errs[0])
		}
		tr.Chunks++
		tr.Rows += figs[0].count
		differs := false
		for i, r := range c.replicas {
			if skip[i] {
				continue
			}
			if err := errs[i+1]; err != nil {
				if msg, ok := tableProblem(err); ok {
					skip[i] = true
					tr.Problems = append(tr.Problems, Problem{Replica: r.addr, Message: msg})
					continue
				}
				return tr, fmt.Errorf("replica %s: %w", r.addr, err)
			}
			if figs[i+1] == figs[0] {
				continue
			}
			diffs, err := c.drillDown(ctx, t, i, where, args)
			if err != nil {
				return tr, err
			}
			if len(diffs) == 0 {
				c.note(fmt.Sprintf("%s: a chunk's figures differed on %s but its rows compare equal", t, r.addr))
				continue
			}
			differs = true
			tr.DiffChunksOn[r.addr]++
			tr.DiffRows += len(diffs)
			for _, d := range diffs {
				if len(tr.Diffs) < c.opts.MaxRowDiffs {
					tr.Diffs = append(tr.Diffs, d)
				}
			}
		}
		if differs {
			tr.DiffChunks++
		}
		if upper == nil {
			return tr, nil
		}
		lower = upper
	}
}

// tableProblem recognises the errors that mean a replica's table cannot be compared with the
// primary's: it is missing (1146) or lacks a column (1054).
func tableProblem(err error) (string, bool) {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case 1146:
		return "table missing on the replica", true
	case 1054:
		return "columns differ on the replica: " + me.Message, true
	}
	return "", false
}

// chunkFigures runs the figures query in one server's snapshot.
func chunkFigures(ctx context.Context, conn *sql.Conn, q string, args []any) (figures, error) {
	var vals []any
	err := query(ctx, conn, q, args, func(rows *sql.Rows) (err error) {
		vals, err = scanAll(rows, 3)
		return err
	})
	if err != nil {
		return figures{}, err
	}
	if vals == nil {
		return figures{}, errors.New("checksum query returned no row")
	}
	count, err := strconv.ParseInt(valueText(vals[0]), 10, 64)
	if err != nil {
		return figures{}, fmt.Errorf("checksum query: count %v: %w", vals[0], err)
	}
	return figures{count: count, xor: valueText(vals[1]), sum: valueText(vals[2])}, nil
}

// valueText is a number's text, whatever type the driver gave it.
func valueText(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return formatValue(v, "")
}

// upperBound finds, in the primary's snapshot, the key of the ChunkSize-th row after lower (nil:
// from the start); nil when fewer rows are left (the chunk then runs to the end of the table).
//
// "key > lower" on several columns is a union of index ranges, and GMS sorts a union before
// applying LIMIT, which would read the rest of the table for every chunk. So the ranges are
// walked one at a time, in key order, each a single range that is read in index order: the
// first with ChunkSize rows left holds the bound; the others are counted (they have fewer).
func (c *checker) upperBound(ctx context.Context, t *table, lower []any) ([]any, error) {
	from := qualified(t.db, t.name)
	cols := columnList(t.key)
	var levels []tupleTerm
	if lower != nil {
		levels = afterTerms(len(t.key))
	} else {
		levels = []tupleTerm{{eq: -1}}
	}
	remaining := int64(c.opts.ChunkSize)
	for i, lv := range levels {
		where := ""
		var args []any
		if lv.eq >= 0 {
			var s string
			s, args = lv.render(t.key, lower, nil)
			where = " WHERE " + s
		}
		var bound []any
		err := query(ctx, c.sp.primary, "SELECT "+cols+" FROM "+from+where+orderBy(t.key)+
			" LIMIT 1 OFFSET "+strconv.FormatInt(remaining-1, 10), args, func(rows *sql.Rows) (err error) {
			bound, err = scanAll(rows, len(t.key))
			return err
		})
		if err != nil || bound != nil {
			return bound, err
		}
		if i == len(levels)-1 {
			break
		}
		var n int64
		if err := c.sp.primary.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from+where, args...).Scan(&n); err != nil {
			return nil, err
		}
		remaining -= n
	}
	return nil, nil
}

// query runs q as a prepared statement, so that results come in the binary protocol with
// their types (see values.go), even without arguments, and calls each for every row. The
// statement is closed only after its rows: closing it earlier would send COM_STMT_CLOSE in the
// middle of the result set.
func query(ctx context.Context, conn *sql.Conn, q string, args []any, each func(*sql.Rows) error) error {
	stmt, err := conn.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanAll scans the current row into a fresh slice of n values.
func scanAll(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for j := range vals {
		ptrs[j] = &vals[j]
	}
	return vals, rows.Scan(ptrs...)
}

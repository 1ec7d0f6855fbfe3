package binlogtool

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// rowsKind is what a rows event does; v1 (MariaDB, MySQL 5.5) and v2 events read alike.
type rowsKind int

const (
	notRows rowsKind = iota
	insertRows
	updateRows
	deleteRows
)

func kindOf(t binlog.EventType) rowsKind {
	switch t {
	case binlog.TypeWriteRows, binlog.TypeWriteRowsV1:
		return insertRows
	case binlog.TypeUpdateRows, binlog.TypeUpdateRowsV1:
		return updateRows
	case binlog.TypeDeleteRows, binlog.TypeDeleteRowsV1:
		return deleteRows
	}
	return notRows
}

// rowsTableID reads the table id of a rows event (6 bytes, or 4 in old formats) without
// decoding the rows, so that the table map can be found first.
func rowsTableID(f binlog.Format, ev binlog.Event) (uint64, error) {
	body := ev.Body(f)
	n := 6
	if t := int(ev.Type()); t >= 1 && t <= len(f.PostHeader) && f.PostHeader[t-1] == 6 {
		n = 4
	}
	if len(body) < n {
		return 0, fmt.Errorf("%s event too short for its table id", ev.Type())
	}
	var id uint64
	for i := n - 1; i >= 0; i-- {
		id = id<<8 | uint64(body[i])
	}
	return id, nil
}

// decodeRows decodes a rows event with the table map it refers to.
func decodeRows(f binlog.Format, ev binlog.Event, tables map[uint64]*table) (*table, *rowenc.RowsEvent, error) {
	id, err := rowsTableID(f, ev)
	if err != nil {
		return nil, nil, err
	}
	t, ok := tables[id]
	if !ok {
		return nil, nil, fmt.Errorf("%s event for table id %d, which no TABLE_MAP of this transaction maps", ev.Type(), id)
	}
	rows, err := t.dec.ParseRowsEvent(f.Vitess(), vitessEvent(f, ev))
	if err != nil {
		return t, nil, err
	}
	return t, rows, nil
}

// rowsSQL writes the statements that redo a rows event: one INSERT for all its rows, or one
// UPDATE or DELETE per row. Rows are found by primary key when the TABLE_MAP names one and the
// before image holds it; otherwise by every column of the before image (`<=>`, so NULLs match)
// and LIMIT 1, as a replica without keys would find them.
func rowsSQL(b *strings.Builder, kind rowsKind, t *table, ev *rowenc.RowsEvent) error {
	if !t.named {
		return fmt.Errorf("table %s: the TABLE_MAP has no column names, so its rows cannot be turned into SQL "+
			"(the source must log with binlog_row_metadata=FULL)", t.qualified())
	}
	switch kind {
	case insertRows:
		b.WriteString("INSERT INTO " + t.qualified() + " (")
		cols := present(t, ev.AfterColumns)
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(c.name))
		}
		b.WriteString(") VALUES ")
		for i, r := range ev.Rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for k, c := range cols {
				if k > 0 {
					b.WriteString(", ")
				}
				lit, err := literal(c, r.After[c.index])
				if err != nil {
					return err
				}
				b.WriteString(lit)
			}
			b.WriteByte(')')
		}
		b.WriteString(";\n")
	case updateRows:
		set := present(t, ev.AfterColumns)
		if len(set) == 0 {
			b.WriteString("# (update of no columns: nothing to do)\n")
			return nil
		}
		for _, r := range ev.Rows {
			b.WriteString("UPDATE " + t.qualified() + " SET ")
			for k, c := range set {
				if k > 0 {
					b.WriteString(", ")
				}
				lit, err := literal(c, r.After[c.index])
				if err != nil {
					return err
				}
				b.WriteString(quoteIdent(c.name) + "=" + lit)
			}
			if err := where(b, t, ev.BeforeColumns, r.Before); err != nil {
				return err
			}
		}
	case deleteRows:
		for _, r := range ev.Rows {
			b.WriteString("DELETE FROM " + t.qualified())
			if err := where(b, t, ev.BeforeColumns, r.Before); err != nil {
				return err
			}
		}
	}
	return nil
}

// where writes the WHERE clause (and LIMIT) that finds the row of a before image, and ';'.
func where(b *strings.Builder, t *table, cols mysql.Bitmap, before sql.Row) error {
	byKey := len(t.pk) > 0
	for _, o := range t.pk {
		if !cols.Bit(o) || before[o] == nil {
			byKey = false
		}
	}
	b.WriteString(" WHERE ")
	if byKey {
		for k, o := range t.pk {
			if k > 0 {
				b.WriteString(" AND ")
			}
			lit, err := literal(&t.cols[o], before[o])
			if err != nil {
				return err
			}
			b.WriteString(quoteIdent(t.cols[o].name) + "=" + lit)
		}
		b.WriteString(";\n")
		return nil
	}
	match := present(t, cols)
	if len(match) == 0 {
		return fmt.Errorf("table %s: a before image with no columns cannot find its row", t.qualified())
	}
	for k, c := range match {
		if k > 0 {
			b.WriteString(" AND ")
		}
		lit, err := literal(c, before[c.index])
		if err != nil {
			return err
		}
		b.WriteString(quoteIdent(c.name) + "<=>" + lit)
	}
	b.WriteString(" LIMIT 1;\n")
	return nil
}

func present(t *table, cols mysql.Bitmap) []*column {
	var out []*column
	for i := range t.cols {
		if cols.Bit(i) {
			out = append(out, &t.cols[i])
		}
	}
	return out
}

// rowsVerbose writes a rows event as mysqlbinlog -v does: commented pseudo-SQL, columns as
// @N, followed by the name when the TABLE_MAP has it.
func rowsVerbose(b *strings.Builder, kind rowsKind, t *table, ev *rowenc.RowsEvent) {
	image := func(label string, cols mysql.Bitmap, row sql.Row) {
		b.WriteString("### " + label + "\n")
		for _, c := range present(t, cols) {
			lit, err := literal(c, row[c.index])
			if err != nil {
				lit = "/* " + sanitize(err.Error()) + " */"
			}
			fmt.Fprintf(b, "###   @%d=%s", c.index+1, lit)
			if c.name != "" {
				b.WriteString(" /* " + sanitize(strings.ReplaceAll(c.name, "*/", "* /")) + " */")
			}
			b.WriteByte('\n')
		}
	}
	for _, r := range ev.Rows {
		switch kind {
		case insertRows:
			b.WriteString("### INSERT INTO " + sanitize(t.qualified()) + "\n")
			image("SET", ev.AfterColumns, r.After)
		case updateRows:
			b.WriteString("### UPDATE " + sanitize(t.qualified()) + "\n")
			image("WHERE", ev.BeforeColumns, r.Before)
			image("SET", ev.AfterColumns, r.After)
		case deleteRows:
			b.WriteString("### DELETE FROM " + sanitize(t.qualified()) + "\n")
			image("WHERE", ev.BeforeColumns, r.Before)
		}
	}
}

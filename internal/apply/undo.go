package apply

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// ErrNotUndoable is wrapped by Undo's errors for a transaction its binlog events cannot undo:
// a statement logged as text (DDL, binlog_format=STATEMENT), or a row change whose before image
// does not carry every column (binlog_row_image=MINIMAL).
var ErrNotUndoable = errors.New("cannot be undone from its binlog events")

// CheckUndoable reports (wrapping ErrNotUndoable) why t cannot be undone, without touching any
// table: it must hold row events only, between BEGIN and XID/COMMIT.
func CheckUndoable(f binlog.Format, t *binlog.Transaction) error {
	for _, ev := range t.Events {
		switch ev.Type() {
		case binlog.TypeGTID, binlog.TypeAnonymousGTID, binlog.TypeXID, binlog.TypeTableMap,
			binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
			binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1,
			binlog.TypeRowsQuery, binlog.TypePreviousGTIDs, binlog.TypeFormatDescription, binlog.TypeRotate,
			binlog.TypeStop, binlog.TypeHeartbeat:
		case binlog.TypeQuery:
			q, err := binlog.DecodeQuery(f, ev)
			if err != nil {
				return err
			}
			switch strings.ToUpper(strings.TrimSpace(q.SQL)) {
			case "BEGIN", "COMMIT":
			default:
				return fmt.Errorf("%w: it holds a statement logged as text (%.60q)", ErrNotUndoable, q.SQL)
			}
		default:
			return fmt.Errorf("%w: it holds a %s event", ErrNotUndoable, ev.Type())
		}
	}
	return nil
}

// Undo reverses t, a row-based transaction this server executed and logged in format f, inside
// ctx's current transaction (the caller begins and commits it, so that several transactions
// are undone atomically): its row events newest first, the rows of each event last first, an
// insert deleted, a delete re-inserted from its before image, an update set back to its before
// image. Each inverse is applied through the tables' editors like any applied change: a row
// that is not as the transaction left it is error 1032 (the store diverged; nothing is forced).
func (a *Applier) Undo(ctx *sql.Context, f binlog.Format, t *binlog.Transaction) error {
	if err := CheckUndoable(f, t); err != nil {
		return err
	}
	clear(a.tables)
	defer clear(a.tables)
	var rows []binlog.Event
	for _, ev := range t.Events {
		switch ev.Type() {
		case binlog.TypeTableMap:
			if err := a.mapTable(ctx, f, ev); err != nil {
				return err
			}
		case binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
			binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1:
			rows = append(rows, ev)
		}
	}
	for _, ev := range slices.Backward(rows) {
		if err := a.undoRows(ctx, f, ev); err != nil {
			return err
		}
	}
	return nil
}

func (a *Applier) undoRows(ctx *sql.Context, f binlog.Format, ev binlog.Event) error {
	mt, re, err := a.decodeRows(f, ev)
	if err != nil || mt.skip {
		return err
	}
	inv := &rowenc.RowsEvent{TableID: re.TableID, Rows: make([]rowenc.RowChange, 0, len(re.Rows))}
	for _, rc := range slices.Backward(re.Rows) {
		inv.Rows = append(inv.Rows, rowenc.RowChange{Before: rc.After, After: rc.Before})
	}
	inv.BeforeColumns, inv.AfterColumns = re.AfterColumns, re.BeforeColumns
	switch ev.Type() {
	case binlog.TypeWriteRows, binlog.TypeWriteRowsV1:
		return a.deleteRows(ctx, mt, inv)
	case binlog.TypeUpdateRows, binlog.TypeUpdateRowsV1:
		if !complete(re.BeforeColumns, mt.columns) {
			return fmt.Errorf("%w: an update of %s has a partial before image (binlog_row_image=MINIMAL)", ErrNotUndoable, mt.name)
		}
		return a.updateRows(ctx, mt, inv)
	default:
		if !complete(re.BeforeColumns, mt.columns) {
			return fmt.Errorf("%w: a delete from %s has a partial before image (binlog_row_image=MINIMAL)", ErrNotUndoable, mt.name)
		}
		return a.insertRows(ctx, mt, inv)
	}
}

// RowImage is one row change of a transaction as Describe reports it: the table, the kind of
// change (INSERT, UPDATE or DELETE) and the row before and after, by column name (nil for a
// side the change does not have; a column the image does not carry is absent).
type RowImage struct {
	Table  string
	Kind   string
	Before map[string]any
	After  map[string]any
}

// Describe decodes t's row changes with the tables' current schemas, in binlog order, without
// changing anything.
func (a *Applier) Describe(ctx *sql.Context, f binlog.Format, t *binlog.Transaction) ([]RowImage, error) {
	clear(a.tables)
	defer clear(a.tables)
	var out []RowImage
	for _, ev := range t.Events {
		kind := ""
		switch ev.Type() {
		case binlog.TypeTableMap:
			if err := a.mapTable(ctx, f, ev); err != nil {
				return nil, err
			}
			continue
		case binlog.TypeWriteRows, binlog.TypeWriteRowsV1:
			kind = "INSERT"
		case binlog.TypeUpdateRows, binlog.TypeUpdateRowsV1:
			kind = "UPDATE"
		case binlog.TypeDeleteRows, binlog.TypeDeleteRowsV1:
			kind = "DELETE"
		default:
			continue
		}
		mt, re, err := a.decodeRows(f, ev)
		if err != nil {
			return nil, err
		}
		if mt.skip {
			continue
		}
		schema := mt.table.Schema(ctx)
		named := func(cols interface{ Bit(int) bool }, row sql.Row) map[string]any {
			if row == nil {
				return nil
			}
			m := make(map[string]any, len(row))
			for i, c := range schema {
				if i < len(row) && cols.Bit(i) {
					m[c.Name] = row[i]
				}
			}
			return m
		}
		for _, rc := range re.Rows {
			out = append(out, RowImage{Table: mt.name, Kind: kind,
				Before: named(&re.BeforeColumns, rc.Before), After: named(&re.AfterColumns, rc.After)})
		}
	}
	return out, nil
}

package apply

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// RowLookup is implemented by tables that can return a stored row by its primary key (needed for
// binlog_row_image=MINIMAL before images).
type RowLookup interface {
	LookupRow(ctx *sql.Context, key sql.Row) (sql.Row, bool, error)
}

// Applier applies binlog transactions through a GMS engine. It keeps the tables mapped by the
// current transaction's TABLE_MAP events; use one Applier per session.
type Applier struct {
	engine *sqle.Engine
	tables map[uint64]*mappedTable
	// BeforeCommit, if set, is called just before the transaction commits (at its XID or
	// COMMIT, or before a DDL statement, which commits by itself); an error aborts the
	// transaction. The parallel replica applier uses it to commit in the source's order.
	BeforeCommit func() error
	// Filter, if set, chooses what is applied (the replica's replication filters); what it
	// drops is skipped, and a transaction left empty still commits (under the caller's
	// gtid_next).
	Filter Filter
}

// Filter renames databases and chooses which changes are applied (see package rplfilter).
type Filter interface {
	// RewriteName is the database changes to db apply to.
	RewriteName(db string) string
	// Table reports whether row changes to db.table (db already renamed) are applied.
	Table(db, table string) bool
	// Statement reports whether a statement logged as text runs in default database db
	// (already renamed; "" for none).
	Statement(db, query string) bool
}

func (a *Applier) beforeCommit() error {
	if a.BeforeCommit == nil {
		return nil
	}
	return a.BeforeCommit()
}

type mappedTable struct {
	name    string
	table   sql.Table
	decoder *rowenc.Decoder
	columns int
	skip    bool // filtered out: its rows events are ignored
}

// New returns an applier over engine.
func New(engine *sqle.Engine) *Applier {
	return &Applier{engine: engine, tables: map[uint64]*mappedTable{}}
}

// Apply executes one complete transaction, read from a binlog written in format f, in ctx's
// session. On error the transaction is rolled back.
func (a *Applier) Apply(ctx *sql.Context, f binlog.Format, t *binlog.Transaction) (err error) {
	// One transaction is one command of the session, as a client's statement is: the storage's
	// idle reaper then sees the session busy, and never takes its open transaction for idle.
	if ls, ok := ctx.Session.(sql.LifecycleAwareSession); ok {
		if err := ls.CommandBegin(); err != nil {
			return err
		}
		defer ls.CommandEnd()
	}
	clear(a.tables)
	open := false
	defer func() {
		if err != nil && open {
			_ = a.exec(ctx, "ROLLBACK")
		}
	}()
	for _, ev := range t.Events {
		switch ev.Type() {
		case binlog.TypeGTID, binlog.TypeAnonymousGTID, binlog.TypePreviousGTIDs, binlog.TypeRotate,
			binlog.TypeFormatDescription, binlog.TypeStop, binlog.TypeHeartbeat:
		case binlog.TypeQuery:
			q, err := binlog.DecodeQuery(f, ev)
			if err != nil {
				return err
			}
			switch strings.ToUpper(strings.TrimSpace(q.SQL)) {
			case "BEGIN":
				if err := a.exec(ctx, "START TRANSACTION"); err != nil {
					return err
				}
				open = true
			case "COMMIT":
				if err := a.beforeCommit(); err != nil {
					return err
				}
				open = false
				if err := a.exec(ctx, "COMMIT"); err != nil {
					return err
				}
			case "ROLLBACK":
				open = false
				if err := a.exec(ctx, "ROLLBACK"); err != nil {
					return err
				}
			default:
				run := true
				if a.Filter != nil {
					q.Database = a.Filter.RewriteName(q.Database)
					run = a.Filter.Statement(q.Database, q.SQL)
				}
				if !open {
					// A statement outside BEGIN … COMMIT (DDL) commits by itself.
					if err := a.beforeCommit(); err != nil {
						return err
					}
					if !run {
						// Filtered out: an empty transaction still records the GTID.
						if err := a.exec(ctx, "START TRANSACTION"); err != nil {
							return err
						}
						if err := a.exec(ctx, "COMMIT"); err != nil {
							return err
						}
						continue
					}
				}
				if !run {
					continue
				}
				if err := a.statement(ctx, ev, q); err != nil {
					return fmt.Errorf("apply %q: %w", q.SQL, err)
				}
				if !open {
					if err := a.recordUnlogged(ctx); err != nil {
						return err
					}
				}
			}
		case binlog.TypeIntVar:
			typ, v, err := binlog.DecodeIntVar(f, ev)
			if err != nil {
				return err
			}
			if err := a.intVar(ctx, typ, v); err != nil {
				return err
			}
		case binlog.TypeRand:
			s1, s2, err := binlog.DecodeRand(f, ev)
			if err != nil {
				return err
			}
			if err := a.exec(ctx, fmt.Sprintf("SET SESSION rand_seed1 = %d, SESSION rand_seed2 = %d", s1, s2)); err != nil {
				return err
			}
		case binlog.TypeUserVar:
			uv, err := binlog.DecodeUserVar(f, ev)
			if err != nil {
				return err
			}
			if err := setUserVar(ctx, uv); err != nil {
				return err
			}
		case binlog.TypeTableMap:
			if err := a.mapTable(ctx, f, ev); err != nil {
				return err
			}
		case binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
			binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1:
			if err := a.applyRows(ctx, f, ev); err != nil {
				return err
			}
		case binlog.TypeXID:
			if err := a.beforeCommit(); err != nil {
				return err
			}
			open = false
			if err := a.exec(ctx, "COMMIT"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("apply: unsupported event %s at %s:%d", ev.Type(), t.File, ev.LogPos())
		}
	}
	if open {
		return fmt.Errorf("apply: transaction %s has no XID or COMMIT", t.GTID)
	}
	return nil
}

// statement runs a statement logged as text (DDL, or DML in statement format) in its default
// database and at the time it ran on the source, so NOW() and column defaults repeat.
func (a *Applier) statement(ctx *sql.Context, ev binlog.Event, q binlog.Query) error {
	if q.Database != "" {
		ctx.SetCurrentDatabase(q.Database)
	}
	prev := ctx.QueryTime()
	at := time.Unix(int64(ev.Timestamp()), 0)
	if q.HasMicroseconds {
		at = at.Add(time.Duration(q.Microseconds) * time.Microsecond)
	}
	ctx.SetQueryTime(at)
	defer ctx.SetQueryTime(prev)
	if q.AutoIncrementIncrement > 1 || q.AutoIncrementOffset > 1 {
		set := fmt.Sprintf("SET SESSION auto_increment_increment = %d, SESSION auto_increment_offset = %d",
			max(q.AutoIncrementIncrement, 1), max(q.AutoIncrementOffset, 1))
		if err := a.exec(ctx, set); err != nil {
			return err
		}
		defer a.exec(ctx, "SET SESSION auto_increment_increment = 1, SESSION auto_increment_offset = 1")
	}
	return a.exec(ctx, q.SQL)
}

// recordUnlogged commits an empty transaction when a statement that commits by itself left the
// caller's gtid_next unused because it changed nothing (ALTER USER IF EXISTS of a missing
// account, CREATE TABLE IF NOT EXISTS of an existing table): the GTID is executed all the same.
func (a *Applier) recordUnlogged(ctx *sql.Context) error {
	v, err := ctx.GetSessionVariable(ctx, "gtid_next")
	if err != nil {
		return nil
	}
	if next := strings.TrimSpace(fmt.Sprint(v)); next == "" || strings.EqualFold(next, "AUTOMATIC") {
		return nil
	}
	if err := a.exec(ctx, "START TRANSACTION"); err != nil {
		return err
	}
	return a.exec(ctx, "COMMIT")
}

// intVar applies an INTVAR event: the value of LAST_INSERT_ID() or the next AUTO_INCREMENT
// value for the statement that follows.
func (a *Applier) intVar(ctx *sql.Context, typ byte, v uint64) error {
	switch typ {
	case binlog.IntVarLastInsertID:
		return a.exec(ctx, fmt.Sprintf("SET SESSION last_insert_id = %d", v))
	case binlog.IntVarInsertID:
		return a.exec(ctx, fmt.Sprintf("SET SESSION insert_id = %d", v))
	}
	return fmt.Errorf("apply: unknown INTVAR type %d", typ)
}

// setUserVar applies a USER_VAR event: @name as the statement that follows reads it.
func setUserVar(ctx *sql.Context, uv binlog.UserVar) error {
	if uv.Null {
		return ctx.SetUserVariable(ctx, uv.Name, nil, types.Null)
	}
	switch uv.Type {
	case binlog.UserVarInt:
		if len(uv.Value) != 8 {
			return fmt.Errorf("apply: user variable @%s: bad integer", uv.Name)
		}
		x := binary.LittleEndian.Uint64(uv.Value)
		if uv.Unsigned {
			return ctx.SetUserVariable(ctx, uv.Name, x, types.Uint64)
		}
		return ctx.SetUserVariable(ctx, uv.Name, int64(x), types.Int64)
	case binlog.UserVarReal:
		if len(uv.Value) != 8 {
			return fmt.Errorf("apply: user variable @%s: bad real", uv.Name)
		}
		return ctx.SetUserVariable(ctx, uv.Name, math.Float64frombits(binary.LittleEndian.Uint64(uv.Value)), types.Float64)
	case binlog.UserVarString:
		coll := sql.CollationID(uv.Collation)
		if uv.Collation == 0 || uv.Collation > 255 || coll.Name() == "" { // GMS indexes a fixed table by id
			coll = sql.Collation_Default
		}
		return ctx.SetUserVariable(ctx, uv.Name, string(uv.Value), types.CreateLongText(coll))
	case binlog.UserVarDecimal:
		d, err := rowenc.DecodeUserVarDecimal(uv.Value)
		if err != nil {
			return fmt.Errorf("apply: user variable @%s: %w", uv.Name, err)
		}
		typ, err := types.CreateDecimalType(uint8(uv.Value[0]), uint8(uv.Value[1]))
		if err != nil {
			return err
		}
		return ctx.SetUserVariable(ctx, uv.Name, d, typ) // GMS holds decimals as *apd.Decimal
	}
	return fmt.Errorf("apply: user variable @%s of type %d is not supported", uv.Name, uv.Type)
}

// exec runs one statement and drains its result.
func (a *Applier) exec(ctx *sql.Context, query string) error {
	// The statement's text goes with it: the binary log records DDL and statement-format DML
	// from it when this server logs what it applies.
	ctx = ctx.WithQuery(query)
	_, iter, _, err := a.engine.Query(ctx, query)
	if err != nil {
		return err
	}
	_, err = sql.RowIterToRows(ctx, iter)
	return err
}

func (a *Applier) mapTable(ctx *sql.Context, f binlog.Format, ev binlog.Event) error {
	vf := f.Vitess()
	vev, _, err := ev.Vitess().StripChecksum(vf)
	if err != nil {
		return err
	}
	id, tm, _, err := rowenc.ParseTableMapEvent(vf, vev)
	if err != nil {
		return err
	}
	if a.Filter != nil {
		tm.Database = a.Filter.RewriteName(tm.Database)
		if !a.Filter.Table(tm.Database, tm.Name) {
			a.tables[id] = &mappedTable{name: tm.Database + "." + tm.Name, skip: true}
			return nil
		}
	}
	db, err := a.engine.Analyzer.Catalog.Database(ctx, tm.Database)
	if err != nil {
		return err
	}
	tbl, ok, err := db.GetTableInsensitive(ctx, tm.Name)
	if err != nil {
		return err
	}
	if !ok {
		return sql.ErrTableNotFound.New(tm.Database + "." + tm.Name)
	}
	dec, err := rowenc.NewDecoder(tm, tbl.Schema(ctx))
	if err != nil {
		return fmt.Errorf("table %s.%s: %w", tm.Database, tm.Name, err)
	}
	a.tables[id] = &mappedTable{name: tm.Database + "." + tm.Name, table: tbl, decoder: dec, columns: len(tbl.Schema(ctx))}
	return nil
}

// decodeRows decodes a rows event against its table's TABLE_MAP; a table the filter skips is
// returned without rows.
func (a *Applier) decodeRows(f binlog.Format, ev binlog.Event) (*mappedTable, *rowenc.RowsEvent, error) {
	vf := f.Vitess()
	vev, _, err := ev.Vitess().StripChecksum(vf)
	if err != nil {
		return nil, nil, err
	}
	id, _ := ev.TableID(f)
	mt, ok := a.tables[id]
	if !ok {
		return nil, nil, fmt.Errorf("apply: rows event for table id %d without its TABLE_MAP", id)
	}
	if mt.skip {
		return mt, nil, nil
	}
	re, err := mt.decoder.ParseRowsEvent(vf, vev)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: %w", mt.name, err)
	}
	return mt, re, nil
}

func (a *Applier) applyRows(ctx *sql.Context, f binlog.Format, ev binlog.Event) error {
	mt, re, err := a.decodeRows(f, ev)
	if err != nil || mt.skip {
		return err
	}
	switch ev.Type() {
	case binlog.TypeWriteRows, binlog.TypeWriteRowsV1:
		return a.insertRows(ctx, mt, re)
	case binlog.TypeUpdateRows, binlog.TypeUpdateRowsV1:
		return a.updateRows(ctx, mt, re)
	default:
		return a.deleteRows(ctx, mt, re)
	}
}

// ApplyEvent applies one TABLE_MAP or rows event on its own, in ctx's current transaction: the
// BINLOG statement that mysqlbinlog prints for them. Tables stay mapped until a rows event that
// ends its statement (STMT_END_F), as in MySQL.
func (a *Applier) ApplyEvent(ctx *sql.Context, f binlog.Format, ev binlog.Event) error {
	switch ev.Type() {
	case binlog.TypeTableMap:
		return a.mapTable(ctx, f, ev)
	case binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
		binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1:
		err := a.applyRows(ctx, f, ev)
		if body := ev.Body(f); err != nil || len(body) < 8 || binary.LittleEndian.Uint16(body[6:8])&rowsStmtEnd != 0 {
			clear(a.tables)
		}
		return err
	}
	return fmt.Errorf("apply: %s event cannot be applied on its own", ev.Type())
}

// rowsStmtEnd is the rows event flag (after the 6-byte table id) that ends a statement.
const rowsStmtEnd = 1

func complete(bm mysql.Bitmap, n int) bool {
	if bm.Count() < n {
		return false
	}
	for i := 0; i < n; i++ {
		if !bm.Bit(i) {
			return false
		}
	}
	return true
}

func (a *Applier) insertRows(ctx *sql.Context, mt *mappedTable, re *rowenc.RowsEvent) error {
	it, ok := mt.table.(sql.InsertableTable)
	if !ok {
		return fmt.Errorf("apply: table %s does not accept inserts", mt.name)
	}
	partial := !complete(re.AfterColumns, mt.columns)
	ins := it.Inserter(ctx)
	ins.StatementBegin(ctx)
	for _, rc := range re.Rows {
		if partial {
			if err := fillDefaults(ctx, mt, re.AfterColumns, rc.After); err != nil {
				_ = ins.DiscardChanges(ctx, err)
				_ = ins.Close(ctx)
				return err
			}
		}
		if err := a.bumpAutoIncrement(ctx, mt, rc.After); err != nil {
			return err
		}
		if err := ins.Insert(ctx, rc.After); err != nil {
			_ = ins.DiscardChanges(ctx, err)
			_ = ins.Close(ctx)
			return err
		}
	}
	if err := ins.StatementComplete(ctx); err != nil {
		return err
	}
	return ins.Close(ctx)
}

// fillDefaults completes an inserted row whose image leaves columns out (MariaDB's
// binlog_row_image=MINIMAL logs only the columns an INSERT set): each absent column takes its
// default, as the insert on the source did.
func fillDefaults(ctx *sql.Context, mt *mappedTable, present mysql.Bitmap, row sql.Row) error {
	for i, c := range mt.table.Schema(ctx) {
		if i >= len(row) || (i < present.Count() && present.Bit(i)) {
			continue
		}
		switch {
		case c.Default != nil:
			v, err := columnDefault(ctx, c)
			if err != nil {
				return fmt.Errorf("apply: insert into %s: default of column %s: %w", mt.name, c.Name, err)
			}
			row[i] = v
		case c.Nullable:
			row[i] = nil
		default:
			return fmt.Errorf("apply: insert into %s leaves out column %s, which has no default", mt.name, c.Name)
		}
	}
	return nil
}

// columnDefault evaluates a column's default. The storage's schemas hold defaults as text
// (unresolved), so it is parsed here first, then converted to the column's type.
func columnDefault(ctx *sql.Context, c *sql.Column) (any, error) {
	d := c.Default
	switch e := d.Expr.(type) {
	case *sql.UnresolvedColumnDefault, sql.UnresolvedColumnDefault:
		var err error
		if d, err = planbuilder.StringToColumnDefaultValue(ctx, e.String()); err != nil {
			return nil, err
		}
	}
	v, err := d.Expr.Eval(ctx, nil)
	if err != nil || v == nil {
		return nil, err
	}
	v, _, err = c.Type.Convert(ctx, v)
	return v, err
}

// bumpAutoIncrement moves the table's AUTO_INCREMENT counter past an inserted value, as a
// client insert with an explicit value does.
func (a *Applier) bumpAutoIncrement(ctx *sql.Context, mt *mappedTable, row sql.Row) error {
	at, ok := mt.table.(sql.AutoIncrementTable)
	if !ok {
		return nil
	}
	for i, c := range mt.table.Schema(ctx) {
		if c.AutoIncrement && i < len(row) && row[i] != nil {
			_, err := at.GetNextAutoIncrementValue(ctx, row[i])
			return err
		}
	}
	return nil
}

// fullBefore returns the stored row a before image identifies.
func (a *Applier) fullBefore(ctx *sql.Context, mt *mappedTable, re *rowenc.RowsEvent, before sql.Row) (sql.Row, error) {
	if complete(re.BeforeColumns, mt.columns) {
		// The storage editors update or delete nothing, silently, when the row is gone (the SQL
		// layer only hands them rows it has read); a replica must instead stop with 1032, as
		// MySQL's does, rather than diverge. Tables without a primary key cannot be checked.
		if lk, ok := mt.table.(RowLookup); ok && hasPrimaryKey(ctx, mt.table) {
			_, found, err := lk.LookupRow(ctx, before)
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, keyNotFound(mt.name)
			}
		}
		return before, nil
	}
	lk, ok := mt.table.(RowLookup)
	if !ok {
		return nil, fmt.Errorf("apply: table %s cannot look rows up for a partial before image", mt.name)
	}
	row, found, err := lk.LookupRow(ctx, before)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, keyNotFound(mt.name)
	}
	return row, nil
}

func hasPrimaryKey(ctx *sql.Context, t sql.Table) bool {
	pk, ok := t.(sql.PrimaryKeyTable)
	return ok && len(pk.PrimaryKeySchema(ctx).PkOrdinals) > 0
}

func keyNotFound(table string) error {
	return mysql.NewSQLError(mysql.ERKeyNotFound, mysql.SSUnknownSQLState, "Can't find record in '%s'", table)
}

func (a *Applier) updateRows(ctx *sql.Context, mt *mappedTable, re *rowenc.RowsEvent) error {
	ut, ok := mt.table.(sql.UpdatableTable)
	if !ok {
		return fmt.Errorf("apply: table %s does not accept updates", mt.name)
	}
	up := ut.Updater(ctx)
	up.StatementBegin(ctx)
	fail := func(err error) error {
		_ = up.DiscardChanges(ctx, err)
		_ = up.Close(ctx)
		return err
	}
	for _, rc := range re.Rows {
		old, err := a.fullBefore(ctx, mt, re, rc.Before)
		if err != nil {
			return fail(err)
		}
		next := rc.After
		if !complete(re.AfterColumns, mt.columns) {
			next = append(sql.Row(nil), old...)
			for i := 0; i < mt.columns; i++ {
				if re.AfterColumns.Bit(i) {
					next[i] = rc.After[i]
				}
			}
		}
		if err := up.Update(ctx, old, next); err != nil {
			return fail(err)
		}
	}
	if err := up.StatementComplete(ctx); err != nil {
		return err
	}
	return up.Close(ctx)
}

func (a *Applier) deleteRows(ctx *sql.Context, mt *mappedTable, re *rowenc.RowsEvent) error {
	dt, ok := mt.table.(sql.DeletableTable)
	if !ok {
		return fmt.Errorf("apply: table %s does not accept deletes", mt.name)
	}
	del := dt.Deleter(ctx)
	del.StatementBegin(ctx)
	for _, rc := range re.Rows {
		old, err := a.fullBefore(ctx, mt, re, rc.Before)
		if err == nil {
			err = del.Delete(ctx, old)
		}
		if err != nil {
			_ = del.DiscardChanges(ctx, err)
			_ = del.Close(ctx)
			return err
		}
	}
	if err := del.StatementComplete(ctx); err != nil {
		return err
	}
	return del.Close(ctx)
}

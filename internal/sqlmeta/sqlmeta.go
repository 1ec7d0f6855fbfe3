package sqlmeta

import (
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// gms builds the nodes whose rows Build rewrites (it has no priority builder: no recursion).
var gms = rowexec.NewBuilder(nil, sql.EngineOverrides{})

// CreateTimer is a table that knows when it was created (storage.Table).
type CreateTimer interface {
	CreateTime() (time.Time, bool)
}

// Builder builds the statements this package corrects.
type Builder struct {
	// Privileges is the session user's privileges (for SHOW FULL COLUMNS' Privileges); nil
	// leaves the column as GMS fills it (empty).
	Privileges func(*sql.Context) sql.PrivilegeSet
	// Provider finds the tables information_schema.COLUMNS describes (for COLUMN_KEY); nil
	// leaves COLUMN_KEY as GMS computes it.
	Provider sql.DatabaseProvider
}

// Build returns the rows of SHOW [FULL] COLUMNS, SHOW TABLE STATUS and
// information_schema.COLUMNS as MySQL prints them, and nil (GMS builds the node) for any other
// node.
func (b Builder) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	switch n := n.(type) {
	case *plan.ShowColumns:
		privs := ""
		if rt, ok := n.Child.(*plan.ResolvedTable); ok && n.Full && b.Privileges != nil && rt.Database() != nil {
			privs = columnPrivileges(b.Privileges(ctx), rt.Database().Name(), rt.Name())
		}
		return rewrite(ctx, n, row, func(r sql.Row) {
			showColumnsRow(n, r)
			if n.Full && b.Privileges != nil {
				r[7] = privs
			}
		})
	case *plan.ShowIndexes:
		return rewrite(ctx, n, row, func(r sql.Row) { showIndexRow(n, r) })
	case *plan.ShowTableStatus:
		return rewrite(ctx, n, row, func(r sql.Row) { tableStatusRow(ctx, n, r) })
	case *plan.ResolvedTable:
		if n.Database() != nil && strings.EqualFold(n.Database().Name(), sql.InformationSchemaDatabaseName) &&
			strings.EqualFold(n.Name(), "columns") {
			return b.infoSchemaColumns(ctx, n, row)
		}
	}
	return nil, nil
}

// infoSchemaColumns gives information_schema.COLUMNS's TEXT columns MySQL's
// CHARACTER_MAXIMUM_LENGTH: the type's length in bytes (65535 for TEXT, whatever the
// character set), where GMS divides it by the character set's longest character (16383); and
// DATE columns a NULL DATETIME_PRECISION (GMS: 0); and COLUMN_KEY by MySQL's rules (columnKeys).
func (b Builder) infoSchemaColumns(ctx *sql.Context, n *plan.ResolvedTable, row sql.Row) (sql.RowIter, error) {
	maxLen, octets, dataType, dtPrecision := -1, -1, -1, -1
	schema, table, column, key, numPrecision, colType := -1, -1, -1, -1, -1, -1
	for i, c := range n.Schema(ctx) {
		switch strings.ToUpper(c.Name) {
		case "CHARACTER_MAXIMUM_LENGTH":
			maxLen = i
		case "CHARACTER_OCTET_LENGTH":
			octets = i
		case "DATA_TYPE":
			dataType = i
		case "DATETIME_PRECISION":
			dtPrecision = i
		case "TABLE_SCHEMA":
			schema = i
		case "TABLE_NAME":
			table = i
		case "COLUMN_NAME":
			column = i
		case "COLUMN_KEY":
			key = i
		case "NUMERIC_PRECISION":
			numPrecision = i
		case "COLUMN_TYPE":
			colType = i
		}
	}
	if maxLen < 0 || octets < 0 || dataType < 0 {
		return nil, nil
	}
	iter, err := gms.Build(ctx, n, row)
	if err != nil {
		return nil, err
	}
	keys := map[[2]string]map[string]string{} // per table: column → COLUMN_KEY
	return &mapIter{RowIter: iter, fix: func(r sql.Row) {
		if b.Provider != nil && schema >= 0 && table >= 0 && column >= 0 && key >= 0 {
			db, _ := r[schema].(string)
			tn, _ := r[table].(string)
			k := [2]string{db, tn}
			m, ok := keys[k]
			if !ok {
				m = columnKeys(ctx, b.Provider, db, tn)
				keys[k] = m
			}
			if m != nil {
				c, _ := r[column].(string)
				r[key] = m[strings.ToLower(c)]
			}
		}
		t, _ := r[dataType].(string)
		if textTypes[strings.ToLower(t)] {
			r[maxLen] = r[octets]
		}
		if numPrecision >= 0 && colType >= 0 && strings.EqualFold(t, "mediumint") {
			// 16777215 has 8 digits (GMS says 7 for signed and unsigned alike).
			if ct, _ := r[colType].(string); strings.Contains(ct, "unsigned") {
				r[numPrecision] = uint64(8)
			}
		}
		if dtPrecision >= 0 && strings.EqualFold(t, "date") {
			r[dtPrecision] = nil // a DATE has no fractional seconds to have a precision of
		}
	}}, nil
}

// columnKeys is COLUMN_KEY for the columns of a table (lower-cased names; nil if the table is
// not found), by MySQL's rules: PRI for primary key columns (or those of a UNIQUE index over NOT
// NULL columns when there is no primary key), UNI for the column of a one-column UNIQUE index,
// MUL for the first column of any other index; PRI before UNI before MUL. GMS marks every column
// of a non-unique index MUL.
func columnKeys(ctx *sql.Context, p sql.DatabaseProvider, dbName, table string) map[string]string {
	db, err := p.Database(ctx, dbName)
	if err != nil {
		return nil
	}
	t, ok, err := db.GetTableInsensitive(ctx, table)
	if err != nil || !ok {
		return nil
	}
	ia, ok := t.(sql.IndexAddressable)
	if !ok {
		return nil
	}
	idxs, err := ia.GetIndexes(ctx)
	if err != nil {
		return nil
	}
	nullable := map[string]bool{}
	for _, c := range t.Schema(ctx) {
		nullable[strings.ToLower(c.Name)] = c.Nullable
	}
	rank := map[string]int{"": 0, "MUL": 1, "UNI": 2, "PRI": 3}
	out := map[string]string{}
	set := func(col, k string) {
		if rank[k] > rank[out[col]] {
			out[col] = k
		}
	}
	hasPK := false
	for _, idx := range idxs {
		hasPK = hasPK || idx.ID() == "PRIMARY"
	}
	for _, idx := range idxs {
		var cols []string
		for _, e := range idx.Expressions() {
			cols = append(cols, strings.ToLower(e[strings.LastIndex(e, ".")+1:]))
		}
		if len(cols) == 0 {
			continue
		}
		switch {
		case idx.ID() == "PRIMARY":
			for _, c := range cols {
				set(c, "PRI")
			}
		case idx.IsUnique() && len(cols) == 1:
			if !hasPK && !nullable[cols[0]] {
				set(cols[0], "PRI")
			} else {
				set(cols[0], "UNI")
			}
		default:
			set(cols[0], "MUL")
		}
	}
	return out
}

var textTypes = map[string]bool{"tinytext": true, "text": true, "mediumtext": true, "longtext": true}

// mapIter fixes each row of an iterator in place.
type mapIter struct {
	sql.RowIter
	fix func(sql.Row)
}

func (m *mapIter) Next(ctx *sql.Context) (sql.Row, error) {
	r, err := m.RowIter.Next(ctx)
	if err == nil {
		r = r.Copy()
		m.fix(r)
	}
	return r, err
}

func rewrite(ctx *sql.Context, n sql.Node, row sql.Row, fix func(sql.Row)) (sql.RowIter, error) {
	iter, err := gms.Build(ctx, n, row)
	if err != nil {
		return nil, err
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		fix(r)
	}
	return sql.RowsToRowIter(rows...), nil
}

// typeSuffix is the character set and collation GMS appends to a string type's name.
var typeSuffix = regexp.MustCompile(`(?: CHARACTER SET \w+)?(?: COLLATE \w+)?$`)

// showColumnsRow fixes Type (and, with FULL, Collation) of one row: Field, Type, [Collation,]
// Null, Key, Default, Extra, ….
func showColumnsRow(n *plan.ShowColumns, r sql.Row) {
	name, _ := r[0].(string)
	var col *sql.Column
	for _, c := range n.TargetSchema() {
		if c.Name == name {
			col = c
			break
		}
	}
	if col == nil || len(r) < 3 {
		return
	}
	r[1] = typeSuffix.ReplaceAllString(col.Type.String(), "")
	def := 4 // Field, Type, Null, Key, Default
	if n.Full {
		r[2] = Collation(col.Type)
		def = 5
	}
	// MySQL prints a string default as its value; GMS as a quoted literal ('x').
	if d, ok := r[def].(string); ok && col.Default != nil && col.Default.IsLiteral() &&
		len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
		r[def] = strings.ReplaceAll(d[1:len(d)-1], "''", "'")
	}
}

// Collation is the name of a column type's collation as SHOW FULL COLUMNS and
// information_schema.COLUMNS print it: NULL (nil) for types without one and binary strings.
func Collation(t sql.Type) interface{} {
	tc, ok := t.(sql.TypeWithCollation)
	if !ok || !(types.IsText(t) || types.IsEnum(t) || types.IsSet(t)) {
		return nil
	}
	if c := tc.Collation(); c != sql.Collation_binary {
		return c.Name()
	}
	return nil
}

// columnPrivileges is SHOW FULL COLUMNS' Privileges: those of SELECT, INSERT, UPDATE and
// REFERENCES the user holds on the table, globally, on its database or on the table itself.
func columnPrivileges(ps sql.PrivilegeSet, db, table string) string {
	if ps == nil {
		return ""
	}
	var out []string
	for _, p := range []struct {
		t    sql.PrivilegeType
		name string
	}{{sql.PrivilegeType_Select, "select"}, {sql.PrivilegeType_Insert, "insert"},
		{sql.PrivilegeType_Update, "update"}, {sql.PrivilegeType_References, "references"}} {
		d := ps.Database(db)
		if ps.Has(p.t) || d.Has(p.t) || d.Table(table).Has(p.t) {
			out = append(out, p.name)
		}
	}
	return strings.Join(out, ",")
}

// Columns of SHOW INDEX's rows.
const (
	indexKeyName   = 2
	indexSeq       = 3
	indexCollation = 5
	indexSubPart   = 7
	indexType      = 10
)

// showIndexRow fills Collation (A: B-tree indexes are ascending) and Sub_part (the prefix
// length of a column indexed by a prefix), which GMS leaves NULL.
func showIndexRow(n *plan.ShowIndexes, r sql.Row) {
	if t, _ := r[indexType].(string); t == "BTREE" {
		r[indexCollation] = "A"
	}
	name, _ := r[indexKeyName].(string)
	seq, ok := r[indexSeq].(int)
	if !ok {
		return
	}
	for _, idx := range n.IndexesToShow {
		if idx.ID() == name {
			if pl := idx.PrefixLengths(); seq >= 1 && seq <= len(pl) && pl[seq-1] > 0 {
				r[indexSubPart] = int64(pl[seq-1])
			}
		}
	}
}

// Columns of SHOW TABLE STATUS's rows.
const (
	statusName          = 0
	statusAutoIncrement = 10
	statusCreateTime    = 11
)

// tableStatusRow fills Auto_increment (the next value, NULL without an AUTO_INCREMENT column)
// and Create_time.
func tableStatusRow(ctx *sql.Context, n *plan.ShowTableStatus, r sql.Row) {
	name, _ := r[statusName].(string)
	t, _, err := n.Catalog.Table(ctx, n.Database().Name(), name)
	if err != nil || t == nil {
		return
	}
	if ai, ok := t.(sql.AutoIncrementTable); ok && hasAutoIncrement(t.Schema(ctx)) {
		if v, err := ai.PeekNextAutoIncrementValue(ctx); err == nil && v <= math.MaxInt64 {
			r[statusAutoIncrement] = int64(v) // the column is a BIGINT
		}
	}
	if ct, ok := unwrap(t).(CreateTimer); ok {
		if tm, ok := ct.CreateTime(); ok {
			// MySQL prints the time in the session's time zone, without fractions.
			r[statusCreateTime] = tm.Truncate(time.Second).In(time.Local)
		}
	}
}

func hasAutoIncrement(s sql.Schema) bool {
	for _, c := range s {
		if c.AutoIncrement {
			return true
		}
	}
	return false
}

// unwrap returns the table under GMS's wrappers.
func unwrap(t sql.Table) sql.Table {
	for {
		w, ok := t.(sql.TableWrapper)
		if !ok {
			return t
		}
		t = w.Underlying()
	}
}

package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// dbMeta is the persisted form of a database.
type dbMeta struct {
	Name      string `json:"name"`
	Collation uint16 `json:"collation"`
}

// colMeta is the persisted form of a column. Types and expressions are stored as SQL text and
// parsed back with GMS's own parser, so the format does not depend on GMS's Go types.
type colMeta struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Nullable  bool    `json:"nullable,omitempty"`
	PK        bool    `json:"pk,omitempty"`
	AutoInc   bool    `json:"auto_increment,omitempty"`
	Virtual   bool    `json:"virtual,omitempty"`
	Hidden    bool    `json:"hidden,omitempty"`
	HiddenSys bool    `json:"hidden_system,omitempty"`
	Default   *string `json:"default,omitempty"`
	Generated *string `json:"generated,omitempty"`
	OnUpdate  *string `json:"on_update,omitempty"`
	Comment   string  `json:"comment,omitempty"`
	Extra     string  `json:"extra,omitempty"`
}

type indexMeta struct {
	ID         uint16   `json:"id"`
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	PrefixLens []uint16 `json:"prefix_lengths,omitempty"`
	Unique     bool     `json:"unique,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	// ForForeignKey marks an index GMS created for a foreign key that had none
	// (CreateIndexForForeignKey): as in MySQL, an index added later that can serve the foreign
	// key replaces it.
	ForForeignKey bool `json:"for_foreign_key,omitempty"`
}

// tableMeta is the persisted form of a table.
type tableMeta struct {
	ID           uint64                     `json:"id"`
	DB           string                     `json:"db"`
	Name         string                     `json:"name"`
	Columns      []colMeta                  `json:"columns"`
	PK           []string                   `json:"pk,omitempty"` // primary key columns, key order
	Indexes      []indexMeta                `json:"indexes,omitempty"`
	NextIndexID  uint16                     `json:"next_index_id"`
	Collation    uint16                     `json:"collation"`
	Comment      string                     `json:"comment,omitempty"`
	FKs          []sql.ForeignKeyConstraint `json:"foreign_keys,omitempty"`
	Checks       []sql.CheckDefinition      `json:"checks,omitempty"`
	AutoIncFloor uint64                     `json:"auto_increment_floor,omitempty"`
	// Created is when CREATE TABLE made the table (Unix seconds; 0 for tables made before it
	// was recorded): SHOW TABLE STATUS's Create_time.
	Created int64 `json:"created,omitempty"`
}

// tableDef is a table's definition in memory. It is immutable: DDL builds a new tableDef and
// swaps it into the catalog. Mutable per-table counters live in the shared *tableState.
type tableDef struct {
	meta      tableMeta
	schema    sql.PrimaryKeySchema
	pkOrds    []int // empty: the table has a hidden row id
	indexes   []*indexDef
	autoIncOr int // ordinal of the AUTO_INCREMENT column, -1 if none
	state     *tableState
	// reserveName is the table's name for the AUTO_INCREMENT reserver: "db.table", lower case.
	reserveName string
	// createdSeq is the commit sequence visible when this table id came into use; a transaction
	// whose snapshot is older cannot read it consistently (error 1412).
	createdSeq uint64
	// logged is the table version as the binary log sees it (a new one with each definition).
	logged *LoggedTable
}

type indexDef struct {
	meta   indexMeta
	cols   []int // schema ordinals
	unique bool
}

// tableState holds a table's counters; it survives DDL that keeps the table id.
type tableState struct {
	mu        sync.Mutex
	loaded    bool
	nextAuto  uint64 // smallest AUTO_INCREMENT value not yet handed out
	nextRowID uint64 // next hidden row id
	// held is the AUTO_INCREMENT range granted by the engine's reserver that generated values
	// come from while a reserver is set (autoinc.go).
	held autoIncReservation

	// rows estimates the row count for the planner; valid once rowsKnown is set.
	rows      atomic.Int64
	rowsKnown atomic.Bool
}

func (d *tableDef) id() uint64   { return d.meta.ID }
func (d *tableDef) name() string { return d.meta.Name }

func (d *tableDef) hasHiddenPK() bool { return len(d.pkOrds) == 0 }

// stripTableNames removes table qualifiers from column references so expressions survive renames.
func stripTableNames(ctx *sql.Context, e sql.Expression) sql.Expression {
	out, _, err := transform.Expr(ctx, e, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		if gf, ok := e.(*expression.GetField); ok {
			return gf.WithTable(""), transform.NewTree, nil
		}
		return e, transform.SameTree, nil
	})
	if err != nil {
		return e
	}
	return out
}

func exprText(ctx *sql.Context, d *sql.ColumnDefaultValue) *string {
	if d == nil {
		return nil
	}
	var s string
	if d.Expr == nil {
		s = d.String()
	} else {
		s = stripTableNames(ctx, d).String()
	}
	return &s
}

// metaFromSchema builds the persisted form of a new table's columns and primary key.
func metaFromSchema(ctx *sql.Context, sch sql.PrimaryKeySchema) ([]colMeta, []string) {
	cols := make([]colMeta, len(sch.Schema))
	inPK := map[int]bool{}
	for _, o := range sch.PkOrdinals {
		inPK[o] = true
	}
	for i, c := range sch.Schema {
		cols[i] = colMeta{
			Name:      c.Name,
			Type:      typeText(c.Type),
			Nullable:  c.Nullable && !c.PrimaryKey && !inPK[i], // MySQL: key columns are NOT NULL
			PK:        c.PrimaryKey,
			AutoInc:   c.AutoIncrement,
			Virtual:   c.Virtual,
			Hidden:    c.Hidden,
			HiddenSys: c.HiddenSystem,
			Default:   exprText(ctx, c.Default),
			Generated: exprText(ctx, c.Generated),
			OnUpdate:  exprText(ctx, c.OnUpdate),
			Comment:   c.Comment,
			Extra:     c.Extra,
		}
	}
	var pk []string
	for _, o := range sch.PkOrdinals {
		pk = append(pk, sch.Schema[o].Name)
	}
	return cols, pk
}

// typeText is a column type as SQL text that parses back to the same type: GMS's String() leaves
// out a string column's collation when it is the default, which would lose it on reload.
func typeText(t sql.Type) string {
	s := t.String()
	if tc, ok := t.(sql.TypeWithCollation); ok && !strings.Contains(strings.ToUpper(s), " COLLATE ") {
		if c := tc.Collation(); c != sql.Collation_Unspecified && c != sql.Collation_binary {
			s += " COLLATE " + c.Name()
		}
	}
	return s
}

func columnIndex(sch sql.Schema, name string) int {
	for i, c := range sch {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// buildDef turns persisted metadata into a usable definition.
func buildDef(ctx context.Context, m tableMeta, state *tableState) (*tableDef, error) {
	sch := make(sql.Schema, len(m.Columns))
	for i, c := range m.Columns {
		typ, err := planbuilder.ParseColumnTypeString(ctx, c.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s column %s: parse type %q: %w", m.DB, m.Name, c.Name, c.Type, err)
		}
		col := &sql.Column{
			Name:           c.Name,
			Type:           typ,
			Nullable:       c.Nullable,
			PrimaryKey:     c.PK,
			AutoIncrement:  c.AutoInc,
			Virtual:        c.Virtual,
			Hidden:         c.Hidden,
			HiddenSystem:   c.HiddenSys,
			Comment:        c.Comment,
			Extra:          c.Extra,
			Source:         m.Name,
			DatabaseSource: m.DB,
		}
		if c.Default != nil {
			col.Default = sql.NewUnresolvedColumnDefaultValue(*c.Default)
		}
		if c.Generated != nil {
			col.Generated = sql.NewUnresolvedColumnDefaultValue(*c.Generated)
		}
		if c.OnUpdate != nil {
			col.OnUpdate = sql.NewUnresolvedColumnDefaultValue(*c.OnUpdate)
		}
		sch[i] = col
	}
	d := &tableDef{meta: m, autoIncOr: -1, state: state, reserveName: strings.ToLower(m.DB + "." + m.Name)}
	for _, name := range m.PK {
		o := columnIndex(sch, name)
		if o < 0 {
			return nil, fmt.Errorf("table %s.%s: primary key column %s missing", m.DB, m.Name, name)
		}
		d.pkOrds = append(d.pkOrds, o)
	}
	d.schema = sql.NewPrimaryKeySchema(sch, d.pkOrds...)
	for i, c := range sch {
		if c.AutoIncrement {
			d.autoIncOr = i
		}
	}
	for _, im := range m.Indexes {
		idx := &indexDef{meta: im, unique: im.Unique}
		for _, cn := range im.Columns {
			o := columnIndex(sch, cn)
			if o < 0 {
				return nil, fmt.Errorf("table %s.%s index %s: column %s missing", m.DB, m.Name, im.Name, cn)
			}
			idx.cols = append(idx.cols, o)
		}
		d.indexes = append(d.indexes, idx)
	}
	if d.state == nil {
		d.state = &tableState{}
	}
	d.logged = &LoggedTable{ID: m.ID, Database: m.DB, Name: m.Name, Schema: d.schema}
	return d, nil
}

func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs of strings, numbers and slices are persisted.
		panic(fmt.Sprintf("encode catalog entry: %v", err))
	}
	return b
}

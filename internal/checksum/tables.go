package checksum

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// systemSchemas are never checked.
var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

type column struct {
	name     string
	dataType string // information_schema DATA_TYPE
}

// table is one base table to check, as the primary defines it.
type table struct {
	db, name string
	cols     []column
	key      []string // primary key columns in index order; empty: no primary key
}

func (t *table) String() string { return t.db + "." + t.name }

func (t *table) columnNames() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

func (t *table) dataType(col string) string {
	for _, c := range t.cols {
		if c.name == col {
			return c.dataType
		}
	}
	return ""
}

// listTables reads the primary's base tables selected by opts, sorted by database and name.
func listTables(ctx context.Context, db *sql.DB, databases, tables []string) ([]*table, error) {
	wantDB := map[string]bool{}
	for _, d := range databases {
		wantDB[d] = true
	}
	wantTbl := map[string]bool{}
	for _, t := range tables {
		wantTbl[t] = true
	}
	rows, err := db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []*table
	seenDB, seenTbl := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		t := &table{}
		if err := rows.Scan(&t.db, &t.name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if systemSchemas[strings.ToLower(t.db)] {
			continue
		}
		seenDB[t.db] = true
		if len(wantDB) > 0 && !wantDB[t.db] {
			continue
		}
		if len(wantTbl) > 0 && !wantTbl[t.String()] {
			continue
		}
		seenTbl[t.String()] = true
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	for d := range wantDB {
		if !seenDB[d] {
			return nil, fmt.Errorf("database %s has no tables on the primary", d)
		}
	}
	for t := range wantTbl {
		if !seenTbl[t] {
			return nil, fmt.Errorf("table %s is not on the primary (give tables as db.table)", t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].db != out[j].db {
			return out[i].db < out[j].db
		}
		return out[i].name < out[j].name
	})
	for _, t := range out {
		if err := describe(ctx, db, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// describe reads a table's columns and primary key.
func describe(ctx context.Context, db *sql.DB, t *table) error {
	rows, err := db.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", t.db, t.name)
	if err != nil {
		return fmt.Errorf("columns of %s: %w", t, err)
	}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.dataType); err != nil {
			rows.Close()
			return fmt.Errorf("columns of %s: %w", t, err)
		}
		c.dataType = strings.ToLower(c.dataType)
		t.cols = append(t.cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("columns of %s: %w", t, err)
	}
	if len(t.cols) == 0 {
		return fmt.Errorf("table %s has no columns (dropped meanwhile?)", t)
	}
	rows, err = db.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", t.db, t.name)
	if err != nil {
		return fmt.Errorf("primary key of %s: %w", t, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fmt.Errorf("primary key of %s: %w", t, err)
		}
		t.key = append(t.key, k)
	}
	return rows.Err()
}

package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/storage/codec"
)

// DDL on tables. Schema changes that alter the stored row layout rewrite the table into a new
// table id and swap the catalog entry when the copy is complete; changes that only touch
// metadata (renames, comments, defaults) update the catalog in place. DDL is not transactional
// and is durable when the statement returns.

// cloneDef copies def under a new id (empty data), with fresh counters.
func (e *Engine) cloneDef(def *tableDef, id uint64) (*tableDef, error) {
	m := def.meta
	m.ID = id
	m.Columns = append([]colMeta(nil), m.Columns...)
	m.Indexes = append([]indexMeta(nil), m.Indexes...)
	return buildDef(context.Background(), m, nil)
}

// withMeta builds a new definition of the same table id from changed metadata, sharing counters.
func withMeta(def *tableDef, m tableMeta) (*tableDef, error) {
	return buildDef(context.Background(), m, def.state)
}

// afterDDL gives the session's transaction a fresh snapshot so that it sees what the DDL did
// (the DDL committed implicitly, so the transaction holds no writes).
func (e *Engine) afterDDL(ctx *sql.Context) {
	if ctx == nil {
		return
	}
	if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil && tx.e == e && !tx.done.Load() && !tx.hasWrites() {
		tx.refreshSnapshot()
	}
}

func (t *Table) ddlGuard(ctx *sql.Context) error {
	if g := t.e.opts.WriteGuard; g != nil {
		return g(ctx)
	}
	return nil
}

// updateMeta applies fn to a copy of the current metadata and installs the result.
func (t *Table) updateMeta(ctx *sql.Context, fn func(m *tableMeta) error) error {
	if err := t.ddlGuard(ctx); err != nil {
		return err
	}
	def, err := t.current()
	if err != nil {
		return err
	}
	m := def.meta
	m.Columns = append([]colMeta(nil), m.Columns...)
	m.Indexes = append([]indexMeta(nil), m.Indexes...)
	m.FKs = append([]sql.ForeignKeyConstraint(nil), m.FKs...)
	m.Checks = append([]sql.CheckDefinition(nil), m.Checks...)
	if err := fn(&m); err != nil {
		return err
	}
	nd, err := withMeta(def, m)
	if err != nil {
		return err
	}
	if err := t.e.putTable(ctx, nd, "", 0); err != nil {
		return err
	}
	t.def = nd
	t.e.afterDDL(ctx)
	return nil
}

// ShouldRewriteTable implements sql.RewritableTable: rewrite unless only a column's name,
// comment or default changes.
func (t *Table) ShouldRewriteTable(ctx *sql.Context, oldSchema, newSchema sql.PrimaryKeySchema, oldColumn, newColumn *sql.Column) bool {
	if oldColumn == nil || newColumn == nil || len(oldSchema.Schema) != len(newSchema.Schema) {
		return true
	}
	if oldColumn.Type.String() != newColumn.Type.String() || oldColumn.Nullable != newColumn.Nullable ||
		oldColumn.AutoIncrement != newColumn.AutoIncrement || oldColumn.PrimaryKey != newColumn.PrimaryKey ||
		(oldColumn.Generated == nil) != (newColumn.Generated == nil) || oldColumn.Virtual != newColumn.Virtual {
		return true
	}
	if oldSchema.IndexOf(oldColumn.Name, oldColumn.Source) != newSchema.IndexOf(newColumn.Name, newColumn.Source) {
		return true
	}
	return len(oldSchema.PkOrdinals) != len(newSchema.PkOrdinals)
}

// AddColumn implements sql.AlterableTable. Adding a column changes the row layout, so GMS
// rewrites the table instead (ShouldRewriteTable); this is only reached if it did not.
func (t *Table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	return fmt.Errorf("add column %s to %s: table must be rewritten", column.Name, t.Name())
}

// DropColumn implements sql.AlterableTable (see AddColumn).
func (t *Table) DropColumn(ctx *sql.Context, columnName string) error {
	return fmt.Errorf("drop column %s from %s: table must be rewritten", columnName, t.Name())
}

// ModifyColumn implements sql.AlterableTable for metadata-only changes (rename, comment, default).
func (t *Table) ModifyColumn(ctx *sql.Context, columnName string, column *sql.Column, order *sql.ColumnOrder) error {
	if order != nil {
		return fmt.Errorf("modify column %s of %s: reordering requires a rewrite", columnName, t.Name())
	}
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for i := range m.Columns {
			if !strings.EqualFold(m.Columns[i].Name, columnName) {
				continue
			}
			cols, _ := metaFromSchema(ctx, sql.NewPrimaryKeySchema(sql.Schema{column}))
			nc := cols[0]
			nc.PK = m.Columns[i].PK
			if nc.PK {
				nc.Nullable = false // MySQL: key columns are NOT NULL
			}
			m.Columns[i] = nc
			renameColumnRefs(m, columnName, column.Name)
			return nil
		}
		return sql.ErrTableColumnNotFound.New(t.Name(), columnName)
	})
}

func renameColumnRefs(m *tableMeta, from, to string) {
	if strings.EqualFold(from, to) && from == to {
		return
	}
	for i, c := range m.PK {
		if strings.EqualFold(c, from) {
			m.PK[i] = to
		}
	}
	for i := range m.Indexes {
		cols := append([]string(nil), m.Indexes[i].Columns...)
		for j, c := range cols {
			if strings.EqualFold(c, from) {
				cols[j] = to
			}
		}
		m.Indexes[i].Columns = cols
	}
}

// RewriteInserter implements sql.RewritableTable: GMS feeds every row, converted to newSchema,
// into the returned inserter, which writes them under a new table id; Close swaps the catalog.
func (t *Table) RewriteInserter(ctx *sql.Context, oldSchema, newSchema sql.PrimaryKeySchema, oldColumn, newColumn *sql.Column, idxCols []sql.IndexColumn) (sql.RowInserter, error) {
	if err := t.ddlGuard(ctx); err != nil {
		return nil, err
	}
	def, err := t.current()
	if err != nil {
		return nil, err
	}
	if len(oldSchema.PkOrdinals) > 0 && len(newSchema.PkOrdinals) == 0 {
		// MySQL refuses to leave an AUTO_INCREMENT column without a key (error 1075).
		if err := sql.ValidatePrimaryKeyDrop(ctx, t, oldSchema); err != nil {
			return nil, err
		}
	}
	m := def.meta
	m.ID = t.e.newTableID()
	m.Columns, m.PK = metaFromSchema(ctx, newSchema)
	m.Indexes = nil
	for _, im := range def.meta.Indexes {
		im.Columns = append([]string(nil), im.Columns...)
		var keep []string
		var keepLens []uint16
		for j, c := range im.Columns {
			switch {
			case oldColumn != nil && newColumn == nil && strings.EqualFold(c, oldColumn.Name):
				continue // column dropped: MySQL drops it from the index
			case oldColumn != nil && newColumn != nil && strings.EqualFold(c, oldColumn.Name):
				c = newColumn.Name
			}
			keep = append(keep, c)
			if j < len(im.PrefixLens) {
				keepLens = append(keepLens, im.PrefixLens[j])
			}
		}
		if len(keep) == 0 {
			continue
		}
		im.Columns, im.PrefixLens = keep, keepLens
		m.Indexes = append(m.Indexes, im)
	}
	if m.AutoIncFloor > 0 {
		st := def.state
		st.mu.Lock()
		if st.loaded && st.nextAuto > m.AutoIncFloor {
			m.AutoIncFloor = st.nextAuto
		}
		st.mu.Unlock()
	}
	nd, err := buildDef(ctx, m, nil)
	if err != nil {
		return nil, err
	}
	return &rewriter{t: t, old: def, nd: nd, b: t.e.db.NewIndexedBatch()}, nil
}

// rewriter copies rows into a new table id. Its batches are invisible until Close installs the
// new definition; on error the copied data is deleted.
type rewriter struct {
	t      *Table
	old    *tableDef
	nd     *tableDef
	b      *pebble.Batch
	failed bool
	rowID  uint64
}

func (r *rewriter) StatementBegin(*sql.Context)                  {}
func (r *rewriter) StatementComplete(*sql.Context) error         { return nil }
func (r *rewriter) DiscardChanges(_ *sql.Context, _ error) error { r.failed = true; return nil }

func (r *rewriter) Insert(ctx *sql.Context, row sql.Row) error {
	d := r.nd
	var pk []byte
	var err error
	if d.hasHiddenPK() {
		r.rowID++
		if pk, err = d.hiddenRowPrefix(nil, row); err != nil {
			return err
		}
		pk = appendUint64(pk, r.rowID)
	} else {
		if pk, err = d.pkKey(nil, row); err != nil {
			return err
		}
		v, closer, err := r.b.Get(pk)
		if err == nil {
			existing, derr := codec.DecodeRow(d.schema.Schema, v, nil)
			closer.Close()
			if derr != nil {
				return derr
			}
			return d.uniqueKeyErr(ctx, row, nil, existing)
		} else if err != pebble.ErrNotFound {
			return err
		}
	}
	for _, idx := range d.indexes {
		k, hasNull, err := d.indexEntryPrefix(nil, idx, row)
		if err != nil {
			return err
		}
		if idx.unique && !hasNull {
			it, err := r.b.NewIter(&pebble.IterOptions{LowerBound: k, UpperBound: prefixEnd(k)})
			if err != nil {
				return err
			}
			dup := it.First()
			it.Close()
			if dup {
				return d.uniqueKeyErr(ctx, row, idx, nil)
			}
		}
		if err := r.b.Set(append(k, pkSuffix(pk)...), nil, nil); err != nil {
			return err
		}
	}
	val, err := codec.AppendRow(nil, d.schema.Schema, row)
	if err != nil {
		return err
	}
	if err := r.b.Set(pk, val, nil); err != nil {
		return err
	}
	if r.b.Len() > 32<<20 {
		// Spill: the new id is not in the catalog yet, so nothing can read these keys.
		if err := r.t.e.checkSpace(r.b.Len()); err != nil {
			return storageWriteError(err)
		}
		if err := r.t.e.db.Apply(r.b, pebble.NoSync); err != nil {
			return storageWriteError(err)
		}
		r.b.Close()
		r.b = r.t.e.db.NewIndexedBatch()
	}
	return nil
}

func (r *rewriter) Close(ctx *sql.Context) error {
	defer r.b.Close()
	e := r.t.e
	if r.failed {
		lo, hi := tableSpan(r.nd.id())
		_ = e.db.DeleteRange(lo, hi, pebble.NoSync)
		return nil
	}
	if err := e.checkSpace(r.b.Len()); err != nil {
		lo, hi := tableSpan(r.nd.id())
		_ = e.db.DeleteRange(lo, hi, pebble.NoSync)
		return storageWriteError(err)
	}
	if err := e.db.Apply(r.b, pebble.NoSync); err != nil {
		return storageWriteError(err)
	}
	// Installing the definition is a durable commit, which also syncs the copied rows.
	if err := e.putTable(ctx, r.nd, "", r.old.id()); err != nil {
		return err
	}
	r.t.def = r.nd
	e.afterDDL(ctx)
	return nil
}

// CreateIndex implements sql.IndexAlterableTable: the index is built from the table's committed
// rows, checked for duplicates if unique, and then installed.
func (t *Table) CreateIndex(ctx *sql.Context, idx sql.IndexDef) error {
	if err := t.createIndex(ctx, idx, false); err != nil {
		return err
	}
	return t.dropReplacedForeignKeyIndexes(ctx, idx.Name)
}

// dropReplacedForeignKeyIndexes drops the indexes made for a foreign key whose columns are the
// leading columns of the index name, as MySQL drops the implicit index of a foreign key once
// another index can enforce it.
func (t *Table) dropReplacedForeignKeyIndexes(ctx *sql.Context, name string) error {
	var by *indexMeta
	for i, im := range t.def.meta.Indexes {
		if strings.EqualFold(im.Name, name) {
			by = &t.def.meta.Indexes[i]
		}
	}
	if by == nil {
		return nil
	}
	var drop []string
	for _, im := range t.def.meta.Indexes {
		if !im.ForForeignKey || strings.EqualFold(im.Name, name) || len(im.Columns) > len(by.Columns) {
			continue
		}
		covered := true
		for i, c := range im.Columns {
			if !strings.EqualFold(c, by.Columns[i]) || (i < len(by.PrefixLens) && by.PrefixLens[i] != 0) {
				covered = false
				break
			}
		}
		if covered {
			drop = append(drop, im.Name)
		}
	}
	for _, n := range drop {
		if err := t.DropIndex(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) createIndex(ctx *sql.Context, idx sql.IndexDef, forFK bool) error {
	if err := t.ddlGuard(ctx); err != nil {
		return err
	}
	if idx.IsFullText() || idx.IsSpatial() || idx.IsVector() {
		return sql.ErrUnsupportedFeature.New("FULLTEXT, SPATIAL and VECTOR indexes")
	}
	if idx.IsPrimary() {
		return fmt.Errorf("create primary key on %s: table must be rewritten", t.Name())
	}
	def, err := t.current()
	if err != nil {
		return err
	}
	for _, im := range def.meta.Indexes {
		if strings.EqualFold(im.Name, idx.Name) {
			return sql.ErrDuplicateKey.New(idx.Name)
		}
	}
	im := indexMeta{ID: def.meta.NextIndexID, Name: idx.Name, Unique: idx.IsUnique(), Comment: idx.Comment, ForForeignKey: forFK}
	if im.ID == 0 {
		im.ID = 1
	}
	for _, c := range idx.Columns {
		if c.Expression != nil {
			return sql.ErrUnsupportedFeature.New("functional indexes")
		}
		if columnIndex(def.schema.Schema, c.Name) < 0 {
			return sql.ErrKeyColumnDoesNotExist.New(c.Name)
		}
		im.Columns = append(im.Columns, c.Name)
		im.PrefixLens = append(im.PrefixLens, uint16(c.Length))
	}
	m := def.meta
	m.Indexes = append(append([]indexMeta(nil), m.Indexes...), im)
	m.NextIndexID = im.ID + 1
	nd, err := withMeta(def, m)
	if err != nil {
		return err
	}
	if err := t.e.buildIndex(nd, nd.indexes[len(nd.indexes)-1]); err != nil {
		return err
	}
	if err := t.e.putTable(ctx, nd, "", 0); err != nil {
		return err
	}
	t.def = nd
	t.e.afterDDL(ctx)
	return nil
}

// buildIndex writes the entries of idx for every committed row of def.
func (e *Engine) buildIndex(def *tableDef, idx *indexDef) error {
	snap := e.db.NewSnapshot()
	defer snap.Close()
	lo := indexPrefix(nil, def.id(), primaryIndexID)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	b := e.db.NewIndexedBatch()
	defer func() { b.Close() }()
	ip := indexPrefix(nil, def.id(), idx.meta.ID)
	clear := func() { _ = e.db.DeleteRange(ip, prefixEnd(ip), pebble.NoSync) }
	for ok := it.First(); ok; ok = it.Next() {
		row, err := codec.DecodeRow(def.schema.Schema, it.Value(), nil)
		if err != nil {
			clear()
			return fmt.Errorf("table %s: %w", def.name(), err)
		}
		k, hasNull, err := def.indexEntryPrefix(nil, idx, row)
		if err != nil {
			clear()
			return err
		}
		if idx.unique && !hasNull {
			dit, err := b.NewIter(&pebble.IterOptions{LowerBound: k, UpperBound: prefixEnd(k)})
			if err != nil {
				clear()
				return err
			}
			dup := dit.First()
			dit.Close()
			if dup {
				clear()
				return def.uniqueKeyErr(nil, row, idx, nil)
			}
		}
		if err := b.Set(append(k, pkSuffix(it.Key())...), nil, nil); err != nil {
			clear()
			return err
		}
		if b.Len() > 32<<20 {
			if err := e.checkSpace(b.Len()); err != nil {
				clear()
				return storageWriteError(err)
			}
			if err := e.db.Apply(b, pebble.NoSync); err != nil {
				clear()
				return storageWriteError(err)
			}
			b.Close()
			b = e.db.NewIndexedBatch()
		}
	}
	if err := it.Error(); err != nil {
		clear()
		return err
	}
	if err := e.checkSpace(b.Len()); err != nil {
		clear()
		return storageWriteError(err)
	}
	if err := e.db.Apply(b, pebble.NoSync); err != nil {
		clear()
		return storageWriteError(err)
	}
	return nil
}

// DropIndex implements sql.IndexAlterableTable.
func (t *Table) DropIndex(ctx *sql.Context, name string) error {
	var dropped uint16
	err := t.updateMeta(ctx, func(m *tableMeta) error {
		for i, im := range m.Indexes {
			if strings.EqualFold(im.Name, name) {
				dropped = im.ID
				m.Indexes = append(m.Indexes[:i], m.Indexes[i+1:]...)
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(name)
	})
	if err != nil {
		return err
	}
	p := indexPrefix(nil, t.def.id(), dropped)
	_ = t.e.db.DeleteRange(p, prefixEnd(p), pebble.NoSync)
	return nil
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *Table) RenameIndex(ctx *sql.Context, from, to string) error {
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for i := range m.Indexes {
			if strings.EqualFold(m.Indexes[i].Name, from) {
				m.Indexes[i].Name = to
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(from)
	})
}

// CreatePrimaryKey implements sql.PrimaryKeyAlterableTable; GMS rewrites the table instead.
func (t *Table) CreatePrimaryKey(ctx *sql.Context, columns []sql.IndexColumn) error {
	return fmt.Errorf("add primary key to %s: table must be rewritten", t.Name())
}

// DropPrimaryKey implements sql.PrimaryKeyAlterableTable; GMS rewrites the table instead.
func (t *Table) DropPrimaryKey(ctx *sql.Context) error {
	return fmt.Errorf("drop primary key of %s: table must be rewritten", t.Name())
}

// CreateIndexForForeignKey implements sql.ForeignKeyTable.
func (t *Table) CreateIndexForForeignKey(ctx *sql.Context, idx sql.IndexDef) error {
	return t.createIndex(ctx, idx, true)
}

// GetDeclaredForeignKeys implements sql.ForeignKeyTable.
func (t *Table) GetDeclaredForeignKeys(ctx *sql.Context) ([]sql.ForeignKeyConstraint, error) {
	fks := append([]sql.ForeignKeyConstraint(nil), t.def.meta.FKs...)
	sort.Slice(fks, func(i, j int) bool { return fks[i].Name < fks[j].Name }) // as MySQL lists them
	return fks, nil
}

// GetReferencedForeignKeys implements sql.ForeignKeyTable.
func (t *Table) GetReferencedForeignKeys(ctx *sql.Context) ([]sql.ForeignKeyConstraint, error) {
	var out []sql.ForeignKeyConstraint
	t.e.catMu.RLock()
	defer t.e.catMu.RUnlock()
	for _, d := range t.e.dbs {
		for _, other := range d.tables {
			for _, fk := range other.meta.FKs {
				if strings.EqualFold(fk.ParentDatabase, t.def.meta.DB) && strings.EqualFold(fk.ParentTable, t.def.meta.Name) {
					out = append(out, fk)
				}
			}
		}
	}
	return out, nil
}

// AddForeignKey implements sql.ForeignKeyTable.
func (t *Table) AddForeignKey(ctx *sql.Context, fk sql.ForeignKeyConstraint) error {
	if t.e.foreignKeyNameTaken(t.def.meta.DB, t.def.id(), fk.Name) {
		// MySQL: constraint names are unique within a database (error 1826).
		return sql.ErrForeignKeyDuplicateName.New(fk.Name)
	}
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for _, f := range m.FKs {
			if strings.EqualFold(f.Name, fk.Name) {
				return sql.ErrForeignKeyDuplicateName.New(fk.Name)
			}
		}
		m.FKs = append(m.FKs, fk)
		return nil
	})
}

// DropForeignKey implements sql.ForeignKeyTable.
func (t *Table) DropForeignKey(ctx *sql.Context, fkName, tableName, schemaName string) error {
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for i, f := range m.FKs {
			if strings.EqualFold(f.Name, fkName) {
				m.FKs = append(m.FKs[:i], m.FKs[i+1:]...)
				return nil
			}
		}
		return sql.ErrForeignKeyNotFound.New(fkName, t.Name())
	})
}

// UpdateForeignKey implements sql.ForeignKeyTable.
func (t *Table) UpdateForeignKey(ctx *sql.Context, fkName string, fk sql.ForeignKeyConstraint) error {
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for i, f := range m.FKs {
			if strings.EqualFold(f.Name, fkName) {
				m.FKs[i] = fk
				return nil
			}
		}
		return sql.ErrForeignKeyNotFound.New(fkName, t.Name())
	})
}

// GetChecks implements sql.CheckTable.
func (t *Table) GetChecks(*sql.Context) ([]sql.CheckDefinition, error) {
	return append([]sql.CheckDefinition(nil), t.def.meta.Checks...), nil
}

// CreateCheck implements sql.CheckAlterableTable.
func (t *Table) CreateCheck(ctx *sql.Context, check *sql.CheckDefinition) error {
	return t.updateMeta(ctx, func(m *tableMeta) error {
		if check.Name == "" {
			// MySQL names an unnamed check <table>_chk_<n>.
			for n := len(m.Checks) + 1; ; n++ {
				name := fmt.Sprintf("%s_chk_%d", m.Name, n)
				taken := false
				for _, c := range m.Checks {
					taken = taken || strings.EqualFold(c.Name, name)
				}
				if !taken {
					check.Name = name
					break
				}
			}
		}
		for _, c := range m.Checks {
			if strings.EqualFold(c.Name, check.Name) {
				return sql.ErrDuplicateCheckName.New(check.Name)
			}
		}
		m.Checks = append(m.Checks, *check)
		return nil
	})
}

// DropCheck implements sql.CheckAlterableTable.
func (t *Table) DropCheck(ctx *sql.Context, name string) error {
	return t.updateMeta(ctx, func(m *tableMeta) error {
		for i, c := range m.Checks {
			if strings.EqualFold(c.Name, name) {
				m.Checks = append(m.Checks[:i], m.Checks[i+1:]...)
				return nil
			}
		}
		return sql.ErrUnknownConstraint.New(name)
	})
}

// ModifyStoredCollation implements sql.CollationAlterableTable.
func (t *Table) ModifyStoredCollation(ctx *sql.Context, c sql.CollationID) error {
	return t.ModifyDefaultCollation(ctx, c)
}

// ModifyDefaultCollation implements sql.CollationAlterableTable.
func (t *Table) ModifyDefaultCollation(ctx *sql.Context, c sql.CollationID) error {
	return t.updateMeta(ctx, func(m *tableMeta) error { m.Collation = uint16(c); return nil })
}

// ModifyComment implements sql.CommentAlterableTable.
func (t *Table) ModifyComment(ctx *sql.Context, comment string) error {
	return t.updateMeta(ctx, func(m *tableMeta) error { m.Comment = comment; return nil })
}

func appendUint64(dst []byte, v uint64) []byte {
	return append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

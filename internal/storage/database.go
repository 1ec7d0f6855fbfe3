package storage

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// Provider is the GMS database provider over an Engine.
type Provider struct {
	e *Engine
}

var (
	_ sql.DatabaseProvider         = (*Provider)(nil)
	_ sql.MutableDatabaseProvider  = (*Provider)(nil)
	_ sql.CollatedDatabaseProvider = (*Provider)(nil)
)

// Provider returns the GMS database provider of e.
func (e *Engine) Provider() *Provider { return &Provider{e: e} }

// CatalogVersion is the engine's catalog version (Engine.CatalogVersion).
func (p *Provider) CatalogVersion() uint64 { return p.e.CatalogVersion() }

func (p *Provider) Database(_ *sql.Context, name string) (sql.Database, error) {
	d, ok := p.e.database(name)
	if !ok {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	return &Database{e: p.e, name: d.meta.Name, collation: sql.CollationID(d.meta.Collation)}, nil
}

func (p *Provider) HasDatabase(_ *sql.Context, name string) bool {
	_, ok := p.e.database(name)
	return ok
}

func (p *Provider) AllDatabases(ctx *sql.Context) []sql.Database {
	var out []sql.Database
	for _, n := range p.e.databaseNames() {
		if db, err := p.Database(ctx, n); err == nil {
			out = append(out, db)
		}
	}
	return out
}

func (p *Provider) CreateDatabase(ctx *sql.Context, name string) error {
	return p.CreateCollatedDatabase(ctx, name, sql.Collation_Default)
}

func (p *Provider) CreateCollatedDatabase(ctx *sql.Context, name string, collation sql.CollationID) error {
	if g := p.e.opts.WriteGuard; g != nil {
		if err := g(ctx); err != nil {
			return err
		}
	}
	return p.e.createDatabase(ctx, name, collation)
}

func (p *Provider) DropDatabase(ctx *sql.Context, name string) error {
	if g := p.e.opts.WriteGuard; g != nil {
		if err := g(ctx); err != nil {
			return err
		}
	}
	return p.e.dropDatabase(ctx, name)
}

// Database is a GMS database backed by the engine's catalog.
type Database struct {
	e         *Engine
	name      string
	collation sql.CollationID
}

var (
	_ sql.Database                = (*Database)(nil)
	_ sql.TableCreator            = (*Database)(nil)
	_ sql.IndexedTableCreator     = (*Database)(nil)
	_ sql.TableDropper            = (*Database)(nil)
	_ sql.TableRenamer            = (*Database)(nil)
	_ sql.CollatedDatabase        = (*Database)(nil)
	_ sql.ViewDatabase            = (*Database)(nil)
	_ sql.TriggerDatabase         = (*Database)(nil)
	_ sql.StoredProcedureDatabase = (*Database)(nil)
	_ sql.EventDatabase           = (*Database)(nil)
)

func (d *Database) Name() string { return d.name }

func (d *Database) guard(ctx *sql.Context) error {
	if g := d.e.opts.WriteGuard; g != nil {
		return g(ctx)
	}
	return nil
}

func (d *Database) GetTableInsensitive(_ *sql.Context, name string) (sql.Table, bool, error) {
	def, ok := d.e.table(d.name, name)
	if !ok {
		return nil, false, nil
	}
	return &Table{e: d.e, db: d, def: def}, true, nil
}

func (d *Database) GetTableNames(*sql.Context) ([]string, error) {
	d.e.catMu.RLock()
	defer d.e.catMu.RUnlock()
	dbe, ok := d.e.dbs[strings.ToLower(d.name)]
	if !ok {
		return nil, nil
	}
	names := make([]string, 0, len(dbe.tables))
	for _, t := range dbe.tables {
		names = append(names, t.meta.Name)
	}
	sort.Strings(names)
	return names, nil
}

// CreateTable implements sql.TableCreator.
func (d *Database) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	return d.CreateIndexedTable(ctx, name, schema, sql.IndexDef{}, collation, comment)
}

// CreateIndexedTable implements sql.IndexedTableCreator (the index def is the primary key).
func (d *Database) CreateIndexedTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, idxDef sql.IndexDef, collation sql.CollationID, comment string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	if _, ok := d.e.table(d.name, name); ok {
		return sql.ErrTableAlreadyExists.New(name)
	}
	m := tableMeta{ID: d.e.newTableID(), DB: d.name, Name: name, Collation: uint16(collation), Comment: comment, NextIndexID: 1,
		Created: time.Now().Unix()}
	m.Columns, m.PK = metaFromSchema(ctx, schema)
	def, err := buildDef(ctx, m, nil)
	if err != nil {
		return err
	}
	if s, ok := ctx.Session.(*Session); ok {
		// The log may need the new table's definition (CREATE TABLE ... SELECT).
		s.createdTable = def.logged
		defer func() { s.createdTable = nil }()
	}
	if err := d.e.putTable(ctx, def, "", 0); err != nil {
		return err
	}
	d.e.afterDDL(ctx)
	return nil
}

// DropTable implements sql.TableDropper.
func (d *Database) DropTable(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	return d.e.dropTable(ctx, d.name, name)
}

// RenameTable implements sql.TableRenamer.
func (d *Database) RenameTable(ctx *sql.Context, oldName, newName string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	def, ok := d.e.table(d.name, oldName)
	if !ok {
		return sql.ErrTableNotFound.New(oldName)
	}
	if _, exists := d.e.table(d.name, newName); exists {
		return sql.ErrTableAlreadyExists.New(newName)
	}
	m := def.meta
	m.Name = newName
	for i := range m.FKs {
		m.FKs[i].Table = newName
	}
	nd, err := withMeta(def, m)
	if err != nil {
		return err
	}
	if err := d.e.putTable(ctx, nd, oldName, 0); err != nil {
		return err
	}
	nd.state.dropReservation()
	d.e.afterDDL(ctx)
	return nil
}

// GetCollation implements sql.CollatedDatabase.
func (d *Database) GetCollation(*sql.Context) sql.CollationID { return d.collation }

// SetCollation implements sql.CollatedDatabase.
func (d *Database) SetCollation(ctx *sql.Context, c sql.CollationID) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	if err := d.e.enterGate(ctx); err != nil {
		return err
	}
	defer d.e.gate.leave()
	defer d.e.catalogChanged()
	d.e.catMu.Lock()
	defer d.e.catMu.Unlock()
	dbe, ok := d.e.dbs[strings.ToLower(d.name)]
	if !ok {
		return sql.ErrDatabaseNotFound.New(d.name)
	}
	m := dbe.meta
	m.Collation = uint16(c)
	if err := d.e.putObjectRaw(ctx, dbMetaKey(strings.ToLower(d.name)), encodeJSON(m)); err != nil {
		return err
	}
	dbe.meta = m
	d.collation = c
	return nil
}

const (
	kindView      = "view"
	kindTrigger   = "trigger"
	kindProcedure = "procedure"
	kindEvent     = "event"
	kindFunction  = "function"
)

// CreateView implements sql.ViewDatabase.
func (d *Database) CreateView(ctx *sql.Context, name, selectStatement, createViewStmt string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.ViewDefinition
	if ok, err := d.e.getObject(d.name, kindView, name, &existing); err != nil {
		return err
	} else if ok {
		return sql.ErrExistingView.New(d.name, name)
	}
	v := sql.ViewDefinition{Name: name, TextDefinition: selectStatement, CreateViewStatement: createViewStmt,
		SqlMode: sql.LoadSqlMode(ctx).String()}
	return d.e.putObject(ctx, d.name, kindView, name, withCharsets[sql.ViewDefinition]{v, d.charsetsOf(ctx)})
}

// DropView implements sql.ViewDatabase.
func (d *Database) DropView(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.ViewDefinition
	if ok, err := d.e.getObject(d.name, kindView, name, &existing); err != nil {
		return err
	} else if !ok {
		return sql.ErrViewDoesNotExist.New(d.name, name)
	}
	return d.e.deleteObject(ctx, d.name, kindView, name)
}

// objectsOf decodes every stored object of kind in d (views, triggers, routines, events), in
// name order.
func objectsOf[T any](d *Database, kind string) ([]T, error) {
	var out []T
	err := d.e.objects(d.name, kind, func(b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// GetViewDefinition implements sql.ViewDatabase.
func (d *Database) GetViewDefinition(_ *sql.Context, name string) (sql.ViewDefinition, bool, error) {
	var v sql.ViewDefinition
	ok, err := d.e.getObject(d.name, kindView, name, &v)
	return v, ok, err
}

// AllViews implements sql.ViewDatabase.
func (d *Database) AllViews(*sql.Context) ([]sql.ViewDefinition, error) {
	out, err := objectsOf[sql.ViewDefinition](d, kindView)
	return out, err
}

// GetTriggers implements sql.TriggerDatabase.
func (d *Database) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) {
	out, err := objectsOf[sql.TriggerDefinition](d, kindTrigger)
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// CreateTrigger implements sql.TriggerDatabase.
func (d *Database) CreateTrigger(ctx *sql.Context, def sql.TriggerDefinition) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.TriggerDefinition
	if ok, err := d.e.getObject(d.name, kindTrigger, def.Name, &existing); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("trigger %q already exists", def.Name)
	}
	return d.e.putObject(ctx, d.name, kindTrigger, def.Name, withCharsets[sql.TriggerDefinition]{def, d.charsetsOf(ctx)})
}

// DropTrigger implements sql.TriggerDatabase.
func (d *Database) DropTrigger(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.TriggerDefinition
	if ok, err := d.e.getObject(d.name, kindTrigger, name, &existing); err != nil {
		return err
	} else if !ok {
		return sql.ErrTriggerDoesNotExist.New(name)
	}
	return d.e.deleteObject(ctx, d.name, kindTrigger, name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedure(_ *sql.Context, name string) (sql.StoredProcedureDetails, bool, error) {
	var v sql.StoredProcedureDetails
	ok, err := d.e.getObject(d.name, kindProcedure, name, &v)
	return v, ok, err
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	out, err := objectsOf[sql.StoredProcedureDetails](d, kindProcedure)
	return out, err
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) SaveStoredProcedure(ctx *sql.Context, spd sql.StoredProcedureDetails) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.StoredProcedureDetails
	if ok, err := d.e.getObject(d.name, kindProcedure, spd.Name, &existing); err != nil {
		return err
	} else if ok {
		return sql.ErrStoredProcedureAlreadyExists.New(spd.Name)
	}
	return d.e.putObject(ctx, d.name, kindProcedure, spd.Name, withCharsets[sql.StoredProcedureDetails]{spd, d.charsetsOf(ctx)})
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) DropStoredProcedure(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.StoredProcedureDetails
	if ok, err := d.e.getObject(d.name, kindProcedure, name, &existing); err != nil {
		return err
	} else if !ok {
		return sql.ErrStoredProcedureDoesNotExist.New(name)
	}
	return d.e.deleteObject(ctx, d.name, kindProcedure, name)
}

// GetEvent implements sql.EventDatabase.
func (d *Database) GetEvent(_ *sql.Context, name string) (sql.EventDefinition, bool, error) {
	var v sql.EventDefinition
	ok, err := d.e.getObject(d.name, kindEvent, name, &v)
	return v, ok, err
}

// GetEvents implements sql.EventDatabase.
func (d *Database) GetEvents(*sql.Context) ([]sql.EventDefinition, interface{}, error) {
	out, err := objectsOf[sql.EventDefinition](d, kindEvent)
	return out, d.e.eventsVersion.Load(), err
}

// NeedsToReloadEvents implements sql.EventDatabase: events changed since token was handed out.
func (d *Database) NeedsToReloadEvents(_ *sql.Context, token interface{}) (bool, error) {
	v, ok := token.(uint64)
	return !ok || v != d.e.eventsVersion.Load(), nil
}

// SaveEvent implements sql.EventDatabase.
func (d *Database) SaveEvent(ctx *sql.Context, ed sql.EventDefinition) (bool, error) {
	if err := d.guard(ctx); err != nil {
		return false, err
	}
	var existing sql.EventDefinition
	if ok, err := d.e.getObject(d.name, kindEvent, ed.Name, &existing); err != nil {
		return false, err
	} else if ok {
		return false, sql.ErrEventAlreadyExists.New(ed.Name)
	}
	d.e.eventsVersion.Add(1)
	return ed.Status == sql.EventStatus_Enable.String(), d.e.putObject(ctx, d.name, kindEvent, ed.Name, ed)
}

// DropEvent implements sql.EventDatabase.
func (d *Database) DropEvent(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	var existing sql.EventDefinition
	if ok, err := d.e.getObject(d.name, kindEvent, name, &existing); err != nil {
		return err
	} else if !ok {
		return sql.ErrEventDoesNotExist.New(name)
	}
	d.e.eventsVersion.Add(1)
	return d.e.deleteObject(ctx, d.name, kindEvent, name)
}

// UpdateEvent implements sql.EventDatabase.
func (d *Database) UpdateEvent(ctx *sql.Context, originalName string, ed sql.EventDefinition) (bool, error) {
	if err := d.guard(ctx); err != nil {
		return false, err
	}
	if !strings.EqualFold(originalName, ed.Name) {
		var existing sql.EventDefinition
		if ok, err := d.e.getObject(d.name, kindEvent, ed.Name, &existing); err != nil {
			return false, err
		} else if ok {
			return false, sql.ErrEventAlreadyExists.New(ed.Name)
		}
	}
	if err := d.e.deleteObject(ctx, d.name, kindEvent, originalName); err != nil {
		return false, err
	}
	d.e.eventsVersion.Add(1)
	return ed.Status == sql.EventStatus_Enable.String(), d.e.putObject(ctx, d.name, kindEvent, ed.Name, ed)
}

// UpdateLastExecuted implements sql.EventDatabase.
func (d *Database) UpdateLastExecuted(ctx *sql.Context, name string, lastExecuted time.Time) error {
	var ed sql.EventDefinition
	ok, err := d.e.getObject(d.name, kindEvent, name, &ed)
	if err != nil || !ok {
		return err
	}
	ed.LastExecuted = lastExecuted
	return d.e.putObject(ctx, d.name, kindEvent, name, ed)
}

package storage

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// ObjectCharsets is what MySQL records with a view, trigger or stored routine when it is created
// and prints in SHOW CREATE VIEW/TRIGGER/PROCEDURE/FUNCTION: the creating session's character_set_client
// and collation_connection, and the database's collation. mariadb-dump replays them around the
// CREATE statement, so they must be names the loading server knows.
type ObjectCharsets struct {
	CharacterSetClient  string `json:"character_set_client,omitempty"`
	CollationConnection string `json:"collation_connection,omitempty"`
	DatabaseCollation   string `json:"database_collation,omitempty"`
}

// withCharsets stores an object's GMS definition and its ObjectCharsets in one JSON document;
// the definition's own fields stay at the top level, so older records (without the charsets)
// and GMS's decoders read both alike.
type withCharsets[T any] struct {
	Def T `json:"-"`
	ObjectCharsets
}

func (w withCharsets[T]) MarshalJSON() ([]byte, error) {
	def, err := json.Marshal(w.Def)
	if err != nil {
		return nil, err
	}
	cs, err := json.Marshal(w.ObjectCharsets)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(def, &m); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(cs, &extra); err != nil {
		return nil, err
	}
	for k, v := range extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// charsetsOf reads the creating session's character set variables and the database's collation.
func (d *Database) charsetsOf(ctx *sql.Context) ObjectCharsets {
	cs := ObjectCharsets{DatabaseCollation: d.collation.Name()}
	if ctx == nil || ctx.Session == nil {
		return cs
	}
	if v, err := ctx.GetSessionVariable(ctx, "character_set_client"); err == nil {
		cs.CharacterSetClient = fmt.Sprint(v)
	}
	if v, err := ctx.GetSessionVariable(ctx, "collation_connection"); err == nil {
		cs.CollationConnection = fmt.Sprint(v)
	}
	return cs
}

// RecordedCharsets returns what was recorded when the view, trigger, procedure or function (kind
// "view", "trigger", "procedure" or "function") was created: character_set_client, collation_connection
// and the database's collation. ok is false if the object does not exist; objects created before
// RelayDB recorded them have empty strings.
func (d *Database) RecordedCharsets(kind, name string) (client, connection, dbCollation string, ok bool, err error) {
	switch kind {
	case kindView, kindTrigger, kindProcedure, kindFunction:
	default:
		return "", "", "", false, fmt.Errorf("no character sets are recorded for a %s", kind)
	}
	var cs ObjectCharsets
	ok, err = d.e.getObject(d.name, kind, name, &cs)
	return cs.CharacterSetClient, cs.CollationConnection, cs.DatabaseCollation, ok, err
}

// erSPAlreadyExists is MySQL's ER_SP_ALREADY_EXISTS, which vitess does not name.
const erSPAlreadyExistsCode = 1304

// GetStoredFunctions returns the database's stored functions (CREATE FUNCTION, which GMS lacks;
// package dumpsql implements it), in name order. A function is kept in GMS's procedure record.
func (d *Database) GetStoredFunctions(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	out, err := objectsOf[sql.StoredProcedureDetails](d, kindFunction)
	return out, err
}

// GetStoredFunction returns one stored function; ok is false if there is none of that name.
func (d *Database) GetStoredFunction(_ *sql.Context, name string) (sql.StoredProcedureDetails, bool, error) {
	var v sql.StoredProcedureDetails
	ok, err := d.e.getObject(d.name, kindFunction, name, &v)
	return v, ok, err
}

// SaveStoredFunction stores a new stored function, logged as the statement that created it;
// error 1304 if one of that name exists.
func (d *Database) SaveStoredFunction(ctx *sql.Context, f sql.StoredProcedureDetails) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	if _, ok, err := d.GetStoredFunction(ctx, f.Name); err != nil {
		return err
	} else if ok {
		return mysql.NewSQLError(erSPAlreadyExistsCode, "42000", "FUNCTION %s already exists", f.Name)
	}
	return d.e.putObject(ctx, d.name, kindFunction, f.Name, withCharsets[sql.StoredProcedureDetails]{f, d.charsetsOf(ctx)})
}

// DropStoredFunction removes a stored function, logged as the statement that dropped it; error
// 1305 if there is none of that name.
func (d *Database) DropStoredFunction(ctx *sql.Context, name string) error {
	if err := d.guard(ctx); err != nil {
		return err
	}
	if _, ok, err := d.GetStoredFunction(ctx, name); err != nil {
		return err
	} else if !ok {
		return mysql.NewSQLError(mysql.ERSPDoesNotExist, "42000", "FUNCTION %s.%s does not exist", d.name, strings.ToLower(name))
	}
	return d.e.deleteObject(ctx, d.name, kindFunction, name)
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// PersistedGlobals is the store behind SET PERSIST / SET PERSIST_ONLY: the
// file <datadir>/relaydb-auto.cnf (JSON), MySQL's mysqld-auto.cnf under
// another name.
//
// Its four methods have exactly the signatures of sql.PersistableSession, so a
// storage session becomes persistable by embedding *PersistedGlobals (or by
// delegating to it). Every change is written to disk (temp file, fsync,
// rename, fsync directory) before the method returns; a failed write leaves
// both the file and the in-memory values as they were. Safe for concurrent
// use.
type PersistedGlobals struct {
	path string

	mu     sync.Mutex
	values map[string]interface{} // lower-case name -> value as converted by the variable's type
}

// persistedFile is the on-disk form. Values keep their JSON type (numbers
// stay numbers, strings stay strings) and are converted again by the
// variable's type when applied.
type persistedFile struct {
	Version int                        `json:"version"`
	Globals map[string]json.RawMessage `json:"globals"`
}

const persistedFileVersion = 1

// LoadPersistedGlobals reads path, or starts empty if it does not exist.
func LoadPersistedGlobals(path string) (*PersistedGlobals, error) {
	p := &PersistedGlobals{path: path, values: map[string]interface{}{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read persisted variables: %w", err)
	}
	var f persistedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read persisted variables %s: %w", path, err)
	}
	if f.Version != persistedFileVersion {
		return nil, fmt.Errorf("read persisted variables %s: unsupported version %d", path, f.Version)
	}
	for name, raw := range f.Globals {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v interface{}
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("read persisted variables %s: %s: %w", path, name, err)
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else if f, err := n.Float64(); err == nil {
				v = f
			} else {
				return nil, fmt.Errorf("read persisted variables %s: %s: bad number %s", path, name, n)
			}
		}
		p.values[strings.ToLower(name)] = v
	}
	return p, nil
}

// Path is the file the values live in.
func (p *PersistedGlobals) Path() string { return p.path }

// Values returns a copy of every persisted value.
func (p *PersistedGlobals) Values() map[string]interface{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]interface{}, len(p.values))
	for k, v := range p.values {
		out[k] = v
	}
	return out
}

// PersistGlobal implements sql.PersistableSession: it validates value against
// the variable's type and stores it durably. GMS calls it before setting the
// live global for SET PERSIST, and alone for SET PERSIST_ONLY.
func (p *PersistedGlobals) PersistGlobal(ctx *sql.Context, sysVarName string, value interface{}) error {
	sysVar, _, ok := sql.SystemVariables.GetGlobal(sysVarName)
	if !ok {
		return sql.ErrUnknownSystemVariable.New(sysVarName)
	}
	converted, _, err := sysVar.GetType().Convert(ctx, value)
	if err != nil {
		return err
	}
	return p.set(strings.ToLower(sysVar.GetName()), converted)
}

// RemovePersistedGlobal implements sql.PersistableSession (RESET PERSIST name).
func (p *PersistedGlobals) RemovePersistedGlobal(sysVarName string) error {
	if _, _, ok := sql.SystemVariables.GetGlobal(sysVarName); !ok {
		return sql.ErrUnknownSystemVariable.New(sysVarName)
	}
	return p.update(func(m map[string]interface{}) { delete(m, strings.ToLower(sysVarName)) })
}

// RemoveAllPersistedGlobals implements sql.PersistableSession (RESET PERSIST).
func (p *PersistedGlobals) RemoveAllPersistedGlobals() error {
	return p.update(func(m map[string]interface{}) {
		for k := range m {
			delete(m, k)
		}
	})
}

// GetPersistedValue implements sql.PersistableSession. It returns nil for a
// variable that is not persisted.
func (p *PersistedGlobals) GetPersistedValue(k string) (interface{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.values[strings.ToLower(k)], nil
}

func (p *PersistedGlobals) set(name string, value interface{}) error {
	return p.update(func(m map[string]interface{}) { m[name] = value })
}

// update applies fn to a copy of the values, writes the copy, and only then
// makes it current.
func (p *PersistedGlobals) update(fn func(map[string]interface{})) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]interface{}, len(p.values)+1)
	for k, v := range p.values {
		next[k] = v
	}
	fn(next)
	data, err := encodePersisted(next)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(p.path, data, 0o600); err != nil {
		return fmt.Errorf("persist variables: %w", err)
	}
	p.values = next
	return nil
}

func encodePersisted(values map[string]interface{}) ([]byte, error) {
	f := persistedFile{Version: persistedFileVersion, Globals: map[string]json.RawMessage{}}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := values[k]
		switch x := v.(type) {
		case []byte:
			v = string(x)
		case fmt.Stringer:
			v = x.String()
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("persist variable %s: %w", k, err)
		}
		f.Globals[k] = raw
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

var _ interface {
	PersistGlobal(ctx *sql.Context, sysVarName string, value interface{}) error
	RemovePersistedGlobal(sysVarName string) error
	RemoveAllPersistedGlobals() error
	GetPersistedValue(k string) (interface{}, error)
} = (*PersistedGlobals)(nil)

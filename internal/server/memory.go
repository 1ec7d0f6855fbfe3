package server

import (
	"log/slog"
	"reflect"
	"sync"

	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
)

// OpenMemoryStorage opens GMS's in-memory backend. It is a test toy: tables
// vanish when the process exits (users, privileges and persisted variables
// do not, since the node keeps those itself), every lookup is a full scan,
// and it has no real transactions. It exists so the node can be built and
// tested before the Pebble engine is ready; cmd/relaydb offers it only
// behind the hidden --storage=memory option.
func OpenMemoryStorage(opts StorageOptions) (Storage, error) {
	return &memoryStorage{
		pro:      memory.NewDBProvider(),
		globals:  opts.Globals,
		log:      opts.Logger,
		sessions: map[*memory.Session]*memoryGlobals{},
	}, nil
}

// memoryStorage adapts memory.DbProvider to Storage.
//
// memory.Session cannot be wrapped (the memory tables type-assert
// ctx.Session to *memory.Session), so it cannot delegate SET PERSIST to
// PersistedGlobals directly. Instead each session gets a private map of
// persisted values (memory.Session.SetGlobals); after every command the node
// calls afterCommand on the connection's own goroutine, which writes what the
// statement changed in that map through to PersistedGlobals. The real storage
// engine's session delegates directly and needs none of this.
type memoryStorage struct {
	pro     *memory.DbProvider
	globals *PersistedGlobals
	log     *slog.Logger

	mu       sync.Mutex
	sessions map[*memory.Session]*memoryGlobals
}

type memoryGlobals struct {
	live memory.GlobalsMap // the map the session writes into
	base memory.GlobalsMap // what live held after the last sync
}

func (m *memoryStorage) Provider() sql.DatabaseProvider { return m.pro }

func (m *memoryStorage) NewSession(base *sql.BaseSession) sql.Session {
	s := memory.NewSession(base, m.pro)
	g := &memoryGlobals{live: memory.GlobalsMap{}, base: memory.GlobalsMap{}}
	if m.globals != nil {
		for k, v := range m.globals.Values() {
			g.live[k] = v
			g.base[k] = v
		}
	}
	s.SetGlobals(g.live)
	m.mu.Lock()
	m.sessions[s] = g
	m.mu.Unlock()
	return s
}

func (m *memoryStorage) Close() error { return nil }

func (m *memoryStorage) afterCommand(s sql.Session) {
	ms, ok := s.(*memory.Session)
	if !ok || m.globals == nil {
		return
	}
	m.mu.Lock()
	g := m.sessions[ms]
	m.mu.Unlock()
	if g == nil {
		return
	}
	for k, v := range g.live {
		if old, ok := g.base[k]; !ok || !reflect.DeepEqual(old, v) {
			if err := m.globals.set(lowerName(k), v); err != nil {
				m.warn(err)
			}
		}
	}
	if len(g.live) == 0 && len(g.base) > 0 {
		if err := m.globals.RemoveAllPersistedGlobals(); err != nil {
			m.warn(err)
		}
	} else {
		for k := range g.base {
			if _, ok := g.live[k]; !ok {
				if err := m.globals.update(func(mm map[string]interface{}) { delete(mm, lowerName(k)) }); err != nil {
					m.warn(err)
				}
			}
		}
	}
	// Refresh from the shared store so this session sees other sessions'
	// changes in @@persisted values on its next statement.
	for k := range g.live {
		delete(g.live, k)
	}
	for k := range g.base {
		delete(g.base, k)
	}
	for k, v := range m.globals.Values() {
		g.live[k] = v
		g.base[k] = v
	}
}

func (m *memoryStorage) warn(err error) {
	if m.log != nil {
		m.log.Warn("memory storage: persisting SET PERSIST value failed", "err", err)
	}
}

func (m *memoryStorage) sessionClosed(s sql.Session) {
	if ms, ok := s.(*memory.Session); ok {
		m.mu.Lock()
		delete(m.sessions, ms)
		m.mu.Unlock()
	}
}

func lowerName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

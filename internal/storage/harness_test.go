package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// harness runs SQL through go-mysql-server over a real engine in a temporary directory.
type harness struct {
	t    testing.TB
	dir  string
	tune func(*Options) // adjusts options before each open
	e    *Engine
	sql  *sqle.Engine
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.open()
	t.Cleanup(func() { h.close() })
	return h
}

func (h *harness) open() {
	h.t.Helper()
	opts := Options{Dir: h.dir, CacheSize: 8 << 20, LockWaitTimeout: 2e9, MinFreeBytes: 2 << 20}
	if h.tune != nil {
		h.tune(&opts)
	}
	e, err := Open(opts)
	if err != nil {
		h.t.Fatalf("open: %v", err)
	}
	h.e = e
	h.sql = sqle.NewDefault(e.Provider())
}

func (h *harness) close() {
	if h.e != nil {
		h.sql.Close()
		if err := h.e.Close(); err != nil {
			h.t.Errorf("close: %v", err)
		}
		h.e = nil
	}
}

// reopen closes and reopens the store, as a restart would.
func (h *harness) reopen() {
	h.close()
	h.open()
}

// session is one client connection.
type session struct {
	h  *harness
	s  *Session
	db string
}

func (h *harness) session() *session {
	base := sql.NewBaseSession()
	s := &session{h: h, s: h.e.NewSession(base, nil)}
	// MySQL's defaults, whatever GMS suites run earlier in this process left in the globals.
	ctx := s.ctx("")
	for name, v := range map[string]any{"transaction_isolation": "REPEATABLE-READ", "autocommit": int8(1)} {
		if err := s.s.SetSessionVariable(ctx, name, v); err != nil {
			h.t.Fatalf("set %s: %v", name, err)
		}
	}
	return s
}

func (s *session) ctx(q string) *sql.Context {
	ctx := sql.NewContext(context.Background(), sql.WithSession(s.s), sql.WithQuery(q))
	if s.db != "" {
		ctx.SetCurrentDatabase(s.db)
	}
	return ctx
}

// query runs q and returns its rows, or the error.
func (s *session) query(q string) ([]sql.Row, error) {
	ctx := s.ctx(q)
	// Each statement is one command, as the protocol handler runs it.
	if ls, ok := ctx.Session.(sql.LifecycleAwareSession); ok {
		if err := ls.CommandBegin(); err != nil {
			return nil, err
		}
		defer ls.CommandEnd()
	}
	_, it, _, err := s.h.sql.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	var rows []sql.Row
	for {
		r, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			it.Close(ctx)
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, it.Close(ctx)
}

func (s *session) mustExec(q string) []sql.Row {
	s.h.t.Helper()
	rows, err := s.query(q)
	if err != nil {
		s.h.t.Fatalf("%s: %v", q, err)
	}
	return rows
}

// str renders rows compactly for comparisons.
func str(rows []sql.Row) string {
	out := ""
	for i, r := range rows {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprint([]any(r))
	}
	return out
}

func (s *session) expect(q, want string) {
	s.h.t.Helper()
	if got := str(s.mustExec(q)); got != want {
		s.h.t.Fatalf("%s:\n got %s\nwant %s", q, got, want)
	}
}

// errCode returns the MySQL error code of err (0 if none).
func errCode(err error) int {
	if err == nil {
		return 0
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Number()
	}
	return sql.CastSQLError(err).Number()
}

package storage

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/readonly"
)

// GlobalsPersister stores SET PERSIST values; the server supplies it.
type GlobalsPersister interface {
	PersistGlobal(ctx *sql.Context, sysVarName string, value interface{}) error
	RemovePersistedGlobal(sysVarName string) error
	RemoveAllPersistedGlobals() error
	GetPersistedValue(k string) (interface{}, error)
}

// Session is a client session: GMS's base session plus the engine's transaction handling.
type Session struct {
	*sql.BaseSession
	e       *Engine
	persist GlobalsPersister
	mu      sync.Mutex // held while a command runs; the idle reaper only touches idle sessions
	cur     *txn
	// aside are transactions GMS took off the session unended during the command (see
	// rollbackDropped).
	aside    []*txn
	lastUsed time.Time
	ended    bool
	// command counts commands; ddlLogged is the command whose DDL entry has been made, so a
	// statement that writes the catalog several times is logged once.
	command, ddlLogged uint64
	ddlQuery           string
	// createdTable is the table CreateTable is writing, for CommitLogger.DDLEntry.
	createdTable *LoggedTable
	// dupKey is the last duplicate key a write of the session was refused for (dupkey.go).
	dupKey dupKeyNote
}

var (
	_ sql.TransactionSession    = (*Session)(nil)
	_ sql.LifecycleAwareSession = (*Session)(nil)
	_ sql.PersistableSession    = (*Session)(nil)
)

// NewSession wraps a GMS base session. persist may be nil (SET PERSIST then fails).
func (e *Engine) NewSession(base *sql.BaseSession, persist GlobalsPersister) *Session {
	s := &Session{BaseSession: base, e: e, persist: persist, lastUsed: time.Now()}
	e.sessions.Store(s, struct{}{})
	return s
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error {
	s.mu.Lock()
	s.command++
	s.lastUsed = time.Now()
	if t := s.cur; t != nil && t.readCommitted && !t.done.Load() && t.snap != nil {
		// READ COMMITTED: each statement reads the latest committed data.
		t.refreshSnapshot()
	}
	return nil
}

// CommandEnd implements sql.LifecycleAwareSession.
func (s *Session) CommandEnd() {
	s.endFailedAutocommit()
	s.dropDeadlockVictim()
	s.rollbackDropped()
	s.lastUsed = time.Now()
	s.mu.Unlock()
}

// endFailedAutocommit rolls back an implicit (autocommit) transaction that is still open after
// its command: GMS leaves it on the session when the statement fails while executing, and the
// next statement would otherwise run in it — on its old snapshot, holding its locks. MySQL rolls
// a failed autocommit statement back.
func (s *Session) endFailedAutocommit() {
	t, ok := s.GetTransaction().(*txn)
	if !ok || t == nil || s.GetIgnoreAutoCommit() {
		return // none, or an explicit transaction (START TRANSACTION / BEGIN)
	}
	v, err := s.GetSessionVariable(sql.NewEmptyContext(), "autocommit")
	if err != nil || !readonly.IsOn(v) {
		return // autocommit=0: the transaction is the client's
	}
	s.e.rollbackTxn(t)
	s.SetTransaction(nil)
	if s.cur == t {
		s.cur = nil
	}
}

// rollbackDropped rolls back, at the end of a command, a transaction GMS took off the session
// without ending it (it clears a failed autocommit statement's transaction that way), so that its
// locks do not outlive the command. (Not earlier: while a stored procedure runs, GMS sets the
// caller's transaction aside and restores it afterwards.)
func (s *Session) rollbackDropped() {
	cur := s.GetTransaction()
	if t := s.cur; t != nil && cur != sql.Transaction(t) {
		s.e.rollbackTxn(t)
		s.cur = nil
	}
	for _, t := range s.aside {
		if cur == sql.Transaction(t) {
			s.cur = t // a caller's transaction that GMS restored after CALL
		} else {
			s.e.rollbackTxn(t)
		}
	}
	clear(s.aside)
	s.aside = s.aside[:0]
}

// dropDeadlockVictim takes a transaction rolled back as a deadlock victim off the session: as in
// MySQL, the session is then outside any transaction (BEGIN's scope ended with it).
func (s *Session) dropDeadlockVictim() {
	t, ok := s.GetTransaction().(*txn)
	if !ok || t == nil || !t.done.Load() || !s.e.locks.wasDeadlockVictim(t) {
		return
	}
	s.SetTransaction(nil)
	s.SetIgnoreAutoCommit(false)
	if s.cur == t {
		s.cur = nil
	}
}

// SessionEnd implements sql.LifecycleAwareSession: an open transaction is rolled back.
func (s *Session) SessionEnd() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.e.rollbackTxn(s.cur)
		s.cur = nil
	}
	s.ended = true
	s.e.sessions.Delete(s)
}

// expireIfIdle rolls back the session's transaction if no command has run for longer than limit.
func (s *Session) expireIfIdle(now time.Time, limit time.Duration) {
	if !s.mu.TryLock() {
		return // a command is running
	}
	defer s.mu.Unlock()
	if s.command == 0 {
		// Never used the command lifecycle (an in-process caller): its owner drives it, and its
		// state is not guarded by mu, so it is not the reaper's to touch.
		return
	}
	t := s.cur
	if t == nil || t.done.Load() || now.Sub(s.lastUsed) < limit {
		return
	}
	if t.snap == nil && len(t.locks) == 0 {
		return // holds nothing
	}
	s.e.log.Info("rolling back idle transaction", "connection", s.ID(), "idle", now.Sub(s.lastUsed).Round(time.Second))
	s.e.rollbackTxn(t)
}

// StartTransaction implements sql.TransactionSession.
func (s *Session) StartTransaction(ctx *sql.Context, tc sql.TransactionCharacteristic) (sql.Transaction, error) {
	if s.e.closed.Load() {
		return nil, errClosed
	}
	if t := s.cur; t != nil && !t.done.Load() && s.GetTransaction() == nil {
		// GMS dropped it unended (a failed autocommit statement), or set it aside while a stored
		// procedure runs and will restore it: decide at the command's end.
		s.aside = append(s.aside, t)
	}
	t := s.e.newTxn(tc == sql.ReadOnly, sessionIsolation(ctx, s))
	s.cur = t
	return t, nil
}

func (s *Session) txnOf(tx sql.Transaction) *txn {
	t, _ := tx.(*txn)
	return t
}

// CommitTransaction implements sql.TransactionSession.
func (s *Session) CommitTransaction(ctx *sql.Context, tx sql.Transaction) error {
	t := s.txnOf(tx)
	if t == nil {
		return nil
	}
	if s.cur == t {
		s.cur = nil
	}
	if err := s.e.commitTxn(ctx, t); err != nil {
		// The transaction is over (rolled back); GMS keeps it on the session when commit fails,
		// so clear it here or the next statement would run in a dead transaction.
		s.SetTransaction(nil)
		return err
	}
	return nil
}

// Rollback implements sql.TransactionSession.
func (s *Session) Rollback(ctx *sql.Context, tx sql.Transaction) error {
	t := s.txnOf(tx)
	if t == nil {
		return nil
	}
	if s.cur == t {
		s.cur = nil
	}
	s.e.rollbackTxn(t)
	return nil
}

// CreateSavepoint implements sql.TransactionSession.
func (s *Session) CreateSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t := s.txnOf(tx)
	if t == nil {
		return nil
	}
	for i, sp := range t.savepoints {
		if strings.EqualFold(sp.name, name) {
			t.savepoints = append(t.savepoints[:i], t.savepoints[i+1:]...)
			break
		}
	}
	t.savepoints = append(t.savepoints, savepoint{name: name, mark: len(t.undo), changes: len(t.changes)})
	return nil
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *Session) RollbackToSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t := s.txnOf(tx)
	if t == nil {
		return sql.ErrSavepointDoesNotExist.New(name)
	}
	for i, sp := range t.savepoints {
		if strings.EqualFold(sp.name, name) {
			t.rollbackTo(sp.mark)
			t.truncateChanges(sp.changes)
			t.savepoints = t.savepoints[:i+1] // later savepoints are gone, this one stays
			return nil
		}
	}
	return sql.ErrSavepointDoesNotExist.New(name)
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *Session) ReleaseSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t := s.txnOf(tx)
	if t == nil {
		return sql.ErrSavepointDoesNotExist.New(name)
	}
	for i, sp := range t.savepoints {
		if strings.EqualFold(sp.name, name) {
			t.savepoints = t.savepoints[:i]
			return nil
		}
	}
	return sql.ErrSavepointDoesNotExist.New(name)
}

// PersistGlobal implements sql.PersistableSession.
func (s *Session) PersistGlobal(ctx *sql.Context, name string, value interface{}) error {
	if s.persist == nil {
		return sql.ErrUnsupportedFeature.New("SET PERSIST")
	}
	return s.persist.PersistGlobal(ctx, name, value)
}

// RemovePersistedGlobal implements sql.PersistableSession.
func (s *Session) RemovePersistedGlobal(name string) error {
	if s.persist == nil {
		return sql.ErrUnsupportedFeature.New("RESET PERSIST")
	}
	return s.persist.RemovePersistedGlobal(name)
}

// RemoveAllPersistedGlobals implements sql.PersistableSession.
func (s *Session) RemoveAllPersistedGlobals() error {
	if s.persist == nil {
		return sql.ErrUnsupportedFeature.New("RESET PERSIST")
	}
	return s.persist.RemoveAllPersistedGlobals()
}

// GetPersistedValue implements sql.PersistableSession.
func (s *Session) GetPersistedValue(k string) (interface{}, error) {
	if s.persist == nil {
		return nil, nil
	}
	return s.persist.GetPersistedValue(k)
}

// txnFor returns the transaction a statement runs in: the session's, or a fresh read-only one
// for callers outside any transaction (GMS internals reading tables).
func txnFor(ctx *sql.Context, e *Engine) (t *txn, temporary bool) {
	if ctx != nil {
		if tx, ok := ctx.GetTransaction().(*txn); ok && tx != nil && tx.e == e {
			return tx, false
		}
	}
	return e.newTxn(true, RepeatableRead), true
}

// claimDDLLog reports whether the running statement has not yet logged its DDL, and marks it
// logged. A statement is the command (counted by CommandBegin) and its text: in-process callers
// that run statements without the command lifecycle (GMS's own test harness) still get one
// entry per statement.
func (s *Session) claimDDLLog(query string) bool {
	if s.ddlLogged == s.command && s.ddlQuery == query {
		return false
	}
	s.ddlLogged, s.ddlQuery = s.command, query
	return true
}

// GetSessionVariable implements sql.Session. Global-only variables whose value is computed when
// read (gtid_executed, gtid_purged) are read live: GMS does that for @@global.x, but a plain
// @@x would otherwise return the copy taken when the session began.
func (s *Session) GetSessionVariable(ctx *sql.Context, name string) (interface{}, error) {
	if len(name) > 5 && strings.EqualFold(name[:5], "gtid_") {
		if def, v, ok := sql.SystemVariables.GetGlobal(name); ok {
			if msv, ok := def.(*sql.MysqlSystemVariable); ok && msv.ValueFunction != nil {
				return v, nil
			}
		}
	}
	return s.BaseSession.GetSessionVariable(ctx, name)
}

// TakeSnapshot makes the session's open transaction take its snapshot now rather than at its
// first read: START TRANSACTION WITH CONSISTENT SNAPSHOT, which a consistent dump runs while it
// holds the global read lock so that the snapshot matches the binary log position it reads.
// Call it between commands.
func (s *Session) TakeSnapshot() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return errors.New("no transaction is open")
	}
	return s.cur.ensureSnapshot()
}

package storage

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Isolation is a transaction isolation level, as InnoDB implements it.
type Isolation int

const (
	// RepeatableRead (MySQL's default): plain reads see the snapshot taken by the transaction's
	// first plain read; locking reads and writes act on the newest committed rows and lock the
	// index ranges they scan (next-key locks).
	RepeatableRead Isolation = iota
	// ReadCommitted: each statement's plain reads see a fresh snapshot; no gap locks.
	ReadCommitted
	// ReadUncommitted behaves as ReadCommitted: RelayDB never shows another transaction's
	// uncommitted writes (a stricter answer than InnoDB's dirty reads).
	ReadUncommitted
	// Serializable: as RepeatableRead, and plain reads inside a transaction (autocommit off or
	// an explicit one) are shared locking reads.
	Serializable
)

// String returns the level as transaction_isolation spells it.
func (i Isolation) String() string {
	switch i {
	case ReadCommitted:
		return "READ-COMMITTED"
	case ReadUncommitted:
		return "READ-UNCOMMITTED"
	case Serializable:
		return "SERIALIZABLE"
	default:
		return "REPEATABLE-READ"
	}
}

// ParseIsolation reads a level in any of MySQL's spellings ("READ-COMMITTED", "read committed").
func ParseIsolation(s string) (Isolation, bool) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", "-")) {
	case "REPEATABLE-READ":
		return RepeatableRead, true
	case "READ-COMMITTED":
		return ReadCommitted, true
	case "READ-UNCOMMITTED":
		return ReadUncommitted, true
	case "SERIALIZABLE":
		return Serializable, true
	}
	return RepeatableRead, false
}

// NextIsolationVariable is the session variable holding the isolation level of the session's
// next transaction only, set by SET TRANSACTION ISOLATION LEVEL … or SET @@transaction_isolation
// = … without GLOBAL or SESSION (MySQL's one-shot form); "" when there is none. The server
// registers it, sets it, and clears it once the next statement has run: GMS opens a transaction
// for every statement, and for BEGIN two (one for the statement, then the one BEGIN opens), so
// the level must outlive the first StartTransaction of that statement.
const NextIsolationVariable = "relaydb_next_transaction_isolation"

// sessionIsolation is the isolation level a transaction starting now in ctx's session gets:
// the one-shot level of NextIsolationVariable when set, else the session's
// transaction_isolation (which a new session copies from the global value).
func sessionIsolation(ctx *sql.Context, s *Session) Isolation {
	if i, ok := isolationVariable(ctx, s, NextIsolationVariable); ok {
		return i
	}
	if i, ok := isolationVariable(ctx, s, "transaction_isolation"); ok {
		return i
	}
	return RepeatableRead
}

// isolationVariable reads a session variable holding an isolation level; false when it is
// unset, empty or not a level.
func isolationVariable(ctx *sql.Context, s *Session, name string) (Isolation, bool) {
	v, err := s.GetSessionVariable(ctx, name)
	if err != nil {
		return RepeatableRead, false
	}
	str, ok := v.(string)
	if !ok || str == "" {
		return RepeatableRead, false
	}
	return ParseIsolation(str)
}

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

// sessionIsolation is the isolation level a transaction starting now in ctx's session gets:
// the session's transaction_isolation variable.
func sessionIsolation(ctx *sql.Context, s *Session) Isolation {
	if v, err := s.GetSessionVariable(ctx, "transaction_isolation"); err == nil {
		if str, ok := v.(string); ok {
			if i, ok := ParseIsolation(str); ok {
				return i
			}
		}
	}
	return RepeatableRead
}

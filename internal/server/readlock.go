package server

import (
	"context"
	"regexp"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// globalReadLocker is implemented by a Storage that can hold every commit and catalog write
// still: FLUSH TABLES WITH READ LOCK.
type globalReadLocker interface {
	LockCommits(ctx context.Context, session uint32) error
	UnlockCommits(session uint32) bool
	HoldsCommitLock(session uint32) bool
}

// snapshotTaker is implemented by sessions that can take their transaction's snapshot at once
// (START TRANSACTION WITH CONSISTENT SNAPSHOT), rather than at the first read.
type snapshotTaker interface {
	TakeSnapshot() error
}

var (
	reFlushReadLock  = regexp.MustCompile(`(?is)^\s*FLUSH\s+(?:(?:NO_WRITE_TO_BINLOG|LOCAL)\s+)?TABLES?\s+(.*?)\s*WITH\s+READ\s+LOCK\s*;?\s*$`)
	reUnlockTables   = regexp.MustCompile(`(?is)^\s*UNLOCK\s+TABLES?\s*;?\s*$`)
	reConsistentSnap = regexp.MustCompile(`(?is)^\s*START\s+TRANSACTION\s+WITH\s+CONSISTENT\s+SNAPSHOT\s*;?\s*$`)
)

// readLockStatement runs FLUSH TABLES WITH READ LOCK, and notes UNLOCK TABLES and START
// TRANSACTION WITH CONSISTENT SNAPSHOT, which GMS runs but without their effect on the global
// read lock and the snapshot. handled reports that the statement is done; after, when not nil,
// must run once GMS has run the statement successfully.
func (h *nodeHandler) readLockStatement(ctx context.Context, c *mysql.Conn, query string) (res *sqltypes.Result, handled bool, after func() error, err error) {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return nil, false, nil, nil
	}
	switch strings.ToUpper(q[:5]) {
	case "FLUSH":
		m := reFlushReadLock.FindStringSubmatch(q)
		if m == nil {
			return nil, false, nil, nil
		}
		if strings.TrimSpace(m[1]) != "" {
			return nil, true, nil, mysql.NewSQLError(1235, "42000",
				"This version of RelayDB doesn't yet support 'FLUSH TABLES tbl_name ... WITH READ LOCK' (use FLUSH TABLES WITH READ LOCK)")
		}
		res, err := h.lockTables(ctx, c)
		return res, true, nil, err
	case "UNLOC":
		if reUnlockTables.MatchString(q) && h.readLock != nil {
			h.readLock.UnlockCommits(c.ConnectionID)
		}
		return nil, false, nil, nil // GMS's UNLOCK TABLES releases LOCK TABLES too
	case "START":
		if !reConsistentSnap.MatchString(q) {
			return nil, false, nil, nil
		}
		return nil, false, func() error {
			if st, ok := h.sessions.get(c.ConnectionID).(snapshotTaker); ok {
				return st.TakeSnapshot()
			}
			return nil
		}, nil
	}
	return nil, false, nil, nil
}

// lockTables takes the global read lock for the connection: it needs RELOAD, commits the
// session's open transaction first (FLUSH commits implicitly in MySQL), and returns once every
// commit under way has finished.
func (h *nodeHandler) lockTables(ctx context.Context, c *mysql.Conn) (*sqltypes.Result, error) {
	if h.readLock == nil {
		return nil, mysql.NewSQLError(1235, "42000", "This storage backend doesn't support FLUSH TABLES WITH READ LOCK")
	}
	if h.admin != nil {
		if err := h.admin.checkPrivileges(ctx, c, []string{"RELOAD"}); err != nil {
			return nil, err
		}
	}
	if sess := h.sessions.get(c.ConnectionID); sess != nil && sess.GetTransaction() != nil {
		if err := h.Handler.ComQuery(ctx, c, "COMMIT", func(*sqltypes.Result, bool) error { return nil }); err != nil {
			return nil, err
		}
	}
	if h.readLock.HoldsCommitLock(c.ConnectionID) {
		return &sqltypes.Result{}, nil
	}
	if err := h.readLock.LockCommits(ctx, c.ConnectionID); err != nil {
		return nil, mysql.NewSQLError(1317, "70100", "Query execution was interrupted")
	}
	return &sqltypes.Result{}, nil
}

// errHoldsReadLock is MySQL's answer to a write from the session that holds the global read
// lock: error 1223 at once, rather than waiting for itself at commit.
var errHoldsReadLock = mysql.NewSQLError(1223, "HY000", "Can't execute the query because you have a conflicting read lock")

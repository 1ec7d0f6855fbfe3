package server

import (
	"context"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/readonly"
)

// UPDATE and DELETE read the rows they write with current reads (the storage engine locks each
// row and reads its newest version), so they never lose a write race. A statement that computes
// a write from a snapshot read — a stored routine's UPDATE, whose scan the engine cannot tell
// from a plain read — and finds the row changed since fails in the storage engine (1213) rather
// than overwrite a change it never saw. MySQL's InnoDB would instead wait for the row and write
// its newest version. When the statement ran in its own implicit transaction and nothing reached the
// client yet, running it again from the start is exactly that, so the node does it here instead
// of handing the client a 1213. Statements inside an explicit transaction (BEGIN, or
// autocommit=0) are never retried: their earlier reads would no longer hold.

// maxStatementRetries bounds the reruns of one statement; past it the client sees the error.
const maxStatementRetries = 20

// retryStatement runs a statement, and runs it again while it fails only with a retryable
// write conflict, ran in its own autocommit transaction, and sent nothing to the client.
func (h *nodeHandler) retryStatement(ctx context.Context, c *mysql.Conn, run func(sent *bool) error) error {
	for attempt := 0; ; attempt++ {
		sent := false
		err := run(&sent)
		if err == nil || sent || h.retryable == nil || attempt >= maxStatementRetries || !h.retryable(err) {
			return err
		}
		// Checked only after a failure, to keep the common path free of it: a failed statement
		// of an explicit transaction (or under autocommit=0) leaves that transaction open, while
		// a failed autocommit statement's own transaction is gone by now.
		if !h.ownTransaction(ctx, c) {
			return err
		}
	}
}

// ownTransaction reports whether the connection's next statement would run in its own autocommit
// transaction: autocommit is on and no transaction is open.
func (h *nodeHandler) ownTransaction(ctx context.Context, c *mysql.Conn) bool {
	s := h.sessions.get(c.ConnectionID)
	if s == nil || s.GetTransaction() != nil {
		return false
	}
	v, err := s.GetSessionVariable(sql.NewContext(ctx, sql.WithSession(s)), "autocommit")
	return err == nil && readonly.IsOn(v)
}

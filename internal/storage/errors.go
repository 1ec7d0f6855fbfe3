package storage

import (
	"errors"
	"syscall"

	"github.com/dolthub/vitess/go/mysql"
)

// Errors a client sees carry MySQL's code and SQLSTATE; GMS passes *mysql.SQLError through
// unchanged, so these must be returned unwrapped.
var (
	errDeadlock = mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
		"Deadlock found when trying to get lock; try restarting transaction")
	errWriteConflict = mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
		"Deadlock found when trying to get lock; try restarting transaction (row changed by a concurrent transaction)")
	errLockWaitTimeout = mysql.NewSQLError(mysql.ERLockWaitTimeout, mysql.SSUnknownSQLState,
		"Lock wait timeout exceeded; try restarting transaction")
	errTableDefChanged = mysql.NewSQLError(1412, mysql.SSUnknownSQLState,
		"Table definition has changed, please retry transaction")
	errTxnExpired = mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
		"Transaction was rolled back because it stayed idle longer than the server's transaction idle timeout; try restarting transaction")
	errClosed = errors.New("storage engine is closed")
)

// storageWriteError turns a failed durable write into the error a client sees: ER_DISK_FULL
// (1021) when the disk is full, ER_ERROR_ON_WRITE (1026) otherwise. Nothing of the failed
// transaction is visible; the client may retry once space is freed.
func storageWriteError(err error) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se // already a client error (a fenced cluster node's refusal)
	}
	if errors.Is(err, syscall.ENOSPC) {
		return mysql.NewSQLError(1021, mysql.SSUnknownSQLState,
			"Disk full; the transaction was not committed, retry after freeing space (%v)", err)
	}
	return mysql.NewSQLError(1026, mysql.SSUnknownSQLState, "Error writing to storage: %v", err)
}

// IsStaleWrite reports whether err is the engine's refusal to write a row that another
// transaction changed after the writer's snapshot (1213). An autocommit statement that fails
// with it can be run again from the start; see internal/server/retry.go.
func IsStaleWrite(err error) bool {
	var se *mysql.SQLError
	return errors.As(err, &se) && se.Num == errWriteConflict.Num && se.Message == errWriteConflict.Message
}

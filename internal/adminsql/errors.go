package adminsql

import (
	"strings"

	"github.com/dolthub/vitess/go/mysql"
)

// The MySQL error codes of the administrative statements, under MySQL's names (vitess's where
// it has them). internal/server uses these names rather than numbers.
const (
	ERParseError                 = mysql.ERParseError            // 1064 ER_PARSE_ERROR
	ERUnknownError               = mysql.ERUnknownError          // 1105 ER_UNKNOWN_ERROR
	ERWrongArguments             = mysql.ERWrongArguments        // 1210 ER_WRONG_ARGUMENTS
	ERSpecificAccessDenied       = mysql.ERSpecifiedAccessDenied // 1227 ER_SPECIFIC_ACCESS_DENIED_ERROR
	ERWrongValue                 = mysql.ERWrongValue            // 1525 ER_WRONG_VALUE
	ERDBCreateExists             = 1007                          // ER_DB_CREATE_EXISTS
	ERFlushSourceBinlogClosed    = 1186                          // ER_FLUSH_SOURCE_BINLOG_CLOSED
	ERErrorWhenExecutingCommand  = 1220                          // ER_ERROR_WHEN_EXECUTING_COMMAND
	ERBadReplicaUntilCond        = 1277                          // ER_BAD_REPLICA_UNTIL_COND
	ERUnknownTargetBinlog        = 1373                          // ER_UNKNOWN_TARGET_BINLOG
	ERBinlogPurgeFatalErr        = 1377                          // ER_BINLOG_PURGE_FATAL_ERR
	ERLogInUse                   = 1378                          // ER_LOG_IN_USE
	ERNoBinaryLogging            = 1381                          // ER_NO_BINARY_LOGGING
	ERReplicaHeartbeatOutOfRange = 1703                          // ER_REPLICA_HEARTBEAT_VALUE_OUT_OF_RANGE
	ERSourceDelayOutOfRange      = 1729                          // ER_SOURCE_DELAY_VALUE_OUT_OF_RANGE
	ERMalformedGTIDSetSpec       = 1772                          // ER_MALFORMED_GTID_SET_SPECIFICATION
	ERCantSetGTIDPurged          = 1840                          // ER_CANT_SET_GTID_PURGED_WHEN_GTID_EXECUTED_IS_NOT_EMPTY
)

// syntaxError is MySQL's ER_PARSE_ERROR for q at byte offset pos: the text from there on (at
// most 80 bytes, as MySQL's %.80s) and the line it is on.
func syntaxError(q string, pos int) *mysql.SQLError {
	pos = min(max(pos, 0), len(q))
	near := q[pos:]
	if len(near) > 80 {
		near = near[:80]
	}
	return mysql.NewSQLError(ERParseError, mysql.SSClientError,
		"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line %d",
		near, 1+strings.Count(q[:pos], "\n"))
}

// wrongArguments is ER_WRONG_ARGUMENTS for a bad value of statement's option.
func wrongArguments(statement, why string) *mysql.SQLError {
	return mysql.NewSQLError(ERWrongArguments, "HY000", "Incorrect arguments to %s: %s", statement, why)
}

// badUntil is ER_BAD_REPLICA_UNTIL_COND.
func badUntil(why string) *mysql.SQLError {
	return mysql.NewSQLError(ERBadReplicaUntilCond, "HY000", "Incorrect parameter or combination of parameters for START REPLICA UNTIL: %s", why)
}

// malformedGTIDSet is ER_MALFORMED_GTID_SET_SPECIFICATION.
func malformedGTIDSet(s string) *mysql.SQLError {
	return mysql.NewSQLError(ERMalformedGTIDSetSpec, "HY000", "Malformed GTID set specification '%s'.", s)
}

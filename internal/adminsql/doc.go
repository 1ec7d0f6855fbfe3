// Package adminsql parses the administrative statements that go-mysql-server's parser does not
// know and RelayDB answers itself: the binary log statements (SHOW BINARY LOGS, SHOW BINARY LOG
// STATUS, SHOW BINLOG EVENTS, FLUSH BINARY LOGS, PURGE BINARY LOGS, RESET BINARY LOGS AND GTIDS,
// SET GLOBAL gtid_purged, SHOW REPLICAS), the replica statements (CHANGE REPLICATION SOURCE TO,
// START / STOP / RESET REPLICA, SHOW REPLICA STATUS, CHANGE REPLICATION FILTER, each FOR
// CHANNEL), their MySQL 5.7 and MariaDB spellings (MASTER, SLAVE), and RelayDB's cluster
// statements (SHOW CLUSTER STATUS | JOURNAL, SWITCHOVER). internal/server runs them.
//
// Parse turns a statement into a typed struct: option values have their types (strings,
// unsigned numbers, 0/1 booleans, decimals, lists, GTID sets, accounts, words), checked as MySQL
// checks them. The lexer follows MySQL's: keywords in any case, '…' and "…" strings with
// doubled quotes and backslash escapes, adjacent strings joined, `…` identifiers, comments
// (-- , #, /* */) skipped and executable comments (/*! */) read as code.
//
// Invariants:
//   - Parse never panics, on any input (FuzzParse).
//   - A statement Parse accepts prints (String) as text that Parse reads back to an equal
//     statement (FuzzParse, TestRoundTrip).
//   - Parse claims a statement by its leading words only; once claimed, every error is a
//     *mysql.SQLError with MySQL's code: ER_PARSE_ERROR (1064) with MySQL's "near '…' at line
//     N" text for syntax, and MySQL's own code for a bad value. A statement it does not claim
//     ((nil, nil)) is left to GMS unchanged.
//   - The package has no state: Parse may be called from any goroutine.
//
// Adding an option to CHANGE REPLICATION SOURCE TO is one line in sourceOptions (options.go).
package adminsql

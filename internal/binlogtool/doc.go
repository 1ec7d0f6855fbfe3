// Package binlogtool is `relaydb binlog`, the project's mysqlbinlog: it prints the events of
// binlog files as comments and, for the transactions a user selects, as SQL that re-executes
// them when piped into a server (point-in-time recovery, inspecting what a primary logged).
//
// # Output
//
// Everything meant for humans is a line starting with '#'. The rest is SQL, one statement per
// line (a QUERY event's text keeps its own line breaks), ending in ';'. A statement whose text
// contains ';' is wrapped in `DELIMITER /*!*/;` … `DELIMITER ;` as mysqlbinlog does. The
// output starts with `SET NAMES utf8mb4;` and `SET @@SESSION.TIME_ZONE='+00:00';` because row
// values are printed as UTF-8 text and TIMESTAMP values in UTC. Each GTID transaction is
// framed by `SET @@SESSION.GTID_NEXT='uuid:n';` and `SET @@SESSION.GTID_NEXT='AUTOMATIC';`
// (unless --skip-gtids); QUERY events are their statements (with `USE db;` when the default
// database changes), XID is `COMMIT;`, and row events are INSERT, UPDATE and DELETE statements
// built from the decoded row images and the TABLE_MAP's column names.
//
// # Invariants
//
//   - Whole transactions only. A transaction's SQL is built in memory and written only once the
//     transaction has been read to its end and every event of it converted; a transaction cut
//     by --stop-position, by the end of a file or by damage prints no SQL.
//   - No wrong SQL. When an event of a transaction cannot be turned into SQL that re-executes
//     it exactly (no column names in the TABLE_MAP, an unsupported event or column type, a
//     value with no exact literal), the whole transaction is printed as comments with an
//     "# ERROR:" line, and the command exits non-zero after printing the rest.
//   - Values round-trip: integers with their signedness, DECIMAL as exact literals, FLOAT and
//     DOUBLE as the shortest text that reads back to the same float64, strings as quoted UTF-8
//     when that is unambiguous under any sql_mode and as hex otherwise, temporals with their
//     fractional digits, JSON through CAST(… AS JSON), geometry through ST_GeomFromWKB.
//   - Filters select whole transactions: --start-position and --start-datetime skip
//     transactions that begin before them; --stop-position (last file only) and
//     --stop-datetime end the output at the first transaction that reaches them;
//     --include-gtids and --exclude-gtids select by GTID.
//   - Arbitrary bytes never panic (FuzzDecodeBinlog): damage is reported with the file name
//     and offset, and nothing after it is printed.
//
// The package reads files only through internal/binlog's Reader and decodes rows only through
// internal/binlog/rowenc; it keeps no state between calls of Print.
package binlogtool

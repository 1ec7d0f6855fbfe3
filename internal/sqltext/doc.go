// Package sqltext rewrites a statement's text before go-mysql-server parses it, where its
// parser (dolthub/vitess) reads as SQL what MySQL does not.
//
// Executable comments: MySQL runs the text of /*! … */, and of /*!NNNNN … */ only when its
// version is at least NNNNN; vitess runs every one of them, whatever the version, and also runs
// MariaDB's /*M! … */, which MySQL (and so RelayDB, a MySQL 8.0 server) reads as a plain
// comment. mariadb-dump files start with one (/*M!999999\- enable the sandbox mode */).
//
// Invariants:
//   - Only comments are changed, each replaced by one space; string literals, quoted
//     identifiers and other comments are copied byte for byte, so a text with no executable
//     comment to drop comes back unchanged (the same string, without a copy).
//   - An unterminated comment or quote is copied as it is, for the parser to report.
package sqltext

// Package rplfilter decides which replicated changes a replica applies: the replicate-* filters
// (--replicate-do-db and friends, or CHANGE REPLICATION FILTER). It is pure: no I/O, no SQL
// engine beyond the parser used to find a statement's tables.
//
// The rules follow MySQL's order of evaluation:
//
//  1. replicate-rewrite-db renames a database first; every other filter sees the new name. It
//     renames the database of a row event's table map, and the default database of a statement
//     (names written with a database inside a statement's text are not rewritten, as in MySQL).
//  2. Database level. If replicate-do-db lists anything, a change whose database is not listed
//     is dropped; otherwise, if replicate-ignore-db lists its database, it is dropped. For a row
//     event the database is the table's own; for a statement it is the default database (the
//     one the source had selected with USE), except for CREATE/ALTER/DROP DATABASE and
//     CREATE/DROP SCHEMA, which are judged by the database they name. A statement without a
//     default database is dropped by any replicate-do-db list and kept by ignore lists.
//  3. Table level, only for changes the database level kept, and only when a table option is
//     set. Each table is tried against, in turn: replicate-do-table (a match keeps it),
//     replicate-ignore-table (a match drops it), replicate-wild-do-table (keeps),
//     replicate-wild-ignore-table (drops). A table no option matched is dropped when any do-table
//     or wild-do-table option is set, and kept otherwise. For a row event the table is the
//     mapped one. For a statement, its tables are tried in the order written and the first one
//     an option matches decides; if none matches, the same default applies. An INSERT counts
//     only the table it writes; other statements every table they name (MySQL counts only the
//     tables a statement updates, which for UPDATE and DELETE with joins is narrower). A
//     statement naming no table (or one the parser cannot read) passes the table level.
//
// Wild patterns are LIKE patterns on "db.table": % matches any run of characters, _ any one
// character, and \ escapes the next one. Names and patterns compare case-insensitively, as the
// SQL engine treats database and table names (MySQL on Linux compares names exactly).
package rplfilter

// Package sqlmeta corrects the metadata statements go-mysql-server (GMS) answers differently
// from MySQL, which ORMs and schema tools parse:
//
//   - SHOW [FULL] COLUMNS / FIELDS: Type without a COLLATE or CHARACTER SET suffix, Collation
//     as the column's, string defaults unquoted, Privileges the user's (knex's renameColumn
//     reads Type and Collation);
//   - SHOW INDEX: Collation A, Sub_part of prefix indexes;
//   - SHOW TABLE STATUS: Auto_increment, Create_time;
//   - information_schema.COLUMNS: TEXT lengths in bytes, DATE without a DATETIME_PRECISION,
//     MEDIUMINT UNSIGNED's precision, COLUMN_KEY by MySQL's rules.
//
// It is a priority exec builder step (Builder.Build): internal/server's exec builder calls it
// for each node; for the statements above it runs GMS's own builder and rewrites the rows it
// produced, for every other node it returns no iterator and GMS builds the node as usual.
//
// Invariants: only the columns named above change; the rows, their order and the result schema
// are GMS's. Builder holds no state between statements.
package sqlmeta

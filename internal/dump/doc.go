// Package dump writes a logical, consistent dump of a running server as SQL that the mariadb or
// mysql client can load: `relaydb dump`, the tool for seeding a new replica from a live primary
// (seed 004's FLUSH TABLES WITH READ LOCK, dump, SHOW MASTER STATUS — without holding the lock
// for the length of the dump).
//
// Invariants:
//   - Every row in the dump is read in one transaction whose snapshot was taken while the global
//     read lock was held, and the binlog position and gtid_executed the dump records were read
//     under that same lock: the data is exactly the source's state at that position. The lock is
//     held only for those three statements (FLUSH TABLES WITH READ LOCK, START TRANSACTION WITH
//     CONSISTENT SNAPSHOT, SHOW MASTER STATUS), then released before any row is read.
//   - The dump disables binary logging for the loading session and sets gtid_purged to the
//     recorded set as its last statement, so a server that loaded it whole has exactly the
//     source's gtid_executed and can start replicating with SOURCE_AUTO_POSITION=1; a load that
//     fails part way leaves gtid_purged untouched.
//   - System schemas (mysql, information_schema, performance_schema, sys) are not dumped;
//     accounts are not copied.
//   - DDL on the source while a dump runs can fail the dump (a table created after the snapshot
//     cannot be read in it); the dump then stops with an error rather than write a partial file
//     that looks complete. The last line of a complete dump is a "-- Dump completed" comment.
package dump

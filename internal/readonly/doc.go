// Package readonly enforces MySQL's read_only and super_read_only system
// variables, which go-mysql-server stores but does not enforce.
//
// Rules (MySQL 8.0):
//   - super_read_only=ON refuses every write, whoever asks.
//   - read_only=ON refuses writes from users that have neither SUPER nor
//     CONNECTION_ADMIN.
//   - The replication applier is exempt from both: it marks its context with
//     MarkApplier (or uses a session implementing Exempter). Client
//     connections have no way to obtain the mark.
//   - Refusals are MySQL error 1290 (ER_OPTION_PREVENTS_STATEMENT, SQLSTATE
//     HY000) with MySQL's message naming --read-only or --super-read-only.
//
// Where it fires: internal/server installs a hook that runs CheckNode on every
// analyzed plan just before GMS turns it into an executable iterator, so
// INSERT, UPDATE, DELETE, REPLACE, DDL and account statements (CREATE USER,
// GRANT, ...) are refused before they change anything, whether sent as text,
// as prepared statements or from inside stored procedures. Storage code may
// also call Check from its table editors as a second line of defence; it is
// cheap when the server is writable (two system-variable reads).
//
// The package keeps no state of its own: the mode lives in GMS's process-wide
// system variables, the exemption in the context or session.
package readonly

// Package dumpsql makes RelayDB read and write what mariadb-dump and mysqldump read and write,
// where go-mysql-server (GMS) and its parser (dolthub/vitess) differ from MySQL. It plugs into GMS
// through its extension points only: the engine's parser (BuilderOverrides.Parser, statements
// planned as ast.InjectedStatement), its SHOW CREATE TABLE formatter (EngineOverrides.
// SchemaFormatter) and the catalog's function provider (sql.FunctionProvider).
//
// What it adds:
//
//   - Stored functions, which vitess cannot parse: CREATE [OR REPLACE] [DEFINER=…] FUNCTION
//     [IF NOT EXISTS], DROP FUNCTION [IF EXISTS], SHOW CREATE FUNCTION, SHOW FUNCTION STATUS and
//     calls in any expression (f(x), db.f(x)). A function is kept by the database (FunctionDatabase,
//     package storage) as its CREATE text; the storage logs the statement, so replicas, crash
//     recovery and mariadb-binlog replays run it again through this same parser.
//   - SHOW CREATE TRIGGER / PROCEDURE / FUNCTION / VIEW (and SHOW CREATE TABLE of a view) with the
//     character_set_client and collation_connection recorded when the object was created and the
//     database's collation (CharsetRecorder), which mariadb-dump writes into the dump and must
//     know: GMS printed the current session's and collation_server.
//   - SHOW CREATE TABLE prints ENUM and SET defaults as values (SchemaFormatter), and
//     CREATE/ALTER TABLE accept YEAR(4), as MariaDB and MySQL 5.x print it.
//
// Invariants:
//
//   - Statements that are not this package's reach GMS's MySQL parser unchanged, except a YEAR(N)
//     column's width in CREATE/ALTER TABLE, replaced by spaces (offsets into the text stay valid).
//     The foreign-key SET DEFAULT refusal that GMS's planner applies only to its own parser type
//     is applied here.
//   - A function body is checked when the function is created: only BEGIN … END, DECLARE of
//     variables (with DEFAULT), SET and SELECT … INTO of local variables, IF, CASE, LOOP, WHILE,
//     REPEAT, LEAVE, ITERATE and RETURN are accepted (no cursors, handlers or writes), and a
//     RETURN must occur (1320). Nothing is stored for a refused CREATE.
//   - A call evaluates its arguments, converts them to the parameters' types, and runs the body
//     on the caller's session and transaction, in the function's database. Each expression of
//     the body is SELECT <expression> with the variables written as literals, analyzed and run by
//     the engine; the result is converted to the RETURNS type. A loop ends when the statement is
//     killed. A function that calls itself,
//     directly or not, fails with 1424 instead of recursing. A built-in function of the same name
//     wins over an unqualified call, as in MySQL.
//   - Calls are never constant-folded (they may read tables) and are re-compiled when the stored
//     definition changes (Routines caches one compiled form per function, keyed by its text and
//     creation time).
//   - Functions run with the caller's privileges, not the definer's (SQL SECURITY is recorded
//     but not applied).
package dumpsql

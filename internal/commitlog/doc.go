// Package commitlog makes the binary log RelayDB's commit log (DESIGN.md, decision 3).
//
// Storage (internal/storage) records each transaction's row changes and hands them, at commit,
// to Log.TxnEntry on the committing session's goroutine, which builds the transaction's events
// (BEGIN, TABLE_MAP, WRITE/UPDATE/DELETE_ROWS v2, XID; a DDL statement is one QUERY event). The
// commit pipeline (internal/commit) then calls Log.WriteGroup on its single committer goroutine
// with every entry of a commit group, in commit order: GTIDs and logical timestamps are assigned
// there, the group is appended with one write and fsynced per sync_binlog, and only then do the
// group's storage writes reach the store, together with this package's state record.
//
// # Invariants
//
//   - Binlog order is commit order: GTIDs are assigned, events appended and storage written by
//     one goroutine, group after group.
//   - A commit is acknowledged only after its events are in the binlog file and, with
//     sync_binlog=1, fsynced. The store is then written without its own fsync: after a crash,
//     the state record (binlog position and gtid_executed, written atomically with the data)
//     tells which binlog transactions the store lacks, and recovery replays them
//     (Open returns them as Pending). So the tables always end up holding exactly the
//     transactions in the binlog.
//   - Writes that are not logged (sql_log_bin=0, databases excluded by binlog-do-db /
//     binlog-ignore-db) cannot be replayed, so their groups sync the store as well.
//   - gtid_executed is the binlog's GTIDs (plus any the store holds that the binlog lost, which
//     is logged as a warning); an explicit gtid_next that is already executed makes the
//     transaction a no-op, as in MySQL.
//   - binlog_format STATEMENT / MIXED: the decision for each statement is taken when it changes
//     its first row (StatementStarted), so warning 1592 reaches the client; a statement logged
//     as text carries what its replay needs (INTVAR, RAND, USER_VAR events, its time), and one
//     that cannot be replayed as text (MIXED and unsafe, parameters, an unloggable variable)
//     is logged as rows. binlog-do-db / binlog-ignore-db use the default database for text and
//     each table's database for rows.
//   - Account statements (AccountEntry) are one QUERY event each, never filtered by binlog-do-db /
//     binlog-ignore-db, with clear-text passwords replaced by their stored hash (AccountStatement).
//   - sync_binlog=0 never fsyncs on the commit path (the OS flushes); N fsyncs every N groups.
//     A process crash loses nothing either way (written data is in the page cache); a power
//     failure can lose the unsynced tail of both the binlog and the store.
package commitlog

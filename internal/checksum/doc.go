// Package checksum proves that replicas hold the same data as their primary while writes go on,
// and names the rows that differ: `relaydb checksum`, the job pt-table-checksum does for MySQL.
//
// # Chunks
//
// Each table (every base table outside the system schemas, or those selected) is walked in
// primary-key order in chunks of ChunkSize rows of the primary: a chunk is the key range
// (lower, upper], its bounds read on the primary. For every chunk each server computes, in SQL,
// COUNT(*), BIT_XOR and SUM of a per-row CRC32 over all columns (CONCAT_WS of the values, binary
// ones as HEX; one ISNULL flag per column, so that NULL and the empty string differ; and the
// values' lengths, so that a separator inside a value cannot make two rows alike). Equal figures
// mean equal chunks (up to CRC32 collisions); only figures cross the network. A table without
// a primary key is one chunk, the whole table, and its drill-down reads every row.
//
// # Consistency while writes continue: sync points
//
// Figures are only comparable if both servers computed them over the same history. A sync
// point (sync.go, trySyncPoint) gives every server a snapshot that holds exactly the primary's
// transactions up to one GTID set: a snapshot on the primary taken under FLUSH TABLES WITH READ
// LOCK together with its gtid_executed (as mysqldump does), and on each replica, whose applier
// was stopped while that lock was held, START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS = that
// set, a snapshot once the applier has stopped there (taken, with the replica's gtid_executed,
// under the replica's own brief read lock), and the applier started again at once. Before
// all this, the replicas are left to catch up with the primary's position of the moment at
// full speed, so that the part they apply under UNTIL (one transaction at a time) is short.
// Every chunk is read through the snapshots of one sync point; a sync point serves chunks for
// SyncAge, then the next one is taken (sync.go has the steps and why each is needed).
//
// Why not pt-table-checksum's method (REPLACE INTO checksums SELECT … logged as a statement,
// replayed by each replica at the same point of its stream)? It relies on InnoDB's locking read
// of the chunk holding off concurrent writes between the statement's read and its place in the
// binlog. RelayDB's transactions read a snapshot taken when the statement starts and are placed
// in the binlog when they commit, with no gap locks; a transaction committing in between puts
// the statement after a write its read did not see, and the replica's replay sees it. Measured
// while designing this package: with three sessions updating an 8-row table, 195 of 300
// statement-logged checksums differed on the replica (249 of 300 with a single applier
// worker) although the tables were equal. The parallel applier adds another race (a statement
// replayed beside the transactions of its commit group).
//
// Costs: each sync point holds the primary's commits for a FLUSH TABLES WITH READ LOCK, one
// START TRANSACTION and one STOP REPLICA SQL_THREAD per replica (in parallel) — milliseconds —
// and each replica's applier from that STOP until it has reached the set and taken its snapshot;
// meanwhile it applies one transaction at a time, as UNTIL requires. A sync point also waits for
// the replicas' lag. So sync points are shared by the chunks of SyncAge (5 s by default): one
// per chunk is correct but, on a table written faster than the walk goes, never gets to its
// end. Nothing is written to any server, and nothing is logged in any binlog.
//
// # Drill-down
//
// A chunk whose figures differ on a replica is compared row by row in the same sync point's
// snapshots: key and row hash of every row on both sides give the keys only one side has and
// the keys whose rows differ; those rows are then read whole to name the columns that differ.
// Because both sides are read at the same point, no re-check is needed: every difference
// reported is a difference between the replica and the primary at that point.
//
// # Invariants
//
//   - No false reports: figures and rows are only ever compared between snapshots of one sync
//     point, and a sync point is only used after checking each replica's snapshot: its
//     gtid_executed contains the point's set and none of the primary's transactions beyond it.
//     A replica that is behind is waited for (up to WaitTimeout, then an error); one cannot be
//     ahead by construction (its applier was stopped while the primary stood still). A
//     difference is reported only with the rows that make it; figures that differ while the rows
//     compare equal (possible only if a SUM beyond 2^53 rounded differently) become a note.
//   - Replicas' appliers are restored: every applier a sync point stopped is started again
//     before the sync point returns, on every path (errors, cancellation, timeouts), unless it
//     has stopped with an error of its own, which is left for the administrator and reported as
//     an error. If the process is killed between STOP and START, START REPLICA resumes it.
//   - The primary's global read lock is released before any chunk is read, and on every path.
//   - Transactions a replica executed that the primary never had (errant GTIDs) do not stop the
//     check; they are reported as a note.
//
// # Limits
//
//   - Replicas are named (Options.Replicas) or taken from SHOW REPLICAS when they report their
//     address; they must replicate directly from the primary, over one channel. A delayed
//     replica (SOURCE_DELAY) needs WaitTimeout beyond its delay.
//   - DDL on a checked table while the run goes on can fail the run (a snapshot older than the
//     table's change cannot read it). Tables only a replica has are not looked at.
//   - Values are compared as the server prints them: a replica must run the same server
//     version for equal data to give equal figures (types and collations are those of the
//     primary's definition).
package checksum

// Package replica is the replica side of replication: the receiver ("I/O thread") that pulls a
// source's binlog over COM_BINLOG_DUMP_GTID (COM_BINLOG_DUMP from a MariaDB source) into a relay
// log, and the applier ("SQL thread") that replays the relay log into this server through
// internal/apply.
//
// # Invariants
//
//   - The relay log holds only whole transactions: the receiver buffers a transaction until its
//     end event and then appends it (binlog.Writer in KeepEvents mode, so events keep the
//     source's log_pos). It is not fsynced (except before a semi-sync ack with
//     rpl_semi_sync_replica_ack_durability = FSYNC): it is discarded at startup anyway (below).
//   - The applier reads a relay log file only up to the writer's position, which covers whole
//     appends only; a failed append is cut off the file. So a full disk never exposes part of a
//     transaction. On ENOSPC or EDQUOT the receiver keeps the transaction in memory, reports
//     error 1021 ("Waiting for disk space") and tries again every second until it fits or the
//     receiver stops; a transaction joins Retrieved_Gtid_Set only once written, so a receiver
//     stopped meanwhile fetches it again. Other relay log write errors stop the receiver (13122).
//   - The applier purges a relay log file when it moves on to the next one; the active file
//     stays until it reaches --max-relay-log-size. The relay log is a Disposable binlog, so a
//     purge frees space even on a full disk (files go before the index is rewritten).
//   - Crash safety rests on GTIDs: each applied transaction commits with gtid_next set to its
//     GTID, so the executed set is stored atomically with its data (commitlog), and the applier
//     skips every transaction already executed. At startup the relay log is discarded and the
//     receiver asks the source for everything after the executed set (MySQL's
//     relay_log_recovery); nothing is applied twice or skipped.
//   - Applied transactions are logged in this server's binlog with their original GTIDs
//     (log_replica_updates), so replicas can be chained.
//   - The connection settings (master.info) are persisted in the datadir as replica.json,
//     replaced atomically; running threads are restarted when the server starts.
//   - Parallel apply (replica_parallel_workers): a transaction starts once the transactions its
//     last_committed names have committed, and starts its commit only after every earlier one
//     started its own (so commits share the binlog's group commit). DDL and a new source file
//     run alone. A crash between commits that finished out of order leaves a gap in
//     gtid_executed, which the GTID skip fills at restart.
//   - Each applied transaction is one command of its worker's session (the storage's idle
//     reaper never takes it for idle).
//   - The applier is exempt from read_only and super_read_only; it applies account statements as
//     root@localhost, and the server persists and re-logs them as it does its own.
//   - With SOURCE_SSL=1 the receiver makes the TLS connection itself (tlsconn.go) and vitess
//     authenticates through it; the source's certificate is checked (TLS, tlsconfig.go) during
//     the handshake, so no credential is sent to a source that failed the checks. Settings that
//     cannot be honoured are refused by CHANGE REPLICATION SOURCE TO, never dropped silently.
//   - Semi-sync (rpl_semi_sync_replica_enabled, semisync.go): the receiver asks for a semi-sync
//     dump; an event that requests an ack is acknowledged only after the transaction it ends
//     (and everything before it) is in the relay log, as rpl_semi_sync_replica_ack_durability
//     says:
//     WRITE (default): written to the relay log file, i.e. handed to the OS, without fsync. The
//     receiver sends the ack itself, right after its write. A kill -9 of this process keeps
//     what the OS was given; a crash of this machine may lose it, but the source has it
//     (AFTER_SYNC: fsynced there before it was sent). So an acknowledged commit is lost only if
//     the source is lost and this replica fails with it: two failures. This is MySQL's own
//     semantics (its replica acks after a write; sync_relay_log is not 1 by default).
//     FSYNC: the acker goroutine fsyncs the relay log, then acks; one fsync covers everything
//     received before it started (group fsync), and the receiver goes on reading meanwhile.
//     Because the relay log is discarded at restart (below), a relay log fsynced before the
//     ack is never read after a crash: FSYNC makes no failure survivable that WRITE does not,
//     and costs an fsync per ack. It is there for those who want the acknowledged events on
//     this disk whatever happens next (tools reading relay logs after a crash).
//     Acks cover groups: the source asks for one at the end of each batch it sends, and one ack
//     names the furthest position, releasing every commit up to it. Toward a RelayDB source
//     that says it asks for them (semisync.AppliedAckOnRequestVariable), the applier sends
//     applied acknowledgements (synchronous replication) only while the last ack request
//     carried semisync.FlagAppliedAckRequested; toward an older RelayDB source, after every
//     transaction. Acks only move forward, and name the source's binlog file and position.
//   - A MariaDB source (mariadb.go) is read by file and position only; its transactions reach
//     the relay log already translated by package mariabinlog into MySQL-format ones under
//     GTIDs derived from MariaDB's, so everything after the receiver (relay log, GTID skip,
//     parallel apply, log_replica_updates, crash safety) is the same as for a MySQL source.
//   - In file/position mode a new connection of a running receiver asks for the binlog from
//     just past the last transaction it relayed (or the last rotation), never from the
//     configured position again: the relay log refuses a GTID it already holds. A clean stop
//     of the applier (STOP REPLICA, shutdown) makes the applied position the configured one;
//     the receiver of a restarted server starts from the configured position, and the GTID
//     skip makes an older one (after a crash) safe. CHANGE REPLICATION SOURCE TO another
//     source or position discards the relay log and Retrieved_Gtid_Set, as MySQL does.
//   - Replication filters (filters.go, rules in package rplfilter) are applied by the applier,
//     never the receiver: the relay log and Retrieved_Gtid_Set hold everything, and a filtered
//     transaction still commits (empty) under its GTID, so gtid_executed stays the source's.
//     The rules are replaced only while the applier is stopped (CHANGE REPLICATION FILTER, error
//     3017 otherwise), so a running applier reads one consistent set. They persist in
//     replica_filters.json; --replicate-* server options replace, at startup, the kinds they give.
package replica

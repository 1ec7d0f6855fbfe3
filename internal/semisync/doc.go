// Package semisync is the source side of semi-synchronous and synchronous replication: it
// knows which replicas acknowledge, the furthest binlog position each has acknowledged (as
// durably received, and as applied), and makes committing transactions wait until enough of
// them have acknowledged their position.
//
// Levels. A transaction waits for one of three things: nothing (asynchronous), enough replicas
// having the transaction in their relay log (semi-synchronous, MySQL's ack: written to the OS,
// or also fsynced, as each replica's rpl_semi_sync_replica_ack_durability says; see package
// replica for what each guarantees), or enough replicas having applied it (synchronous,
// RelayDB's AFTER_APPLY). Where it waits is the wait
// point: AFTER_SYNC (after the binlog fsync and before the commit is visible to anyone: lossless),
// AFTER_COMMIT (after it is visible: other sessions may read a commit that is then lost with the
// primary) or AFTER_APPLY (as AFTER_SYNC, but for applied acknowledgements).
//
// Invariants:
//   - An acknowledgement covers every transaction up to its position: one ack releases every
//     waiting commit of a group at once, and positions only move forward per replica.
//   - With fallback on (MySQL's behaviour), a wait that reaches rpl_semi_sync_source_timeout
//     switches the source to asynchronous (status OFF, logged) and later waits return at once,
//     counted as no_tx, until enough replicas acknowledge the source's latest position again:
//     then the status goes back ON by itself. With fallback off, commits wait until acknowledged
//     however long that takes (a RelayDB extension for those who prefer unavailability to loss).
//   - With rpl_semi_sync_source_wait_no_replica OFF, the source switches to asynchronous as soon
//     as fewer semi-sync replicas than wait_for_replica_count are connected.
//   - Waiting never holds a lock an acknowledgement needs: acks are recorded under a mutex that
//     waiters only hold to read.
//   - An acknowledgement counts only up to the last position the dump asked that replica to
//     acknowledge (Sent): positions a replica sends from another source's binlog count for nothing.
//   - Fence(err) makes every wait return err at once until Fence(nil): a cluster primary that
//     lost its lease waits for no acknowledgement.
//   - Applied acknowledgements are asked for (WantsAppliedAcks, FlagAppliedAckRequested) from
//     the moment a commit that waits for them is announced (Expect) until its wait ends, and
//     whenever the wait point is AFTER_APPLY; a RelayDB replica that agreed sends none otherwise.
package semisync

// Package source is the source side of replication: the dump that streams a server's binary
// log to a connected replica (COM_BINLOG_DUMP_GTID, MySQL's "binlog dump thread").
//
// # Invariants
//
//   - Events are read from the binlog files, never from memory the committer fills, so a slow
//     or stuck replica costs the source nothing but an open file: commits never wait for a dump
//     and nothing is buffered without bound.
//   - Only what is durable is sent (with sync_binlog=1, up to the writer's synced position;
//     otherwise up to what has been written), and always whole transactions, because the writer
//     publishes positions only at transaction ends.
//   - New events are pushed: an idle dump waits on the writer's change notification, not on a
//     polling interval, and sends a HEARTBEAT when nothing was sent for the heartbeat period.
//   - A start the source cannot serve (an unknown file, a position past the end, GTIDs the
//     binlog no longer holds, or GTIDs of this server the source never executed) fails with
//     MySQL's error 1236 and its message, before any event is sent.
//   - In GTID mode the dump starts at the newest file whose PREVIOUS_GTIDS the replica already
//     has, and skips every transaction whose GTID the replica has.
package source

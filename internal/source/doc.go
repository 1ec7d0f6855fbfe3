// Package source is the source side of replication: the dump that streams a server's binary
// log to a connected replica (COM_BINLOG_DUMP_GTID and COM_BINLOG_DUMP, MySQL's "binlog dump
// thread"), or to mysqlbinlog --read-from-remote-server.
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
//   - A start the source cannot serve (an unknown file, a position before 4 or past the file's
//     size, GTIDs the binlog no longer holds, or GTIDs of this server the source never
//     executed) fails with MySQL's error 1236 and its message, before any event is sent. A
//     position that is not an event boundary is found as MySQL finds it, when the event there
//     is read (after the fake ROTATE and FORMAT_DESCRIPTION): 1236 with MySQL's "the first
//     event ... the last event read ..." text. An empty file name means the first file.
//   - Each file's stream starts with a fake ROTATE (timestamp 0, artificial flag) naming it and
//     the start position, then the file's FORMAT_DESCRIPTION without the in-use flag (and with
//     log_pos and the creation time 0 when the dump starts inside the file). The first fake
//     ROTATE goes out before any FORMAT_DESCRIPTION, so it is framed with the checksum the
//     replica declared (@master_binlog_checksum), later ones with the file's.
//   - Events are sent as the file holds them, byte for byte; by file and position nothing is
//     skipped.
//   - A non-blocking dump (BINLOG_DUMP_NON_BLOCK, or server_id 0) sends what is durable, across
//     files, and ends without error at the end of the active file; it never waits.
//   - In GTID mode the dump starts at the newest file whose PREVIOUS_GTIDS the replica already
//     has, and skips every transaction whose GTID the replica has.
//   - For a semi-sync replica (Options.RequestAcks) each event is held back until the next is
//     read, so that the last event of what is durable — a transaction's end — can carry the ack
//     request: one ack per batch sent, naming where that transaction ends.
package source

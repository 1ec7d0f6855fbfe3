// Package binlog writes, reads and repairs MySQL 8.0-format binary log files: the commit log of
// RelayDB (DESIGN.md, decision 3) and what replicas, point-in-time recovery and `relaydb binlog`
// read.
//
// # Pieces
//
//   - Format and its builders make events byte-compatible with MySQL 8.0.36:
//     FORMAT_DESCRIPTION (server version "8.0.36-relaydb", MySQL 8's 41 post-header lengths,
//     checksum CRC32 or NONE), PREVIOUS_GTIDS, GTID (flags, SID, GNO, logical clock, commit
//     timestamps, transaction length, server versions), QUERY with MySQL's status variables,
//     XID, ROTATE, STOP, INTVAR, RAND, USER_VAR and HEARTBEAT. Row events (TABLE_MAP,
//     WRITE/UPDATE/DELETE_ROWS) come from elsewhere (internal/binlog/rowenc, or vitess's
//     builders given Format.Vitess()); Format.NewTxn puts a transaction together behind its
//     GTID event.
//   - Decode… functions read those events back; they are total on arbitrary bytes (fuzzed).
//   - Writer appends transactions to prefix.000001, prefix.000002, … listed in prefix.index,
//     rotates them, and purges old ones.
//   - Reader iterates over a file's events, checking each one's size, log_pos and CRC32.
//   - Recover repairs what a crash leaves and tells storage what to replay.
//
// # File layout
//
// Every file is the magic bytes 0xfe 'b' 'i' 'n', a FORMAT_DESCRIPTION event, a PREVIOUS_GTIDS
// event holding every GTID logged before the file, then whole transactions, and at the end
// ROTATE (to the next file) or STOP (clean shutdown) — or nothing, after a crash. Each event's
// log_pos is its end offset. While a file is being written its FORMAT_DESCRIPTION carries
// FlagBinlogInUse (outside its checksum, as in MySQL); closing the file clears it. Every start
// of a Writer opens a new file, as MySQL does.
//
// # Durability (what holds on disk)
//
//   - A transaction is durable once Writer.Sync returns after the Append that wrote it; the
//     caller acknowledges commits only then. One Sync covers every Append before it (group
//     commit). Append alone guarantees nothing after a crash.
//   - Append writes only whole transactions, each beginning with a GTID event and ending with
//     XID or COMMIT (or being one self-committing statement), and refuses any other input
//     before writing a byte. A failed write is cut off again, and the position only ever
//     covers whole writes; if even the cut fails, the writer stops (ErrStopped) and the binlog
//     is left for Recover. Other errors, a full disk in particular, leave it usable.
//   - A file is fsynced, and the directory too, before the index lists it; the index is
//     replaced by write-temp, fsync, rename, fsync-directory. So a listed file always has a
//     whole header, and a crash leaves either the old index or the new one.
//   - Rotation fsyncs the old file (ending in ROTATE) before the new one exists; if the new one
//     cannot be made, the old one is active again without its ROTATE. Purge rewrites the index
//     before deleting files (a Disposable writer, for relay logs, deletes first so that a full
//     disk does not block it), and never deletes the active file.
//
// # What Recover guarantees
//
// After Recover returns without error, the last file ends at a transaction boundary: a torn last
// event (short, bad checksum, garbage or zeros) and any transaction without its XID/COMMIT have
// been truncated, and each cut is logged and reported. Recovery.Executed is exactly the set of
// GTIDs of complete transactions in the binlog (plus those before its first file), and
// Recovery.Pending lists, with their events, the transactions storage has not applied. Damage
// followed by valid events is not something a crash produces: Recover refuses to start, naming
// file and offset, unless RecoverOptions.Force accepts losing what follows. Recover reads only
// the last file (and, for Pending, the files after what storage has applied) unless FullScan
// asks it to check them all.
//
// One case it cannot tell apart: after a power failure (not a process crash), a file system may
// persist pages of an unsynced append out of order, leaving valid events after a hole. Those
// bytes were never acknowledged, and Force truncating at the hole loses nothing acknowledged.
//
// A Writer must not be open on the directory while Recover runs.
package binlog

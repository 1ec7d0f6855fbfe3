// Package commit is the one place where a transaction is ordered, made durable and made visible.
//
// Every committing transaction hands the pipeline a Request: the storage batch holding its
// writes, plus hooks that run at fixed points. A single committer goroutine takes every request
// that is waiting, as one group, and for that group:
//
//  1. orders it: each request gets the next commit sequence number, in queue order;
//  2. makes it durable and visible with one write and one fsync for the whole group (today the
//     storage engine's write-ahead log is the durable log; the binary log takes that role next);
//  3. runs each request's AfterVisible hook in sequence order (the storage layer records the
//     commit sequence of every row the transaction locked, then releases its locks);
//  4. wakes the committers.
//
// Invariants:
//   - A Commit call returns nil only after its writes are on stable storage (sync mode) and
//     visible to new snapshots. Visibility never precedes durability.
//   - Sequence numbers are dense and increase in the order writes become visible; VisibleSeq is
//     the highest sequence whose writes every new snapshot includes.
//   - If a group is refused before its write (Options.SpaceCheck: the disk is nearly full), every
//     request of the group fails with that error, nothing of it is visible, and later commits
//     are tried normally (e.g. after space is freed). A failure of the write itself is fatal in
//     Pebble: the process stops and recovery on restart keeps exactly what was acknowledged.
package commit

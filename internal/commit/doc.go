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
//   - If the durable write fails, every request of the group fails with that error and nothing of
//     the group is visible; the pipeline then refuses further commits until restarted only if the
//     failure left the log in an unknown state (Pebble reports that as a panic-free error and
//     stays consistent, so later commits may be retried, e.g. after disk space is freed).
package commit

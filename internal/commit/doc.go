// Package commit is the one place where a transaction is ordered, made durable and made visible.
//
// Every committing transaction hands the pipeline a Request: the storage batch holding its
// writes, plus hooks that run at fixed points. A single committer goroutine takes every request
// that is waiting, as one group, and for that group:
//
//  1. orders it: each request gets the next commit sequence number, in queue order;
//  2. makes it durable and visible with one write and one fsync for the whole group (the binary
//     log's fsync when there is one, the store's otherwise);
//  3. runs each request's AfterVisible hook in sequence order (the storage layer records the
//     commit sequence of every row the transaction locked, then releases its locks);
//  4. wakes the committers.
//
// With a Log (the binary log), the group is logged and fsynced first, and the store write only
// records it. A group whose LogResult has a Wait (semi-sync: replica acknowledgements) is finished
// — store write, visibility, hooks, wake-up — by a second goroutine after the wait, so that the
// committer logs the next group meanwhile. Groups are finished strictly in the order they were
// logged, by one goroutine at a time.
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
//   - With a fence installed (SetFence: a cluster primary's lease), a group is refused before it
//     is logged when the fence says no, and a logged group whose wait failed or whose fence
//     closed meanwhile is still written to the store (store and log agree) but its commits get
//     NotAcknowledgedError. Stalled reports commits waiting with no group finished for a while.
//   - While a hold is in force (Hold: a primary handing over in a planned switchover), no group
//     is logged: groups wait, bounded, and then fail (nothing of them logged) or go on when the
//     hold is released. When Hold returns, no group is between its check and its log write.
//     Drain waits for the groups logged before, which finish normally.
//   - While a hold is in force and for a while after it ends, each request's Check (the
//     client's permission to write, first asked before it queued) is asked again under the
//     same lock as the log write; a request that fails it is refused alone, nothing of it
//     logged. A node that stopped being the primary during a switchover thus logs no client
//     transaction that passed its first check while it still was one.
package commit

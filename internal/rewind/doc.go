// Package rewind undoes a node's errant transactions — those at the end of its binary log that
// the cluster's primary does not have (an old primary's unacknowledged or, in asynchronous mode,
// lost commits) — so that the node can replicate from the primary again instead of being
// rebuilt. It is the flashback that MySQL tools leave to operators, done from the binlog's own
// row images.
//
// A rewind (Run) goes in four steps, each safe to interrupt with kill -9:
//
//  1. Plan: the errant transactions must be exactly the binlog's tail (every transaction from
//     the first errant one on is errant), all still in the binlog, and row-based DML with full
//     before images. Otherwise Run fails with an error wrapping ErrNeedsClone and changes
//     nothing: the node must be cloned.
//  2. Lost-and-found: a directory under DATADIR/lost+found holds copies of the binlog files from
//     the cut on, the undone transactions as replayable SQL (with their before and after images
//     as comments) and rewind.json (each transaction's GTID, time and row images). It is
//     written under a temporary name and renamed whole, before anything is undone.
//  3. Undo: one store transaction applies the inverse of every errant transaction, newest
//     first, and records (atomically, through commitlog.BeginRewind) that the store no longer
//     holds them. A crash before it leaves everything as it was; after it, and before step 4,
//     a restart replays the errant transactions from the binlog (the store lacks them), and the
//     next rejoin rewinds again — the store and the binlog never disagree.
//  4. Cut: an intent file (DATADIR/rewind-cut.json) is written, the binlog is cut at the first
//     errant transaction (commitlog.DropTail) and the intent removed. A restart that finds the
//     intent finishes the cut before the binlog is opened (FinishCut).
//
// Record is the other way out: for errant transactions a rewind cannot undo, it writes the same
// lost-and-found entry (resolution "discarded", statements and what row images can be read)
// before the node's data is replaced by a clone of the primary (package clone); the old data is
// set aside by the clone's install, never deleted.
//
// Invariants:
//   - Nothing is undone before its lost-and-found record is durable; lost-and-found directories
//     are never deleted by RelayDB.
//   - The undo runs while the node is read-only and replicates nothing (the caller stops the
//     channel), so no transaction of the new primary can interleave with it.
//   - gtid_executed loses exactly the undone GTIDs; they stay reserved (Reserved) so that this
//     server never issues them again for different transactions.
package rewind

// Package clusternode runs one member of a RelayDB cluster's control plane: a hashicorp/raft
// voter whose state machine is a cluster.State, the control API beside it, the controller that
// runs cluster.Decide while this member is the Raft leader, and — on a data node — the agent
// that makes the local server do its part (fence, promote, follow, renew the lease, report).
// Data never flows through Raft: transactions travel by binlog replication.
//
// One TCP port per member (Config.Addr) carries both Raft (connections that start with the
// byte 'R') and the control API (HTTP/JSON: /v1/report, /v1/propose, /v1/status). Outbound
// connections go through a Dialer, which the fault-injection harness points at per-link proxies.
//
// Invariants:
//   - Decisions are made only by the Raft leader, from the state it has applied and the health
//     reports sent to it (kept in memory, never replicated); every decision and refusal goes
//     through the Raft log (and its journal) before any member acts on it.
//   - The lease: the primary's agent asks for a renewal (OpRenew) only while its commit path
//     makes progress, and on success lets the server acknowledge commits until the time it
//     *asked* plus Settings.Lease, on its own monotonic clock. Every member records the time it
//     *applied* the renewal; the controller treats the lease as expired only Lease + LeaseMargin
//     after that. So the primary stops acknowledging before anyone may promote another node.
//   - An agent stops its receiver as soon as it applies an open election, and says so in its
//     report (ReceiverStopped for that epoch): the controller counts only such reports, so the
//     received sets it compares are final and the old primary can collect no more acks.
//   - A promoted node applies its whole relay log and stops replication before it asks for its
//     first lease; until the lease is granted it accepts and acknowledges nothing.
//   - A replica follows the primary of the current epoch only once that primary reports (over
//     SQL) the same epoch and is writable, and only once it holds no transaction the primary
//     lacks. Transactions it holds that the primary lacks (errant) are first undone into its
//     lost-and-found by a rewind (package rewind), with its receiver stopped and its relay log
//     applied, so nothing of the primary's is applied before the undo; journaled "rewound".
//     When the binlog cannot undo them (DDL, statement events, purged files), it records them
//     in the lost-and-found, stages a verified clone of the primary and restarts itself to
//     install it ("cloned"); if that fails too it stays read-only ("rejoin refused").
//   - A member started with Join (not a voter yet, its data seeded by a clone) asks the
//     members in Peers to add it; only the Raft leader adds voters (journaled "member_added").
//   - Auto-increment ranges are reserved through the Raft log (OpReserve) by the primary of the
//     current epoch only.
//   - Planned switchover (switchover.go). The controller plans a request (Node.Switchover, the
//     SWITCHOVER statement, `relaydb switchover`, the disk trigger) against its reports and
//     journals it or its refusal. The old primary then holds new commits in its pipeline (they
//     wait, unlogged; super_read_only stays off so that they reach the hold), lets the logged
//     ones finish (reliability-first; availability-first fences first), gives up its lease
//     locally — no renewal asked for before that can reopen it (lease generation) — and only
//     then proposes OpSwitchoverFenced with its gtid_executed. The target proposes OpHandover
//     once it holds that set (reliability-first) or at once with what it has, naming the rest
//     (availability-first); it is then promoted as after a failover: relay log applied, then its
//     first lease. When the switchover ends, the old primary's held commits fail with a
//     retryable 1290 naming the new primary (never logged, so nothing acknowledged is lost), or
//     go on after an abort once it has renewed its lease. The other replicas stop receiving
//     from the old primary as soon as they apply the handover (there is no election to make
//     them); after an availability-first one they also apply and forget the relay log it sent,
//     so that what they rewind when they join cannot be applied again from it.
package clusternode

// Package cluster is the control plane's pure part: the replicated cluster state, the commands
// that change it, and the decision function that says what the controller should do next. It
// does no I/O and reads no clock: time, health reports and the controller's local observations
// are arguments, so every decision is tested without processes or sleeps (the etcd-io/raft
// style). Package clusternode moves these values over Raft and the network and acts on them.
//
// The state (State) is changed only by Apply, which every member runs on the same commands in
// the same (Raft log) order, so every member holds the same State.
//
// Invariants:
//   - Epoch grows by one with every election started and never decreases. A primary belongs to
//     one epoch; a lease is granted only to State.Primary at State.Epoch.
//   - Promote names a primary only while an election of the same epoch is open, and only a
//     member that may be promoted (a data node, not NeverPromote).
//   - Decide starts an election only after the primary's lease has certainly expired on the
//     controller's clock (the last renewal it saw, plus the lease, plus a margin for clock
//     drift), and never within Settings.Cooldown of the last automatic failover unless an
//     operator allowed it.
//   - In lossless mode (AFTER_SYNC with Acks acknowledgements among the N-1 replicas of N data
//     nodes), Decide promotes only after N-1-Acks+1 replicas, their receivers stopped for this
//     epoch, have reported: every acknowledged transaction is then in at least one report, and
//     the winner holds the largest received GTID set, a superset of all reported ones.
//   - Auto-increment reservations never overlap: Reserve grants ranges above the highest value
//     ever reserved for the table.
//   - Every decision and every refusal to decide is journaled (consecutive equal refusals once).
//   - A planned switchover (switchover.go) changes the primary without an election and without
//     waiting for a lease to expire, and still never lets two nodes hold a lease at once: it
//     is started (OpSwitchover, planned by PlanSwitchover: a serving primary, a promotable,
//     healthy target, in reliability-first mode no more than SwitchoverMaxLag behind); the old
//     primary reports that it holds its commits and gave up its lease (OpSwitchoverFenced,
//     with its final gtid_executed), after which Apply refuses its renewals and reservations;
//     only then may the target end it (OpHandover: a new epoch with the target as primary, no
//     lease yet), reporting in availability-first mode what it lacked. Decide starts no election
//     while a switchover is in progress; it aborts one stuck longer than its timeout in a
//     phase, or whose old primary stops renewing before it fenced itself, and the old primary
//     then serves again. A switchover is not an automatic failover (no cooldown).
//   - The disk trigger: Decide starts a reliability-first switchover away from a serving
//     primary whose reported free disk is below Settings.MinFreeDisk, to a target with at least
//     that much, or journals why it cannot; not within TriggerBackoff of an aborted switchover.
//     With Settings.PriorityTrigger, it likewise moves the role to the highest-priority member
//     above the primary's priority that can take over (never one short of disk). OpTune
//     changes these settings at runtime.
package cluster

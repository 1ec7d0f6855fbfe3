// Package gtid holds MySQL 8 global transaction identifiers (server_uuid:N) and sets of them
// (server_uuid:1-5:7,other_uuid:1-3), with the set algebra replication needs: union, subtract,
// intersect, subset and membership, and the binary "SID block" encoding MySQL uses in
// PREVIOUS_GTIDS events and in COM_BINLOG_DUMP_GTID.
//
// # Why not vitess's Mysql56GTIDSet
//
// The SID and single-GTID types are vitess's (SID, Mysql56GTID, ParseSID are reused through
// aliases), and ToVitess/FromVitess convert sets so the rest of vitess's replication API can be
// called. The set itself is ours: in the pinned vitess, Mysql56GTIDSet keeps intervals exactly as
// parsed (so "u:1-3:4-6" is not Equal to "u:1-6" and does not Contain "u:2-5"), Subtract gives
// wrong answers when one interval meets several (u:1-10 minus u:2:5 yields u:1:3-10:1-4:6-10) or is
// covered by a larger one (u:3-5 minus u:1-10 yields u:3-5), there is no union of two sets nor
// intersection, and its SID-block decoder accepts empty or reversed intervals. MySQL's GTID_SUBSET,
// GTID_SUBTRACT, gtid_executed bookkeeping and dump-by-GTID all depend on these being exact.
//
// # Invariants
//
// A Set is always normalized: for each SID its intervals are sorted, non-empty, disjoint and
// non-adjacent (1-3 and 4-6 are stored as 1-6), and no SID maps to an empty list. Hence two sets
// holding the same GTIDs have the same String() and Encode() output. Every GNO is in
// [1, MaxGNO]. Operations that return a Set never modify their arguments; the methods named
// Add… modify their receiver and nothing else. A Set is not safe for concurrent mutation.
package gtid

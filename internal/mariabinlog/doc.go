// Package mariabinlog reads a MariaDB (10.x) primary's binlog stream for a RelayDB replica: it
// recognises MariaDB's own event types and turns each MariaDB transaction into a MySQL 8.0-format
// one (GTID event, then QUERY(BEGIN) … XID/COMMIT, or GTID then one self-committing QUERY), which
// the relay log, the applier and this server's binlog all take as they are.
//
// # GTID mapping (documented, deterministic)
//
// A MariaDB GTID is domain-server_id-seq_no; seq_no grows within a domain whatever server wrote
// it. The transaction gets the RelayDB (MySQL) GTID
//
//	6d617269-6164-8000-8000-DDDDDDDDDDDD:seq_no
//
// where DDDDDDDDDDDD is the domain_id in hex (12 digits, the top 4 always 0): the bytes spell
// "mariad", then the UUID version 8 (custom) and RFC 4122 variant nibbles. MariaDB GTID 0-1-42
// is 6d617269-6164-8000-8000-000000000000:42. Only the domain and seq_no go into it, so every
// RelayDB replica of the same MariaDB primary (or of MariaDB servers replicating the same
// domain) gives a transaction the same GTID, and a failover between such replicas, by GTID
// auto-positioning, neither skips nor repeats anything. The mapping is reversible (DomainOf).
//
// # Invariants
//
//   - Translate never drops an event that changes data: ANNOTATE_ROWS, BINLOG_CHECKPOINT and
//     GTID_LIST (bookkeeping) and events MariaDB flags ignorable are dropped; START_ENCRYPTION,
//     compressed events, XA transactions and unknown MariaDB events are errors naming the event,
//     never skipped.
//   - A translated event keeps the log_pos of the MariaDB event it stands for (the synthesised
//     BEGIN takes the GTID event's), so positions in the relay log and SHOW REPLICA STATUS are
//     the primary's.
//   - The logical clock (last_committed, sequence_number) the translated GTID events carry lets
//     a parallel applier run together only transactions MariaDB group-committed together (same
//     commit_id); without a commit_id, transactions are applied one after another.
package mariabinlog

// Package apply re-executes binlog transactions on this server: the replication applier's core
// and what crash recovery uses to bring the store up to the binlog.
//
// # Invariants
//
//   - A transaction is applied whole or not at all: its events run inside one explicit
//     transaction of the given session, committed at its XID (or COMMIT), rolled back on any
//     error.
//   - Row events are applied through the tables' own editors, so indexes, unique checks and
//     locks behave as for any client write; DDL and statement events run as SQL with the
//     event's default database.
//   - Row images are decoded with the table's current schema: an event whose TABLE_MAP does not
//     match it (column count or types) is an error, never a silent misapplication. A before
//     image that does not find its row is MySQL's error 1032; an insert that collides is 1062.
//   - ApplyEvent (the BINLOG statement) applies a single TABLE_MAP or rows event in the
//     caller's transaction, which the caller commits or rolls back; tables stay mapped until a
//     rows event with STMT_END_F.
//   - A statement outside BEGIN … COMMIT that leaves the caller's gtid_next unused (it changed
//     nothing) is followed by an empty transaction, so the GTID is executed all the same.
//   - The applier does not choose the transaction's GTID or log it: the caller does (gtid_next,
//     or commitlog's replay marker during recovery).
package apply

// Package fastpath runs the statement shapes that dominate OLTP workloads without
// go-mysql-server's planner: SELECT of plain columns by primary key or unique index (a point,
// or a BETWEEN range on a one-column primary key), UPDATE … SET col = value | col ± value and
// DELETE by primary key, and single- or multi-row INSERT … VALUES.
//
// A statement goes through three stages:
//
//   - Classify looks at the parsed statement only (no catalog) and returns its Shape, or nil if
//     the shape is not one this package runs. A prepared statement is classified once.
//   - Resolve binds a Shape to the catalog (table, columns, index) and returns a Plan. A Plan is
//     valid for one current database and one catalog version; the caller re-resolves when either
//     changes, so DDL (including indexes, triggers and foreign keys) re-plans.
//   - Plan.Run executes with one set of values. It reads and writes through the same public
//     go-mysql-server table interfaces (IndexedAccess, RowUpdater, RowInserter, RowDeleter,
//     AutoIncrementTable) the general path uses, so locking, undo, auto-increment counters
//     and the binary log's row events are the storage engine's, unchanged.
//
// Invariants:
//   - Run returns ErrFallback, having changed nothing, whenever a value would need a conversion
//     that is not exact (a string into an integer column, a number out of range, a string longer
//     than its column, a NULL into a NOT NULL column, …), and whenever a write fails. The caller
//     then runs the statement through the general path, which produces MySQL's errors and
//     warnings. The fast path therefore never produces a warning or an error of its own, apart
//     from the storage engine's lock errors (1205, 1213), which are the same on both paths.
//   - Tables with triggers, foreign keys, check constraints, generated columns or column
//     defaults that are expressions are never resolved to a Plan; neither are views, system
//     databases, or tables of a backend without indexed access.
//   - Privileges are checked on every Run through the engine's own authorization handler, with
//     the same authorization data the parser attached to the statement.
//
// The caller (package server) owns everything that belongs to the statement's session rather
// than to its table: transactions and autocommit, the process list, status counters, warnings,
// result metadata, read_only and the global read lock.
package fastpath

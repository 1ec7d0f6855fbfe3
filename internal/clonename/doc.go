// Package clonename holds the rules for the names the clone protocol exchanges between a
// recipient and a donor: donor session IDs and file paths. The statement parser
// (internal/adminsql) and the donor and recipient (internal/clone) both check names with it, so
// what one side accepts the other does too.
//
// Invariants: ID and Path are pure functions of their argument; a Path never names a file
// outside the directory it is resolved in (no absolute path, no "..", nothing path.Clean would
// change), and holds only ASCII letters, digits and ._-/.
package clonename

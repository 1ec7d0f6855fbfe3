// Package sqlfuncs holds RelayDB's own versions of go-mysql-server (GMS) functions whose result
// type or value differs from MySQL's, registered in place of GMS's by name.
//
// SUM and AVG: GMS types both as DOUBLE whatever the argument, so SUM of DECIMAL(20,2) values
// 12345678901234567.89 and 0.01 printed 1.2345678901234568e+16 and ORMs read a float where MySQL
// gives them an exact decimal. Here, as in MySQL and MariaDB:
//
//   - SUM of an exact argument (integer types, DECIMAL(p,s), YEAR, BIT) is DECIMAL(p+22, s), and
//     AVG of one is DECIMAL(p+4, s+4), where p is the argument's precision in decimal digits
//     (an INT has 10, a BIGINT 19, a BIGINT UNSIGNED 20); both are capped at GMS's 65 digits
//     and 30 decimals. Sums accumulate exactly (apd decimals); the average is the exact sum
//     divided by the count, rounded half away from zero to the result's scale.
//   - SUM and AVG of anything else (FLOAT, DOUBLE, strings, temporal values) are DOUBLE, summed
//     as GMS sums them.
//   - Both are nullable: over no rows (or only NULLs) they return NULL. So are MIN and MAX,
//     which GMS reports NOT NULL (Min and Max are GMS's with only that changed).
//
// Invariants: Sum, Avg, Min and Max are the only constructors the engine sees for their names
// (internal/server removes GMS's from the registry and registers Functions), and the fast path
// (internal/fastpath) builds its aggregates with NewSum too, so both paths type and compute a
// sum alike. ResultType is the single place the result types are decided.
package sqlfuncs

// Package clienterr turns the errors go-mysql-server (GMS) reports for constraint violations
// into the codes, SQLSTATEs and texts MySQL gives clients, at the boundary to the client
// (internal/server's handler calls Translate on every error a command returns).
//
// Why at the boundary: GMS's own engine tests (run on RelayDB's storage by
// internal/storage/enginetest_test.go) assert GMS's error kinds and texts, so the storage must
// keep raising GMS's errors; only what reaches a client changes. ORMs and applications match
// MySQL's texts (Sequelize and Prisma parse "Duplicate entry '…' for key '…'", knex and
// TypeORM read the constraint out of 1451/1452 texts) and dispatch on SQLSTATE 23000.
//
// Invariants: Translate only changes errors it recognises (by code and GMS's text), keeps the
// code where GMS's is right, and never turns an error into success or drops one. What a
// GMS text lacks (the index of a duplicate key, the columns of a foreign key) comes from Env;
// without it the translation keeps what GMS said in MySQL's shape as far as it can.
package clienterr

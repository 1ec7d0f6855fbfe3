// Package sqlval reads the Go values go-mysql-server uses for SQL values, for the packages that
// encode them (storage keys and rows, binlog row images). It has no state and no dependencies.
package sqlval

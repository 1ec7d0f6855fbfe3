// Package test holds process-level tests: they build the relaydb binary, start real server
// processes on loopback ports, talk to them with go-sql-driver/mysql, kill -9 them, restart them
// and compare data. Every process a test starts is stopped when the test ends, also on failure,
// and every wait is bounded.
//
// `go test -short ./test/` runs a few rounds of each scenario; without -short the soak rounds
// the issues ask for run (e.g. 10 crash rounds).
package test

// Command relaydb is the RelayDB server binary.
//
//	relaydb server [options]   serve the MySQL protocol (relaydb server --help)
//	relaydb clone [options]    copy a running donor's data into a stopped or new datadir (internal/clone)
//	relaydb version            print the version
//
// The server command reads its options (internal/config), opens a node
// (internal/server) over the storage backend chosen in main.go, logs one line
// containing "ready for connections" when it accepts clients, and on SIGTERM
// or SIGINT stops accepting, closes sessions and storage, and exits 0.
//
// Exit status: 0 after a clean shutdown or --help; 2 for bad options; 1 when
// the node cannot start (for example, its datadir is held by another
// process) or does not shut down cleanly.
//
// Invariant: the binary never serves the non-durable in-memory backend unless
// asked to with the hidden --storage=memory option.
package main

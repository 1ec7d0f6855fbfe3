// Package config turns a command line, the environment and an optional
// my.cnf-style file into the options of one RelayDB server process.
//
// Precedence, highest first: a flag given on the command line, the
// environment (RELAYDB_ROOT_PASSWORD only), the [relaydb] section of the file
// named by --config, the built-in default. Every option has exactly one name;
// in the file, dashes and underscores in a name are equivalent.
//
// Invariants:
//   - Load either returns options that passed Validate or an error that names
//     the offending flag, file line or value; it never returns half-applied
//     options.
//   - The package only parses and validates. It opens no sockets and touches no
//     files other than the config file it is asked to read.
package config

package main

import (
	"io"

	"github.com/relaydb/relaydb/internal/binlogtool"
)

// runBinlog is `relaydb binlog FILE…`, the project's mysqlbinlog (see internal/binlogtool).
func runBinlog(args []string, stdout, stderr io.Writer) int {
	return binlogtool.Run(args, stdout, stderr)
}

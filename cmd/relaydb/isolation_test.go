package main

import (
	"testing"

	"github.com/relaydb/relaydb/internal/server"
	"github.com/relaydb/relaydb/internal/storage"
)

// The server sets the one-shot isolation level in the session variable the storage reads.
func TestNextIsolationVariableAgrees(t *testing.T) {
	if server.NextIsolationVariable != storage.NextIsolationVariable {
		t.Fatalf("server sets %q, storage reads %q", server.NextIsolationVariable, storage.NextIsolationVariable)
	}
}

package server

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
)

// The private flag must stay clear of GMS's own query flags; an upgrade of GMS that adds many
// flags would otherwise make implicitCommitRule misread one of them.
func TestCommitCheckedFlagIsNotGMSs(t *testing.T) {
	if sql.QFlagAnalyzeProcedure >= qflagCommitChecked {
		t.Fatalf("GMS's query flags reach %d; move qflagCommitChecked (%d) past them", sql.QFlagAnalyzeProcedure, qflagCommitChecked)
	}
}

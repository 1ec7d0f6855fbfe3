package binlogtool

import (
	"testing"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
)

// shopBinlog is one file: a DDL, an insert of two rows, an update and a delete of the wide table.
func shopBinlog(t *testing.T) string {
	x := newFixture(t, binlog.NewFormat(binlog.ChecksumCRC32))
	tbl := wideTable(t)
	r1, rn := wideRow1(), wideRowNull(2)
	r1b := append(wideRow1()[:0:0], wideRow1()...)
	r1b[7] = "changed"
	return writeBinlog(t, t.TempDir(),
		x.ddl("shop", "CREATE TABLE wide (id INT PRIMARY KEY)"),
		x.rows(tbl, rowenc.MetadataFull, change{after: r1}, change{after: rn}),
		x.rows(tbl, rowenc.MetadataFull, change{before: r1, after: r1b}),
		x.rows(tbl, rowenc.MetadataFull, change{before: rn}),
	)
}

func TestDump(t *testing.T) {
	out, res, err := printFiles(t, Options{Verbose: true}, shopBinlog(t))
	t.Log(out)
	t.Log(res, err)
}

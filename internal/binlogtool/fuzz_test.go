package binlogtool

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
	"github.com/relaydb/relaydb/internal/gtid"
)

// FuzzDecodeBinlog feeds arbitrary bytes, as a binlog file, through the whole printer (with -v
// and every filter kind): it must return, with or without an error, and never panic.
func FuzzDecodeBinlog(f *testing.F) {
	x := newFixture(f, binlog.NewFormat(binlog.ChecksumNone)) // no CRC: mutations reach the decoders
	tbl := wideTable(f)
	seed, err := os.ReadFile(x.write(
		x.ddl("shop", "CREATE TABLE wide (id INT PRIMARY KEY)"),
		x.rows(tbl, rowenc.MetadataFull, change{after: wideRow1()}, change{after: wideRowNull(2)}),
		x.rows(tbl, rowenc.MetadataMinimal, change{before: wideRow1(), after: wideRowNull(1)}),
		x.rows(tbl, rowenc.MetadataFull, change{before: wideRowNull(2)}),
	))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		exclude := gtid.MustParse(testUUID + ":2")
		for _, opts := range []Options{
			{Verbose: true},
			{StartPosition: 157, StopPosition: int64(len(data)) / 2, ExcludeGTIDs: &exclude},
		} {
			r, err := binlog.NewReader(bytes.NewReader(data), int64(len(data)), "fuzz")
			if err != nil {
				return
			}
			p := newPrinter(io.Discard, opts)
			_ = p.file(r, "fuzz", true, true)
		}
	})
}

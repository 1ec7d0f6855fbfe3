package binlog_test

import (
	"fmt"
	"log"
	"os"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// The life of a binlog directory as the commit pipeline will drive it: recover at startup,
// replay what storage lacks, open a writer, and for each group of commits append then sync
// once before acknowledging any of them.
func Example() {
	dir, err := os.MkdirTemp("", "binlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	rec, err := binlog.Recover(binlog.RecoverOptions{Dir: dir})
	if err != nil {
		log.Fatal(err) // damage in the middle of a file: an operator decides (Force)
	}
	storageApplied := gtid.Set{} // what storage recorded with its last applied batch
	pending, err := rec.Pending(storageApplied)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("to replay:", len(pending))

	w, err := binlog.Open(binlog.Options{Dir: dir, ServerID: 1, Previous: rec.Executed})
	if err != nil {
		log.Fatal(err)
	}
	f := w.Format()
	server, _ := gtid.ParseSID("3e11fa47-71ca-11e1-9e33-c80aa9429562")
	h := binlog.Header{Timestamp: 1714979289, ServerID: 1}
	ddl, err := f.Query(h, binlog.Query{Database: "test", SQL: "CREATE TABLE t (a INT)", SQLMode: binlog.DefaultSQLMode})
	if err != nil {
		log.Fatal(err)
	}
	txn := f.NewTxn(h, binlog.GTIDEvent{GTID: gtid.GTID{Server: server, Sequence: 1}, SequenceNumber: 1}, ddl)

	ends, err := w.Append(txn) // one or many transactions: one write
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Sync(); err != nil { // one fsync for the group; now acknowledge
		log.Fatal(err)
	}
	fmt.Println("committed up to", ends[0])
	fmt.Println("executed:", w.Executed())
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// to replay: 0
	// committed up to binlog.000001:323
	// executed: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1
}

package binlog

import (
	"encoding/binary"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/gtid"
)

const testUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

var testSID = func() gtid.SID {
	s, err := gtid.ParseSID(testUUID)
	if err != nil {
		panic(err)
	}
	return s
}()

const testTableID = 108

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rowTxn builds a row-format transaction inserting the given INT values into test.t:
// GTID, QUERY(BEGIN), TABLE_MAP, WRITE_ROWS, XID — the shape the commit pipeline will write.
func rowTxn(t testing.TB, f Format, gno int64, values ...int32) Txn {
	t.Helper()
	ts := uint32(testTime.Unix()) + uint32(gno)
	h := Header{Timestamp: ts, ServerID: 1}
	md := mysql.BinlogEventMetadata{ServerID: 1, Timestamp: ts}
	canBeNull := mysql.NewServerBitmap(1)
	canBeNull.Set(0, true)
	tm, err := mysql.NewTableMapEvent(f.Vitess(), md, testTableID, &mysql.TableMap{
		Flags:     1,
		Database:  "test",
		Name:      "t",
		Types:     []byte{mysql.TypeLong},
		CanBeNull: canBeNull,
		Metadata:  []uint16{0},
	})
	if err != nil {
		t.Fatal(err)
	}
	cols := mysql.NewServerBitmap(1)
	cols.Set(0, true)
	rows := mysql.Rows{Flags: 1 /* STMT_END_F */, DataColumns: cols}
	for _, v := range values {
		rows.Rows = append(rows.Rows, mysql.Row{
			NullColumns: mysql.NewServerBitmap(1),
			Data:        binary.LittleEndian.AppendUint32(nil, uint32(v)),
		})
	}
	wr := mysql.NewWriteRowsEvent(f.Vitess(), md, testTableID, rows)
	return f.NewTxn(h, GTIDEvent{
		GTID:            gtid.GTID{Server: testSID, Sequence: gno},
		LastCommitted:   gno - 1,
		SequenceNumber:  gno,
		ImmediateCommit: testTime.UnixMicro() + gno,
	}, f.Begin(h, 7), Event(tm.Bytes()), Event(wr.Bytes()), f.XID(h, uint64(1000+gno)))
}

// ddlTxn builds a self-committing statement: GTID then one QUERY.
func ddlTxn(t testing.TB, f Format, gno int64, sql string) Txn {
	t.Helper()
	h := Header{Timestamp: uint32(testTime.Unix()), ServerID: 1}
	q, err := f.Query(h, Query{ThreadID: 7, Database: "test", SQL: sql, SQLMode: DefaultSQLMode, UpdatedDBs: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	return f.NewTxn(h, GTIDEvent{GTID: gtid.GTID{Server: testSID, Sequence: gno}, SequenceNumber: gno, LastCommitted: gno - 1, ImmediateCommit: testTime.UnixMicro()}, q)
}

func openTestWriter(t testing.TB, dir string, opts Options) *Writer {
	t.Helper()
	opts.Dir = dir
	if opts.ServerID == 0 {
		opts.ServerID = 1
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testTime }
	}
	opts.Logger = quietLogger()
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// readAll returns every event of a file with its offset.
func readAll(t testing.TB, path string) (*Reader, []Event, []int64) {
	t.Helper()
	r, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var evs []Event
	var offs []int64
	for {
		ev, off, err := r.Next()
		if err == io.EOF {
			return r, evs, offs
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		evs = append(evs, ev)
		offs = append(offs, off)
	}
}

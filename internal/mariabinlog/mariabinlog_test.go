package mariabinlog

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
)

// mariaEvent builds an event as MariaDB sends it: header, body, CRC32 trailer.
func mariaEvent(typ binlog.EventType, serverID, logPos uint32, flags uint16, body []byte) binlog.Event {
	ev := make([]byte, binlog.HeaderLen, binlog.HeaderLen+len(body)+4)
	binary.LittleEndian.PutUint32(ev[0:4], 1700000000)
	ev[4] = byte(typ)
	binary.LittleEndian.PutUint32(ev[5:9], serverID)
	binary.LittleEndian.PutUint32(ev[9:13], uint32(binlog.HeaderLen+len(body)+4))
	binary.LittleEndian.PutUint32(ev[13:17], logPos)
	binary.LittleEndian.PutUint16(ev[17:19], flags)
	ev = append(ev, body...)
	return binary.LittleEndian.AppendUint32(ev, crc32.ChecksumIEEE(ev))
}

// mariaGTID is the body of a MariaDB GTID event (with a commit_id when commitID != 0).
func mariaGTID(seq uint64, domain uint32, flags byte, commitID uint64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, seq)
	b = binary.LittleEndian.AppendUint32(b, domain)
	if commitID != 0 {
		flags |= FlagGroupCommitID
		b = append(b, flags)
		return binary.LittleEndian.AppendUint64(b, commitID)
	}
	return append(append(b, flags), make([]byte, 6)...)
}

func TestDomainUUIDIsDocumentedAndReversible(t *testing.T) {
	for d, want := range map[uint32]string{
		0:          "6d617269-6164-8000-8000-000000000000",
		1:          "6d617269-6164-8000-8000-000000000001",
		0xfedcba98: "6d617269-6164-8000-8000-0000fedcba98",
	} {
		s := DomainUUID(d)
		if s.String() != want {
			t.Errorf("domain %d: %s, want %s", d, s, want)
		}
		if got, ok := DomainOf(s); !ok || got != d {
			t.Errorf("DomainOf(%s) = %d, %v", s, got, ok)
		}
	}
	other := DomainUUID(3)
	other[11] = 1
	if _, ok := DomainOf(other); ok {
		t.Errorf("DomainOf accepted %s", other)
	}
}

func TestTranslateTransactions(t *testing.T) {
	f := binlog.NewFormat(binlog.ChecksumCRC32)
	var tr Translator
	// A transaction (BEGIN implied by the GTID event), then a DDL (standalone).
	out, standalone, err := tr.Translate(f, mariaEvent(TypeGTID, 9, 500, 8, mariaGTID(41, 0, FlagTransactional, 0)))
	if err != nil || standalone || len(out) != 2 {
		t.Fatalf("transaction: %d events, standalone %v, %v", len(out), standalone, err)
	}
	g, err := binlog.DecodeGTID(f, out[0])
	if err != nil {
		t.Fatal(err)
	}
	if g.GTID.String() != "6d617269-6164-8000-8000-000000000000:41" || out[0].ServerID() != 9 || out[0].LogPos() != 500 {
		t.Fatalf("GTID event: %s, server %d, log_pos %d", g.GTID, out[0].ServerID(), out[0].LogPos())
	}
	q, err := binlog.DecodeQuery(f, out[1])
	if err != nil || q.SQL != "BEGIN" || out[1].LogPos() != 500 {
		t.Fatalf("second event: %q at %d, %v", q.SQL, out[1].LogPos(), err)
	}
	out, standalone, err = tr.Translate(f, mariaEvent(TypeGTID, 9, 900, 8, mariaGTID(42, 2, FlagStandalone|FlagDDL, 0)))
	if err != nil || !standalone || len(out) != 1 {
		t.Fatalf("DDL: %d events, standalone %v, %v", len(out), standalone, err)
	}
	g2, _ := binlog.DecodeGTID(f, out[0])
	if g2.GTID.String() != "6d617269-6164-8000-8000-000000000002:42" {
		t.Fatalf("DDL GTID %s", g2.GTID)
	}
	if g2.LastCommitted != g.SequenceNumber || g2.SequenceNumber != g.SequenceNumber+1 {
		t.Fatalf("logical clock without commit ids: (%d,%d) then (%d,%d)", g.LastCommitted, g.SequenceNumber, g2.LastCommitted, g2.SequenceNumber)
	}
}

// TestTranslateGroupCommit: transactions MariaDB group-committed together (same commit_id) may
// run in parallel; the next group waits for all of them.
func TestTranslateGroupCommit(t *testing.T) {
	f := binlog.NewFormat(binlog.ChecksumNone)
	var tr Translator
	clock := func(seq, commitID uint64) (int64, int64) {
		t.Helper()
		ev := mariaEvent(TypeGTID, 1, 100, 0, mariaGTID(seq, 0, FlagTransactional, commitID))
		ev = ev[:len(ev)-4] // no checksum in this stream
		binary.LittleEndian.PutUint32(ev[9:13], uint32(len(ev)))
		out, _, err := tr.Translate(f, ev)
		if err != nil {
			t.Fatal(err)
		}
		g, err := binlog.DecodeGTID(f, out[0])
		if err != nil {
			t.Fatal(err)
		}
		return g.LastCommitted, g.SequenceNumber
	}
	type lc struct{ last, seq int64 }
	var got []lc
	for _, c := range []struct{ seq, commit uint64 }{{1, 70}, {2, 70}, {3, 70}, {4, 71}, {5, 71}, {6, 0}} {
		l, s := clock(c.seq, c.commit)
		got = append(got, lc{l, s})
	}
	want := []lc{{0, 1}, {0, 2}, {0, 3}, {3, 4}, {3, 5}, {5, 6}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logical clocks %v, want %v", got, want)
		}
	}
}

func TestTranslateSkipsAndRefuses(t *testing.T) {
	f := binlog.NewFormat(binlog.ChecksumCRC32)
	var tr Translator
	for _, typ := range []binlog.EventType{TypeAnnotateRows, TypeBinlogCheckpoint, TypeGTIDList} {
		out, _, err := tr.Translate(f, mariaEvent(typ, 1, 10, 0, []byte{1, 2, 3, 4}))
		if err != nil || out != nil {
			t.Errorf("%d: %v, %v", typ, out, err)
		}
	}
	if out, _, err := tr.Translate(f, mariaEvent(200, 1, 10, 0x80, nil)); err != nil || out != nil {
		t.Errorf("an ignorable unknown event: %v, %v", out, err)
	}
	for name, ev := range map[string]binlog.Event{
		"encryption":  mariaEvent(TypeStartEncryption, 1, 10, 0, make([]byte, 17)),
		"compressed":  mariaEvent(TypeQueryCompressed, 1, 10, 0, make([]byte, 20)),
		"rows":        mariaEvent(169, 1, 10, 0, make([]byte, 20)),
		"XA":          mariaEvent(TypeGTID, 1, 10, 0, mariaGTID(5, 0, FlagPreparedXA, 0)),
		"unknown":     mariaEvent(200, 1, 10, 0, nil),
		"seq_no zero": mariaEvent(TypeGTID, 1, 10, 0, mariaGTID(0, 0, 0, 0)),
	} {
		_, _, err := tr.Translate(f, ev)
		var se *mysql.SQLError
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "seq_no zero" && (!errors.As(err, &se) || se.Num != mysql.ERNotSupportedYet) {
			t.Errorf("%s: %v, want error 1235", name, err)
		}
	}
}

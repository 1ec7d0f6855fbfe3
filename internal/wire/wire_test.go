package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestPacketRoundTripAndContinuation(t *testing.T) {
	for _, n := range []int{0, 1, 300, MaxPayload - 1, MaxPayload, MaxPayload + 5, 2 * MaxPayload} {
		payload := bytes.Repeat([]byte{0xab}, n)
		var buf bytes.Buffer
		next, err := WritePacket(&buf, 7, payload)
		if err != nil {
			t.Fatal(err)
		}
		chunks := n/MaxPayload + 1
		if want := byte(7 + chunks); next != want {
			t.Fatalf("%d bytes: next seq %d, want %d", n, next, want)
		}
		if want := n + HeaderSize*chunks; buf.Len() != want {
			t.Fatalf("%d bytes: wrote %d, want %d (a full chunk must be followed by a shorter one)", n, buf.Len(), want)
		}
		appended, next2 := AppendPacket(nil, 7, payload)
		if !bytes.Equal(appended, buf.Bytes()) || next2 != next {
			t.Fatalf("%d bytes: AppendPacket differs from WritePacket", n)
		}
		got, seq, err := ReadPacket(&buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) || seq != next-1 {
			t.Fatalf("%d bytes: read %d bytes seq %d", n, len(got), seq)
		}
	}
}

func TestReadPacketLimitAndTruncation(t *testing.T) {
	pkt, _ := AppendPacket(nil, 0, make([]byte, 100))
	if _, _, err := ReadPacket(bytes.NewReader(pkt), 99); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, _, err := ReadPacket(bytes.NewReader(pkt[:50]), 0); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
	if _, _, err := ReadPacket(bytes.NewReader(nil), 0); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}

func TestBinlogDumpFileIsACString(t *testing.T) {
	p := BinlogDump{Position: 4, Flags: BinlogDumpNonBlock, ServerID: 9, File: "binlog.000001"}.Encode()
	p = append(p, 0) // as several CDC clients send it
	d, err := DecodeBinlogDump(p)
	if err != nil || d.File != "binlog.000001" || d.Position != 4 || d.ServerID != 9 || d.Flags != BinlogDumpNonBlock {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestCommandRoundTrips(t *testing.T) {
	g := BinlogDumpGTID{Flags: BinlogThroughGTID, ServerID: 3, File: "binlog.000002", Position: 1234, GTIDs: []byte{1, 2, 3}}
	if got, err := DecodeBinlogDumpGTID(g.Encode()); err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("dump gtid: %+v %v", got, err)
	}
	r := RegisterSlave{ServerID: 5, Host: "h", User: "u", Password: "p", Port: 3307, Rank: 1, SourceID: 2}
	if got, err := DecodeRegisterSlave(r.Encode()); err != nil || got != r {
		t.Fatalf("register: %+v %v", got, err)
	}
	caps := uint32(ClientSecureConnection | ClientPluginAuth | ClientConnectAttrs)
	u := ChangeUser{User: "bob", AuthResponse: []byte{1, 2, 0, 4}, Database: "db", Charset: 45, AuthPlugin: "mysql_native_password", Attrs: []byte{1, 'a', 1, 'b'}}
	if got, err := DecodeChangeUser(u.Encode(caps), caps); err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("change user: %+v %v", got, err)
	}
	if err := DecodeStatistics([]byte{ComStatistics}); err != nil {
		t.Fatal(err)
	}
}

func TestErrAndOK(t *testing.T) {
	code, state, msg, err := ParseErr(Err(1045, "28000", "Access denied for user '%s'", "x"))
	if err != nil || code != 1045 || state != "28000" || msg != "Access denied for user 'x'" {
		t.Fatalf("%d %q %q %v", code, state, msg, err)
	}
	if ok := OK(1, 2, ServerStatusAutocommit, 0); !bytes.Equal(ok, []byte{0, 1, 2, 2, 0, 0, 0}) {
		t.Fatalf("OK = %x", ok)
	}
}

func TestStatisticsText(t *testing.T) {
	got := Statistics{Uptime: 8, Threads: 2, Questions: 5, Opens: 3, OpenTables: 1}.Format()
	want := "Uptime: 8  Threads: 2  Questions: 5  Slow queries: 0  Opens: 3  Open tables: 1  Queries per second avg: 0.625"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestParseHandshake(t *testing.T) {
	// A HandshakeV10 as vitess writes it.
	p := []byte{10}
	p = append(p, "8.0.33\x00"...)
	p = append(p, 1, 0, 0, 0)
	p = append(p, "abcdefgh"...)
	p = append(p, 0, 0x00, 0x82, 33, 2, 0, 0x08, 0x00, 21)
	p = append(p, make([]byte, 10)...)
	p = append(p, "ijklmnopqrst\x00"...)
	p = append(p, "mysql_native_password\x00"...)
	h, err := ParseHandshake(p)
	if err != nil || string(h.Scramble) != "abcdefghijklmnopqrst" || h.Capabilities != 0x00088200 {
		t.Fatalf("%+v %v", h, err)
	}
	SetHandshakeCapabilities(p, h, h.Capabilities|ClientSSL)
	if h2, _ := ParseHandshake(p); h2.Capabilities != 0x00088a00 {
		t.Fatalf("caps after set: %x", h2.Capabilities)
	}
}

package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/wire"
)

func TestOversizedPacketClosesOnlyThatConnection(t *testing.T) {
	tn := startNode(t, t.TempDir(), func(c *Config) { c.MaxAllowedPacket = 1 << 20 })
	// The driver's own limit is set high so the server is the one to refuse.
	db := tn.mustConnect(t, "root", "rootpw", "maxAllowedPacket=67108864")
	db.SetMaxIdleConns(4)
	other := tn.mustConnect(t, "root", "rootpw")
	if v := queryString(t, db, "SELECT @@max_allowed_packet"); v != "1048576" {
		t.Fatalf("@@max_allowed_packet = %s", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Just under the limit passes (payload = 1 command byte + query).
	fits := "SELECT '" + strings.Repeat("a", (1<<20)-1-len("SELECT ''")) + "'"
	var got string
	if err := conn.QueryRowContext(ctx, fits).Scan(&got); err != nil {
		t.Fatalf("statement at the limit: %v", err)
	}

	big := "SELECT '" + strings.Repeat("b", 2<<20) + "'"
	_, err = conn.ExecContext(ctx, big)
	me := wantErrCode(t, err, 1153, "oversized statement")
	if string(me.SQLState[:]) != "08S01" || !strings.Contains(me.Message, "max_allowed_packet") {
		t.Errorf("state %s message %q", me.SQLState, me.Message)
	}
	// That connection is gone.
	if err := conn.PingContext(ctx); err == nil {
		t.Error("connection still usable after an oversized packet")
	}
	// Everyone else is fine, and new connections work.
	if v := queryString(t, other, "SELECT 1"); v != "1" {
		t.Errorf("other connection: %q", v)
	}
	fresh := tn.mustConnect(t, "root", "rootpw")
	if v := queryString(t, fresh, "SELECT 2"); v != "2" {
		t.Errorf("new connection: %q", v)
	}

	// A packet split into several 16MiB chunks is refused at its first header.
	huge := "SELECT '" + strings.Repeat("c", 17<<20) + "'"
	conn2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	_, err = conn2.ExecContext(ctx, huge)
	wantErrCode(t, err, 1153, "multi-chunk oversized statement")

	// Over TLS the stream is followed as well (limitConn terminates TLS), with the same result.
	tlsDB := tn.mustConnect(t, "root", "rootpw", "maxAllowedPacket=67108864", "tls=skip-verify")
	_, err = tlsDB.ExecContext(ctx, big)
	wantErrCode(t, err, 1153, "oversized statement over TLS")
	if v := queryString(t, other, "SELECT 3"); v != "3" {
		t.Errorf("other connection after TLS case: %q", v)
	}
}

// fakeConn feeds a fixed byte stream one byte per Read, so every header is
// split across reads, and records what is written back.
type fakeConn struct {
	in     *bytes.Reader
	out    bytes.Buffer
	closed bool
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := f.in.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}
func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) Close() error                     { f.closed = true; return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

func packet(seq byte, payload []byte) []byte {
	pkt, _ := wire.AppendPacket(nil, seq, payload)
	return pkt
}

func TestLimitConnFraming(t *testing.T) {
	handshake := make([]byte, 40) // capability flags without CLIENT_SSL
	small := bytes.Repeat([]byte{'x'}, 100)
	over := bytes.Repeat([]byte{'y'}, 1500)
	var stream []byte
	stream = append(stream, packet(1, handshake)...)
	stream = append(stream, packet(0, small)...)
	stream = append(stream, packet(0, over)...)
	prefix := len(stream) - len(over) - 4

	fc := &fakeConn{in: bytes.NewReader(stream)}
	lc := &limitConn{Conn: fc, max: 1000}
	var got []byte
	buf := make([]byte, 64)
	var err error
	for {
		var n int
		n, err = lc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !errors.Is(err, errPacketTooLarge) {
		t.Fatalf("err = %v", err)
	}
	// With one byte per Read, up to three bytes of the oversized header
	// have been handed on before the fourth reveals its length; never the
	// whole header, never any of its payload.
	if len(got) < prefix || len(got) > prefix+3 || !bytes.Equal(got, stream[:len(got)]) {
		t.Fatalf("passed %d bytes, want %d to %d", len(got), prefix, prefix+3)
	}
	if !fc.closed {
		t.Error("connection not closed")
	}
	if fc.in.Len() != 0 {
		t.Errorf("%d bytes of the oversized packet were not drained", fc.in.Len())
	}
	resp := fc.out.Bytes()
	if len(resp) < 13 || resp[3] != 1 || resp[4] != 0xff || binary.LittleEndian.Uint16(resp[5:]) != 1153 || string(resp[8:13]) != "08S01" {
		t.Fatalf("error packet % x", resp)
	}
}

// COM_BINLOG_DUMP reaches vitess as the equivalent COM_BINLOG_DUMP_GTID, whatever the reads'
// sizes; BINLOG_DUMP_NON_BLOCK is taken out of a COM_BINLOG_DUMP_GTID; every other packet,
// an authentication packet that starts with the same byte included, passes untouched.
func TestLimitConnRewritesBinlogDump(t *testing.T) {
	handshake := make([]byte, 40)
	authSwitchResponse := append([]byte{wire.ComBinlogDump}, bytes.Repeat([]byte{7}, 19)...)
	query := append([]byte{0x03}, "SELECT 1"...)
	dump := []byte{wire.ComBinlogDump, 0x78, 0x56, 0x34, 0x12, 0x03, 0x00, 42, 0, 0, 0}
	dump = append(dump, "binlog.000007"...)
	gtidDump := []byte{wire.ComBinlogDumpGTID, 0x05, 0x00, 43, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

	var in []byte
	in = append(in, packet(1, handshake)...)
	in = append(in, packet(3, authSwitchResponse)...)
	in = append(in, packet(0, query)...)
	in = append(in, packet(0, dump)...)
	in = append(in, packet(0, query)...)
	in = append(in, packet(0, gtidDump)...)

	wantDump := []byte{wire.ComBinlogDumpGTID, 0, 0, 42, 0, 0, 0, 13, 0, 0, 0}
	wantDump = append(wantDump, "binlog.000007"...)
	wantDump = append(wantDump, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0) // no GTID set: no data_size either
	wantGTID := append([]byte(nil), gtidDump...)
	wantGTID[1] = 0x04 // BINLOG_THROUGH_GTID stays, NON_BLOCK goes
	var want []byte
	want = append(want, packet(1, handshake)...)
	want = append(want, packet(3, authSwitchResponse)...)
	want = append(want, packet(0, query)...)
	want = append(want, packet(0, wantDump)...)
	want = append(want, packet(0, query)...)
	want = append(want, packet(0, wantGTID)...)

	for _, bufSize := range []int{1, 3, 16, 4096} {
		// fakeConn hands out one byte per Read: every header is split.
		lc := &limitConn{Conn: &fakeConn{in: bytes.NewReader(in)}, max: 1 << 20}
		var reqs []dumpRequest
		var got []byte
		buf := make([]byte, bufSize)
		for {
			n, err := lc.Read(buf)
			got = append(got, buf[:n]...)
			if r := lc.takeDumpRequest(); r != nil {
				reqs = append(reqs, *r)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read size %d: got\n% x\nwant\n% x", bufSize, got, want)
		}
		wantReqs := []dumpRequest{{legacy: true, nonBlock: true, serverID: 42}, {nonBlock: true, serverID: 43}}
		if len(reqs) != 2 || reqs[0] != wantReqs[0] || reqs[1] != wantReqs[1] {
			t.Fatalf("read size %d: requests %+v, want %+v", bufSize, reqs, wantReqs)
		}
	}
}

// TestLimitConnTerminatesTLS: the connection offers TLS in vitess's handshake, runs the TLS
// handshake itself when the client asks, shifts sequence ids by one each way until
// authentication ends, and follows (and rewrites) the commands that come over TLS.
func TestLimitConnTerminatesTLS(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadOrCreateTLS(dir, TLSFiles{})
	if err != nil {
		t.Fatal(err)
	}
	serverSide, clientSide := net.Pipe()
	defer clientSide.Close()
	lc := &limitConn{Conn: serverSide, max: 1 << 20, tlsConfig: cfg}
	defer lc.Close()
	_ = clientSide.SetDeadline(time.Now().Add(20 * time.Second))
	_ = serverSide.SetDeadline(time.Now().Add(20 * time.Second))

	// vitess's side: the handshake (without CLIENT_SSL: vitess has no TLS configuration).
	greeting := []byte{10}
	greeting = append(greeting, "8.0.36\x00"...)
	greeting = append(greeting, 1, 0, 0, 0)
	greeting = append(greeting, "abcdefgh"...)
	greeting = append(greeting, 0, 0x00, 0x82, 33, 2, 0, 0x08, 0x00, 21)
	greeting = append(greeting, make([]byte, 10)...)
	greeting = append(greeting, "ijklmnopqrst\x00"...)
	go func() { _, _ = lc.Write(packet(0, greeting)) }()
	got, seq, err := wire.ReadPacket(clientSide, 0)
	if err != nil || seq != 0 {
		t.Fatal(seq, err)
	}
	h, err := wire.ParseHandshake(got)
	if err != nil || h.Capabilities&wire.ClientSSL == 0 {
		t.Fatalf("handshake offers no TLS: %+v %v", h, err)
	}

	// The client: SSL request, TLS, then its handshake response (sequence id 2).
	caps := uint32(wire.ClientProtocol41 | wire.ClientSecureConnection | wire.ClientSSL)
	sslReq := binary.LittleEndian.AppendUint32(nil, caps)
	sslReq = append(sslReq, make([]byte, 28)...)
	response := append(append([]byte(nil), sslReq...), "root\x00\x00"...)
	dump := wire.BinlogDump{Position: 4, ServerID: 7, File: "binlog.000001"}.Encode()
	clientErr := make(chan error, 1)
	var tc *tls.Conn
	go func() {
		if _, err := wire.WritePacket(clientSide, 1, sslReq); err != nil {
			clientErr <- err
			return
		}
		tc = tls.Client(clientSide, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			clientErr <- err
			return
		}
		if _, err := wire.WritePacket(tc, 2, response); err != nil {
			clientErr <- err
			return
		}
		clientErr <- nil
	}()
	// vitess reads the handshake response as the packet after its handshake: sequence id 1.
	p, seq, err := wire.ReadPacket(lc, 0)
	if err != nil || seq != 1 || !bytes.Equal(p, response) {
		t.Fatalf("vitess read % x seq %d: %v", p, seq, err)
	}
	if err := <-clientErr; err != nil {
		t.Fatal(err)
	}
	if _, ok := lc.TLSConnectionState(); !ok {
		t.Fatal("no TLS session")
	}
	// vitess's OK (sequence id 2) reaches the client as 3, through TLS.
	go func() { _, _ = lc.Write(packet(2, wire.OK(0, 0, 2, 0))) }()
	p, seq, err = wire.ReadPacket(tc, 0)
	if err != nil || seq != 3 || !wire.IsOK(p) {
		t.Fatalf("client read % x seq %d: %v", p, seq, err)
	}
	// A COM_BINLOG_DUMP sent over TLS reaches vitess as COM_BINLOG_DUMP_GTID.
	go func() { _, _ = wire.WritePacket(tc, 0, dump) }()
	p, seq, err = wire.ReadPacket(lc, 0)
	if err != nil || seq != 0 {
		t.Fatal(seq, err)
	}
	d, err := wire.DecodeBinlogDumpGTID(p)
	if err != nil || d.File != "binlog.000001" || d.Position != 4 || d.ServerID != 7 {
		t.Fatalf("vitess read %+v: %v", d, err)
	}
	// After authentication, sequence ids pass unchanged.
	go func() { _, _ = lc.Write(packet(1, wire.Err(1236, "HY000", "x"))) }()
	if _, seq, err = wire.ReadPacket(tc, 0); err != nil || seq != 1 {
		t.Fatalf("after authentication: seq %d: %v", seq, err)
	}
}

// FuzzLimitConnRead: whatever a client sends, the framing parser neither panics nor passes on
// more than it read (beyond the rewrites of held commands, which are of bounded size), and
// clear-text packets that are not held pass byte for byte.
func FuzzLimitConnRead(f *testing.F) {
	f.Add(append(packet(1, make([]byte, 40)), packet(0, []byte{0x03, 'S'})...), uint8(7))
	f.Add(append(packet(1, make([]byte, 40)), packet(0, wire.BinlogDump{File: "b\x00"}.Encode())...), uint8(1))
	f.Add(append(packet(1, make([]byte, 40)), 0xff, 0xff, 0xff, 0, 1, 2), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		lc := &limitConn{Conn: &fakeConn{in: bytes.NewReader(in)}, max: 1 << 12}
		buf := make([]byte, int(size)+1)
		var got []byte
		for i := 0; i < len(in)+16; i++ {
			n, err := lc.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if len(got) > 2*len(in)+64 {
			t.Fatalf("passed on %d bytes from %d", len(got), len(in))
		}
	})
}

package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// The decoders must never panic, and what they decode must encode back to something that
// decodes to the same value.

func FuzzReadPacket(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 1, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, seq, err := ReadPacket(bytes.NewReader(b), 1<<20)
		if err != nil {
			return
		}
		again, _ := AppendPacket(nil, seq, p)
		if len(p) < MaxPayload && !bytes.Equal(again, b[:len(again)]) {
			t.Fatalf("re-encoded %x, read from %x", again, b)
		}
		if pkt, _, ok := SplitPacket(b); ok && len(p) < MaxPayload && !bytes.Equal(pkt, again) {
			t.Fatalf("SplitPacket %x, ReadPacket %x", pkt, again)
		}
	})
}

func FuzzDecodeBinlogDump(f *testing.F) {
	f.Add(BinlogDump{Position: 4, ServerID: 1, File: "binlog.000001"}.Encode())
	f.Add(append(BinlogDump{File: "x"}.Encode(), 0, 'y'))
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := DecodeBinlogDump(p)
		if err != nil {
			return
		}
		if d2, err := DecodeBinlogDump(d.Encode()); err != nil || d2 != d {
			t.Fatalf("%+v -> %+v %v", d, d2, err)
		}
	})
}

func FuzzDecodeBinlogDumpGTID(f *testing.F) {
	f.Add(BinlogDumpGTID{ServerID: 1, File: "binlog.000001", Position: 4}.Encode())
	f.Add(BinlogDumpGTID{Flags: BinlogThroughGTID, GTIDs: []byte{1, 0, 0, 0, 0, 0, 0, 0}}.Encode())
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := DecodeBinlogDumpGTID(p)
		if err != nil {
			return
		}
		if d2, err := DecodeBinlogDumpGTID(d.Encode()); err != nil || !reflect.DeepEqual(d2, d) {
			t.Fatalf("%+v -> %+v %v", d, d2, err)
		}
	})
}

func FuzzDecodeRegisterSlave(f *testing.F) {
	f.Add(RegisterSlave{ServerID: 2, Host: "127.0.0.1", Port: 3307}.Encode())
	f.Fuzz(func(t *testing.T, p []byte) {
		s, err := DecodeRegisterSlave(p)
		if err != nil {
			return
		}
		if s2, err := DecodeRegisterSlave(s.Encode()); err != nil || s2 != s {
			t.Fatalf("%+v -> %+v %v", s, s2, err)
		}
	})
}

func FuzzDecodeChangeUser(f *testing.F) {
	all := uint32(ClientSecureConnection | ClientPluginAuth | ClientConnectAttrs)
	f.Add(ChangeUser{User: "root", AuthResponse: make([]byte, 20), AuthPlugin: "mysql_native_password"}.Encode(all), all)
	f.Add(ChangeUser{User: "a", Database: "d"}.Encode(0), uint32(0))
	f.Fuzz(func(t *testing.T, p []byte, caps uint32) {
		u, err := DecodeChangeUser(p, caps)
		if err != nil {
			return
		}
		if caps&ClientSecureConnection == 0 && bytes.IndexByte(u.AuthResponse, 0) >= 0 {
			t.Fatal("a C-string auth response holds a NUL")
		}
		if len(u.AuthResponse) > 255 || bytes.IndexByte([]byte(u.User+u.Database+u.AuthPlugin), 0) >= 0 {
			return // not encodable as decoded: fields read to the packet's end may hold NULs
		}
		u2, err := DecodeChangeUser(u.Encode(caps), caps)
		if err != nil || u2.User != u.User || !bytes.Equal(u2.AuthResponse, u.AuthResponse) || u2.Database != u.Database || u2.AuthPlugin != u.AuthPlugin {
			t.Fatalf("%+v -> %+v %v", u, u2, err)
		}
	})
}

func FuzzParseHandshake(f *testing.F) {
	f.Add([]byte("\x0a8.0\x00\x01\x00\x00\x00abcdefgh\x00\x00\x82\x21\x02\x00\x08\x00\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := ParseHandshake(p)
		if err != nil {
			return
		}
		SetHandshakeCapabilities(p, h, h.Capabilities|ClientSSL)
		if h2, err := ParseHandshake(p); err != nil || h2.Capabilities != h.Capabilities|ClientSSL {
			t.Fatalf("set caps: %+v %v", h2, err)
		}
	})
}

func FuzzParseErr(f *testing.F) {
	f.Add(Err(1045, "28000", "denied"))
	f.Fuzz(func(t *testing.T, p []byte) {
		_, _, _, _ = ParseErr(p)
		_ = DecodeStatistics(p)
		_ = IsSSLRequest(p)
	})
}

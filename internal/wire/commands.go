package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Command bytes of the commands RelayDB reads itself.
const (
	ComStatistics     = 0x09
	ComChangeUser     = 0x11
	ComBinlogDump     = 0x12
	ComRegisterSlave  = 0x15
	ComBinlogDumpGTID = 0x1e
)

// Binlog dump flags.
const (
	BinlogDumpNonBlock = 0x01 // stop at the end of the binlog instead of waiting
	BinlogThroughGTID  = 0x04 // COM_BINLOG_DUMP_GTID carries a GTID set
)

// Client capability flags this package looks at.
const (
	ClientSSL               = 0x00000800
	ClientProtocol41        = 0x00000200
	ClientSecureConnection  = 0x00008000
	ClientPluginAuth        = 0x00080000
	ClientConnectAttrs      = 0x00100000
	ClientPluginAuthLenenc  = 0x00200000
	ClientDeprecateEOF      = 0x01000000
	sslRequestPayloadLength = 32
)

// ErrMalformed is returned for a command payload that does not decode.
var ErrMalformed = errors.New("malformed packet")

// BinlogDump is COM_BINLOG_DUMP: stream the binlog from a file and position.
type BinlogDump struct {
	Position uint32
	Flags    uint16
	ServerID uint32
	// File is the binlog file name, read as MySQL reads it: a C string, so anything from the
	// first NUL on (some CDC clients end the name with one) is not part of it.
	File string
}

// DecodeBinlogDump decodes a COM_BINLOG_DUMP payload.
func DecodeBinlogDump(p []byte) (BinlogDump, error) {
	if len(p) < 11 || p[0] != ComBinlogDump {
		return BinlogDump{}, ErrMalformed
	}
	file := p[11:]
	if i := bytes.IndexByte(file, 0); i >= 0 {
		file = file[:i]
	}
	return BinlogDump{
		Position: binary.LittleEndian.Uint32(p[1:5]),
		Flags:    binary.LittleEndian.Uint16(p[5:7]),
		ServerID: binary.LittleEndian.Uint32(p[7:11]),
		File:     string(file),
	}, nil
}

// Encode returns the command's payload.
func (d BinlogDump) Encode() []byte {
	p := make([]byte, 0, 11+len(d.File))
	p = append(p, ComBinlogDump)
	p = binary.LittleEndian.AppendUint32(p, d.Position)
	p = binary.LittleEndian.AppendUint16(p, d.Flags)
	p = binary.LittleEndian.AppendUint32(p, d.ServerID)
	return append(p, d.File...)
}

// BinlogDumpGTID is COM_BINLOG_DUMP_GTID: stream the binlog from a file and position or, with
// BinlogThroughGTID, from what a GTID set lacks.
type BinlogDumpGTID struct {
	Flags    uint16
	ServerID uint32
	File     string
	Position uint64
	// GTIDs is the encoded GTID set (MySQL's binary SID block); present only with
	// BinlogThroughGTID.
	GTIDs []byte
}

// DecodeBinlogDumpGTID decodes a COM_BINLOG_DUMP_GTID payload. Bytes after the fields are
// ignored, as MySQL ignores them.
func DecodeBinlogDumpGTID(p []byte) (BinlogDumpGTID, error) {
	r := reader{b: p}
	if c, ok := r.byte(); !ok || c != ComBinlogDumpGTID {
		return BinlogDumpGTID{}, ErrMalformed
	}
	var d BinlogDumpGTID
	var ok bool
	flags, ok1 := r.uint16()
	sid, ok2 := r.uint32()
	nameLen, ok3 := r.uint32()
	if !ok1 || !ok2 || !ok3 {
		return d, ErrMalformed
	}
	d.Flags, d.ServerID = flags, sid
	name, ok := r.bytes(int(nameLen))
	if !ok || nameLen > uint32(len(p)) {
		return BinlogDumpGTID{}, ErrMalformed
	}
	d.File = string(name)
	if d.Position, ok = r.uint64(); !ok {
		return BinlogDumpGTID{}, ErrMalformed
	}
	if d.Flags&BinlogThroughGTID != 0 {
		n, ok := r.uint32()
		if !ok || n > uint32(len(p)) {
			return BinlogDumpGTID{}, ErrMalformed
		}
		data, ok := r.bytes(int(n))
		if !ok {
			return BinlogDumpGTID{}, ErrMalformed
		}
		d.GTIDs = append([]byte{}, data...)
	}
	return d, nil
}

// Encode returns the command's payload; GTIDs are written only with BinlogThroughGTID.
func (d BinlogDumpGTID) Encode() []byte {
	p := make([]byte, 0, 1+2+4+4+len(d.File)+8+4+len(d.GTIDs))
	p = append(p, ComBinlogDumpGTID)
	p = binary.LittleEndian.AppendUint16(p, d.Flags)
	p = binary.LittleEndian.AppendUint32(p, d.ServerID)
	p = binary.LittleEndian.AppendUint32(p, uint32(len(d.File)))
	p = append(p, d.File...)
	p = binary.LittleEndian.AppendUint64(p, d.Position)
	if d.Flags&BinlogThroughGTID != 0 {
		p = binary.LittleEndian.AppendUint32(p, uint32(len(d.GTIDs)))
		p = append(p, d.GTIDs...)
	}
	return p
}

// RegisterSlave is COM_REGISTER_SLAVE: a replica announces itself before it dumps.
type RegisterSlave struct {
	ServerID             uint32
	Host, User, Password string
	Port                 uint16
	Rank, SourceID       uint32
}

// DecodeRegisterSlave decodes a COM_REGISTER_SLAVE payload. The trailing rank and source id
// may be missing (vitess and old clients stop after the port).
func DecodeRegisterSlave(p []byte) (RegisterSlave, error) {
	r := reader{b: p}
	var s RegisterSlave
	c, ok := r.byte()
	if !ok || c != ComRegisterSlave {
		return s, ErrMalformed
	}
	if s.ServerID, ok = r.uint32(); !ok {
		return RegisterSlave{}, ErrMalformed
	}
	for _, f := range []*string{&s.Host, &s.User, &s.Password} {
		n, ok := r.byte()
		if !ok {
			return RegisterSlave{}, ErrMalformed
		}
		b, ok := r.bytes(int(n))
		if !ok {
			return RegisterSlave{}, ErrMalformed
		}
		*f = string(b)
	}
	if s.Port, ok = r.uint16(); !ok {
		return RegisterSlave{}, ErrMalformed
	}
	if r.left() >= 8 {
		s.Rank, _ = r.uint32()
		s.SourceID, _ = r.uint32()
	}
	return s, nil
}

// Encode returns the command's payload; strings longer than 255 bytes are cut to 255.
func (s RegisterSlave) Encode() []byte {
	p := []byte{ComRegisterSlave}
	p = binary.LittleEndian.AppendUint32(p, s.ServerID)
	for _, f := range []string{s.Host, s.User, s.Password} {
		f = f[:min(len(f), 255)]
		p = append(p, byte(len(f)))
		p = append(p, f...)
	}
	p = binary.LittleEndian.AppendUint16(p, s.Port)
	p = binary.LittleEndian.AppendUint32(p, s.Rank)
	return binary.LittleEndian.AppendUint32(p, s.SourceID)
}

// ChangeUser is COM_CHANGE_USER: re-authenticate the connection as another account.
type ChangeUser struct {
	User string
	// AuthResponse is the client's answer to the scramble of the connection's handshake,
	// computed with AuthPlugin.
	AuthResponse []byte
	Database     string
	Charset      uint16 // 0: not sent
	AuthPlugin   string // "": not sent (mysql_native_password)
	// Attrs are the raw connection attributes (length-encoded pairs), nil if not sent.
	Attrs []byte
}

// DecodeChangeUser decodes a COM_CHANGE_USER payload sent by a client with capability flags
// caps: with ClientSecureConnection the auth response has a length byte, otherwise it is a C
// string. The fields after the database are optional, as older clients do not send them.
func DecodeChangeUser(p []byte, caps uint32) (ChangeUser, error) {
	r := reader{b: p}
	var u ChangeUser
	c, ok := r.byte()
	if !ok || c != ComChangeUser {
		return u, ErrMalformed
	}
	user, ok := r.cstring()
	if !ok {
		return ChangeUser{}, ErrMalformed
	}
	u.User = string(user)
	var auth []byte
	if caps&ClientSecureConnection != 0 {
		n, ok := r.byte()
		if !ok {
			return ChangeUser{}, ErrMalformed
		}
		if auth, ok = r.bytes(int(n)); !ok {
			return ChangeUser{}, ErrMalformed
		}
	} else if auth, ok = r.cstring(); !ok {
		return ChangeUser{}, ErrMalformed
	}
	u.AuthResponse = append([]byte{}, auth...)
	db, ok := r.cstring()
	if !ok {
		// A client may end the packet right after the database name, without its NUL.
		db, _ = r.bytes(r.left())
	}
	u.Database = string(db)
	if r.left() >= 2 {
		u.Charset, _ = r.uint16()
	}
	if caps&ClientPluginAuth != 0 && r.left() > 0 {
		plugin, ok := r.cstring()
		if !ok {
			plugin, _ = r.bytes(r.left())
		}
		u.AuthPlugin = string(plugin)
	}
	if caps&ClientConnectAttrs != 0 && r.left() > 0 {
		n, ok := r.lenenc()
		if !ok || n > uint64(r.left()) {
			return ChangeUser{}, ErrMalformed
		}
		attrs, _ := r.bytes(int(n))
		u.Attrs = append([]byte{}, attrs...)
	}
	return u, nil
}

// Encode returns the command's payload as a client with capability flags caps sends it
// (ClientSecureConnection, ClientPluginAuth and ClientConnectAttrs matter).
func (u ChangeUser) Encode(caps uint32) []byte {
	p := []byte{ComChangeUser}
	p = append(append(p, u.User...), 0)
	if caps&ClientSecureConnection != 0 {
		a := u.AuthResponse[:min(len(u.AuthResponse), 255)]
		p = append(p, byte(len(a)))
		p = append(p, a...)
	} else {
		p = append(append(p, u.AuthResponse...), 0)
	}
	p = append(append(p, u.Database...), 0)
	p = binary.LittleEndian.AppendUint16(p, u.Charset)
	if caps&ClientPluginAuth != 0 {
		p = append(append(p, u.AuthPlugin...), 0)
	}
	if caps&ClientConnectAttrs != 0 {
		p = AppendLenenc(p, uint64(len(u.Attrs)))
		p = append(p, u.Attrs...)
	}
	return p
}

// DecodeStatistics checks a COM_STATISTICS payload: the command byte alone (MySQL ignores
// anything after it).
func DecodeStatistics(p []byte) error {
	if len(p) < 1 || p[0] != ComStatistics {
		return ErrMalformed
	}
	return nil
}

// IsSSLRequest reports whether p, the first packet a client sends, is an SSL request: a
// handshake response cut short after its fixed part, with ClientSSL set.
func IsSSLRequest(p []byte) bool {
	return len(p) == sslRequestPayloadLength && binary.LittleEndian.Uint32(p)&ClientSSL != 0
}

// ClientCapabilities returns the capability flags of a handshake response (or SSL request).
func ClientCapabilities(p []byte) (uint32, bool) {
	if len(p) < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(p), true
}

// Handshake is what a server's HandshakeV10 packet offers, as far as RelayDB needs it.
type Handshake struct {
	Capabilities uint32
	// Scramble is the authentication challenge (auth-plugin-data parts 1 and 2, without the
	// trailing NUL): a client's COM_CHANGE_USER answers it too.
	Scramble []byte
	capsLow  int // offset of the low capability bytes
	capsHigh int // offset of the high capability bytes, 0 if absent
}

// ParseHandshake decodes a HandshakeV10 payload.
func ParseHandshake(p []byte) (Handshake, error) {
	r := reader{b: p}
	if v, ok := r.byte(); !ok || v != 10 {
		return Handshake{}, ErrMalformed
	}
	if _, ok := r.cstring(); !ok { // server version
		return Handshake{}, ErrMalformed
	}
	var h Handshake
	_, ok1 := r.uint32() // connection id
	part1, ok2 := r.bytes(8)
	_, ok3 := r.byte() // filler
	h.capsLow = r.pos
	low, ok4 := r.uint16()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Handshake{}, ErrMalformed
	}
	h.Capabilities = uint32(low)
	h.Scramble = append([]byte{}, part1...)
	if r.left() == 0 {
		return h, nil
	}
	_, _ = r.byte()   // character set
	_, _ = r.uint16() // status flags
	h.capsHigh = r.pos
	high, ok := r.uint16()
	if !ok {
		return Handshake{}, ErrMalformed
	}
	h.Capabilities |= uint32(high) << 16
	authLen, _ := r.byte()
	if _, ok := r.bytes(10); !ok { // reserved
		return h, nil
	}
	if h.Capabilities&ClientSecureConnection != 0 {
		n := max(13, int(authLen)-8)
		part2, ok := r.bytes(min(n, r.left()))
		if ok {
			if i := bytes.IndexByte(part2, 0); i >= 0 {
				part2 = part2[:i]
			}
			h.Scramble = append(h.Scramble, part2...)
		}
	}
	return h, nil
}

// SetHandshakeCapabilities rewrites the capability flags of the HandshakeV10 payload p, which
// ParseHandshake decoded as h.
func SetHandshakeCapabilities(p []byte, h Handshake, caps uint32) {
	binary.LittleEndian.PutUint16(p[h.capsLow:], uint16(caps))
	if h.capsHigh != 0 {
		binary.LittleEndian.PutUint16(p[h.capsHigh:], uint16(caps>>16))
	}
}

// reader reads fields from a payload without ever reading past its end.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) left() int { return len(r.b) - r.pos }

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || n > r.left() {
		return nil, false
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b, true
}

func (r *reader) byte() (byte, bool) {
	b, ok := r.bytes(1)
	if !ok {
		return 0, false
	}
	return b[0], true
}

func (r *reader) uint16() (uint16, bool) {
	b, ok := r.bytes(2)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b), true
}

func (r *reader) uint32() (uint32, bool) {
	b, ok := r.bytes(4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

func (r *reader) uint64() (uint64, bool) {
	b, ok := r.bytes(8)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

// cstring reads up to a NUL and skips it; false if there is none.
func (r *reader) cstring() ([]byte, bool) {
	i := bytes.IndexByte(r.b[r.pos:], 0)
	if i < 0 {
		return nil, false
	}
	s := r.b[r.pos : r.pos+i]
	r.pos += i + 1
	return s, true
}

func (r *reader) lenenc() (uint64, bool) {
	c, ok := r.byte()
	if !ok {
		return 0, false
	}
	var n int
	switch c {
	case 0xfc:
		n = 2
	case 0xfd:
		n = 3
	case 0xfe:
		n = 8
	case 0xfb, 0xff:
		return 0, false
	default:
		return uint64(c), true
	}
	b, ok := r.bytes(n)
	if !ok {
		return 0, false
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, true
}

// AppendLenenc appends v as a length-encoded integer.
func AppendLenenc(b []byte, v uint64) []byte {
	switch {
	case v < 0xfb:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xfe), v)
	}
}

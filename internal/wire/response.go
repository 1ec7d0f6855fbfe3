package wire

import (
	"encoding/binary"
	"fmt"
)

// ERMalformedPacket is MySQL's ER_MALFORMED_PACKET, which vitess does not define.
const ERMalformedPacket = 1835

// Status flags used in OK packets.
const (
	ServerStatusAutocommit = 0x0002
)

// OK returns an OK packet's payload (protocol 4.1: status flags and warnings included).
func OK(affectedRows, lastInsertID uint64, status, warnings uint16) []byte {
	p := []byte{0x00}
	p = AppendLenenc(p, affectedRows)
	p = AppendLenenc(p, lastInsertID)
	p = binary.LittleEndian.AppendUint16(p, status)
	return binary.LittleEndian.AppendUint16(p, warnings)
}

// Err returns an ERR packet's payload; state is the 5-character SQLSTATE.
func Err(code uint16, state string, format string, args ...any) []byte {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	p := []byte{0xff}
	p = binary.LittleEndian.AppendUint16(p, code)
	p = append(p, '#')
	p = append(p, (state + "HY000")[:5]...)
	return append(p, msg...)
}

// ParseErr decodes an ERR payload: code, SQLSTATE ("" if the packet has none) and message.
func ParseErr(p []byte) (code uint16, state, msg string, err error) {
	if len(p) < 3 || p[0] != 0xff {
		return 0, "", "", ErrMalformed
	}
	code = binary.LittleEndian.Uint16(p[1:3])
	rest := p[3:]
	if len(rest) >= 6 && rest[0] == '#' {
		state, rest = string(rest[1:6]), rest[6:]
	}
	return code, state, string(rest), nil
}

// IsOK and IsErr tell a server's OK and ERR payloads apart from others (during authentication:
// an auth switch request starts with 0xfe, more auth data with 0x01).
func IsOK(p []byte) bool  { return len(p) > 0 && p[0] == 0x00 }
func IsErr(p []byte) bool { return len(p) > 0 && p[0] == 0xff }

// AuthSwitchRequest returns the payload that asks the client to authenticate with plugin,
// answering scramble (sent with the trailing NUL that clients expect).
func AuthSwitchRequest(plugin string, scramble []byte) []byte {
	p := []byte{0xfe}
	p = append(append(p, plugin...), 0)
	p = append(p, scramble...)
	return append(p, 0)
}

// Statistics is what COM_STATISTICS reports.
type Statistics struct {
	Uptime      uint64 // seconds
	Threads     int
	Questions   uint64
	SlowQueries uint64
	Opens       uint64
	OpenTables  uint64
}

// Format is the reply to COM_STATISTICS: the text alone, in a packet of its own, as MySQL and
// MariaDB send it (two spaces between fields; the average over the uptime with 3 decimals).
func (s Statistics) Format() string {
	up := max(s.Uptime, 1)
	qps := float64(s.Questions) / float64(up)
	return fmt.Sprintf("Uptime: %d  Threads: %d  Questions: %d  Slow queries: %d  Opens: %d  Open tables: %d  Queries per second avg: %.3f",
		s.Uptime, s.Threads, s.Questions, s.SlowQueries, s.Opens, s.OpenTables, qps)
}

package server

import (
	"bytes"
	"encoding/binary"
	"io"

	"github.com/dolthub/vitess/go/mysql"
)

// vitess dispatches COM_BINLOG_DUMP_GTID to the handler but answers the older COM_BINLOG_DUMP
// (dump by file and position, which replicas without auto-positioning and mysqlbinlog
// --read-from-remote-server send) with "unknown command", and drops a COM_BINLOG_DUMP_GTID
// that has BINLOG_DUMP_NON_BLOCK set. limitConn, which already follows the client's packet
// framing, therefore holds back each command packet that is (or, with fewer than five bytes
// read, may be) a binlog dump, and passes on instead a COM_BINLOG_DUMP_GTID that vitess accepts:
// same server_id, file name and position, no flags, no GTID set. What the rewrite drops (the
// command was the old one, BINLOG_DUMP_NON_BLOCK) is kept in a dumpRequest that
// ComBinlogDumpGTID takes. A connection that switched to TLS cannot be followed, so there
// COM_BINLOG_DUMP still gets vitess's error.

// maxHeldCommand bounds the dump packets that are held and rewritten: COM_BINLOG_DUMP is 11
// bytes and a file name; a COM_BINLOG_DUMP_GTID is bigger only by its GTID set.
const maxHeldCommand = 64 << 10

// dumpRequest is what a binlog dump command asked for beyond what vitess passes on.
type dumpRequest struct {
	legacy   bool   // COM_BINLOG_DUMP, not COM_BINLOG_DUMP_GTID
	nonBlock bool   // BINLOG_DUMP_NON_BLOCK: stop at the end of the binlog instead of waiting
	serverID uint32 // the replica's server_id
}

// takeDumpRequest returns (and forgets) what the last rewritten dump command asked for; nil if
// the command was not seen (TLS) or not rewritten.
func (c *limitConn) takeDumpRequest() *dumpRequest {
	return c.dumpReq.Swap(nil)
}

// mayBeDumpCommand reports whether b, which starts at a packet header in the command phase,
// holds a binlog dump command to rewrite, or too few bytes to tell. Commands are the packets
// with sequence id 0 (authentication exchanges never have it).
func mayBeDumpCommand(b []byte) bool {
	if len(b) < 4 {
		return true
	}
	length := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if length == 0 || b[3] != 0 || length > maxHeldCommand {
		return false
	}
	if len(b) < 5 {
		return true
	}
	return b[4] == comBinlogDump || b[4] == comBinlogDumpGTID
}

// readHeld completes the held packet from the socket, then passes on either its rewrite or,
// when it turns out not to be a dump command, the bytes as read.
func (c *limitConn) readHeld(p []byte) (int, error) {
	for len(c.out) == 0 && !c.tripped {
		if !mayBeDumpCommand(c.held) {
			held := c.held
			c.held, c.holding, c.heldErr = nil, false, nil // a socket error comes again
			c.feed(held)
			break
		}
		if len(c.held) >= 4 {
			length := int(c.held[0]) | int(c.held[1])<<8 | int(c.held[2])<<16
			if len(c.held) >= 4+length {
				held := c.held
				c.held, c.holding, c.heldErr = nil, false, nil
				c.out = append(c.out, c.rewriteDump(held[:4+length])...)
				c.packets++
				c.feed(held[4+length:])
				break
			}
		}
		if err := c.heldErr; err != nil {
			// The held bytes stay: a read interrupted by a deadline (vitess interrupts reads
			// to watch for client activity) is retried, and a dead socket fails again.
			c.heldErr = nil
			return 0, err
		}
		var buf [512]byte
		n, err := c.Conn.Read(buf[:])
		c.held = append(c.held, buf[:n]...)
		c.heldErr = err
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	return 0, c.reject()
}

// feed runs data (bytes read from the socket that the parser has not seen) through the parser
// into out, keeping back a packet start that must be held.
func (c *limitConn) feed(data []byte) {
	cut, hold := c.scan(data)
	switch {
	case cut >= 0:
		c.out = append(c.out, data[:cut]...)
	case hold >= 0:
		c.out = append(c.out, data[:hold]...)
		c.held = append([]byte(nil), data[hold:]...)
		c.holding = true
	default:
		c.out = append(c.out, data...)
	}
}

// rewriteDump turns one whole binlog dump command packet into the COM_BINLOG_DUMP_GTID packet
// vitess hands to ComBinlogDumpGTID, and records what the rewrite leaves out.
func (c *limitConn) rewriteDump(pkt []byte) []byte {
	payload := pkt[4:]
	req := &dumpRequest{legacy: payload[0] == comBinlogDump}
	var out []byte
	if req.legacy {
		if len(payload) < 11 {
			return pkt // malformed: vitess answers it as it answers any unknown command
		}
		pos := binary.LittleEndian.Uint32(payload[1:5])
		flags := binary.LittleEndian.Uint16(payload[5:7])
		req.serverID = binary.LittleEndian.Uint32(payload[7:11])
		req.nonBlock = flags&mysql.BinlogDumpNonBlock != 0
		file := payload[11:]
		// MySQL and MariaDB read the name as a C string: several CDC clients end it with NUL.
		if i := bytes.IndexByte(file, 0); i >= 0 {
			file = file[:i]
		}
		out = make([]byte, 0, 4+1+2+4+4+len(file)+8+4)
		out = append(out, 0, 0, 0, 0, comBinlogDumpGTID)
		out = binary.LittleEndian.AppendUint16(out, 0)
		out = binary.LittleEndian.AppendUint32(out, req.serverID)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(file)))
		out = append(out, file...)
		out = binary.LittleEndian.AppendUint64(out, uint64(pos))
		out = binary.LittleEndian.AppendUint32(out, 0)
	} else {
		if len(payload) < 7 {
			return pkt
		}
		flags := binary.LittleEndian.Uint16(payload[1:3])
		req.serverID = binary.LittleEndian.Uint32(payload[3:7])
		req.nonBlock = flags&mysql.BinlogDumpNonBlock != 0
		out = append([]byte(nil), pkt...)
		binary.LittleEndian.PutUint16(out[5:7], flags&^mysql.BinlogDumpNonBlock)
	}
	n := len(out) - 4
	out[0], out[1], out[2], out[3] = byte(n), byte(n>>8), byte(n>>16), pkt[3]
	c.replicaServerID.Store(req.serverID)
	c.dumpReq.Store(req)
	return out
}

// endAfterDump makes the connection end as MySQL ends it after a non-blocking dump: vitess's
// next read of a command sees the end of the stream.
func endAfterDump(c *mysql.Conn) {
	if lc := underlyingLimitConn(c.Conn); lc != nil {
		lc.hangUp.Store(true)
		return
	}
	_ = c.Conn.Close()
}

var _ io.Reader = (*limitConn)(nil)

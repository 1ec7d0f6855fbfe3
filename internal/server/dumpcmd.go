package server

import (
	"io"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/wire"
)

// vitess dispatches COM_BINLOG_DUMP_GTID to the handler but answers the older COM_BINLOG_DUMP
// (dump by file and position, which replicas without auto-positioning and mysqlbinlog
// --read-from-remote-server send) with "unknown command", and drops a COM_BINLOG_DUMP_GTID
// that has BINLOG_DUMP_NON_BLOCK set. limitConn, which already follows the client's packet
// framing, therefore holds back each command packet that is (or, with fewer than five bytes
// read, may be) a binlog dump, and passes on instead a COM_BINLOG_DUMP_GTID that vitess accepts:
// same server_id, file name and position, no flags, no GTID set. What the rewrite drops (the
// command was the old one, BINLOG_DUMP_NON_BLOCK) is kept in a dumpRequest that
// ComBinlogDumpGTID takes. TLS connections are followed too: limitConn terminates TLS itself.

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
// the command was not rewritten.
func (c *limitConn) takeDumpRequest() *dumpRequest {
	return c.dumpReq.Swap(nil)
}

// mayBeHeldCommand reports whether b, which starts at a packet header in the command phase,
// holds a command to take out of the stream (a binlog dump to rewrite, a command answered here),
// or too few bytes to tell. Commands are the packets with sequence id 0 (authentication
// exchanges never have it).
func mayBeHeldCommand(b []byte) bool {
	if len(b) < wire.HeaderSize {
		return true
	}
	length, seq := wire.ParseHeader(b)
	if length == 0 || seq != 0 || length > maxHeldCommand {
		return false
	}
	if len(b) < wire.HeaderSize+1 {
		return true
	}
	switch b[wire.HeaderSize] {
	case wire.ComBinlogDump, wire.ComBinlogDumpGTID, wire.ComChangeUser, wire.ComStatistics, wire.ComRegisterSlave:
		return true
	}
	return false
}

// readHeld completes the held packet from the socket, then passes on either its rewrite, or
// nothing when it was answered here, or, when it turns out not to be held, the bytes as read.
func (c *limitConn) readHeld(p []byte) (int, error) {
	for len(c.out) == 0 && !c.tripped && c.holding {
		if !mayBeHeldCommand(c.held) {
			held := c.held
			c.held, c.holding, c.heldErr = nil, false, nil // a socket error comes again
			c.feed(held)
			break
		}
		if pkt, rest, ok := wire.SplitPacket(c.held); ok {
			c.held, c.holding, c.heldErr = nil, false, nil
			rest = append([]byte(nil), rest...)
			out, err := c.takeCommand(pkt, &rest)
			if err != nil {
				return 0, err
			}
			c.out = append(c.out, out...)
			c.feed(rest)
			break
		}
		if err := c.heldErr; err != nil {
			// The held bytes stay: a read interrupted by a deadline (vitess interrupts reads
			// to watch for client activity) is retried, and a dead socket fails again.
			c.heldErr = nil
			return 0, err
		}
		var buf [512]byte
		n, err := c.source().Read(buf[:])
		c.held = append(c.held, buf[:n]...)
		c.heldErr = err
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	if c.tripped {
		return 0, c.reject()
	}
	return c.Read(p) // answered here: go on with the next command
}

// takeCommand returns what vitess is to read instead of the held command packet pkt: a binlog
// dump's rewrite, or nothing for a command answered here. rest holds the bytes read after pkt,
// which the answer may consume (a COM_CHANGE_USER's authentication exchange).
func (c *limitConn) takeCommand(pkt []byte, rest *[]byte) ([]byte, error) {
	switch pkt[wire.HeaderSize] {
	case wire.ComBinlogDump, wire.ComBinlogDumpGTID:
		return c.rewriteDump(pkt), nil
	case wire.ComRegisterSlave:
		// vitess parses it but drops the replica's server_id, which SHOW REPLICAS needs.
		if r, err := wire.DecodeRegisterSlave(pkt[wire.HeaderSize:]); err == nil {
			c.replicaServerID.Store(r.ServerID)
		}
		return pkt, nil
	}
	if c.owner == nil || c.owner.commands == nil {
		return pkt, nil
	}
	return nil, c.owner.commands.answer(c, pkt[wire.HeaderSize:], rest)
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
// vitess hands to ComBinlogDumpGTID, and records what the rewrite leaves out. A packet that does
// not decode is passed on as it is: vitess answers it as it answers any unknown command.
func (c *limitConn) rewriteDump(pkt []byte) []byte {
	payload := pkt[wire.HeaderSize:]
	req := &dumpRequest{legacy: payload[0] == wire.ComBinlogDump}
	var gtidDump wire.BinlogDumpGTID
	if req.legacy {
		d, err := wire.DecodeBinlogDump(payload)
		if err != nil {
			return pkt
		}
		req.serverID = d.ServerID
		req.nonBlock = d.Flags&wire.BinlogDumpNonBlock != 0
		gtidDump = wire.BinlogDumpGTID{ServerID: d.ServerID, File: d.File, Position: uint64(d.Position)}
	} else {
		d, err := wire.DecodeBinlogDumpGTID(payload)
		if err != nil {
			return pkt
		}
		req.serverID = d.ServerID
		req.nonBlock = d.Flags&wire.BinlogDumpNonBlock != 0
		gtidDump = d
		gtidDump.Flags &^= wire.BinlogDumpNonBlock
	}
	_, seq := wire.ParseHeader(pkt)
	out, _ := wire.AppendPacket(nil, seq, gtidDump.Encode())
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

package server

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/netutil"
)

// The wire protocol splits a payload into chunks of at most 2^24-1 bytes,
// each with a 4-byte header (3-byte little-endian length, 1-byte sequence).
const (
	maxChunk       = 1<<24 - 1
	clientSSLFlag  = 0x00000800
	packetTooLarge = "Got a packet bigger than 'max_allowed_packet' bytes"
	// drainDeadline bounds how long a connection that sent an oversized
	// packet is read from, so its client sees our error rather than a reset.
	drainDeadline = 5 * time.Second
	drainMaxBytes = 1 << 31
)

var errPacketTooLarge = errors.New("client packet larger than max_allowed_packet")

// limitListener enforces max_allowed_packet, which vitess does not: it
// follows the packet framing of every client byte stream and, as soon as a
// header announces a payload (after reassembly of 2^24-1 byte chunks) larger
// than the limit, stops passing bytes to vitess, so the oversized payload is
// never buffered. It then reads and discards the rest of that packet, answers
// MySQL's error 1153 (ER_NET_PACKET_TOO_LARGE, SQLSTATE 08S01) and closes the
// connection; other connections are unaffected.
//
// A connection that switches to TLS cannot be followed past the switch; for
// those the handler checks statement sizes after reassembly instead (see
// handler.go). The listener also tracks live connections so shutdown can
// close them.
type limitListener struct {
	net.Listener
	limit func() int64
	log   *slog.Logger

	mu      sync.Mutex
	conns   map[*limitConn]struct{}
	closed  bool // no new connections are admitted
	stopped bool // the listening socket is closed
}

// Close stops listening; live connections stay open (see closeConns).
func (l *limitListener) Close() error {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	return l.Listener.Close()
}

func newLimitListener(l net.Listener, limit func() int64, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, limit: limit, log: log, conns: map[*limitConn]struct{}{}}
}

// Accept retries transient errors (such as running out of file
// descriptors) itself, because vitess stops serving at the first error
// Accept returns.
func (l *limitListener) Accept() (net.Conn, error) {
	var c net.Conn
	backoff := 5 * time.Millisecond
	for {
		var err error
		c, err = l.Listener.Accept()
		if err == nil {
			break
		}
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if stopped || errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if l.log != nil {
			l.log.Warn("accept failed; retrying", "err", err, "in", backoff)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
	lc := &limitConn{Conn: c, max: l.limit(), owner: l}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	return lc, nil
}

// closeConns closes every live client connection, and refuses new ones.
func (l *limitListener) closeConns() {
	l.mu.Lock()
	l.closed = true
	conns := make([]*limitConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (l *limitListener) forget(c *limitConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// limitConn is one client connection seen through the packet framing. Read
// is only ever called by the connection's handler goroutine (vitess reads a
// connection from one goroutine at a time), so the parser state needs no lock.
type limitConn struct {
	net.Conn
	max   int64
	owner *limitListener

	hdr      [4]byte
	hdrN     int   // header bytes collected so far
	bodyLeft int   // payload bytes of the current chunk still to come
	logical  int64 // payload bytes of the current logical packet so far
	cont     bool  // the previous chunk was full, so the next one continues it
	packets  int   // chunks seen; the first is the handshake response
	capBuf   [4]byte
	capN     int
	passthru bool // TLS: framing is no longer visible

	tripped   bool
	tripSeq   byte // sequence id of the chunk that went over the limit
	tripLeft  int  // its payload bytes not yet read from the socket
	tripFull  bool // it was a full chunk, so more chunks follow
	closeOnce sync.Once

	closeAfterWrite bool // set by the handler for oversized statements over TLS

	// The first bytes of each command packet, to learn a replica's server_id from
	// COM_REGISTER_SLAVE or COM_BINLOG_DUMP_GTID (vitess parses those packets but drops it).
	cmdBuf          [7]byte
	cmdN            int
	replicaServerID atomic.Uint32

	// Binlog dump commands are held back whole and rewritten (see dumpcmd.go): held has the
	// bytes read from the socket but not yet passed on, from the start of a command packet
	// that may be one; out has bytes ready to pass on.
	held    []byte
	holding bool
	heldErr error // the socket's error that came with the held bytes
	out     []byte
	dumpReq atomic.Pointer[dumpRequest]
	hangUp  atomic.Bool // the next Read ends the connection (a non-blocking dump is done)
}

// Commands whose payload carries the replica's server_id.
const (
	comRegisterReplica = 0x15
	comBinlogDump      = 0x12
	comBinlogDumpGTID  = 0x1e
)

func (c *limitConn) Read(p []byte) (int, error) {
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	if c.tripped {
		return 0, c.reject()
	}
	if c.hangUp.Load() {
		return 0, io.EOF
	}
	if c.holding {
		return c.readHeld(p)
	}
	n, err := c.Conn.Read(p)
	if c.passthru || n == 0 {
		return n, err
	}
	cut, hold := c.scan(p[:n])
	if cut >= 0 {
		if cut > 0 {
			return cut, nil
		}
		return 0, c.reject()
	}
	if hold >= 0 {
		c.held = append(c.held[:0], p[hold:n]...)
		c.holding, c.heldErr = true, err
		if hold > 0 {
			return hold, nil
		}
		return c.readHeld(p)
	}
	return n, err
}

// scan advances the framing parser over b. It returns cut, the offset of the first byte of a
// header that pushed a packet over the limit, or -1; and hold, the offset of the first byte of
// a command packet that must be held back (it is, or may be, a binlog dump command), or -1.
// The parser has not advanced over the bytes from hold on.
func (c *limitConn) scan(b []byte) (cut, hold int) {
	i := 0
	for i < len(b) {
		if c.passthru {
			return -1, -1
		}
		if c.bodyLeft == 0 && c.hdrN == 0 && !c.cont && c.packets >= 1 && mayBeDumpCommand(b[i:]) {
			return -1, i
		}
		if c.bodyLeft > 0 {
			k := min(c.bodyLeft, len(b)-i)
			if c.packets == 1 && c.capN < 4 {
				for j := 0; j < k && c.capN < 4; j++ {
					c.capBuf[c.capN] = b[i+j]
					c.capN++
				}
			} else if c.packets > 1 && c.cmdN < len(c.cmdBuf) {
				for j := 0; j < k && c.cmdN < len(c.cmdBuf); j++ {
					c.cmdBuf[c.cmdN] = b[i+j]
					c.cmdN++
				}
			}
			c.bodyLeft -= k
			i += k
			if c.bodyLeft == 0 {
				c.endChunk()
			}
			continue
		}
		start := i - c.hdrN
		for c.hdrN < 4 && i < len(b) {
			c.hdr[c.hdrN] = b[i]
			c.hdrN++
			i++
		}
		if c.hdrN < 4 {
			return -1, -1
		}
		c.hdrN = 0
		length := int(c.hdr[0]) | int(c.hdr[1])<<8 | int(c.hdr[2])<<16
		if !c.cont {
			c.logical = 0
			c.cmdN = 0
		}
		c.logical += int64(length)
		c.packets++
		if c.logical > c.max {
			c.tripped = true
			c.tripSeq = c.hdr[3]
			c.tripFull = length == maxChunk
			c.tripLeft = length - min(length, len(b)-i)
			if start < 0 {
				start = 0
			}
			return start, -1
		}
		c.bodyLeft = length
		c.cont = length == maxChunk
		if length == 0 {
			c.endChunk()
		}
	}
	return -1, -1
}

func (c *limitConn) endChunk() {
	if c.packets > 1 && !c.cont {
		switch {
		case c.cmdN >= 5 && c.cmdBuf[0] == comRegisterReplica:
			c.replicaServerID.Store(binary.LittleEndian.Uint32(c.cmdBuf[1:5]))
		case c.cmdN >= 7 && c.cmdBuf[0] == comBinlogDumpGTID:
			c.replicaServerID.Store(binary.LittleEndian.Uint32(c.cmdBuf[3:7]))
		}
	}
	if c.packets == 1 && c.capN == 4 && !c.cont {
		caps := binary.LittleEndian.Uint32(c.capBuf[:])
		if caps&clientSSLFlag != 0 {
			// An SSL request: everything after it is TLS records.
			c.passthru = true
		}
	}
}

// reject discards the rest of the oversized packet, sends error 1153 with the
// sequence id the client expects, and closes the connection.
func (c *limitConn) reject() error {
	c.closeOnce.Do(func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(drainDeadline))
		seq := c.tripSeq
		left, full := c.tripLeft, c.tripFull
		var drained int64
		var hdr [4]byte
		for {
			if left > 0 {
				n, err := io.CopyN(io.Discard, c.Conn, int64(left))
				drained += n
				if err != nil {
					break
				}
			}
			if !full || drained > drainMaxBytes {
				break
			}
			if _, err := io.ReadFull(c.Conn, hdr[:]); err != nil {
				break
			}
			left = int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
			full = left == maxChunk
			seq = hdr[3]
		}
		msg := packetTooLarge
		payload := make([]byte, 0, 9+len(msg))
		payload = append(payload, 0xff)
		payload = binary.LittleEndian.AppendUint16(payload, mysql.ERNetPacketTooLarge)
		payload = append(payload, '#')
		payload = append(payload, mysql.SSNetError...)
		payload = append(payload, msg...)
		pkt := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq + 1}
		pkt = append(pkt, payload...)
		_ = c.Conn.SetWriteDeadline(time.Now().Add(drainDeadline))
		_, _ = c.Conn.Write(pkt)
		if c.owner != nil && c.owner.log != nil {
			c.owner.log.Warn("closed connection: packet larger than max_allowed_packet",
				"remote", c.Conn.RemoteAddr().String(), "max_allowed_packet", c.max, "announced", c.logical)
		}
		c.Close()
	})
	return errPacketTooLarge
}

func (c *limitConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.closeAfterWrite {
		c.Close()
	}
	return n, err
}

func (c *limitConn) Close() error {
	if c.owner != nil {
		c.owner.forget(c)
	}
	return c.Conn.Close()
}

// underlyingLimitConn finds the limitConn under the wrappers vitess puts around a connection
// (its read/write timeouts, TLS); nil if there is none.
func underlyingLimitConn(conn net.Conn) *limitConn {
	for conn != nil {
		switch x := conn.(type) {
		case *limitConn:
			return x
		case *tls.Conn:
			conn = x.NetConn()
		case *netutil.ConnWithTimeouts:
			conn = x.Conn
		default:
			return nil
		}
	}
	return nil
}

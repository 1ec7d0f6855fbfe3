package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/netutil"

	"github.com/relaydb/relaydb/internal/wire"
)

// The wire protocol splits a payload into chunks of at most 2^24-1 bytes,
// each with a 4-byte header (3-byte little-endian length, 1-byte sequence).
const (
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
// The connections terminate TLS themselves (see limitConn), so the framing of
// TLS connections is followed as well. The listener also tracks live
// connections so shutdown can close them.
type limitListener struct {
	net.Listener
	limit func() int64
	log   *slog.Logger
	// tlsConfig, if set, is offered to clients: the connections terminate TLS themselves.
	tlsConfig *tls.Config
	// commands answers the commands the connections take out of the stream (conncmd.go);
	// nil in tests of the framing alone.
	commands connCommands

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
	lc := &limitConn{Conn: c, max: l.limit(), owner: l, tlsConfig: l.tlsConfig}
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
// connection from one goroutine at a time), so the read-side state needs no lock.
//
// TLS is terminated here, not by vitess (which is given no TLS configuration): vitess would
// wrap the socket in its own tls.Conn and leave RelayDB only encrypted bytes, so that nothing
// it must answer itself (binlog dumps, COM_CHANGE_USER, COM_STATISTICS, max_allowed_packet)
// could be seen. The handshake vitess writes gets CLIENT_SSL added; a client's SSL request is
// answered by the TLS handshake and not passed on; from then on vitess reads and writes clear
// text. The client numbers its packets one higher than vitess expects (vitess never saw the SSL
// request), so until authentication ends sequence ids are shifted by one each way.
type limitConn struct {
	net.Conn
	max   int64
	owner *limitListener

	// src is where client bytes come from: the socket, or its TLS session.
	src io.Reader
	// Authentication phase (read side): packets are passed whole, until the first packet
	// with sequence id 0, a command.
	authIn     []byte
	authErr    error
	authDone   bool
	clientCaps uint32 // the handshake response's capability flags

	// Write side, guarded by wmu: vitess writes from the connection's goroutine, but a dump
	// writes while another goroutine reads acks, and the handler may write from elsewhere.
	wmu         sync.Mutex
	dst         io.Writer // the socket, or its TLS session
	wbuf        []byte    // authentication phase: bytes of a packet not yet whole
	wpackets    int
	authWritten bool // the server's OK or ERR ended authentication
	shift       byte // 1 while the client's sequence ids are one ahead of vitess's
	handshake   wire.Handshake
	tlsConn     *tls.Conn // nil: clear text
	tlsConfig   *tls.Config

	hdr      [4]byte
	hdrN     int   // header bytes collected so far
	bodyLeft int   // payload bytes of the current chunk still to come
	logical  int64 // payload bytes of the current logical packet so far
	cont     bool  // the previous chunk was full, so the next one continues it

	tripped   bool
	tripSeq   byte // sequence id of the chunk that went over the limit
	tripLeft  int  // its payload bytes not yet read from the socket
	tripFull  bool // it was a full chunk, so more chunks follow
	closeOnce sync.Once

	// replicaServerID is the server_id of the replica's last COM_REGISTER_SLAVE or binlog
	// dump (vitess parses those packets but drops it).
	replicaServerID atomic.Uint32

	// Commands RelayDB answers or rewrites itself are held back whole (see dumpcmd.go and
	// conncmd.go): held has the bytes read from the socket but not yet passed on, from the
	// start of a command packet that may be one; out has bytes ready to pass on.
	held    []byte
	holding bool
	heldErr error // the socket's error that came with the held bytes
	out     []byte
	dumpReq atomic.Pointer[dumpRequest]
	hangUp  atomic.Bool // the next Read ends the connection (a non-blocking dump is done)

	// mc is vitess's connection over this one, set when vitess announces it (NewConnection);
	// the commands answered here need its session.
	mc atomic.Pointer[mysql.Conn]
}

func (c *limitConn) source() io.Reader {
	if c.src == nil {
		return c.Conn
	}
	return c.src
}

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
	if !c.authDone {
		return c.readAuth(p)
	}
	if c.holding {
		return c.readHeld(p)
	}
	n, err := c.source().Read(p)
	if n == 0 {
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

// maxAuthPacket bounds a packet of the authentication phase (a handshake response with its
// connection attributes is a few hundred bytes).
const maxAuthPacket = 1 << 20

// readAuth passes the packets of the authentication phase whole, answers an SSL request with
// the TLS handshake, and shifts the sequence ids of the packets that follow one.
func (c *limitConn) readAuth(p []byte) (int, error) {
	for {
		if len(c.authIn) >= wire.HeaderSize {
			length, seq := wire.ParseHeader(c.authIn)
			if seq == 0 && c.wpacketsSeen() {
				// A command: authentication is over, and the framing parser takes the stream.
				c.authDone = true
				rest := c.authIn
				c.authIn = nil
				c.feed(rest)
				return c.Read(p)
			}
			if length > maxAuthPacket {
				return 0, fmt.Errorf("authentication packet of %d bytes", length)
			}
			if pkt, rest, ok := wire.SplitPacket(c.authIn); ok {
				c.authIn = append([]byte(nil), rest...)
				payload := pkt[wire.HeaderSize:]
				first := c.clientCaps == 0
				if first {
					c.clientCaps, _ = wire.ClientCapabilities(payload)
				}
				if first && c.tlsConfig != nil && wire.IsSSLRequest(payload) {
					if err := c.startTLS(); err != nil {
						return 0, err
					}
					c.clientCaps = 0 // the real handshake response follows, encrypted
					continue
				}
				c.wmu.Lock()
				pkt[3] -= c.shift
				c.wmu.Unlock()
				c.out = append(c.out, pkt...)
				n := copy(p, c.out)
				c.out = c.out[n:]
				return n, nil
			}
		}
		if err := c.authErr; err != nil {
			c.authErr = nil // a read interrupted by a deadline is retried
			return 0, err
		}
		var buf [4096]byte
		n, err := c.source().Read(buf[:])
		c.authIn = append(c.authIn, buf[:n]...)
		c.authErr = err
	}
}

// wpacketsSeen reports whether the server has written its handshake (a packet with sequence
// id 0 before that cannot be a command). Tests that drive the reader alone count as written.
func (c *limitConn) wpacketsSeen() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.wpackets > 0 || c.clientCaps != 0
}

// tlsHandshakeTimeout bounds the TLS handshake of a client that asked for TLS.
const tlsHandshakeTimeout = 30 * time.Second

// startTLS runs the server side of the TLS handshake; bytes already read past the SSL request
// (the client's hello may come with it) are the first the TLS session reads.
func (c *limitConn) startTLS() error {
	raw := &prefixConn{Conn: c.Conn, pre: c.authIn}
	c.authIn = nil
	tc := tls.Server(raw, c.tlsConfig)
	_ = c.Conn.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	_ = c.Conn.SetDeadline(time.Time{})
	c.src = tc
	c.wmu.Lock()
	c.dst, c.tlsConn, c.shift = tc, tc, 1
	c.wmu.Unlock()
	return nil
}

// TLSConnectionState returns the TLS session's state; ok is false for a clear-text connection.
func (c *limitConn) TLSConnectionState() (tls.ConnectionState, bool) {
	c.wmu.Lock()
	tc := c.tlsConn
	c.wmu.Unlock()
	if tc == nil {
		return tls.ConnectionState{}, false
	}
	return tc.ConnectionState(), true
}

// scramble is the authentication challenge of the connection's handshake.
func (c *limitConn) scramble() []byte {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.handshake.Scramble
}

// prefixConn reads pre before the connection itself.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// scan advances the framing parser over b. It returns cut, the offset of the first byte of a
// header that pushed a packet over the limit, or -1; and hold, the offset of the first byte of
// a command packet that must be held back (it is, or may be, one RelayDB answers or rewrites
// itself), or -1. The parser has not advanced over the bytes from hold on.
func (c *limitConn) scan(b []byte) (cut, hold int) {
	i := 0
	for i < len(b) {
		if c.bodyLeft == 0 && c.hdrN == 0 && !c.cont && mayBeHeldCommand(b[i:]) {
			return -1, i
		}
		if c.bodyLeft > 0 {
			k := min(c.bodyLeft, len(b)-i)
			c.bodyLeft -= k
			i += k
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
		length, seq := wire.ParseHeader(c.hdr[:])
		if !c.cont {
			c.logical = 0
		}
		c.logical += int64(length)
		if c.logical > c.max {
			c.tripped = true
			c.tripSeq = seq
			c.tripFull = length == wire.MaxPayload
			c.tripLeft = length - min(length, len(b)-i)
			if start < 0 {
				start = 0
			}
			return start, -1
		}
		c.bodyLeft = length
		c.cont = length == wire.MaxPayload
	}
	return -1, -1
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
				n, err := io.CopyN(io.Discard, c.source(), int64(left))
				drained += n
				if err != nil {
					break
				}
			}
			if !full || drained > drainMaxBytes {
				break
			}
			if _, err := io.ReadFull(c.source(), hdr[:]); err != nil {
				break
			}
			left, seq = wire.ParseHeader(hdr[:])
			full = left == wire.MaxPayload
		}
		pkt, _ := wire.AppendPacket(nil, seq+1, wire.Err(mysql.ERNetPacketTooLarge, mysql.SSNetError, packetTooLarge))
		_ = c.Conn.SetWriteDeadline(time.Now().Add(drainDeadline))
		_, _ = c.rawWrite(pkt)
		if c.owner != nil && c.owner.log != nil {
			c.owner.log.Warn("closed connection: packet larger than max_allowed_packet",
				"remote", c.Conn.RemoteAddr().String(), "max_allowed_packet", c.max, "announced", c.logical)
		}
		c.Close()
	})
	return errPacketTooLarge
}

func (c *limitConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	var n int
	var err error
	if c.authWritten {
		n, err = c.writeLocked(p)
	} else {
		n, err = c.writeAuth(p)
	}
	c.wmu.Unlock()
	return n, err
}

// rawWrite writes p to the client as it is.
func (c *limitConn) rawWrite(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(p)
}

func (c *limitConn) writeLocked(p []byte) (int, error) {
	if c.dst != nil {
		return c.dst.Write(p)
	}
	return c.Conn.Write(p)
}

// writeAuth passes vitess's packets of the authentication phase on whole: the handshake with
// CLIENT_SSL added when TLS is offered (and its scramble kept for COM_CHANGE_USER), every packet
// with its sequence id shifted after a switch to TLS, until an OK or ERR ends the phase.
func (c *limitConn) writeAuth(p []byte) (int, error) {
	c.wbuf = append(c.wbuf, p...)
	var out []byte
	for !c.authWritten {
		pkt, rest, ok := wire.SplitPacket(c.wbuf)
		if !ok {
			break
		}
		payload := pkt[wire.HeaderSize:]
		if c.wpackets == 0 {
			if h, err := wire.ParseHandshake(payload); err == nil {
				c.handshake = h
				if c.tlsConfig != nil {
					wire.SetHandshakeCapabilities(payload, h, h.Capabilities|wire.ClientSSL)
				}
			}
		} else if wire.IsOK(payload) || wire.IsErr(payload) {
			c.authWritten = true
		}
		c.wpackets++
		pkt[3] += c.shift
		out = append(out, pkt...)
		c.wbuf = rest
	}
	if c.authWritten {
		out = append(out, c.wbuf...)
		c.wbuf = nil
	} else {
		c.wbuf = append([]byte(nil), c.wbuf...)
	}
	if len(out) > 0 {
		if _, err := c.writeLocked(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
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

package replica

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/dolthub/vitess/go/vt/vttls"
	"github.com/relaydb/relaydb/internal/wire"
)

// MySQL protocol details the TLS switch needs.
const (
	capabilitySSL   = 0x00000800 // CLIENT_SSL
	sslRequestSize  = 32         // an SSLRequest is the first 32 bytes of a HandshakeResponse41
	packetOK        = 0x00
	packetErr       = 0xff
	crSSLConnection = 2026 // CR_SSL_CONNECTION_ERROR
	crConnHost      = 2003 // CR_CONN_HOST_ERROR
)

func sslError(format string, args ...any) error {
	return mysql.NewSQLError(crSSLConnection, mysql.SSUnknownSQLState, "SSL connection error: "+format, args...)
}

// connect opens the replication connection: vitess's client in clear text, or through
// connectTLS with SOURCE_SSL=1.
func (r *Replica) connect(ctx context.Context, cfg Config) (*mysql.Conn, error) {
	if r.opts.Redirect != nil {
		to := r.opts.Redirect(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
		if h, p, err := net.SplitHostPort(to); err == nil {
			if port, err := strconv.Atoi(p); err == nil {
				cfg.Host, cfg.Port = h, port
			}
		}
	}
	if !cfg.TLS.Enabled {
		return mysql.Connect(ctx, &mysql.ConnParams{Host: cfg.Host, Port: cfg.Port, Uname: cfg.User, Pass: cfg.Password})
	}
	return connectTLS(ctx, cfg, r.opts.Dir)
}

// connectTLS opens the replication connection over TLS configured by clientTLSConfig.
//
// vitess's client can require TLS but cannot be given a tls.Config: it reads certificate files
// once per process and keeps them (a failed read too, so a file fixed in place is never read
// again), it cannot check a chain without also checking the host name, and it knows nothing of
// CA directories, CRLs with VERIFY_CA, or ciphers. So the receiver makes the TLS part of the
// connection itself, as a MySQL client does (read the greeting, send an SSLRequest built from
// vitess's HandshakeResponse, TLS handshake), and lets vitess speak to the source through a
// private Unix socket. vitess then runs the authentication as on a local connection (a
// caching_sha2_password secret is sent in clear, which the TLS link upstream protects), and
// the relay shifts the sequence numbers by the one packet it added, until the source accepts
// or refuses; after that it only copies bytes.
func connectTLS(ctx context.Context, cfg Config, dir string) (*mysql.Conn, error) {
	tlsCfg, err := clientTLSConfig(cfg.TLS, cfg.Host, dir)
	if err != nil {
		return nil, sslError("%v", err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, mysql.NewSQLError(crConnHost, mysql.SSUnknownSQLState, "Can't connect to MySQL server on '%s' (%v)", addr, err)
	}
	// Until the connection is handed over, ctx (STOP REPLICA, the connect timeout) ends any
	// blocking read or write by closing the sockets.
	var toClose []io.Closer
	var closeMu sync.Mutex
	closeAll := func() {
		closeMu.Lock()
		defer closeMu.Unlock()
		for _, c := range toClose {
			c.Close()
		}
	}
	track := func(c io.Closer) {
		closeMu.Lock()
		toClose = append(toClose, c)
		closeMu.Unlock()
	}
	track(raw)
	stopWatch := context.AfterFunc(ctx, closeAll)
	handedOver := false
	defer func() {
		stopWatch()
		if !handedOver {
			closeAll()
		}
	}()
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}

	up := bufio.NewReader(raw)
	greeting, seq, err := readPacket(up)
	if err != nil {
		return nil, fail(mysql.NewSQLError(2013, mysql.SSUnknownSQLState, "Lost connection to MySQL server at 'reading initial communication packet' (%v)", err))
	}
	if len(greeting) > 0 && greeting[0] == packetErr {
		return nil, parseErrPacket(greeting)
	}
	caps, ok := greetingCapabilities(greeting)
	if !ok {
		return nil, mysql.NewSQLError(2027, mysql.SSUnknownSQLState, "Malformed packet: the source's greeting is too short")
	}
	if caps&capabilitySSL == 0 {
		return nil, sslError("SSL is required but the server doesn't support it")
	}

	sockDir, err := os.MkdirTemp("", "relaydb-replica-tls-")
	if err != nil {
		return nil, fmt.Errorf("replication TLS relay: %w", err)
	}
	defer os.RemoveAll(sockDir)
	ln, err := net.Listen("unix", filepath.Join(sockDir, "s"))
	if err != nil {
		return nil, fmt.Errorf("replication TLS relay: %w", err)
	}
	track(ln)
	type result struct {
		conn *mysql.Conn
		err  error
	}
	connected := make(chan result, 1)
	go func() {
		c, err := mysql.Connect(ctx, &mysql.ConnParams{UnixSocket: ln.Addr().String(), Uname: cfg.User, Pass: cfg.Password, SslMode: vttls.Disabled})
		connected <- result{c, err}
	}()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // nil once closeAll closed ln
		accepted <- c
	}()
	// abandon ends vitess's attempt and returns the first error: ours, or else vitess's.
	vitessDone := false
	abandon := func(err error) (*mysql.Conn, error) {
		closeAll()
		if !vitessDone {
			res := <-connected
			if res.conn != nil {
				res.conn.Close()
			}
			if err == nil {
				err = res.err
			}
		}
		if err == nil {
			err = errors.New("replication TLS relay: the connection closed during the handshake")
		}
		return nil, fail(err)
	}
	var down net.Conn
	select {
	case down = <-accepted:
	case res := <-connected: // vitess gave up before it reached the socket
		vitessDone = true
		closeAll()
		if c := <-accepted; c != nil {
			c.Close()
		}
		return abandon(res.err)
	}
	ln.Close()
	if down == nil {
		return abandon(nil)
	}
	track(down)
	if err := writePacket(down, seq, greeting); err != nil {
		return abandon(nil)
	}
	downR := bufio.NewReader(down)
	response, seq, err := readPacket(downR)
	if err != nil || len(response) < sslRequestSize {
		return abandon(nil)
	}
	// The SSLRequest carries the capabilities vitess chose; the response that follows it keeps
	// the CLIENT_SSL flag too, as MySQL's clients send it.
	binary.LittleEndian.PutUint32(response, binary.LittleEndian.Uint32(response)|capabilitySSL)
	if err := writePacket(raw, seq, response[:sslRequestSize]); err != nil {
		return abandon(mysql.NewSQLError(2013, mysql.SSUnknownSQLState, "Lost connection to MySQL server sending the SSL request (%v)", err))
	}
	if up.Buffered() > 0 {
		return abandon(sslError("the source sent data before the TLS handshake"))
	}
	tlsUp := tls.Client(raw, tlsCfg)
	track(tlsUp)
	if err := tlsUp.HandshakeContext(ctx); err != nil {
		return abandon(sslError("%v", err))
	}
	if err := writePacket(tlsUp, seq+1, response); err != nil {
		return abandon(nil)
	}
	go relayAuth(down, downR, tlsUp)
	res := <-connected
	vitessDone = true
	if res.err != nil {
		return abandon(res.err)
	}
	handedOver = true
	return res.conn, nil
}

// relayAuth carries the rest of the authentication between vitess (down) and the source (up),
// shifting sequence numbers by the SSLRequest, then copies bytes both ways until either side
// closes; it closes both when it ends.
func relayAuth(down net.Conn, downR *bufio.Reader, up *tls.Conn) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			down.Close()
			up.Close()
		})
	}
	// authDone is set before the source's verdict is passed on: vitess sends its next packet
	// only after reading it, so the upward copy sees the flag by then.
	var authDone atomic.Bool
	go func() {
		defer closeBoth()
		upR := bufio.NewReader(up)
		for {
			p, seq, err := readPacket(upR)
			if err != nil {
				return
			}
			if len(p) > 0 && (p[0] == packetOK || p[0] == packetErr) {
				authDone.Store(true)
			}
			if writePacket(down, seq-1, p) != nil {
				return
			}
			if authDone.Load() {
				break
			}
		}
		_, _ = io.Copy(down, upR)
	}()
	defer closeBoth()
	for !authDone.Load() {
		p, seq, err := readPacket(downR)
		if err != nil {
			return
		}
		if !authDone.Load() {
			seq++
		}
		if writePacket(up, seq, p) != nil {
			return
		}
	}
	_, _ = io.Copy(up, downR)
}

// readPacket reads one MySQL packet: its payload and sequence number.
func readPacket(r *bufio.Reader) ([]byte, byte, error) {
	return wire.ReadPacket(r, 0)
}

func writePacket(w io.Writer, seq byte, p []byte) error {
	if len(p) >= wire.MaxPayload {
		return errors.New("packet too large for the handshake")
	}
	b, _ := wire.AppendPacket(nil, seq, p)
	_, err := w.Write(b)
	return err
}

// greetingCapabilities reads the capability flags of a HandshakeV10 packet.
func greetingCapabilities(p []byte) (uint32, bool) {
	h, err := wire.ParseHandshake(p)
	return h.Capabilities, err == nil
}

// parseErrPacket turns an ERR packet sent instead of a greeting (too many connections, a
// blocked host) into an error with its code.
func parseErrPacket(p []byte) error {
	if len(p) < 3 {
		return mysql.NewSQLError(2027, mysql.SSUnknownSQLState, "Malformed packet")
	}
	return mysql.NewSQLError(int(binary.LittleEndian.Uint16(p[1:])), mysql.SSUnknownSQLState, "%s", p[3:])
}

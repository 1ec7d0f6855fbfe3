package test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/wire"
)

// versionProxy forwards one port to the server, changing only the answer to SELECT VERSION().
// mariadb-binlog 10.11 refuses to read a remote binlog from a server whose major version is not
// 5 or 10, which shuts out every MySQL 8 server (and RelayDB, which reports 8.0.36): the proxy
// makes the one answer read "5.7.36-relaydb" so the client gets as far as COM_BINLOG_DUMP.
// Everything else, the binlog stream included, passes byte for byte. With a certificate it also
// serves clients that use TLS: it ends their TLS session and opens its own to the server.
type versionProxy struct {
	l    net.Listener
	port int
	cert *tls.Certificate // nil: clear text only
	wg   sync.WaitGroup
	mu   sync.Mutex
	tlsN int
}

// startVersionProxy starts a proxy to serverPort; cert (may be nil) is what it shows TLS clients.
func startVersionProxy(t *testing.T, serverPort int, cert *tls.Certificate) *versionProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &versionProxy{l: l, port: l.Addr().(*net.TCPAddr).Port, cert: cert}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c, serverPort)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.wg.Wait()
	})
	return p
}

// tlsSessions counts the connections that went through TLS.
func (p *versionProxy) tlsSessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tlsN
}

// serve connects the client to the server. Without a certificate it pipes the bytes; with one it
// relays the handshake and the client's SSL request as they are, then runs TLS with the client
// (as the server) and with the server (as a client), and pipes the clear text between.
func (p *versionProxy) serve(client net.Conn, serverPort int) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", serverPort), 10*time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	if p.cert == nil {
		pipeVersion(client, server)
		return
	}
	deadline := time.Now().Add(2 * time.Minute)
	_ = client.SetDeadline(deadline)
	_ = server.SetDeadline(deadline)
	greeting, seq, err := wire.ReadPacket(server, 0)
	if err != nil {
		return
	}
	if _, err := wire.WritePacket(client, seq, greeting); err != nil {
		return
	}
	req, seq, err := wire.ReadPacket(client, 0)
	if err != nil {
		return
	}
	if _, err := wire.WritePacket(server, seq, req); err != nil {
		return
	}
	if !wire.IsSSLRequest(req) {
		pipeVersion(client, server)
		return
	}
	up := tls.Client(server, &tls.Config{InsecureSkipVerify: true})
	down := tls.Server(client, &tls.Config{Certificates: []tls.Certificate{*p.cert}})
	if up.Handshake() != nil || down.Handshake() != nil {
		return
	}
	p.mu.Lock()
	p.tlsN++
	p.mu.Unlock()
	pipeVersion(down, up)
}

// halfCloser is what both *net.TCPConn and *tls.Conn offer to end one direction only.
type halfCloser interface{ CloseWrite() error }

// pipeVersion copies both ways until both sides are done, rewriting the server's version in the
// answer to the client's next SELECT VERSION().
func pipeVersion(client, server net.Conn) {
	var mu sync.Mutex
	armed := false // a SELECT VERSION() went to the server and its answer has not come back
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			_ = client.SetReadDeadline(time.Now().Add(2 * time.Minute))
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte("SELECT VERSION()")) {
					mu.Lock()
					armed = true
					mu.Unlock()
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				_ = server.(halfCloser).CloseWrite()
				return
			}
		}
	}()
	from, to := []byte(binlog.ServerVersion), []byte("5.7.36-relaydb")
	var pending []byte
	buf := make([]byte, 64<<10)
	for {
		_ = server.SetReadDeadline(time.Now().Add(2 * time.Minute))
		n, err := server.Read(buf)
		out := buf[:n]
		mu.Lock()
		if armed && n > 0 {
			// Hold the answer until the version string is in it (it is one small packet).
			pending = append(pending, out...)
			out = nil
			if i := bytes.Index(pending, from); i >= 0 {
				copy(pending[i:], to)
				out, pending, armed = pending, nil, false
			}
		}
		mu.Unlock()
		if len(out) > 0 {
			if _, werr := client.Write(out); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = client.(halfCloser).CloseWrite()
	<-done
}

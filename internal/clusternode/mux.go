package clusternode

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// raftTag is the first byte a Raft connection sends on a member's cluster port; anything else
// is the control HTTP API. One port per member keeps configuration and firewalls simple.
const raftTag = 'R'

// Dialer opens outbound TCP connections, replacing addresses as --dial-override says (the
// fault-injection harness puts a proxy on every link this way).
type Dialer struct {
	Override map[string]string
}

// ParseOverrides reads "FROM=TO,FROM=TO".
func ParseOverrides(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "=")
		if !ok || from == "" || to == "" {
			return nil, errors.New("dial override " + part + ": want FROM=TO")
		}
		m[from] = to
	}
	return m, nil
}

// Target is the address actually dialled for addr.
func (d Dialer) Target(addr string) string {
	if to, ok := d.Override[addr]; ok {
		return to
	}
	return addr
}

// DialContext dials addr (or its override).
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.Target(addr))
}

// mux splits one listener into the Raft stream layer and the HTTP listener.
type mux struct {
	ln   net.Listener
	raft *chanListener
	http *chanListener
}

func newMux(ln net.Listener) *mux {
	m := &mux{ln: ln, raft: newChanListener(ln.Addr()), http: newChanListener(ln.Addr())}
	go m.serve()
	return m
}

func (m *mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			m.raft.close()
			m.http.close()
			return
		}
		go func() {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			b, err := br.Peek(1)
			c.SetReadDeadline(time.Time{})
			if err != nil {
				c.Close()
				return
			}
			if b[0] == raftTag {
				br.Discard(1)
				m.raft.push(&bufferedConn{Conn: c, r: br})
				return
			}
			m.http.push(&bufferedConn{Conn: c, r: br})
		}()
	}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) close()         { l.once.Do(func() { close(l.closed) }) }
func (l *chanListener) Close() error   { l.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// streamLayer is raft.StreamLayer over the mux, dialling through the Dialer.
type streamLayer struct {
	*chanListener
	dialer Dialer
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := s.dialer.DialContext(ctx, "tcp", string(addr))
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{raftTag}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

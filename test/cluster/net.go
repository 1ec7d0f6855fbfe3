package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// Net is a set of per-link TCP proxies on loopback with faults injected on them. Node a reaches
// address X of node b through the proxy Link(a, b, X) returns (the node is told so with
// --dial-override X=proxy), so every byte between two nodes passes a proxy that knows both
// ends and can drop, delay or refuse it.
//
// Faults are rules over directed node pairs: a rule that drops a→b discards the bytes a sends
// to b on every connection between them, whichever side opened it. Each fault method returns
// the function that removes just its rule; Heal removes them all. Connections that lost bytes
// while cut are closed when the cut ends, so both sides see a broken connection and reconnect
// instead of resuming a stream with a hole in it.
//
// Net is safe for concurrent use. Every listener and connection is closed by Close, which runs
// at tb's cleanup.
type Net struct {
	tb TB

	mu     sync.Mutex
	links  map[linkKey]*link // guarded by mu
	rules  map[int]*rule     // guarded by mu
	nextID int               // guarded by mu
	closed bool              // guarded by mu
}

type linkKey struct{ from, to, target string }

// FaultKind is what a rule does to the bytes of the directions it covers.
type FaultKind int

const (
	// Blackhole discards bytes silently; connections stay open and new ones are accepted but
	// reach nobody, as in a network partition.
	Blackhole FaultKind = iota
	// Reject closes connections with a reset and resets new ones at once, as a host whose port
	// is closed or a firewall that rejects.
	Reject
	// Slow delays every byte by the rule's delay.
	Slow
)

func (k FaultKind) String() string {
	switch k {
	case Blackhole:
		return "blackhole"
	case Reject:
		return "reject"
	case Slow:
		return "delay"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

type rule struct {
	desc  string
	kind  FaultKind
	delay time.Duration
	match func(from, to string) bool // the directed pairs the rule covers
}

// NewNet returns an empty network whose proxies are closed at tb's cleanup.
func NewNet(tb TB) *Net {
	n := &Net{tb: tb, links: map[linkKey]*link{}, rules: map[int]*rule{}}
	tb.Cleanup(n.Close)
	return n
}

// Link returns the loopback address of the proxy that node from uses to reach target, an
// address of node to, creating it on the first call (later calls return the same address).
// It panics if it cannot listen on loopback; TryLink returns the error instead.
func (n *Net) Link(from, to, target string) string {
	addr, err := n.TryLink(from, to, target)
	if err != nil {
		panic(err)
	}
	return addr
}

// TryLink is Link returning an error.
func (n *Net) TryLink(from, to, target string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return "", errors.New("cluster.Net: closed")
	}
	k := linkKey{from, to, target}
	if l, ok := n.links[k]; ok {
		return l.addr, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("proxy %s->%s (%s): %w", from, to, target, err)
	}
	l := &link{net: n, key: k, ln: ln, addr: ln.Addr().String(), conns: map[*pconn]struct{}{}}
	n.links[k] = l
	go l.accept()
	return l.addr, nil
}

// DialOverride returns the value of --dial-override for node from: target=proxy for every link
// created from it so far, in a stable order, or "" when it has none.
func (n *Net) DialOverride(from string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var parts []string
	for k, l := range n.links {
		if k.from == from {
			parts = append(parts, k.target+"="+l.addr)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Cut partitions a and b: bytes are black-holed both ways (see Blackhole).
func (n *Net) Cut(a, b string) (heal func()) {
	return n.add(fmt.Sprintf("cut %s<->%s", a, b), Blackhole, 0, pairs(a, b, true))
}

// CutOneWay black-holes the bytes from sends to to, on connections opened by either side;
// bytes from to to from still flow.
func (n *Net) CutOneWay(from, to string) (heal func()) {
	return n.add(fmt.Sprintf("cut %s->%s", from, to), Blackhole, 0, pairs(from, to, false))
}

// Reject closes every connection between a and b with a reset and resets new ones at once.
func (n *Net) Reject(a, b string) (heal func()) {
	return n.add(fmt.Sprintf("reject %s<->%s", a, b), Reject, 0, pairs(a, b, true))
}

// Delay adds d to the time every byte between a and b takes, both ways. Delays of several
// rules add up.
func (n *Net) Delay(a, b string, d time.Duration) (heal func()) {
	return n.add(fmt.Sprintf("delay %s<->%s %s", a, b, d), Slow, d, pairs(a, b, true))
}

// Isolate black-holes every byte to and from a (including links created later).
func (n *Net) Isolate(a string) (heal func()) {
	return n.add("isolate "+a, Blackhole, 0, func(from, to string) bool { return from == a || to == a })
}

// Partition splits the nodes into the given groups: bytes between nodes of different groups
// are black-holed; a node in no group is cut from every grouped node.
func (n *Net) Partition(groups ...[]string) (heal func()) {
	group := map[string]int{}
	var desc []string
	for i, g := range groups {
		for _, name := range g {
			group[name] = i
		}
		desc = append(desc, strings.Join(g, ","))
	}
	return n.add("partition "+strings.Join(desc, " | "), Blackhole, 0, func(from, to string) bool {
		gf, okf := group[from]
		gt, okt := group[to]
		return !okf || !okt || gf != gt
	})
}

// Heal removes every fault. Connections that lost bytes are closed.
func (n *Net) Heal() {
	n.mu.Lock()
	n.rules = map[int]*rule{}
	n.mu.Unlock()
	n.reconcile()
}

// Faults describes the faults in force, for logs.
func (n *Net) Faults() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]int, 0, len(n.rules))
	for id := range n.rules {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var out []string
	for _, id := range ids {
		out = append(out, n.rules[id].desc)
	}
	return out
}

// Close closes every proxy and connection and removes every fault. It is idempotent.
func (n *Net) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	links := n.links
	n.links = map[linkKey]*link{}
	n.rules = map[int]*rule{}
	var conns []*pconn
	for _, l := range links {
		l.ln.Close()
		for c := range l.conns {
			conns = append(conns, c)
		}
	}
	n.mu.Unlock()
	for _, c := range conns {
		c.close(false)
	}
}

func pairs(a, b string, both bool) func(from, to string) bool {
	return func(from, to string) bool {
		return (from == a && to == b) || (both && from == b && to == a)
	}
}

func (n *Net) add(desc string, kind FaultKind, d time.Duration, match func(from, to string) bool) func() {
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	n.rules[id] = &rule{desc: desc, kind: kind, delay: d, match: match}
	n.mu.Unlock()
	n.reconcile()
	var once sync.Once
	return func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.rules, id)
			n.mu.Unlock()
			n.reconcile()
		})
	}
}

// dirState is the effect of the rules on one direction.
type dirState struct {
	drop, reject bool
	delay        time.Duration
}

// stateLocked computes the direction from→to's state. n.mu must be held.
func (n *Net) stateLocked(from, to string) dirState {
	var s dirState
	for _, r := range n.rules {
		if !r.match(from, to) {
			continue
		}
		switch r.kind {
		case Blackhole:
			s.drop = true
		case Reject:
			s.reject = true
		case Slow:
			s.delay += r.delay
		}
	}
	return s
}

func (n *Net) state(from, to string) dirState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stateLocked(from, to)
}

// reconcile applies a rule change to the open connections: rejected ones are reset, ones now
// cut are marked as having lost bytes, and ones that lost bytes and are cut no longer are
// closed so their ends reconnect.
func (n *Net) reconcile() {
	type action struct {
		c     *pconn
		reset bool
	}
	var acts []action
	n.mu.Lock()
	for _, l := range n.links {
		fwd := n.stateLocked(l.key.from, l.key.to)
		back := n.stateLocked(l.key.to, l.key.from)
		for c := range l.conns {
			switch {
			case fwd.reject || back.reject:
				acts = append(acts, action{c, true})
			case fwd.drop || back.drop:
				if c.server == nil && !(fwd.drop && back.drop) {
					// Opened into a full partition, never reached the target: only a full
					// heal can carry it on, so end it now.
					acts = append(acts, action{c, false})
				}
				c.tainted = true
			case c.tainted:
				acts = append(acts, action{c, false})
			}
		}
	}
	n.mu.Unlock()
	for _, a := range acts {
		a.c.close(a.reset)
	}
}

// link is one proxy: a listener that node key.from connects to, forwarding to key.target.
type link struct {
	net  *Net
	key  linkKey
	ln   net.Listener
	addr string

	conns map[*pconn]struct{} // guarded by net.mu
}

func (l *link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.serve(c)
	}
}

func (l *link) serve(client net.Conn) {
	n := l.net
	n.mu.Lock()
	fwd := n.stateLocked(l.key.from, l.key.to)
	back := n.stateLocked(l.key.to, l.key.from)
	n.mu.Unlock()
	if fwd.reject || back.reject || n.isClosed() {
		resetConn(client)
		return
	}
	var server net.Conn
	if !(fwd.drop && back.drop) {
		// A full partition would not let the handshake through: the connection stays open and
		// reaches nobody. Otherwise the target is dialled and the cut direction filtered.
		s, err := net.DialTimeout("tcp", l.key.target, 10*time.Second)
		if err != nil {
			resetConn(client)
			return
		}
		server = s
	}
	c := &pconn{link: l, client: client, server: server, done: make(chan struct{})}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		c.close(false)
		return
	}
	l.conns[c] = struct{}{}
	if fwd.drop || back.drop {
		c.tainted = true
	}
	n.mu.Unlock()
	// Rules may have changed between the check and the registration.
	n.reconcile()
	if server == nil {
		go c.pump(client, nil, l.key.from, l.key.to)
		return
	}
	go c.pump(client, server, l.key.from, l.key.to)
	go c.pump(server, client, l.key.to, l.key.from)
}

func (n *Net) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// pconn is one proxied connection: client is node link.key.from's end, server the target's
// (nil when it was opened into a full partition and never dialled).
type pconn struct {
	link           *link
	client, server net.Conn
	tainted        bool // guarded by link.net.mu; bytes were or could have been dropped
	closeOnce      sync.Once
	done           chan struct{} // closed by close
	halfMu         sync.Mutex
	halfClosed     int // guarded by halfMu; directions whose EOF was passed on
}

type chunk struct {
	b   []byte
	due time.Time
	eof bool
}

// pump moves bytes from src to dst for the direction from→to. A reader goroutine stamps each
// chunk with its due time (now + delay) and the writer delivers it then, unless the direction
// is cut at delivery, in which case the chunk is lost. dst nil means everything is lost.
func (c *pconn) pump(src, dst net.Conn, from, to string) {
	n := c.link.net
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			k, err := src.Read(buf)
			if k > 0 {
				st := n.state(from, to)
				select {
				case q <- chunk{b: buf[:k], due: time.Now().Add(st.delay)}:
				case <-c.done:
					return
				}
			}
			if err != nil {
				eof := errors.Is(err, io.EOF)
				select {
				case q <- chunk{eof: eof, due: time.Now().Add(n.state(from, to).delay)}:
				case <-c.done:
				}
				return
			}
		}
	}()
	for ch := range q {
		if d := time.Until(ch.due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
				return
			}
		}
		if n.state(from, to).drop || dst == nil {
			n.mu.Lock()
			c.tainted = true
			n.mu.Unlock()
			continue // lost, FIN included; the connection is closed when the cut heals
		}
		if ch.b == nil {
			if !ch.eof {
				c.close(true) // the source end was reset: pass it on
				return
			}
			c.halfClose(dst)
			return
		}
		if _, err := dst.Write(ch.b); err != nil {
			c.close(false)
			return
		}
	}
}

// halfClose passes an EOF on; when both directions have ended the connection is closed.
func (c *pconn) halfClose(dst net.Conn) {
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	c.halfMu.Lock()
	c.halfClosed++
	both := c.halfClosed == 2
	c.halfMu.Unlock()
	if both {
		c.close(false)
	}
}

// close ends the connection on both sides (with a reset when reset is set) and forgets it.
func (c *pconn) close(reset bool) {
	c.closeOnce.Do(func() {
		close(c.done)
		n := c.link.net
		n.mu.Lock()
		delete(c.link.conns, c)
		n.mu.Unlock()
		for _, s := range []net.Conn{c.client, c.server} {
			if s == nil {
				continue
			}
			if reset {
				resetConn(s)
			} else {
				s.Close()
			}
		}
	})
}

// resetConn closes with RST instead of FIN, as a refused or broken connection looks.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

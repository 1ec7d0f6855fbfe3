package cluster

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// greeter is a loopback server that, like MySQL, speaks first ("hello\n") and then echoes every
// line back; it counts the connections it accepted and keeps the lines it received.
type greeter struct {
	ln       net.Listener
	accepted atomic.Int32
	lines    chan string
}

func newGreeter(t *testing.T) *greeter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &greeter{ln: ln, lines: make(chan string, 100)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.accepted.Add(1)
			go func() {
				defer c.Close()
				c.Write([]byte("hello\n"))
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					g.lines <- l
					c.Write([]byte(l))
				}
			}()
		}
	}()
	return g
}

func (g *greeter) addr() string { return g.ln.Addr().String() }

// client is one connection through a proxy.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

// line reads one line, waiting at most d; it returns the error on timeout or close.
func (c *client) line(d time.Duration) (string, error) {
	c.c.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadString('\n')
}

func (c *client) mustLine(want string) {
	c.t.Helper()
	got, err := c.line(2 * time.Second)
	if err != nil || got != want+"\n" {
		c.t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}

func (c *client) silent(d time.Duration) {
	c.t.Helper()
	if got, err := c.line(d); !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("read %q, %v; want nothing (a black hole)", got, err)
	}
}

// closed waits until the proxy closes the connection.
func (c *client) closed() {
	c.t.Helper()
	got, err := c.line(2 * time.Second)
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("read %q, %v; want the connection closed", got, err)
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s + "\n")); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func noLine(t *testing.T, g *greeter, d time.Duration) {
	t.Helper()
	select {
	case l := <-g.lines:
		t.Fatalf("server received %q through a cut", l)
	case <-time.After(d):
	}
}

const quiet = 150 * time.Millisecond

func TestNetForwards(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())
	if again := n.Link("a", "b", g.addr()); again != addr {
		t.Fatalf("second Link made a new proxy %s (first %s)", again, addr)
	}
	if got, want := n.DialOverride("a"), g.addr()+"="+addr; got != want {
		t.Fatalf("DialOverride %q, want %q", got, want)
	}
	c := dial(t, addr)
	c.mustLine("hello")
	c.send("one")
	c.mustLine("one")
	// The client half-closes: the server sees EOF, closes, and the client sees EOF.
	c.c.(*net.TCPConn).CloseWrite()
	if _, err := c.line(2 * time.Second); err != io.EOF {
		t.Fatalf("after half-close: %v, want EOF", err)
	}
}

func TestNetCutBlackholesAndHealReconnects(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())
	old := dial(t, addr)
	old.mustLine("hello")

	heal := n.Cut("b", "a") // order of the pair does not matter
	old.send("lost")
	old.silent(quiet)
	noLine(t, g, 0)

	before := g.accepted.Load()
	fresh := dial(t, addr) // accepted by the proxy, but reaches nobody
	fresh.silent(quiet)
	if g.accepted.Load() != before {
		t.Fatal("a connection opened into a partition reached the server")
	}

	heal()
	old.closed() // it lost bytes: closed so the client reconnects
	fresh.closed()
	again := dial(t, addr)
	again.mustLine("hello")
	again.send("back")
	again.mustLine("back")
	if f := n.Faults(); len(f) != 0 {
		t.Fatalf("faults after heal: %v", f)
	}
}

func TestNetCutOneWay(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())

	// a→b dropped: the greeting (b→a) arrives, a's line does not reach b.
	heal := n.CutOneWay("a", "b")
	c := dial(t, addr)
	c.mustLine("hello")
	c.send("x")
	noLine(t, g, quiet)
	c.silent(0)
	heal()
	c.closed()

	// b→a dropped: a's line reaches b, the greeting and the echo do not come back.
	heal = n.CutOneWay("b", "a")
	c = dial(t, addr)
	c.send("y")
	select {
	case l := <-g.lines:
		if l != "y\n" {
			t.Fatalf("server got %q", l)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a→b bytes did not flow with only b→a cut")
	}
	c.silent(quiet)
	heal()
	c.closed()

	// The same cut on a connection opened by b to a server of a: b's greeting is lost, a's
	// line reaches b's server.
	ga := newGreeter(t)
	heal = n.CutOneWay("a", "b")
	c = dial(t, n.Link("b", "a", ga.addr()))
	c.send("z")
	select {
	case l := <-ga.lines:
		if l != "z\n" {
			t.Fatalf("server got %q", l)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("b→a bytes did not flow on a connection opened by b")
	}
	c.silent(quiet)
	heal()
	c.closed()
}

func TestNetRejectResets(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())
	old := dial(t, addr)
	old.mustLine("hello")
	heal := n.Reject("a", "b")
	old.closed()
	// A new connection is refused: reset while connecting, or accepted and reset at once.
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		t.Cleanup(func() { c.Close() })
		(&client{t: t, c: c, r: bufio.NewReader(c)}).closed()
	}
	heal()
	dial(t, addr).mustLine("hello")
}

func TestNetDelay(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())
	c := dial(t, addr)
	c.mustLine("hello")
	const d = 100 * time.Millisecond
	heal := n.Delay("a", "b", d)
	start := time.Now()
	c.send("slow")
	c.mustLine("slow")
	if rtt := time.Since(start); rtt < 2*d {
		t.Fatalf("round trip %s with %s each way", rtt, d)
	}
	heal()
	c.send("fast") // the connection survives a delay
	c.mustLine("fast")
}

func TestNetIsolateAndPartition(t *testing.T) {
	gb, gc := newGreeter(t), newGreeter(t)
	n := NewNet(t)
	ab := n.Link("a", "b", gb.addr())
	ac := n.Link("a", "c", gc.addr())
	cb := n.Link("c", "b", gb.addr())

	heal := n.Isolate("a")
	dial(t, ab).silent(quiet)
	dial(t, ac).silent(0)
	dial(t, cb).mustLine("hello")
	heal()

	heal = n.Partition([]string{"a", "b"}, []string{"c"})
	dial(t, ab).mustLine("hello")
	dial(t, ac).silent(quiet)
	dial(t, cb).silent(0)
	n.Heal()
	dial(t, cb).mustLine("hello")
	heal() // after Heal: does nothing
}

func TestNetClose(t *testing.T) {
	g := newGreeter(t)
	n := NewNet(t)
	addr := n.Link("a", "b", g.addr())
	c := dial(t, addr)
	c.mustLine("hello")
	n.Close()
	c.closed()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("proxy still listening after Close")
	}
	if _, err := n.TryLink("a", "c", g.addr()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("TryLink after Close: %v", err)
	}
	n.Close()
}

package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/vttls"

	"github.com/relaydb/relaydb/internal/wire"
)

// TestBinlogDumpOverTLS: a client that switched to TLS gets COM_BINLOG_DUMP served (vitess,
// which used to terminate TLS, answered it "command handling not implemented yet").
func TestBinlogDumpOverTLS(t *testing.T) {
	n := startNode(t, "")
	binlogWorkload(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mysql.Connect(ctx, &mysql.ConnParams{Host: "127.0.0.1", Port: n.port, Uname: "root", SslMode: vttls.Required})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Conn.(*tls.Conn); !ok {
		t.Fatalf("the client did not switch to TLS (%T)", c.Conn)
	}
	if _, err := c.ExecuteFetch(replicaSetup, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteComBinlogDump(44, "binlog.000001", 4, mysql.BinlogDumpNonBlock); err != nil {
		t.Fatal(err)
	}
	expectFakeRotate(t, c, "binlog.000001", 4)
	gtids := dumpTransactions(t, c)
	if gtids == 0 {
		t.Fatal("the dump over TLS sent no transaction")
	}
	t.Logf("COM_BINLOG_DUMP over TLS: %d transactions, then EOF", gtids)
}

// TestMariaDBBinlogOverTLS: mariadb-binlog --read-from-remote-server --ssl streams the binary
// log. mariadb-binlog 10.11 refuses a server whose version is not 5.x or 10.x, so, as in
// TestBinlogDumpMariaDBBinlog, a proxy rewrites the answer to SELECT VERSION(); to see it over
// TLS the proxy relays TLS with the server's own certificate on both sides (the client's TLS
// session ends at the proxy, and the proxy's own TLS session reaches the server).
func TestMariaDBBinlogOverTLS(t *testing.T) {
	tool := mariadbTool(t, "mariadb-binlog")
	n := startNode(t, "")
	binlogWorkload(t, n)
	cert, err := tls.LoadX509KeyPair(filepath.Join(n.dataDir, "server-cert.pem"), filepath.Join(n.dataDir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := startVersionProxy(t, n.port, &cert)
	remote := []string{"--read-from-remote-server", "--host=127.0.0.1", fmt.Sprintf("--port=%d", p.port), "--user=root", "--ssl"}
	got := runTool(t, nil, tool, append(remote, "binlog.000001")...)
	local := runTool(t, nil, tool, filepath.Join(n.dataDir, "binlog.000001"))
	if got != local {
		t.Fatalf("remote read over TLS differs from the local read:\n%s", firstDiff(strings.Split(got, "\n"), strings.Split(local, "\n")))
	}
	if p.tlsSessions() == 0 {
		t.Fatal("no connection went through TLS")
	}
	t.Logf("mariadb-binlog --ssl: %d bytes, identical to the local read; %d TLS sessions to the server", len(got), p.tlsSessions())
}

var statusLine = regexp.MustCompile(`Uptime: \d+  Threads: \d+  Questions: \d+  Slow queries: \d+  Opens: \d+  Open tables: \d+  Queries per second avg: \d+\.\d{3}`)

// TestMariaDBAdminStatus: COM_STATISTICS answers mariadb-admin status (with and without TLS)
// and the mariadb client's status command with MySQL's line.
func TestMariaDBAdminStatus(t *testing.T) {
	admin := mariadbTool(t, "mariadb-admin")
	client := mariadbTool(t, "mariadb")
	n := startNode(t, "")
	for _, ssl := range []string{"--ssl", "--skip-ssl"} {
		out := runTool(t, nil, admin, "--no-defaults", "-h127.0.0.1", fmt.Sprintf("-P%d", n.port), "-uroot", ssl, "status")
		if !statusLine.MatchString(out) {
			t.Fatalf("mariadb-admin %s status printed %q", ssl, out)
		}
		t.Logf("mariadb-admin %s status: %s", ssl, strings.TrimSpace(out))
	}
	out := runTool(t, strings.NewReader("status\n"), client, "--no-defaults", "-h127.0.0.1", fmt.Sprintf("-P%d", n.port), "-uroot")
	for _, want := range []string{"Uptime:", "Threads: ", "Questions: "} {
		if !strings.Contains(out, want) {
			t.Fatalf("mariadb status lacks %q:\n%s", want, out)
		}
	}
}

// rawClient is a client written against the protocol with internal/wire, for the commands
// the drivers do not send.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	caps uint32
	salt []byte
}

const rawClientCaps = wire.ClientProtocol41 | wire.ClientSecureConnection | wire.ClientPluginAuth |
	0x1 /* LONG_PASSWORD */ | 0x4 /* LONG_FLAG */ | 0x2000 /* TRANSACTIONS */

// dialRaw logs in as user with mysql_native_password, over TLS if useTLS.
func dialRaw(t *testing.T, port int, user, pass string, useTLS bool) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &rawClient{t: t, conn: conn, caps: rawClientCaps}
	greeting, _, err := wire.ReadPacket(conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wire.ParseHandshake(greeting)
	if err != nil {
		t.Fatal(err)
	}
	c.salt = h.Scramble
	seq := byte(1)
	fixed := func(caps uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, caps)
		b = binary.LittleEndian.AppendUint32(b, 1<<24)
		b = append(b, 33)
		return append(b, make([]byte, 23)...)
	}
	if useTLS {
		if h.Capabilities&wire.ClientSSL == 0 {
			t.Fatal("the server does not offer TLS")
		}
		c.caps |= wire.ClientSSL
		if seq, err = wire.WritePacket(conn, seq, fixed(c.caps)); err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.conn = tc
	}
	resp := fixed(c.caps)
	resp = append(append(resp, user...), 0)
	auth := nativeAnswer(c.salt, pass)
	resp = append(resp, byte(len(auth)))
	resp = append(resp, auth...)
	resp = append(resp, "mysql_native_password\x00"...)
	if _, err := wire.WritePacket(c.conn, seq, resp); err != nil {
		t.Fatal(err)
	}
	if reply := c.authReply(pass); !wire.IsOK(reply) {
		t.Fatalf("login as %s: % x", user, reply)
	}
	return c
}

func nativeAnswer(salt []byte, pass string) []byte {
	if pass == "" {
		return nil
	}
	return mysql.ScrambleMysqlNativePassword(salt, []byte(pass))
}

// authReply reads the server's answer to an authentication packet, answering an auth switch
// to mysql_native_password.
func (c *rawClient) authReply(pass string) []byte {
	c.t.Helper()
	reply, seq, err := wire.ReadPacket(c.conn, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(reply) > 0 && reply[0] == 0xfe {
		i := bytes.IndexByte(reply[1:], 0)
		salt := bytes.TrimSuffix(reply[2+i:], []byte{0})
		if _, err := wire.WritePacket(c.conn, seq+1, nativeAnswer(salt, pass)); err != nil {
			c.t.Fatal(err)
		}
		if reply, _, err = wire.ReadPacket(c.conn, 0); err != nil {
			c.t.Fatal(err)
		}
	}
	return reply
}

// query runs a statement with COM_QUERY and returns its first row's first column ("NULL" for
// NULL), or "" for a statement without a result set.
func (c *rawClient) query(q string) string {
	c.t.Helper()
	if _, err := wire.WritePacket(c.conn, 0, append([]byte{0x03}, q...)); err != nil {
		c.t.Fatal(err)
	}
	first, _, err := wire.ReadPacket(c.conn, 0)
	if err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	if wire.IsErr(first) {
		code, _, msg, _ := wire.ParseErr(first)
		c.t.Fatalf("%s: error %d %s", q, code, msg)
	}
	if wire.IsOK(first) {
		return ""
	}
	value, eofs := "", 0
	for eofs < 2 { // column definitions, EOF, rows, EOF
		p, _, err := wire.ReadPacket(c.conn, 0)
		if err != nil {
			c.t.Fatal(err)
		}
		switch {
		case len(p) > 0 && p[0] == 0xfe && len(p) < 9:
			eofs++
		case eofs == 1 && value == "":
			if p[0] == 0xfb {
				value = "NULL"
			} else {
				value = string(p[1 : 1+int(p[0])])
			}
		}
	}
	return value
}

// changeUser sends COM_CHANGE_USER answering with mysql_native_password and returns the
// server's final answer.
func (c *rawClient) changeUser(user, pass, db string) []byte {
	c.t.Helper()
	cu := wire.ChangeUser{User: user, AuthResponse: nativeAnswer(c.salt, pass), Database: db, Charset: 33, AuthPlugin: "mysql_native_password"}
	if _, err := wire.WritePacket(c.conn, 0, cu.Encode(c.caps)); err != nil {
		c.t.Fatal(err)
	}
	return c.authReply(pass)
}

// changeUserSha2 sends COM_CHANGE_USER answering with caching_sha2_password, sends the
// password if the server asks for full authentication, and returns the final answer and
// whether full authentication was asked for.
func (c *rawClient) changeUserSha2(user, pass string) ([]byte, bool) {
	c.t.Helper()
	cu := wire.ChangeUser{User: user, AuthResponse: mysql.ScrambleCachingSha2Password(c.salt, []byte(pass)), Charset: 33, AuthPlugin: "caching_sha2_password"}
	if _, err := wire.WritePacket(c.conn, 0, cu.Encode(c.caps)); err != nil {
		c.t.Fatal(err)
	}
	full := false
	for {
		reply, seq, err := wire.ReadPacket(c.conn, 0)
		if err != nil {
			c.t.Fatal(err)
		}
		if len(reply) != 2 || reply[0] != 0x01 {
			return reply, full
		}
		if reply[1] == 0x04 { // perform full authentication: the password, over TLS
			full = true
			if _, err := wire.WritePacket(c.conn, seq+1, append([]byte(pass), 0)); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// TestChangeUser: COM_CHANGE_USER re-authenticates the connection as another account (in clear
// text and over TLS), with a fresh session in the database asked for; a wrong password gets
// error 1045 and the connection ends.
func TestChangeUser(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE DATABASE shop")
	mustExec(t, db, "CREATE USER bob IDENTIFIED WITH mysql_native_password BY 'bobpw'")
	mustExec(t, db, "GRANT ALL ON *.* TO bob")
	mustExec(t, db, "CREATE USER sha IDENTIFIED WITH caching_sha2_password BY 'shapw'")
	// TLS first: caching_sha2_password's cache is cold, so the password must be sent, which
	// only TLS allows; then in clear text the cache answers.
	for _, useTLS := range []bool{true, false} {
		c := dialRaw(t, n.port, "root", "", useTLS)
		c.query("SET @x = 42")
		if got := c.query("SELECT @x"); got != "42" {
			t.Fatalf("@x = %s", got)
		}
		if reply := c.changeUser("bob", "bobpw", "shop"); !wire.IsOK(reply) {
			code, _, msg, _ := wire.ParseErr(reply)
			t.Fatalf("tls=%v: change user to bob: %d %s", useTLS, code, msg)
		}
		if got := c.query("SELECT CURRENT_USER()"); got != "bob@%" {
			t.Fatalf("tls=%v: CURRENT_USER() = %q after COM_CHANGE_USER", useTLS, got)
		}
		if got := c.query("SELECT USER FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"); got != "bob" {
			t.Fatalf("tls=%v: the process list shows %q after COM_CHANGE_USER to bob", useTLS, got)
		}
		if got := c.query("SELECT DATABASE()"); got != "shop" {
			t.Fatalf("tls=%v: DATABASE() = %q", useTLS, got)
		}
		if got := c.query("SELECT @x"); got != "NULL" {
			t.Fatalf("tls=%v: user variable survived COM_CHANGE_USER: %q", useTLS, got)
		}
		reply, full := c.changeUserSha2("sha", "shapw")
		if !wire.IsOK(reply) || full != useTLS {
			t.Fatalf("tls=%v: change user to a caching_sha2_password account: % x (full authentication: %v)", useTLS, reply, full)
		}
		if got := c.query("SELECT CURRENT_USER()"); got != "sha@%" {
			t.Fatalf("tls=%v: CURRENT_USER() = %q after COM_CHANGE_USER to sha", useTLS, got)
		}
		reply = c.changeUser("root", "wrong", "")
		code, state, msg, err := wire.ParseErr(reply)
		if err != nil || code != mysql.ERAccessDeniedError || state != mysql.SSAccessDeniedError {
			t.Fatalf("tls=%v: wrong password: % x", useTLS, reply)
		}
		t.Logf("tls=%v: wrong password: %d (%s) %s", useTLS, code, state, msg)
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := wire.ReadPacket(c.conn, 0); err != io.EOF && !strings.Contains(fmt.Sprint(err), "reset") {
			t.Fatalf("tls=%v: the connection stayed open after a failed COM_CHANGE_USER: %v", useTLS, err)
		}
	}
}

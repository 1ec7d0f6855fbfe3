package server

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/wire"
)

// Commands vitess does not dispatch (it answers them "command handling not implemented yet")
// and the node answers itself, on the connection's own goroutine while vitess waits for the
// next command: limitConn takes them out of the stream (mayBeHeldCommand) and hands them here.
//
//   - COM_STATISTICS (mysqladmin status, the client's status command): MySQL's one-line text.
//   - COM_CHANGE_USER: authenticate as another account on the same connection against the
//     scramble of the connection's handshake; on success the session is replaced by a new one
//     for that account (as COM_RESET_CONNECTION replaces it: transaction rolled back, variables,
//     temporary tables, prepared statements and locks gone) in the database asked for; on
//     failure error 1045 and the connection ends, as in MySQL.

// connCommands answers the commands limitConn takes out of the stream. payload is the command
// packet's payload (sequence id 0); rest holds client bytes read after it, which an answer that
// reads more from the client consumes first.
type connCommands interface {
	answer(c *limitConn, payload []byte, rest *[]byte) error
}

// nodeCommands is the node's connCommands.
type nodeCommands struct {
	started time.Time
	db      *mysql_db.MySQLDb
	auth    *authServer // caching_sha2_password's cache and full check; may be nil
	// handler is the node's handler, set once GMS has built it.
	handler atomic.Pointer[nodeHandler]
}

func (n *nodeCommands) answer(c *limitConn, payload []byte, rest *[]byte) error {
	switch payload[0] {
	case wire.ComStatistics:
		return c.writePacket(1, []byte(n.statistics().Format()))
	case wire.ComChangeUser:
		return n.changeUser(c, payload, rest)
	}
	return fmt.Errorf("command %#x is not answered here", payload[0])
}

func (n *nodeCommands) statistics() wire.Statistics {
	st := wire.Statistics{Uptime: uint64(time.Since(n.started) / time.Second)}
	get := func(name string) uint64 {
		_, v, ok := sql.StatusVariables.GetGlobal(name)
		if !ok {
			return 0
		}
		switch x := v.(type) {
		case uint64:
			return x
		case int64:
			return uint64(max(x, 0))
		case int:
			return uint64(max(x, 0))
		case uint32:
			return uint64(x)
		case int32:
			return uint64(max(x, 0))
		}
		return 0
	}
	st.Threads = int(get("Threads_connected"))
	st.Questions = get("Questions")
	st.SlowQueries = get("Slow_queries")
	st.Opens = get("Opened_tables")
	st.OpenTables = get("Open_tables")
	return st
}

// changeUser runs COM_CHANGE_USER.
func (n *nodeCommands) changeUser(c *limitConn, payload []byte, rest *[]byte) error {
	mc := c.mc.Load()
	h := n.handler.Load()
	if mc == nil || h == nil {
		return c.writePacket(1, wire.Err(mysql.ERUnknownComError, mysql.SSUnknownComError, "COM_CHANGE_USER is not available on this connection"))
	}
	req, err := wire.DecodeChangeUser(payload, c.clientCaps)
	if err != nil {
		return c.writePacket(1, wire.Err(wire.ERMalformedPacket, mysql.SSUnknownSQLState, "Malformed communication packet."))
	}
	ok, seq, err := n.authenticate(c, mc, req, rest)
	if err != nil {
		return err
	}
	if !ok {
		c.hangUp.Store(true) // MySQL closes the connection after a failed COM_CHANGE_USER
		return c.writePacket(seq, wire.Err(mysql.ERAccessDeniedError, mysql.SSAccessDeniedError,
			"Access denied for user '%s'@'%s' (using password: %s)", req.User, clientHostOf(mc), usingPassword(len(req.AuthResponse) > 0)))
	}
	entry := n.account(req.User, mc)
	user := sql.MysqlConnectionUser{User: req.User, Host: clientHostOf(mc)}
	if entry != nil {
		user = sql.MysqlConnectionUser{User: entry.User, Host: entry.Host}
	}
	if err := h.changeUser(mc, req.User, user, req.Database); err != nil {
		return c.writePacket(seq, sqlErrorPayload(err))
	}
	return c.writePacket(seq, wire.OK(0, 0, mc.StatusFlags, 0))
}

// authenticate runs COM_CHANGE_USER's authentication exchange, which answers the scramble of
// the connection's handshake, or of an auth switch to the account's plugin when the client
// used another. It returns whether the client proved it may log in as req.User, and the
// sequence id of the server's final answer.
func (n *nodeCommands) authenticate(c *limitConn, mc *mysql.Conn, req wire.ChangeUser, rest *[]byte) (bool, byte, error) {
	native, sha2 := string(mysql.MysqlNativePassword), string(mysql.CachingSha2Password)
	seq := byte(1)
	salt := c.scramble()
	answer, plugin := req.AuthResponse, req.AuthPlugin
	if plugin == "" {
		plugin = native
	}
	read := func() ([]byte, error) {
		p, s, err := wire.ReadPacket(io.MultiReader(bytes.NewReader(*rest), c.source()), maxAuthPacket)
		*rest = nil
		seq = s + 1
		return p, err
	}
	entry := n.account(req.User, mc)
	if entry != nil && entry.Plugin != plugin && (entry.Plugin == native || entry.Plugin == sha2) {
		// The client answered with another plugin: ask again with the account's, as MySQL does.
		var err error
		if salt, err = mysql.NewSalt(); err != nil {
			return false, seq, err
		}
		if err := c.writePacket(seq, wire.AuthSwitchRequest(entry.Plugin, salt)); err != nil {
			return false, seq, err
		}
		if answer, err = read(); err != nil {
			return false, seq, err
		}
		plugin = entry.Plugin
	}
	if n.db == nil || !n.db.Enabled() {
		return true, seq, nil
	}
	if entry == nil || entry.Locked || !connectionSecurityOK(entry, mc) {
		return false, seq, nil
	}
	empty := len(answer) == 0 || (len(answer) == 1 && answer[0] == 0)
	switch {
	case plugin == native && entry.Plugin == native:
		return nativePasswordMatches(entry.AuthString, salt, answer), seq, nil
	case plugin == sha2 && entry.Plugin == sha2 && n.auth != nil:
		_, state, _ := n.auth.sha2Cache.UserEntryWithCacheHash(mc, salt, req.User, answer, mc.RemoteAddr())
		switch state {
		case mysql.AuthAccepted:
			if !empty { // fast authentication succeeded
				if err := c.writePacket(seq, []byte{mysql.AuthMoreDataPacket, mysql.CachingSha2FastAuth}); err != nil {
					return false, seq, err
				}
				seq++
			}
			return true, seq, nil
		case mysql.AuthNeedMoreData:
			if _, tls := connTLS(mc); !tls {
				return false, seq, nil // the password may travel only over TLS (no RSA exchange)
			}
			if err := c.writePacket(seq, []byte{mysql.AuthMoreDataPacket, mysql.CachingSha2FullAuth}); err != nil {
				return false, seq, err
			}
			seq++
			p, err := read()
			if err != nil {
				return false, seq, err
			}
			password := string(bytes.TrimRight(p, "\x00"))
			_, err = n.auth.sha2Full.UserEntryWithPassword(mc, req.User, password, mc.RemoteAddr())
			return err == nil, seq, nil
		}
		return false, seq, nil
	case entry.AuthString == "":
		return empty, seq, nil
	}
	return false, seq, nil
}

// account is the account user logs in as from mc's address; nil if there is none.
func (n *nodeCommands) account(user string, mc *mysql.Conn) *mysql_db.User {
	if n.db == nil || !n.db.Enabled() {
		return nil
	}
	rd := n.db.Reader()
	defer rd.Close()
	return n.db.GetUser(rd, user, clientHostOf(mc), false)
}

func clientHostOf(mc *mysql.Conn) string {
	h, err := clientHost(mc.RemoteAddr())
	if err != nil {
		return ""
	}
	return h
}

func usingPassword(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// sqlErrorPayload is the ERR payload for err, with its MySQL code if it has one.
func sqlErrorPayload(err error) []byte {
	se := mysql.NewSQLErrorFromError(err).(*mysql.SQLError)
	return wire.Err(uint16(se.Num), se.State, "%s", se.Message)
}

// writePacket writes one packet of a command's answer straight to the client.
func (c *limitConn) writePacket(seq byte, payload []byte) error {
	pkt, _ := wire.AppendPacket(nil, seq, payload)
	_, err := c.rawWrite(pkt)
	return err
}

// changeUser replaces the connection's session by a new one for user, as COM_CHANGE_USER
// does: what ConnectionClosed forgets of the old session is forgotten, its transaction ends
// with the session, and prepared statements go.
func (h *nodeHandler) changeUser(c *mysql.Conn, name string, user sql.MysqlConnectionUser, db string) error {
	// GMS's reset carries the current database over to the new session; COM_CHANGE_USER
	// names the new one itself (none if empty), which the new account may not be able to use.
	if err := h.Handler.ComInitDB(c, ""); err != nil {
		return err
	}
	forgetRand(c.ConnectionID)
	if h.readLock != nil {
		h.readLock.UnlockCommits(c.ConnectionID)
	}
	if h.binlogStmts != nil {
		h.binlogStmts.forget(c.ConnectionID)
	}
	if s := h.sessions.remove(c.ConnectionID); s != nil && h.observer != nil {
		h.observer.sessionClosed(s)
	}
	c.User, c.UserData = name, user
	c.PrepareData = map[uint32]*mysql.PrepareData{}
	if err := h.Handler.ComResetConnection(c); err != nil {
		return err
	}
	return h.Handler.ComInitDB(c, db)
}

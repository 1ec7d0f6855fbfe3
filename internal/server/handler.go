package server

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/sqltext"
)

// commandObserver may be implemented by a Storage that needs to see each
// session after every client command. Only the memory test adapter uses it.
type commandObserver interface {
	afterCommand(s sql.Session)
	sessionClosed(s sql.Session)
}

// sessionTable maps connection IDs to the sessions the node built for them.
type sessionTable struct {
	mu       sync.RWMutex // every command reads it (nodeHandler.after)
	sessions map[uint32]sql.Session
}

func (t *sessionTable) put(id uint32, s sql.Session) {
	t.mu.Lock()
	t.sessions[id] = s
	t.mu.Unlock()
}

func (t *sessionTable) get(id uint32) sql.Session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.sessions[id]
}

func (t *sessionTable) remove(id uint32) sql.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sessions[id]
	delete(t.sessions, id)
	return s
}

// nodeHandler wraps GMS's handler with what the node adds per command (the command
// observer, the statements answered before GMS, the fast path). max_allowed_packet is
// enforced below it, on the byte stream (limitConn), TLS connections included.
type nodeHandler struct {
	mysql.Handler
	sessions  *sessionTable
	conns     *connRegistry   // nil in tests that build a handler by hand
	observer  commandObserver // may be nil
	limit     func() int64
	retryable func(error) bool // may be nil
	admin     *binlogAdmin
	readLock  globalReadLocker // nil if the storage cannot hold commits still
	// binlogStmts keeps the BINLOG statement's per-connection state (nil in tests that
	// build a handler by hand).
	binlogStmts *binlogStatements
	// cluster is the node's cluster role (nil outside a cluster): the dump checks it.
	cluster *clusterRole
	fast    *fastPath // nil: every statement takes GMS's general path
	// provider is the catalog the texts of constraint errors are completed from (nil in
	// tests that build a handler by hand).
	provider sql.DatabaseProvider
}

func (h *nodeHandler) after(c *mysql.Conn) {
	s := h.sessions.get(c.ConnectionID)
	leaveEndedTransaction(s)
	forgetNextTransaction(context.Background(), s)
	forgetDuplicateKey(s)
	if h.observer != nil && s != nil {
		h.observer.afterCommand(s)
	}
}

func (h *nodeHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	callback = withMySQLFields(callback)
	query = sqltext.DropUnexecutedComments(query)
	query, err := rewriteSetNames(query)
	if err != nil {
		return err
	}
	if res, handled, err := h.nextTransaction(ctx, c, query); handled {
		// Not a command that uses the one-shot level: no h.after.
		if err != nil {
			return err
		}
		return callback(res, false)
	}
	defer h.after(c)
	res, handled, after, err := h.readLockStatement(ctx, c, query)
	if handled {
		if err != nil {
			return err
		}
		return callback(res, false)
	}
	if err := h.commitBeforeText(ctx, c, query); err != nil {
		return err
	}
	if h.admin != nil {
		if res, handled, err := h.admin.handle(ctx, c, query); handled {
			if err != nil {
				return err
			}
			return callback(res, false)
		}
	}
	if err := h.cluster.waitPromotion(ctx); err != nil {
		return err
	}
	query = rewriteSetPassword(c, query)
	_, err = h.runText(ctx, c, query, false, callback, func(callback mysql.ResultSpoolFn) error {
		return h.Handler.ComQuery(ctx, c, query, callback)
	})
	if err == nil && after != nil {
		err = after()
	}
	return h.clientError(c, query, mysqlError(syntaxError(err, query)))
}

func (h *nodeHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	callback = withMySQLFields(callback)
	query = sqltext.DropUnexecutedComments(query)
	query, err := rewriteSetNames(query)
	if err != nil {
		return "", err
	}
	first, rest := splitFirstStatement(query)
	if res, handled, err := h.nextTransaction(ctx, c, first); handled {
		if err != nil {
			return "", err
		}
		return rest, callback(res, rest != "")
	}
	defer h.after(c)
	res, handled, after, err := h.readLockStatement(ctx, c, first)
	if handled {
		if err != nil {
			return "", err
		}
		return rest, callback(res, rest != "")
	}
	if err := h.commitBeforeText(ctx, c, first); err != nil {
		return "", err
	}
	if h.admin != nil {
		if res, handled, err := h.admin.handle(ctx, c, first); handled {
			if err != nil {
				return "", err
			}
			return rest, callback(res, rest != "")
		}
	}
	if err := h.cluster.waitPromotion(ctx); err != nil {
		return "", err
	}
	query = rewriteSetPassword(c, query)
	var gmsRest string
	fast, err := h.runText(ctx, c, first, rest != "", callback, func(callback mysql.ResultSpoolFn) error {
		var err error
		gmsRest, err = h.Handler.ComMultiQuery(ctx, c, query, callback)
		return err
	})
	if !fast {
		rest = gmsRest // GMS split the text itself
	}
	if err == nil && after != nil {
		err = after()
	}
	if err != nil {
		// MySQL runs none of the statements after one that failed; vitess would run the rest
		// after sending the error, and the client would read their results as garbage.
		return "", h.clientError(c, first, mysqlError(syntaxError(err, query)))
	}
	return rest, nil
}

func (h *nodeHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	query = sqltext.DropUnexecutedComments(query)
	fields, err := h.Handler.ComPrepare(ctx, c, query, prepare)
	if err == nil && h.fast != nil {
		h.fast.prepared(c, h.sessions.get(c.ConnectionID), query, prepare)
	}
	return mysqlFields(fields), syntaxError(err, query)
}

func (h *nodeHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	send := callback
	spool := withMySQLFields(func(res *sqltypes.Result, _ bool) error { return send(res) })
	callback = func(res *sqltypes.Result) error { return spool(res, false) }
	defer h.after(c)
	if err := h.cluster.waitPromotion(ctx); err != nil {
		return err
	}
	var ps *preparedStatement
	var sess sql.Session
	if h.fast != nil {
		if ps = h.fast.statement(c, prepare); ps != nil {
			if sess = h.sessions.get(c.ConnectionID); sess == nil {
				ps = nil
			}
		}
	}
	err := h.retryStatement(ctx, c, func(sent *bool) error {
		if ps != nil {
			err := h.fast.execute(ctx, c, sess, ps, ps.query, prepare.BindVars, func(res *sqltypes.Result) error {
				*sent = true
				return callback(res)
			})
			if err != errNotFast {
				return err
			}
			fastPathFallbacks.Add(1)
		}
		keep := ps != nil && ps.fields == nil
		return h.Handler.ComStmtExecute(ctx, c, prepare, func(res *sqltypes.Result) error {
			if keep && res.Fields != nil {
				ps.keepFields(ctx, sess, res.Fields)
				keep = false
			}
			*sent = true
			return callback(res)
		})
	})
	return h.clientError(c, prepare.PrepareStmt, err)
}

// NewConnection lets the connection's limitConn know vitess's connection over it: the commands
// it answers itself (conncmd.go) work on its session.
func (h *nodeHandler) NewConnection(c *mysql.Conn) {
	if lc := underlyingLimitConn(c.Conn); lc != nil {
		lc.mc.Store(c)
	}
	if h.conns != nil {
		h.conns.add(c.ConnectionID, c.RemoteAddr().String())
	}
	h.Handler.NewConnection(c)
}

func (h *nodeHandler) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	if h.conns != nil {
		h.conns.remove(c.ConnectionID)
	}
	forgetRand(c.ConnectionID)
	if h.readLock != nil {
		h.readLock.UnlockCommits(c.ConnectionID)
	}
	if h.binlogStmts != nil {
		h.binlogStmts.forget(c.ConnectionID)
	}
	if h.admin != nil && h.admin.replicas != nil {
		h.admin.replicas.remove(c.ConnectionID)
	}
	if s := h.sessions.remove(c.ConnectionID); s != nil && h.observer != nil {
		h.observer.sessionClosed(s)
	}
}

// gmsErrors are GMS errors that reach clients as error 1105 where MySQL has its own code: a
// savepoint the transaction lacks (1305, which clients such as mariadb-dump report when a
// transaction ended under them), and a value a system variable refuses (1231).
var gmsErrors = []struct {
	re    *regexp.Regexp
	code  int
	state string
}{
	{regexp.MustCompile(`^SAVEPOINT .* does not exist$`), mysql.ERSPDoesNotExist, mysql.SSClientError},
	{regexp.MustCompile(`^Variable '.*' can't be set to the value of '.*'$`), mysql.ERWrongValueForVar, mysql.SSClientError},
}

// gmsStates are SQLSTATEs GMS gets wrong for a code it gets right.
var gmsStates = map[int]string{
	1792: "25006", // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
}

// mysqlError gives the errors in gmsErrors MySQL's code and SQLSTATE, keeping the message (the
// same as MySQL's), and the codes in gmsStates MySQL's SQLSTATE.
func mysqlError(err error) error {
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	if state, ok := gmsStates[se.Num]; ok && se.State != state {
		return mysql.NewSQLError(se.Num, state, "%s", se.Message)
	}
	if se.Num != mysql.ERUnknownError {
		return err
	}
	for _, e := range gmsErrors {
		if e.re.MatchString(se.Message) {
			return mysql.NewSQLError(e.code, e.state, "%s", se.Message)
		}
	}
	return err
}

// vitessSyntax matches the parser's error text as GMS passes it on.
var vitessSyntax = regexp.MustCompile(`^syntax error at position (\d+)(?: near '(.*)')?$`)

// syntaxError turns GMS's report of a parse failure (error 1105 with the
// parser's "syntax error at position N near 'tok'") into MySQL's error 1064,
// SQLSTATE 42000, with MySQL's message quoting the statement from the
// offending token on, at most 80 bytes of it, and the line it is on.
func syntaxError(err error, query string) error {
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) || se.Num != mysql.ERUnknownError {
		return err
	}
	m := vitessSyntax.FindStringSubmatch(se.Message)
	if m == nil {
		return err
	}
	pos, _ := strconv.Atoi(m[1])
	pos = min(max(pos, 0), len(query))
	start := pos
	if tok := m[2]; tok != "" {
		if i := strings.LastIndex(query[:pos], tok); i >= 0 {
			start = i
		}
	}
	near := query[start:]
	if len(near) > 80 {
		near = near[:80]
	}
	line := 1 + strings.Count(query[:start], "\n")
	return mysql.NewSQLError(mysql.ERParseError, mysql.SSClientError,
		"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line %d",
		near, line)
}

// setPassword matches MySQL's SET PASSWORD [FOR account] = 'auth_string',
// which the dolthub/vitess parser does not know, as a whole statement.
var setPassword = regexp.MustCompile(`(?is)^\s*SET\s+PASSWORD\s*(?:FOR\s+(.+?))?\s*=\s*('(?:[^'\\]|\\.|'')*')\s*;?\s*$`)

// rewriteSetPassword turns SET PASSWORD into the equivalent ALTER USER, which
// GMS executes and persists. Without FOR, the account is the connection's
// own. Anything else is returned unchanged.
func rewriteSetPassword(c *mysql.Conn, query string) string {
	if len(query) < 12 || !strings.EqualFold(strings.TrimSpace(query)[:min(3, len(strings.TrimSpace(query)))], "set") {
		return query
	}
	m := setPassword.FindStringSubmatch(query)
	if m == nil {
		return query
	}
	account := strings.TrimSpace(m[1])
	if account == "" {
		u, ok := c.UserData.(sql.MysqlConnectionUser)
		if !ok {
			return query
		}
		account = quoteString(u.User) + "@" + quoteString(u.Host)
	}
	return "ALTER USER " + account + " IDENTIFIED BY " + m[2]
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// splitFirstStatement splits a multi-statement query after its first statement: at the first
// semicolon outside quotes, backquotes and comments. rest is "" when there is one statement.
func splitFirstStatement(q string) (first, rest string) {
	var quote byte
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			if ch == '\\' && quote != '`' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"' || ch == '`':
			quote = ch
		case ch == '/' && i+1 < len(q) && q[i+1] == '*':
			if end := strings.Index(q[i+2:], "*/"); end >= 0 {
				i += end + 3
			} else {
				i = len(q)
			}
		case ch == '-' && i+2 < len(q) && q[i+1] == '-' && (q[i+2] == ' ' || q[i+2] == '\t'), ch == '#':
			if end := strings.IndexByte(q[i:], '\n'); end >= 0 {
				i += end
			} else {
				i = len(q)
			}
		case ch == ';':
			rest = strings.TrimSpace(q[i+1:])
			return q[:i], rest
		}
	}
	return q, ""
}

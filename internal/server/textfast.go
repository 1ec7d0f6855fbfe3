package server

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/fastpath"
	"github.com/relaydb/relaydb/internal/sqldigest"
)

// The text-protocol fast path. A text statement (COM_QUERY) is recognized by its digest — its
// text with number and string literals replaced by '?' (package sqldigest) — and a digest seen
// before runs as a prepared statement would: its template (the digest with :v1, :v2, … for the
// literals) is classified once, and each text with that digest runs the template's plan with
// its own literals bound. Everything else about the statement is the prepared fast path's
// (fastPath.execute): the same plans, fallbacks, counters and session handling.
//
// Learning a digest, on its second sighting by the server (a one-off statement costs a lexer
// pass, not two parses): the text and the template are parsed under the session's sql_mode, and
// sqldigest.Matches must find the text's literals where the template has its bind variables,
// with the values the lexer read. Only then is the template classified. What was learned is
// kept per sql_mode (ANSI_QUOTES, PIPES_AS_CONCAT and others change what a text means) in the
// server-wide digestCache, so short connections profit too; each connection keeps its own
// plan state per digest (textEntry), as it does per prepared statement.
//
// Result metadata for a SELECT is, as for prepared statements, what the general path sent for
// the digest's first execution after it was learned — on any connection, for the same database,
// catalog version and character_set_results (learnedDigest.fields).

// maxTextDigests bounds a connection's digests; past it they are all forgotten (a connection
// sending thousands of distinct statement shapes gains nothing from them).
const maxTextDigests = 1024

// maxFastText is the longest text considered: long texts are bulk loads and rarely repeat.
const maxFastText = 16 << 10

// textEntry is a connection's state for one digest.
type textEntry struct {
	sqlMode string
	ps      *preparedStatement // nil: the digest has no fast shape
}

// maxLearnedDigests bounds the server's learned digests; past it they are all forgotten.
const maxLearnedDigests = 16384

// digestCache is what the server learned about digests, by sql_mode and digest.
type digestCache struct {
	mu sync.RWMutex
	m  map[string]*learnedDigest
}

// learnedDigest: seen once (learned false), or learned, with the shape of its template (nil: the
// digest has no fast shape or could not be validated). Immutable once learned.
type learnedDigest struct {
	learned bool
	shape   *fastpath.Shape
	fields  atomic.Pointer[digestFields] // the result metadata of a SELECT, once known
}

// digestFields is the result metadata the general path sent for a digest's SELECT, and what it
// depends on besides the digest: the database the table was resolved in, the catalog version
// and character_set_results.
type digestFields struct {
	db      string
	version uint64
	charset sql.CharacterSetID
	fields  []*querypb.Field
}

// fillFields gives ps the digest's result metadata if it was taken for ps's current plan.
func (ld *learnedDigest) fillFields(ps *preparedStatement, charset sql.CharacterSetID) {
	df := ld.fields.Load()
	if df == nil || df.db != ps.planDB || df.version != ps.version || df.charset != charset || ps.plan == nil {
		return
	}
	ps.fields, ps.fieldsCharset = df.fields, df.charset
}

func digestKey(sqlMode string, digest []byte) string {
	return sqlMode + "\x00" + string(digest)
}

// lookup returns what is known about the digest; on a first sighting it records the sighting
// and returns nil.
func (dc *digestCache) lookup(key string) *learnedDigest {
	dc.mu.RLock()
	ld := dc.m[key]
	dc.mu.RUnlock()
	if ld != nil {
		return ld
	}
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if ld = dc.m[key]; ld != nil {
		return ld
	}
	if dc.m == nil || len(dc.m) >= maxLearnedDigests {
		dc.m = make(map[string]*learnedDigest)
	}
	dc.m[key] = &learnedDigest{}
	return nil
}

func (dc *digestCache) store(key string, ld *learnedDigest) {
	dc.mu.Lock()
	if dc.m != nil {
		dc.m[key] = ld
	}
	dc.mu.Unlock()
}

// textStatements is a connection's digest cache and the buffers reused for every text
// statement (only the connection's goroutine uses them).
type textStatements struct {
	byDigest map[string]*textEntry
	scratch  sqldigest.Scratch
	binds    map[string]*querypb.BindVariable
	vars     []querypb.BindVariable
	// The session's sql_mode as last seen, and read.
	modeText string
	mode     *sql.SqlMode
}

// bindNames are the template's bind variable names: v1, v2, …
var bindNames = func() []string {
	n := make([]string, 4096)
	for i := range n {
		n[i] = "v" + strconv.Itoa(i+1)
	}
	return n
}()

// text runs a text statement on the fast path. It returns errNotFast, with the session
// untouched, when the statement must take the general path; declined is then the digest's
// state if the digest has a fast shape and the fast path declined this execution (a fallback;
// the general path's result metadata is kept for it, see keepFields).
func (f *fastPath) text(ctx context.Context, c *mysql.Conn, sess sql.Session, query string, callback func(*sqltypes.Result) error) (declined *preparedStatement, err error) {
	if sess == nil || len(query) > maxFastText {
		return nil, errNotFast
	}
	sqlCtx := sql.NewContext(ctx, sql.WithSession(sess))
	if !fastPathOn(sqlCtx) {
		return nil, errNotFast
	}
	cs := statementsOf(c)
	ts := &cs.text
	v, err := sess.GetSessionVariable(sqlCtx, sql.SqlModeSessionVar)
	if err != nil {
		return nil, errNotFast
	}
	modeText, _ := v.(string)
	if modeText != ts.modeText || ts.mode == nil {
		ts.modeText, ts.mode = modeText, sql.NewSqlModeFromString(modeText)
	}
	mode := ts.mode
	if mode.ModeEnabled("NO_BACKSLASH_ESCAPES") {
		return nil, errNotFast // the lexer reads backslashes as escapes, as the parser does today
	}
	digest, lits, ok := ts.scratch.Normalize(query, sqldigest.Options{AnsiQuotes: mode.AnsiQuotes()})
	if !ok || len(lits) > len(bindNames) {
		return nil, errNotFast
	}
	e := ts.byDigest[string(digest)]
	if e == nil || e.sqlMode != modeText {
		key := digestKey(modeText, digest)
		ld := f.digests.lookup(key)
		if ld == nil {
			return nil, errNotFast // the server's first sighting
		}
		if !ld.learned {
			ld = &learnedDigest{learned: true, shape: learnDigest(sqlCtx, mode, query, digest, lits)}
			f.digests.store(key, ld)
		}
		if ts.byDigest == nil || len(ts.byDigest) >= maxTextDigests {
			ts.byDigest = make(map[string]*textEntry)
		}
		e = &textEntry{sqlMode: modeText}
		if ld.shape != nil {
			e.ps = &preparedStatement{shape: ld.shape, shared: ld}
		}
		ts.byDigest[string(digest)] = e
	}
	if e.ps == nil {
		return nil, errNotFast
	}
	binds, ok := ts.bind(lits, sqlCtx)
	if !ok {
		return nil, errNotFast
	}
	err = f.execute(ctx, c, sess, e.ps, query, binds, callback)
	if err == errNotFast {
		return e.ps, err
	}
	return nil, err
}

// runText runs a text statement: on the fast path if it can (fast is then true), else through
// send (GMS's handler), keeping the result metadata the fast path needs for the statement's
// digest. more is the "more results" flag of the fast path's result.
func (h *nodeHandler) runText(ctx context.Context, c *mysql.Conn, query string, more bool, callback mysql.ResultSpoolFn, send func(callback mysql.ResultSpoolFn) error) (fast bool, err error) {
	var declined *preparedStatement
	var sess sql.Session
	if h.fast != nil {
		sess = h.sessions.get(c.ConnectionID)
	}
	err = h.retryStatement(ctx, c, func(sent *bool) error {
		if sess != nil {
			var err error
			declined, err = h.fast.text(ctx, c, sess, query, func(res *sqltypes.Result) error {
				*sent = true
				return callback(res, more)
			})
			if err != errNotFast {
				fast = true
				return err
			}
			fast = false
			if declined != nil {
				fastPathFallbacks.Add(1)
			}
		}
		keep := declined != nil && declined.fields == nil
		return send(func(res *sqltypes.Result, more bool) error {
			if keep && res.Fields != nil {
				declined.keepFields(ctx, sess, res.Fields)
				keep = false
			}
			*sent = true
			return callback(res, more)
		})
	})
	return fast, err
}

// learnDigest validates a digest against a parse of the text and returns its template's shape,
// or nil if the digest has no fast shape or cannot be trusted.
func learnDigest(ctx *sql.Context, mode *sql.SqlMode, query string, digest []byte, lits []sqldigest.Literal) *fastpath.Shape {
	opts := mode.ParserOptions()
	parsed, err := ast.ParseWithOptions(ctx, query, opts)
	if err != nil {
		return nil
	}
	template, err := ast.ParseWithOptions(ctx, sqldigest.Template(digest), opts)
	if err != nil {
		return nil
	}
	sh := fastpath.Classify(template)
	if sh == nil || !sqldigest.Matches(parsed, template, lits) {
		return nil
	}
	return sh
}

// bind turns the literals into the template's bind variables, typed as the parser types the
// literals: an integer as BIGINT, or BIGINT UNSIGNED, or DECIMAL when it is too large for
// either; a number with a fraction as DECIMAL, with an exponent as DOUBLE; a string as a
// string of the connection's character set. ok is false when a string would need a character
// set the fast path does not convert from.
func (ts *textStatements) bind(lits []sqldigest.Literal, ctx *sql.Context) (map[string]*querypb.BindVariable, bool) {
	if ts.binds == nil {
		ts.binds = make(map[string]*querypb.BindVariable)
	}
	clear(ts.binds)
	if cap(ts.vars) < len(lits) {
		ts.vars = make([]querypb.BindVariable, len(lits))
	}
	vars := ts.vars[:len(lits)]
	checkedCharset := false
	for i, l := range lits {
		bv := &vars[i]
		bv.Value = l.Value
		switch l.Kind {
		case sqldigest.Int:
			bv.Type = intType(l.Value)
		case sqldigest.Decimal:
			bv.Type = sqltypes.Decimal
		case sqldigest.Float:
			bv.Type = sqltypes.Float64
		case sqldigest.String:
			if !checkedCharset {
				if !utf8Connection(ctx) {
					return nil, false
				}
				checkedCharset = true
			}
			bv.Type = sqltypes.VarChar
		}
		ts.binds[bindNames[i]] = bv
	}
	return ts.binds, true
}

// intType is the type the parser gives an integer literal.
func intType(digits []byte) querypb.Type {
	if len(digits) < 19 {
		return sqltypes.Int64
	}
	if _, err := strconv.ParseInt(string(digits), 10, 64); err == nil {
		return sqltypes.Int64
	}
	if _, err := strconv.ParseUint(string(digits), 10, 64); err == nil {
		return sqltypes.Uint64
	}
	return sqltypes.Decimal
}

// utf8Connection reports whether the session's string literals are UTF-8 (character_set_client
// and character_set_connection utf8mb4 or utf8mb3): the fast path stores a bound string's bytes
// as they are, which is right only then.
func utf8Connection(ctx *sql.Context) bool {
	for _, name := range []string{"character_set_client", "character_set_connection"} {
		v, err := ctx.GetSessionVariable(ctx, name)
		if err != nil {
			return false
		}
		s, _ := v.(string)
		switch strings.ToLower(s) {
		case "utf8mb4", "utf8mb3", "utf8":
		default:
			return false
		}
	}
	return true
}

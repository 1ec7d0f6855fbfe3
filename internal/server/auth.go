package server

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
)

// authServer is the node's mysql.AuthServer. It serves GMS's
// mysql_native_password and clear-text methods unchanged and replaces GMS's
// caching_sha2_password method, which refuses every connection that is not
// TLS or a Unix socket and keeps no cache, with one that:
//
//   - accepts the connection over plain TCP when the password can be checked
//     from the fast-auth cache (MySQL's behaviour after a first full login);
//   - performs full authentication (clear-text password) only over TLS, where
//     a successful login fills the cache;
//   - drops a cache entry as soon as the account's stored authentication
//     string changes (ALTER USER, SET PASSWORD, DROP USER), like MySQL's
//     cache flush on password change.
//
// Full authentication over plain TCP with RSA key exchange is not offered:
// vitess gives an AuthMethod no way to send the extra packets it needs.
type authServer struct {
	db      *mysql_db.MySQLDb
	methods []mysql.AuthMethod
	// The caching_sha2_password cache and full check, which COM_CHANGE_USER uses too.
	sha2Cache *sha2Cache
	sha2Full  *sha2FullAuth
}

func newAuthServer(db *mysql_db.MySQLDb) *authServer {
	cache := &sha2Cache{db: db, entries: map[string]sha2CacheEntry{}}
	full := &sha2FullAuth{cache: cache}
	validator := &pluginValidator{db: db, plugin: string(mysql.CachingSha2Password)}
	sha2 := &cachingSha2Method{
		AuthMethod: mysql.NewSha2CachingAuthMethod(cache, full, validator),
		validator:  validator,
	}
	native := mysql.NewMysqlNativeAuthMethod(&nativeStorage{db: db}, &pluginValidator{db: db, plugin: string(mysql.MysqlNativePassword)})
	var methods []mysql.AuthMethod
	for _, m := range db.AuthMethods() {
		switch m.Name() {
		case mysql.CachingSha2Password:
			m = sha2
		case mysql.MysqlNativePassword:
			m = native
		}
		methods = append(methods, tlsMarking{m})
	}
	return &authServer{db: db, methods: methods, sha2Cache: cache, sha2Full: full}
}

// tlsMarking tells vitess about the TLS session the connection (limitConn) terminated itself
// before any method looks at it: vitess only knows of TLS it negotiated, and requires it before
// caching_sha2_password asks for a clear-text password.
type tlsMarking struct{ mysql.AuthMethod }

func (m tlsMarking) HandleUser(conn *mysql.Conn, user string) bool {
	if _, ok := connTLS(conn); ok {
		conn.Capabilities |= mysql.CapabilityClientSSL
	}
	return m.AuthMethod.HandleUser(conn, user)
}

// connTLS returns the state of the connection's TLS session; false for clear text.
func connTLS(conn *mysql.Conn) (tls.ConnectionState, bool) {
	if lc := underlyingLimitConn(conn.Conn); lc != nil {
		return lc.TLSConnectionState()
	}
	if tc, ok := conn.Conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// nativeStorage checks mysql_native_password logins. It is GMS's check, with the account's
// REQUIRE clause applied by connectionSecurityOK, which sees the TLS session limitConn holds
// (GMS looks for vitess's own TLS connection, which there is none of).
type nativeStorage struct{ db *mysql_db.MySQLDb }

func (s *nativeStorage) UserEntryWithHash(conn *mysql.Conn, salt []byte, user string, authResponse []byte, remoteAddr net.Addr) (mysql.Getter, error) {
	host, err := clientHost(remoteAddr)
	if err != nil {
		return nil, err
	}
	if !s.db.Enabled() {
		return sql.MysqlConnectionUser{User: user, Host: host}, nil
	}
	rd := s.db.Reader()
	entry := s.db.GetUser(rd, user, host, false)
	rd.Close()
	if entry == nil || entry.Locked || !connectionSecurityOK(entry, conn) || !nativePasswordMatches(entry.AuthString, salt, authResponse) {
		return nil, accessDenied(user)
	}
	return connectionUser(entry), nil
}

// nativePasswordMatches checks a mysql_native_password answer to salt against the stored
// "*HEX(SHA1(SHA1(password)))"; an account without a password takes an empty answer only.
func nativePasswordMatches(authString string, salt, authResponse []byte) bool {
	if authString == "" {
		return len(authResponse) == 0
	}
	hash2, err := hex.DecodeString(strings.TrimPrefix(authString, "*"))
	if err != nil || len(hash2) != sha1.Size || len(authResponse) != sha1.Size {
		return false
	}
	// answer = SHA1(password) XOR SHA1(salt + hash2); SHA1 of the recovered SHA1(password) must be hash2.
	h := sha1.New()
	h.Write(salt)
	h.Write(hash2)
	stage1 := h.Sum(nil)
	for i := range stage1 {
		stage1[i] ^= authResponse[i]
	}
	got := sha1.Sum(stage1)
	return subtle.ConstantTimeCompare(got[:], hash2) == 1
}

func (a *authServer) AuthMethods() []mysql.AuthMethod { return a.methods }

func (a *authServer) DefaultAuthMethodDescription() mysql.AuthMethodDescription {
	return a.db.DefaultAuthMethodDescription()
}

// cachingSha2Method is vitess's caching_sha2_password method with the TLS
// requirement lifted from user selection; vitess itself still requires TLS
// before it asks for a clear-text password.
type cachingSha2Method struct {
	mysql.AuthMethod
	validator mysql.UserValidator
}

func (m *cachingSha2Method) HandleUser(conn *mysql.Conn, user string) bool {
	return m.validator.HandleUser(user, conn.RemoteAddr())
}

// pluginValidator accepts a user whose account uses plugin.
type pluginValidator struct {
	db     *mysql_db.MySQLDb
	plugin string
}

func (v *pluginValidator) HandleUser(user string, remoteAddr net.Addr) bool {
	if !v.db.Enabled() {
		return true
	}
	host, err := clientHost(remoteAddr)
	if err != nil {
		return false
	}
	rd := v.db.Reader()
	defer rd.Close()
	entry := v.db.GetUser(rd, user, host, false)
	return entry != nil && entry.Plugin == v.plugin
}

type sha2CacheEntry struct {
	authString string   // the account's stored authentication string when cached
	hash2      [32]byte // SHA256(SHA256(password))
}

// sha2Cache is the caching_sha2_password fast-auth cache, keyed by account
// (user@host-pattern). It lives in memory only, as in MySQL.
type sha2Cache struct {
	db      *mysql_db.MySQLDb
	mu      sync.Mutex
	entries map[string]sha2CacheEntry
}

func accountKey(u *mysql_db.User) string { return u.User + "@" + u.Host }

// lookup finds the account for user connecting from remoteAddr.
func (c *sha2Cache) lookup(user string, remoteAddr net.Addr) (*mysql_db.User, string, error) {
	host, err := clientHost(remoteAddr)
	if err != nil {
		return nil, "", err
	}
	rd := c.db.Reader()
	defer rd.Close()
	return c.db.GetUser(rd, user, host, false), host, nil
}

// UserEntryWithCacheHash implements mysql.CachingStorage.
func (c *sha2Cache) UserEntryWithCacheHash(conn *mysql.Conn, salt []byte, user string, authResponse []byte, remoteAddr net.Addr) (mysql.Getter, mysql.CacheState, error) {
	entry, _, err := c.lookup(user, remoteAddr)
	if err != nil {
		return nil, mysql.AuthRejected, err
	}
	if entry == nil || entry.Locked || !connectionSecurityOK(entry, conn) {
		return nil, mysql.AuthRejected, accessDenied(user)
	}
	empty := len(authResponse) == 0 || (len(authResponse) == 1 && authResponse[0] == 0)
	if empty {
		if entry.AuthString == "" {
			return connectionUser(entry), mysql.AuthAccepted, nil
		}
		return nil, mysql.AuthRejected, accessDenied(user)
	}
	if entry.AuthString == "" {
		// The client sent a password for an account that has none.
		return nil, mysql.AuthRejected, accessDenied(user)
	}
	c.mu.Lock()
	cached, ok := c.entries[accountKey(entry)]
	if ok && cached.authString != entry.AuthString {
		delete(c.entries, accountKey(entry))
		ok = false
	}
	c.mu.Unlock()
	if ok && len(authResponse) == sha256.Size && mysql.VerifyHashedCachingSha2Password(authResponse, salt, cached.hash2[:]) {
		return connectionUser(entry), mysql.AuthAccepted, nil
	}
	return nil, mysql.AuthNeedMoreData, nil
}

// remember caches a password that has just passed full authentication.
func (c *sha2Cache) remember(entry *mysql_db.User, password string) {
	h1 := sha256.Sum256([]byte(password))
	h2 := sha256.Sum256(h1[:])
	c.mu.Lock()
	c.entries[accountKey(entry)] = sha2CacheEntry{authString: entry.AuthString, hash2: h2}
	c.mu.Unlock()
}

// sha2FullAuth checks a clear-text password (sent over TLS) against the
// account's caching_sha2_password authentication string.
type sha2FullAuth struct {
	cache *sha2Cache
}

func (s *sha2FullAuth) UserEntryWithPassword(conn *mysql.Conn, user string, password string, remoteAddr net.Addr) (mysql.Getter, error) {
	entry, _, err := s.cache.lookup(user, remoteAddr)
	if err != nil {
		return nil, err
	}
	if entry == nil || entry.Locked || !connectionSecurityOK(entry, conn) {
		return nil, accessDenied(user)
	}
	if entry.AuthString == "" {
		if password != "" {
			return nil, accessDenied(user)
		}
		return connectionUser(entry), nil
	}
	digestType, iterations, salt, _, err := mysql.DeserializeCachingSha2PasswordAuthString([]byte(entry.AuthString))
	if err != nil || digestType != "SHA256" {
		return nil, accessDenied(user)
	}
	computed, err := mysql.SerializeCachingSha2PasswordAuthString(password, salt, iterations)
	if err != nil {
		return nil, accessDenied(user)
	}
	if subtle.ConstantTimeCompare(computed, []byte(entry.AuthString)) != 1 {
		return nil, accessDenied(user)
	}
	s.cache.remember(entry, password)
	return connectionUser(entry), nil
}

// connectionSecurityOK applies the account's REQUIRE clause as far as this
// node supports it: REQUIRE SSL needs TLS; X509/ISSUER/SUBJECT/CIPHER
// requirements need TLS and are otherwise not checked here, so they are
// refused unless a TLS client certificate is present.
func connectionSecurityOK(u *mysql_db.User, conn *mysql.Conn) bool {
	switch u.SslType {
	case "":
		return true
	case "ANY":
		_, ok := connTLS(conn)
		return ok
	default:
		st, ok := connTLS(conn)
		return ok && len(st.PeerCertificates) > 0
	}
}

func connectionUser(u *mysql_db.User) mysql.Getter {
	return sql.MysqlConnectionUser{User: u.User, Host: u.Host}
}

func accessDenied(user string) error {
	return mysql.NewSQLError(mysql.ERAccessDeniedError, mysql.SSAccessDeniedError, "Access denied for user '%v'", user)
}

// clientHost is the host part of a client address as mysql_db expects it:
// "localhost" for a Unix socket.
func clientHost(addr net.Addr) (string, error) {
	if addr == nil || addr.Network() == "unix" {
		return "localhost", nil
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", err
	}
	return host, nil
}

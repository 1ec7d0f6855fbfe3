package replica

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// authority is a test CA (possibly an intermediate one) that writes PEM files into dir.
type authority struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

var serials int64 = 100

func newAuthority(t *testing.T, dir, name string, parent *authority) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serials++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &authority{t: t, dir: dir, cert: cert, key: key, der: der}
}

func (a *authority) write(name string, blocks ...*pem.Block) string {
	a.t.Helper()
	var b []byte
	for _, bl := range blocks {
		b = append(b, pem.EncodeToMemory(bl)...)
	}
	path := filepath.Join(a.dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		a.t.Fatal(err)
	}
	return path
}

func (a *authority) certBlock() *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: a.der} }

// leaf issues a certificate for dnsName (server or client use) and returns it as a
// tls.Certificate and as one PEM file holding certificate and key.
func (a *authority) leaf(name, dnsName string, server bool, chain ...*authority) (tls.Certificate, string) {
	a.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		a.t.Fatal(err)
	}
	usage := x509.ExtKeyUsageClientAuth
	if server {
		usage = x509.ExtKeyUsageServerAuth
	}
	serials++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{dnsName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	blocks := []*pem.Block{{Type: "CERTIFICATE", Bytes: der}}
	for _, c := range chain {
		blocks = append(blocks, c.certBlock())
	}
	file := a.write(name+".pem", append(blocks, &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	pair, err := tls.LoadX509KeyPair(file, file)
	if err != nil {
		a.t.Fatal(err)
	}
	return pair, file
}

// crl writes a revocation list of a, valid until next, revoking serials.
func (a *authority) crl(name string, next time.Time, serials ...*big.Int) string {
	a.t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-2 * time.Hour), NextUpdate: next, RevokedCertificateEntries: entries,
	}, a.cert, a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.write(name, &pem.Block{Type: "X509 CRL", Bytes: der})
}

// handshake runs a TLS handshake over loopback between a server presenting srv (and asking
// for a client certificate signed by clientCA, if set) and a client configured by t for host.
func handshake(t *testing.T, srv tls.Certificate, clientCA *authority, cfg TLS, host, dir string) (tls.ConnectionState, error) {
	t.Helper()
	ccfg, err := clientTLSConfig(cfg, host, dir)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	scfg := &tls.Config{Certificates: []tls.Certificate{srv}}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.cert)
		scfg.ClientCAs, scfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serverErr <- tls.Server(c, scfg).Handshake()
	}()
	raw, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(raw, ccfg)
	err = c.Handshake()
	if err == nil {
		// The server's verdict on the client certificate arrives after the client's handshake.
		err = <-serverErr
	}
	return c.ConnectionState(), err
}

func TestClientTLSConfig(t *testing.T) {
	dir := t.TempDir()
	root := newAuthority(t, dir, "root", nil)
	other := newAuthority(t, dir, "other", nil)
	inter := newAuthority(t, dir, "intermediate", root)
	rootFile := root.write("root.pem", root.certBlock())
	otherFile := other.write("other.pem", other.certBlock())
	srv, _ := root.leaf("source", "db.example", true)
	interSrv, _ := inter.leaf("source2", "db.example", true, inter)
	_, clientFile := root.leaf("replica", "replica", false)

	capath := filepath.Join(dir, "capath")
	os.Mkdir(capath, 0o700)
	other.write("capath/a.pem", other.certBlock())
	root.write("capath/b.0", root.certBlock())
	root.crl("capath/b.r0", time.Now().Add(time.Hour)) // a CRL in a CA directory is skipped

	revoked := root.crl("revoked.crl", time.Now().Add(time.Hour), srv.Leaf.SerialNumber)
	current := root.crl("current.crl", time.Now().Add(time.Hour))
	expired := root.crl("expired.crl", time.Now().Add(-time.Minute))
	interCRL := inter.crl("inter.crl", time.Now().Add(time.Hour))
	crlDir := filepath.Join(dir, "crls")
	os.Mkdir(crlDir, 0o700)
	root.crl("crls/root.r0", time.Now().Add(time.Hour))
	inter.crl("crls/inter.r0", time.Now().Add(time.Hour))

	on := TLS{Enabled: true}
	with := func(f func(*TLS)) TLS { c := on; f(&c); return c }
	for _, tc := range []struct {
		name    string
		srv     tls.Certificate
		cfg     TLS
		host    string
		wantErr string
	}{
		{"no CA: the certificate is not checked", srv, on, "127.0.0.1", ""},
		{"right CA", srv, with(func(c *TLS) { c.CA = rootFile }), "127.0.0.1", ""},
		{"wrong CA", srv, with(func(c *TLS) { c.CA = otherFile }), "127.0.0.1", "unknown authority"},
		{"CA path", srv, with(func(c *TLS) { c.CAPath = capath }), "127.0.0.1", ""},
		{"relative CA path from the datadir", srv, with(func(c *TLS) { c.CA = "root.pem" }), "127.0.0.1", ""},
		{"CA without the host check", srv, with(func(c *TLS) { c.CA = rootFile }), "other.example", ""},
		{"host checked: match", srv, with(func(c *TLS) { c.CA = rootFile; c.VerifyServerCert = true }), "db.example", ""},
		{"host checked: mismatch", srv, with(func(c *TLS) { c.CA = rootFile; c.VerifyServerCert = true }), "other.example", "not other.example"},
		{"host checked: IP", srv, with(func(c *TLS) { c.CA = rootFile; c.VerifyServerCert = true }), "127.0.0.1", "IP SANs"},
		{"revoked", srv, with(func(c *TLS) { c.CA = rootFile; c.CRL = revoked }), "", "is revoked"},
		{"current CRL", srv, with(func(c *TLS) { c.CA = rootFile; c.CRL = current }), "", ""},
		{"expired CRL", srv, with(func(c *TLS) { c.CA = rootFile; c.CRL = expired }), "", "expired"},
		{"no CRL from the issuer", srv, with(func(c *TLS) { c.CA = rootFile; c.CRL = interCRL }), "", "no certificate revocation list"},
		{"intermediate: CRL of the leaf's issuer only", interSrv, with(func(c *TLS) { c.CA = rootFile; c.CRL = interCRL }), "", `from "CN=root"`},
		{"intermediate: CRLs of every issuer", interSrv, with(func(c *TLS) { c.CA = rootFile; c.CRLPath = crlDir }), "", ""},
		{"unreadable CA file", srv, with(func(c *TLS) { c.CA = filepath.Join(dir, "missing.pem") }), "", "missing.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := handshake(t, tc.srv, nil, tc.cfg, tc.host, dir)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}

	t.Run("cipher list", func(t *testing.T) {
		st, err := handshake(t, srv, nil, with(func(c *TLS) { c.Cipher = "ECDHE-ECDSA-CHACHA20-POLY1305" }), "", dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
			t.Fatalf("negotiated %s with %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
		}
	})
	t.Run("client certificate, key in the same file", func(t *testing.T) {
		if _, err := handshake(t, srv, root, on, "", dir); err == nil {
			t.Fatal("a source requiring a client certificate accepted none")
		}
		if _, err := handshake(t, srv, root, with(func(c *TLS) { c.Cert = clientFile }), "", dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("files are read at every attempt", func(t *testing.T) {
		file := filepath.Join(dir, "rotating.pem")
		os.WriteFile(file, pem.EncodeToMemory(other.certBlock()), 0o600)
		cfg := with(func(c *TLS) { c.CA = file })
		if _, err := handshake(t, srv, nil, cfg, "", dir); err == nil {
			t.Fatal("wrong CA accepted")
		}
		os.WriteFile(file, pem.EncodeToMemory(root.certBlock()), 0o600)
		if _, err := handshake(t, srv, nil, cfg, "", dir); err != nil {
			t.Fatalf("the CA file fixed in place is not used: %v", err)
		}
	})
}

func TestApplySSLOptions(t *testing.T) {
	c := defaultConfig()
	err := c.Apply(map[string]string{"MASTER_SSL": "1", "SOURCE_SSL_CA": "ca.pem", "MASTER_SSL_CAPATH": "/etc/ca", "SOURCE_SSL_CERT": "c.pem",
		"SOURCE_SSL_KEY": "k.pem", "MASTER_SSL_CIPHER": "ECDHE-RSA-AES128-GCM-SHA256", "SOURCE_SSL_CRL": "r.crl", "SOURCE_SSL_CRLPATH": "/etc/crl",
		"MASTER_SSL_VERIFY_SERVER_CERT": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := TLS{Enabled: true, CA: "ca.pem", CAPath: "/etc/ca", Cert: "c.pem", Key: "k.pem", Cipher: "ECDHE-RSA-AES128-GCM-SHA256", CRL: "r.crl", CRLPath: "/etc/crl", VerifyServerCert: true}
	if c.TLS != want {
		t.Fatalf("got %+v", c.TLS)
	}
	dir := t.TempDir()
	if err := saveConfig(filepath.Join(dir, configFile), &c); err != nil {
		t.Fatal(err)
	}
	if back, err := loadConfig(filepath.Join(dir, configFile)); err != nil || back.TLS != want {
		t.Fatalf("reloaded %+v, %v", back, err)
	}
	for _, bad := range []map[string]string{
		{"SOURCE_SSL": "yes"},
		{"SOURCE_SSL_VERIFY_SERVER_CERT": "2"},
		{"SOURCE_SSL": "1", "SOURCE_SSL_CIPHER": "RC4-SHA"},
		{"SOURCE_SSL": "1", "SOURCE_SSL_CIPHER": "AES128-GCM-SHA256"},
		{"SOURCE_SSL": "1", "SOURCE_SSL_CIPHER": "HIGH:!aNULL"},
		{"SOURCE_SSL": "1", "SOURCE_SSL_CRL": "r.crl"},
		{"SOURCE_SSL": "1", "SOURCE_SSL_CRLPATH": "/etc/crl"},
	} {
		c := defaultConfig()
		if err := c.Apply(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// Without SOURCE_SSL=1 the file settings are kept for later and not checked.
	c = defaultConfig()
	if err := c.Apply(map[string]string{"SOURCE_SSL_CRL": "r.crl"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(map[string]string{"SOURCE_SSL": "1"}); err == nil {
		t.Fatal("SOURCE_SSL=1 accepted with a CRL and no verification")
	}
}

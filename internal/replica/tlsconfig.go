package replica

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TLS is how the receiver secures its connection to the source: the SOURCE_SSL_* options of
// CHANGE REPLICATION SOURCE TO, with MySQL's meaning.
//
//   - Enabled (SOURCE_SSL=1) requires TLS: a source that does not offer it is an error. Without
//     it the connection is in clear text and the other settings are kept but unused.
//   - With CA or CAPath the source's certificate chain must lead to one of those certificates
//     (MySQL's VERIFY_CA); VerifyServerCert also checks that the certificate names the host
//     the replica connects to (VERIFY_IDENTITY), trusting the system's roots if no CA is
//     given. With neither, the certificate is not checked (REQUIRED).
//   - Cert and Key are the replica's certificate, presented when the source asks for one (for
//     REQUIRE X509). One alone is taken for both, as MySQL does: a PEM file with both.
//   - CRL and CRLPath (PEM certificate revocation lists, in one file or in every file of a
//     directory) are checked as OpenSSL does with MySQL's flags: every certificate of the
//     chain but the root needs a current list from its issuer, and must not be on it. They
//     need a verified chain, so they are refused without CA, CAPath or VerifyServerCert.
//   - Cipher is a list of TLS 1.2 cipher suites, in OpenSSL's names (as MySQL takes them) or
//     IANA's, separated by ':' or ','. Go cannot restrict TLS 1.3 suites, so a connection with
//     a cipher list uses TLS 1.2: the suite is always one of those named. Names Go does not
//     implement, or considers insecure, are refused.
//
// Relative paths are taken from the datadir (mysqld runs there). Files are read at every
// connection attempt, so a certificate fixed or renewed in place is used on the next retry.
type TLS struct {
	Enabled          bool   `json:"ssl"`
	CA               string `json:"ssl_ca,omitempty"`
	CAPath           string `json:"ssl_capath,omitempty"`
	Cert             string `json:"ssl_cert,omitempty"`
	Key              string `json:"ssl_key,omitempty"`
	Cipher           string `json:"ssl_cipher,omitempty"`
	CRL              string `json:"ssl_crl,omitempty"`
	CRLPath          string `json:"ssl_crlpath,omitempty"`
	VerifyServerCert bool   `json:"ssl_verify_server_cert"`
}

// verifies reports whether the source's certificate chain is checked.
func (t TLS) verifies() bool { return t.CA != "" || t.CAPath != "" || t.VerifyServerCert }

// check refuses settings that could not be honoured, when TLS is on (CHANGE REPLICATION SOURCE
// TO fails with them, rather than a connection silently doing less than asked).
func (t TLS) check() error {
	if !t.Enabled {
		return nil
	}
	if (t.CRL != "" || t.CRLPath != "") && !t.verifies() {
		return errors.New("SOURCE_SSL_CRL and SOURCE_SSL_CRLPATH need the source's certificate verified: set SOURCE_SSL_CA, SOURCE_SSL_CAPATH or SOURCE_SSL_VERIFY_SERVER_CERT=1")
	}
	_, err := parseCiphers(t.Cipher)
	return err
}

// opensslCiphers maps OpenSSL's names of the TLS 1.2 suites Go implements and considers secure
// to Go's (IANA) names.
var opensslCiphers = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	// Go implements these but counts them insecure (no forward secrecy, or a weak cipher):
	// named so that the refusal says why.
	"AES128-GCM-SHA256":         "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":         "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA":                "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                "TLS_RSA_WITH_AES_256_CBC_SHA",
	"AES128-SHA256":             "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"DES-CBC3-SHA":              "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-RSA-DES-CBC3-SHA":    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"RC4-SHA":                   "TLS_RSA_WITH_RC4_128_SHA",
	"ECDHE-ECDSA-RC4-SHA":       "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":         "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
}

// parseCiphers turns a SOURCE_SSL_CIPHER list into Go's suite ids (nil for an empty list).
func parseCiphers(list string) ([]uint16, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		byName[s.Name] = s.ID
	}
	insecure := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	var ids []uint16
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		iana := strings.ToUpper(name)
		if n, ok := opensslCiphers[iana]; ok {
			iana = n
		}
		if insecure[iana] {
			return nil, fmt.Errorf("SOURCE_SSL_CIPHER: %s (%s) is refused as insecure (no forward secrecy, or a weak cipher); name an ECDHE suite", name, iana)
		}
		id, ok := byName[iana]
		if !ok {
			return nil, fmt.Errorf("SOURCE_SSL_CIPHER: %q is not a TLS 1.2 cipher suite this server can use (OpenSSL or IANA name of an ECDHE suite with AES-GCM, ChaCha20-Poly1305 or AES-CBC-SHA)", name)
		}
		for _, s := range tls.CipherSuites() {
			if s.ID == id && !supportsTLS12(s) {
				return nil, fmt.Errorf("SOURCE_SSL_CIPHER: %s is a TLS 1.3 suite, which cannot be chosen; name TLS 1.2 suites", name)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func supportsTLS12(s *tls.CipherSuite) bool {
	for _, v := range s.SupportedVersions {
		if v == tls.VersionTLS12 {
			return true
		}
	}
	return false
}

// clientTLSConfig builds the receiver's TLS configuration, reading the files named by t
// (relative paths from dir). Errors name the file and what is wrong with it.
func clientTLSConfig(t TLS, host, dir string) (*tls.Config, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	ciphers, err := parseCiphers(t.Cipher)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host, // for SNI; the certificate is checked below
		// Verification is done in VerifyConnection, which can check a chain without the host
		// name (VERIFY_CA) and check CRLs.
		InsecureSkipVerify: true,
	}
	if ciphers != nil {
		cfg.CipherSuites, cfg.MaxVersion = ciphers, tls.VersionTLS12
	}
	if t.Cert != "" || t.Key != "" {
		certFile, keyFile := abs(t.Cert), abs(t.Key)
		if certFile == "" {
			certFile = keyFile
		}
		if keyFile == "" {
			keyFile = certFile
		}
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if !t.verifies() {
		return cfg, nil
	}
	var roots *x509.CertPool
	if t.CA != "" || t.CAPath != "" {
		if roots, err = loadCAs(abs(t.CA), abs(t.CAPath)); err != nil {
			return nil, err
		}
	} else if roots, err = x509.SystemCertPool(); err != nil {
		return nil, fmt.Errorf("system certificate authorities: %w", err)
	}
	var crls []*x509.RevocationList
	if t.CRL != "" || t.CRLPath != "" {
		if crls, err = loadCRLs(abs(t.CRL), abs(t.CRLPath)); err != nil {
			return nil, err
		}
	}
	name := ""
	if t.VerifyServerCert {
		name = host
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifySource(cs.PeerCertificates, roots, name, crls, time.Now())
	}
	return cfg, nil
}

// verifySource checks the source's certificate chain against roots, its host name (unless
// name is empty) and the revocation lists.
func verifySource(peer []*x509.Certificate, roots *x509.CertPool, name string, crls []*x509.RevocationList, now time.Time) error {
	if len(peer) == 0 {
		return errors.New("the source sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	chains, err := peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
	if err != nil {
		return err
	}
	if crls == nil {
		return nil
	}
	// Every chain Go found must pass: a certificate revoked on one path is revoked.
	for _, chain := range chains {
		for i := 0; i+1 < len(chain); i++ {
			if err := checkRevocation(chain[i], chain[i+1], crls, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRevocation finds issuer's current revocation list among crls and checks that cert is not
// on it; no list from the issuer is an error, as with OpenSSL's CRL_CHECK_ALL.
func checkRevocation(cert, issuer *x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
	for _, l := range crls {
		if l.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if !l.NextUpdate.IsZero() && now.After(l.NextUpdate) {
			return fmt.Errorf("the certificate revocation list of %q expired on %s", issuer.Subject, l.NextUpdate.Format(time.RFC3339))
		}
		for _, e := range l.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return fmt.Errorf("certificate %q (serial %s) is revoked", cert.Subject, cert.SerialNumber)
			}
		}
		return nil
	}
	return fmt.Errorf("no certificate revocation list from %q, which issued %q", issuer.Subject, cert.Subject)
}

// loadCAs reads the trusted certificates of a CA file and every file of a CA directory.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	add := func(path string, required bool) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("CA file %s: %w", path, err)
		}
		certs, err := pemCertificates(b)
		if err != nil {
			return fmt.Errorf("CA file %s: %w", path, err)
		}
		if len(certs) == 0 && required {
			return fmt.Errorf("CA file %s holds no PEM certificate", path)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		n += len(certs)
		return nil
	}
	if file != "" {
		if err := add(file, true); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		err := eachFile(dir, func(path string) error { return add(path, false) })
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("CA directory %s holds no PEM certificate", dir)
		}
	}
	return pool, nil
}

// loadCRLs reads the revocation lists of a CRL file and every file of a CRL directory.
func loadCRLs(file, dir string) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	add := func(path string, required bool) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("CRL file %s: %w", path, err)
		}
		n := 0
		for {
			var block *pem.Block
			block, b = pem.Decode(b)
			if block == nil {
				break
			}
			if block.Type != "X509 CRL" {
				continue
			}
			l, err := x509.ParseRevocationList(block.Bytes)
			if err != nil {
				return fmt.Errorf("CRL file %s: %w", path, err)
			}
			out = append(out, l)
			n++
		}
		if n == 0 && required {
			return fmt.Errorf("CRL file %s holds no PEM certificate revocation list", path)
		}
		return nil
	}
	if file != "" {
		if err := add(file, true); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		before := len(out)
		if err := eachFile(dir, func(path string) error { return add(path, false) }); err != nil {
			return nil, err
		}
		if len(out) == before {
			return nil, fmt.Errorf("CRL directory %s holds no PEM certificate revocation list", dir)
		}
	}
	return out, nil
}

// pemCertificates parses the CERTIFICATE blocks of a PEM file (other blocks are skipped).
func pemCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return out, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// eachFile calls fn for every regular file of dir (an OpenSSL hashed directory holds links,
// which are followed).
func eachFile(dir string, fn func(string) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := fn(path); err != nil {
			return err
		}
	}
	return nil
}

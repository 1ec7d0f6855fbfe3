package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test: it signs server and client
// certificates and revocation lists, all written as PEM files in dir.
type testCA struct {
	t    *testing.T
	dir  string
	name string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, dir: dir, name: name, cert: cert, key: key}
	ca.file = ca.write(strings.ReplaceAll(name, " ", "-")+".pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, blockType string, der []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue signs a certificate for name (a server certificate valid for dnsNames, or a client
// one) and returns its certificate and key files and serial number.
func (ca *testCA) issue(name string, server bool, dnsNames ...string) (certFile, keyFile string, serial *big.Int) {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		ca.t.Fatal(err)
	}
	usage := x509.ExtKeyUsageClientAuth
	if server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return ca.write(name+"-cert.pem", "CERTIFICATE", der), ca.write(name+"-key.pem", "EC PRIVATE KEY", keyDER), serial
}

// crl writes a current revocation list of this CA naming the revoked serial numbers.
func (ca *testCA) crl(file string, revoked ...*big.Int) string {
	ca.t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(time.Now().UnixNano()),
		ThisUpdate:                time.Now().Add(-time.Minute),
		NextUpdate:                time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return ca.write(file, "X509 CRL", der)
}

var retriesRe = regexp.MustCompile(`retries: (\d+)`)

// waitIOError waits until the replica's receiver reports errno, and returns the status.
func waitIOError(t *testing.T, db *sql.DB, errno string) map[string]string {
	t.Helper()
	var st map[string]string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st = replicaStatus(t, db); st["Last_IO_Errno"] == errno {
			return st
		}
	}
	t.Fatalf("receiver did not report error %s within 30s: %v", errno, st)
	return nil
}

// changeSource stops replication, runs CHANGE REPLICATION SOURCE TO with opts and starts it.
func changeSource(t *testing.T, db *sql.DB, opts string) {
	t.Helper()
	mustExec(t, db, "STOP REPLICA")
	mustExec(t, db, "CHANGE REPLICATION SOURCE TO "+opts)
	mustExec(t, db, "START REPLICA")
}

// TestReplicaSSL: a replica reaches a source whose certificate a test CA signed over TLS, as
// the SOURCE_SSL_* options ask (chain, host name, client certificate, CRL, cipher); what TLS
// cannot vouch for is refused with error 2026 and retried; the settings show in SHOW REPLICA
// STATUS and survive a restart of the replica.
func TestReplicaSSL(t *testing.T) {
	pki := t.TempDir()
	ca := newTestCA(t, pki, "RelayDB test CA")
	other := newTestCA(t, pki, "Other CA")
	// Valid for the name localhost only, not for the address 127.0.0.1.
	srvCert, srvKey, srvSerial := ca.issue("source", true, "localhost")
	cliCert, cliKey, _ := ca.issue("replica", false)

	p := startNode(t, "", "--server-id", "1", "--ssl-cert", srvCert, "--ssl-key", srvKey, "--ssl-ca", ca.file)
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	// REQUIRE SSL: the source accepts these accounts over TLS only; REQUIRE X509: only with a
	// client certificate its CA signed. caching_sha2_password with no earlier login needs the
	// full authentication, which sends the password and so needs TLS too.
	mustExec(t, pdb, "CREATE USER repl IDENTIFIED WITH caching_sha2_password BY 'pw' REQUIRE SSL")
	mustExec(t, pdb, "GRANT REPLICATION SLAVE ON *.* TO repl")
	mustExec(t, pdb, "CREATE USER replx IDENTIFIED WITH mysql_native_password BY 'pw' REQUIRE X509")
	mustExec(t, pdb, "GRANT REPLICATION SLAVE ON *.* TO replx")
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))")
	rows := 0
	insert := func(n int) {
		for i := 0; i < n; i++ {
			rows++
			mustExec(t, pdb, "INSERT INTO d.t VALUES (?, ?)", rows, fmt.Sprintf("row %d", rows))
		}
	}
	insert(10)
	rdb := r.db("")
	checkRows := func(when string) {
		t.Helper()
		waitCaughtUp(t, pdb, rdb, 30*time.Second)
		var n int
		if err := rdb.QueryRow("SELECT COUNT(*) FROM d.t").Scan(&n); err != nil || n != rows {
			t.Fatalf("%s: the replica has %d rows (%v), want %d", when, n, err, rows)
		}
		st := replicaStatus(t, rdb)
		if st["Last_IO_Errno"] != "0" || st["Last_SQL_Errno"] != "0" || st["Replica_IO_Running"] != "Yes" {
			t.Fatalf("%s: %v", when, st)
		}
	}

	// Clear text: the REQUIRE SSL account is refused.
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1", p.port))
	mustExec(t, rdb, "START REPLICA")
	st := waitIOError(t, rdb, "1045")
	t.Logf("SOURCE_SSL=0, REQUIRE SSL account: Last_IO_Errno %s: %s", st["Last_IO_Errno"], st["Last_IO_Error"])

	// A CA that did not sign the source's certificate: 2026, retried.
	changeSource(t, rdb, "SOURCE_SSL=1, SOURCE_SSL_CA='"+other.file+"'")
	st = waitIOError(t, rdb, "2026")
	if !strings.Contains(st["Last_IO_Error"], "SSL connection error") || !strings.Contains(st["Last_IO_Error"], "unknown authority") {
		t.Fatalf("wrong CA: unclear error %q", st["Last_IO_Error"])
	}
	first := retriesRe.FindStringSubmatch(st["Last_IO_Error"])
	var later map[string]string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		later = replicaStatus(t, rdb)
		if m := retriesRe.FindStringSubmatch(later["Last_IO_Error"]); first != nil && m != nil && atoi(m[1]) > atoi(first[1]) {
			break
		}
	}
	if m := retriesRe.FindStringSubmatch(later["Last_IO_Error"]); first == nil || m == nil || atoi(m[1]) <= atoi(first[1]) || later["Last_IO_Errno"] != "2026" || later["Replica_IO_Running"] != "Connecting" {
		t.Fatalf("wrong CA: the receiver does not keep retrying: first %q, then %v", st["Last_IO_Error"], later)
	}
	t.Logf("wrong CA: Last_IO_Errno 2026, Replica_IO_Running %s, still retrying: %s", later["Replica_IO_Running"], later["Last_IO_Error"])

	// The right CA, with the host name checked: the certificate names localhost, not 127.0.0.1.
	changeSource(t, rdb, "SOURCE_SSL_CA='"+ca.file+"', SOURCE_SSL_VERIFY_SERVER_CERT=1")
	st = waitIOError(t, rdb, "2026")
	if !strings.Contains(st["Last_IO_Error"], "SSL connection error") || !strings.Contains(st["Last_IO_Error"], "certificate for 127.0.0.1") {
		t.Fatalf("host name mismatch: unclear error %q", st["Last_IO_Error"])
	}
	t.Logf("SOURCE_SSL_VERIFY_SERVER_CERT=1 to 127.0.0.1: %s", st["Last_IO_Error"])
	// Without the host name check, the chain alone is verified (VERIFY_CA).
	changeSource(t, rdb, "SOURCE_SSL_VERIFY_SERVER_CERT=0")
	checkRows("SOURCE_SSL=1 with the right CA, no host check")
	t.Logf("SOURCE_SSL=1, SOURCE_SSL_CA, 127.0.0.1: %d rows replicated as the REQUIRE SSL account", rows)
	changeSource(t, rdb, "SOURCE_HOST='localhost', SOURCE_SSL_VERIFY_SERVER_CERT=1")
	insert(10)
	checkRows("SOURCE_SSL_VERIFY_SERVER_CERT=1 to localhost")
	t.Logf("SOURCE_SSL_VERIFY_SERVER_CERT=1, SOURCE_HOST='localhost': %d rows replicated", rows)

	// REQUIRE X509: refused without a client certificate, accepted with one.
	changeSource(t, rdb, "SOURCE_USER='replx'")
	st = waitIOError(t, rdb, "1045")
	t.Logf("REQUIRE X509 account without a client certificate: %s", st["Last_IO_Error"])
	changeSource(t, rdb, "SOURCE_SSL_CERT='"+cliCert+"', SOURCE_SSL_KEY='"+cliKey+"'")
	insert(10)
	checkRows("client certificate")
	t.Logf("REQUIRE X509 account with SOURCE_SSL_CERT/KEY: %d rows replicated", rows)

	// A revocation list naming the source's certificate.
	changeSource(t, rdb, "SOURCE_SSL_CRL='"+ca.crl("revoked.crl", srvSerial)+"'")
	st = waitIOError(t, rdb, "2026")
	if !strings.Contains(st["Last_IO_Error"], "revoked") {
		t.Fatalf("revoked certificate: unclear error %q", st["Last_IO_Error"])
	}
	t.Logf("source certificate on SOURCE_SSL_CRL: %s", st["Last_IO_Error"])

	// Settings that cannot be honoured are refused by CHANGE itself.
	mustExec(t, rdb, "STOP REPLICA")
	for _, bad := range []string{"SOURCE_SSL_CIPHER='NO-SUCH-CIPHER'", "SOURCE_SSL_CIPHER='TLS_AES_128_GCM_SHA256'", "SOURCE_SSL=2"} {
		_, err := rdb.Exec("CHANGE REPLICATION SOURCE TO " + bad)
		if mysqlErrno(err) != 1210 {
			t.Fatalf("CHANGE ... %s: %v, want error 1210", bad, err)
		}
		t.Logf("CHANGE ... %s: %v", bad, err)
	}
	_, err := rdb.Exec("CHANGE REPLICATION SOURCE TO SOURCE_SSL_CA='', SOURCE_SSL_VERIFY_SERVER_CERT=0")
	if mysqlErrno(err) != 1210 {
		t.Fatalf("a CRL without a verified chain: %v, want error 1210", err)
	}
	t.Logf("CRL without verification: %v", err)

	// Everything at once: a current CRL without the source, a cipher list in OpenSSL's names.
	final := "SOURCE_SSL_CRL='" + ca.crl("current.crl") + "', SOURCE_SSL_CIPHER='ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256'"
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO "+final)
	mustExec(t, rdb, "START REPLICA")
	insert(10)
	checkRows("CRL and cipher list")
	want := map[string]string{
		"Source_Host": "localhost", "Source_User": "replx",
		"Source_SSL_Allowed": "Yes", "Source_SSL_CA_File": ca.file, "Source_SSL_CA_Path": "",
		"Source_SSL_Cert": cliCert, "Source_SSL_Key": cliKey,
		"Source_SSL_Cipher":             "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
		"Source_SSL_Verify_Server_Cert": "Yes", "Source_SSL_Crl": filepath.Join(pki, "current.crl"), "Source_SSL_Crlpath": "",
	}
	checkStatus := func(when string) {
		t.Helper()
		st := replicaStatus(t, rdb)
		for k, v := range want {
			if st[k] != v {
				t.Fatalf("%s: %s is %q, want %q", when, k, st[k], v)
			}
		}
	}
	checkStatus("before the restart")
	r.stop()
	r.restart("--server-id", "2")
	rdb = r.db("")
	checkStatus("after the restart")
	insert(10)
	checkRows("after the restart")
	st = replicaStatus(t, rdb)
	t.Logf("after a restart of the replica: Source_SSL_Allowed %s, Source_SSL_Verify_Server_Cert %s, CA %s, cert %s, CRL %s, cipher %s; %d rows replicated",
		st["Source_SSL_Allowed"], st["Source_SSL_Verify_Server_Cert"], filepath.Base(st["Source_SSL_CA_File"]), filepath.Base(st["Source_SSL_Cert"]),
		filepath.Base(st["Source_SSL_Crl"]), st["Source_SSL_Cipher"], rows)

	// A source that offers no TLS at all.
	plain := startNode(t, "", "--server-id", "3", "--skip-ssl")
	changeSource(t, rdb, fmt.Sprintf("SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_SSL_VERIFY_SERVER_CERT=0", plain.port))
	st = waitIOError(t, rdb, "2026")
	if !strings.Contains(st["Last_IO_Error"], "SSL is required but the server doesn't support it") {
		t.Fatalf("source without TLS: unclear error %q", st["Last_IO_Error"])
	}
	t.Logf("source started with --skip-ssl: %s", st["Last_IO_Error"])
	mustExec(t, rdb, "STOP REPLICA")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

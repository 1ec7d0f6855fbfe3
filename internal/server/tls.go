package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// TLSFiles are the server's --ssl-cert, --ssl-key and --ssl-ca, and --skip-ssl.
type TLSFiles struct {
	Cert, Key, CA string
	Skip          bool
}

// loadOrCreateTLS returns the server's TLS configuration (nil with Skip). Without a
// certificate of its own, the server generates a self-signed one in the datadir on first
// start, as MySQL 8 does (auto_generate_certs). TLS is offered, never required: clients that
// do not ask for it are served in clear text. It matters for caching_sha2_password, whose full
// authentication sends the password and so needs TLS. With a CA, a client may present a
// certificate, which must then be signed by that CA (REQUIRE X509 accounts need one).
func loadOrCreateTLS(dir string, files TLSFiles) (*tls.Config, error) {
	if files.Skip {
		return nil, nil
	}
	certPath, keyPath := files.Cert, files.Key
	if certPath == "" {
		certPath = filepath.Join(dir, tlsCertFileName)
		keyPath = filepath.Join(dir, tlsKeyFileName)
		_, certErr := os.Stat(certPath)
		_, keyErr := os.Stat(keyPath)
		switch {
		case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
			if err := generateSelfSigned(certPath, keyPath); err != nil {
				return nil, fmt.Errorf("generate TLS certificate: %w", err)
			}
		case certErr != nil || keyErr != nil:
			return nil, fmt.Errorf("TLS files %s and %s must both exist or both be absent", certPath, keyPath)
		}
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if files.CA != "" {
		pem, err := os.ReadFile(files.CA)
		if err != nil {
			return nil, fmt.Errorf("--ssl-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ssl-ca %s holds no PEM certificate", files.CA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

func generateSelfSigned(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "RelayDB_Server_Auto_Generated_Certificate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

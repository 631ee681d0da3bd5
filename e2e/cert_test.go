package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

// Cert is a self-signed certificate for localhost, 127.0.0.1 and ::1, written
// as PEM files for the node provider and for oidcgate's [tls] section, and
// trusted by the clients it makes (and by nothing else).
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool
	TLS               tls.Certificate
}

// NewCert makes a fresh certificate in t.TempDir().
func NewCert(t testing.TB) *Cert {
	t.Helper()
	c, err := testcert.Server(24*time.Hour, "localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	certFile, keyFile, err := c.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return &Cert{CertFile: certFile, KeyFile: keyFile, Pool: c.Pool(), TLS: c.TLS()}
}

// ServerConfig is for httptest servers: s.TLS = c.ServerConfig(); s.StartTLS().
func (c *Cert) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
}

// Client is an HTTP client that trusts this certificate only.
func (c *Cert) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: c.Pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}

package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate in cert_file/key_file and picks up a
// replaced pair without a restart: at most once an interval (a second by
// default) a handshake looks
// at the files' modification times and size, and reloads when they changed.
// A pair that fails to load (half-written, mismatched) leaves the previous
// certificate in service.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	onReload          func(inService *x509.Certificate, err error)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// onReload is called, with the lock held, after each attempt to load
// changed files, with the certificate in service after it.
func newCertReloader(certFile, keyFile string, interval time.Duration, onReload func(*x509.Certificate, error)) (*certReloader, error) {
	if interval <= 0 {
		interval = time.Second
	}
	c := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, onReload: onReload}
	stamp, err := c.fileStamp()
	if err != nil {
		return nil, err
	}
	if err := c.load(stamp); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	if now := time.Now(); now.Sub(c.checked) >= c.interval {
		c.look(now)
	}
	cert := c.cert
	c.mu.Unlock()
	return cert, nil
}

// Look looks at the files now, not at the next handshake after the
// interval, and reloads them if they changed.
func (c *certReloader) Look() {
	c.mu.Lock()
	c.look(time.Now())
	c.mu.Unlock()
}

// look reloads the pair if the files changed; c.mu is held.
func (c *certReloader) look(now time.Time) {
	c.checked = now
	stamp, err := c.fileStamp()
	if err != nil || stamp == c.stamp {
		return
	}
	err = c.load(stamp)
	if c.onReload != nil {
		c.onReload(c.cert.Leaf, err)
	}
}

// NotAfter is the expiry of the certificate in service.
func (c *certReloader) NotAfter() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert == nil || c.cert.Leaf == nil {
		return time.Time{}
	}
	return c.cert.Leaf.NotAfter
}

func (c *certReloader) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls: parse %s: %w", c.certFile, err)
		}
	}
	c.cert = &cert
	c.stamp = stamp
	return nil
}

func (c *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// serverTLSConfig is the public listener's TLS: 1.2 and 1.3 only, and in
// TLS 1.2 only ECDHE key exchange (forward secrecy) with AES-GCM or
// ChaCha20-Poly1305, leaving out the CBC suites with their SHA-1 MACs and
// padding-oracle history and RSA key exchange. TLS 1.3's suites are all
// AEAD and not configurable.
func serverTLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: getCertificate,
	}
}

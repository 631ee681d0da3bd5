package proxy

import (
	"crypto/tls"
	"strings"
	"testing"
)

// TestServerTLSSuites: every TLS 1.2 suite offered is ECDHE with an AEAD
// cipher, whatever the certificate's key type (the end-to-end test can only
// try the suites its certificate allows).
func TestServerTLSSuites(t *testing.T) {
	c := serverTLSConfig(nil)
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x; want TLS 1.2", c.MinVersion)
	}
	if len(c.CipherSuites) == 0 {
		t.Fatal("no suites listed: Go's defaults would include CBC")
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("suite %s offered; want only ECDHE with AES-GCM or ChaCha20-Poly1305", name)
		}
	}
}

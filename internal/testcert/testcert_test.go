package testcert

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

func TestServerIsTrustedForItsHostsOnly(t *testing.T) {
	c, err := Server(time.Hour, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"example.com", false},
	} {
		_, err := c.Cert.Verify(x509.VerifyOptions{DNSName: tt.host, Roots: c.Pool()})
		if (err == nil) != tt.ok {
			t.Errorf("Verify(%q) = %v; want ok %v", tt.host, err, tt.ok)
		}
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{c.TLS()}}
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Pool()}}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET over TLS with the certificate's pool: %v", err)
	}
	resp.Body.Close()
}

func TestIssueChain(t *testing.T) {
	root, err := Issue(Spec{CommonName: "root", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Issue(Spec{CommonName: "leaf", Parent: root, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leaf.Cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("leaf key %T; want the RSA key given", leaf.Cert.PublicKey)
	}
	if _, ok := root.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("root key %T; want a new ECDSA key", root.Key)
	}
	if err := leaf.Cert.CheckSignatureFrom(root.Cert); err != nil {
		t.Errorf("leaf not signed by root: %v", err)
	}
	if leaf.Cert.IsCA || !root.Cert.IsCA {
		t.Errorf("IsCA: leaf %v, root %v; want false, true", leaf.Cert.IsCA, root.Cert.IsCA)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := Write(dir, time.Hour, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Errorf("LoadX509KeyPair(%q, %q) = %v", certFile, keyFile, err)
	}
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %v; want 0600", mode)
	}
}

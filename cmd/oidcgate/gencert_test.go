package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
)

func TestGencert(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantAlg string
		wantCN  string
		days    int
	}{
		{"RSA default", nil, "RS256", "oidcgate", 730},
		{"EC with subject", []string{"-ec", "-subject", "CN=cora-proxy, O=Example", "-days", "30"}, "ES256", "cora-proxy", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new")
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"gencert", "-out", dir}, tt.args...), &stdout, &stderr); code != 0 {
				t.Fatalf("gencert exit %d: %s", code, stderr.String())
			}
			keyFile, certFile := filepath.Join(dir, "client.key"), filepath.Join(dir, "client.crt")
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("client.key: %v; want mode 0600", fi.Mode())
			}
			k, err := clientauth.LoadKey(keyFile, certFile, "", time.Now())
			if err != nil {
				t.Fatalf("the written pair does not load: %v", err)
			}
			c := k.Certificate()
			if k.Algorithm() != tt.wantAlg || c.Subject.CommonName != tt.wantCN {
				t.Errorf("pair = %s, CN %q; want %s, CN %q", k.Algorithm(), c.Subject.CommonName, tt.wantAlg, tt.wantCN)
			}
			if life := c.NotAfter.Sub(c.NotBefore); life < time.Duration(tt.days)*24*time.Hour || life > time.Duration(tt.days)*24*time.Hour+time.Hour {
				t.Errorf("certificate lives %v; want %d days", life, tt.days)
			}
			if c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
				t.Errorf("extended key usage = %v; want client authentication", c.ExtKeyUsage)
			}

			out := stdout.String()
			sum := sha1.Sum(c.Raw)
			for _, want := range []string{strings.ToUpper(hex.EncodeToString(sum[:])), base64.RawURLEncoding.EncodeToString(sum[:]), k.KeyID()} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// The JWK printed is the public key, its kid the RFC 7638 thumbprint.
			m := regexp.MustCompile(`(?s)\n  (\{.*?\n  \})`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no JWK in the output:\n%s", out)
			}
			var jwk jose.JSONWebKey
			if err := json.Unmarshal([]byte(m[1]), &jwk); err != nil {
				t.Fatalf("JWK: %v", err)
			}
			tp, _ := jwk.Thumbprint(5) // crypto.SHA256
			if !jwk.IsPublic() || jwk.KeyID != base64.RawURLEncoding.EncodeToString(tp) {
				t.Errorf("JWK = %+v; want a public key whose kid is its thumbprint", jwk)
			}
			keyPEM, _ := os.ReadFile(keyFile)
			b, _ := pem.Decode(keyPEM)
			if strings.Contains(out, base64.StdEncoding.EncodeToString(b.Bytes)[:40]) || strings.Contains(out, "PRIVATE") {
				t.Errorf("output shows the private key")
			}

			// A second run never overwrites the key.
			stderr.Reset()
			if code := run(context.Background(), []string{"gencert", "-out", dir}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "already exists") {
				t.Errorf("gencert over an existing key: exit %d, %q; want 1 and already exists", code, stderr.String())
			}
			if again, _ := os.ReadFile(keyFile); !bytes.Equal(again, keyPEM) {
				t.Errorf("the existing key was overwritten")
			}
		})
	}
}

func TestGencertUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no -out", nil, "usage: oidcgate gencert"},
		{"bad subject", []string{"-out", "x", "-subject", "oidcgate"}, "not ATTRIBUTE=value"},
		{"unknown attribute", []string{"-out", "x", "-subject", "CN=a, E=b"}, "unknown attribute"},
		{"no CN", []string{"-out", "x", "-subject", "O=Example"}, "a CN is required"},
		{"zero days", []string{"-out", "x", "-days", "0"}, "-days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"gencert"}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("gencert %q: exit %d, %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
			}
		})
	}
}

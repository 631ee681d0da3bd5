package provider

import (
	"github.com/oidcgate/oidcgate/internal/testkit"

	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const testNonce = "nonce-5f2b9c"

// testKey signs test ID tokens.
type testKey struct {
	alg  string
	priv crypto.Signer
	kid  string
	cert *x509.Certificate
}

func newKey(t testing.TB, alg, kid string) testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg[:2] {
	case "RS", "PS":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		priv, err = ecdsa.GenerateKey(curve, rand.Reader)
	default:
		t.Fatalf("newKey(%q): unknown algorithm", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return testKey{alg: alg, priv: priv, kid: kid}
}

// fileKey loads a fixture key and the certificate for it from certFile (PEM,
// DER or WS-Federation metadata); like Entra ID, it names itself by its x5t.
func fileKey(t testing.TB, certFile, keyFile string) testKey {
	t.Helper()
	block, _ := pem.Decode(readFile(t, keyFile))
	if block == nil {
		t.Fatalf("%s: no PEM block", keyFile)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer := priv.(crypto.Signer)

	var certs []*x509.Certificate
	if strings.HasSuffix(certFile, ".xml") {
		keys, err := parseFederation(readFile(t, certFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			certs = append(certs, k.cert)
		}
	} else if certs, err = parseCertificates(readFile(t, certFile)); err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(c.PublicKey) {
			return testKey{alg: "RS256", priv: signer, kid: x5t(c), cert: c}
		}
	}
	t.Fatalf("no certificate for %s in %s", keyFile, certFile)
	return testKey{}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k testKey) withKid(kid string) testKey { k.kid = kid; return k }

func (k testKey) public() jose.JSONWebKey {
	jwk := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Use: "sig"}
	if k.cert != nil {
		jwk.Certificates = []*x509.Certificate{k.cert}
	}
	return jwk
}

// sign makes a compact JWS of claims with kid (if any) and extra headers.
func (k testKey) sign(t testing.TB, claims map[string]any, extra map[string]any) string {
	t.Helper()
	return signWith(t, k.alg, k.priv, k.kid, claims, extra)
}

func signWith(t testing.TB, alg string, key any, kid string, claims, extra map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for name, v := range extra {
		opts = opts.WithHeader(jose.HeaderKey(name), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned makes an "alg": "none" token, which no signer library will.
func unsigned(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// absent deletes a claim in with.
var absent = struct{}{}

func goodClaims(issuer string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":   issuer,
		"aud":   "client-1",
		"sub":   "user-1",
		"exp":   now.Add(time.Hour).Unix(),
		"iat":   now.Unix(),
		"nonce": testNonce,
		"email": "user@example.com",
	}
}

// with returns a copy of claims with kv (name, value, …) set; absent removes.
func with(claims map[string]any, kv ...any) map[string]any {
	c := maps.Clone(claims)
	for i := 0; i+1 < len(kv); i += 2 {
		name := kv[i].(string)
		if kv[i+1] == absent {
			delete(c, name)
		} else {
			c[name] = kv[i+1]
		}
	}
	return c
}

func newProvider(t testing.TB, o Options) *Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := New(ctx, o)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return p
}

func waitReady(t testing.TB, p *Provider) {
	t.Helper()
	if err := testkit.Until(5*time.Second, p.Ready); err != nil {
		t.Fatalf("Ready() = %v after 5s; want nil", err)
	}
}

// reason is the Reason of a Verify error, or "" for nil.
func reason(err error) Reason {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	if err != nil {
		return "not a *VerifyError"
	}
	return ""
}

package fakeop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

const keys = "../../testdata/clientauth/"

func keyFile(t *testing.T, key, cert string) *clientauth.KeyFile {
	t.Helper()
	o := clientauth.KeyFileOptions{KeyFile: keys + key}
	if cert != "" {
		o.CertificateFile = keys + cert
	}
	f, err := clientauth.OpenKeyFile(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// privateKey reads a PEM key the way a hostile client's own code would.
func privateKey(t *testing.T, name string) any {
	t.Helper()
	data, err := os.ReadFile(keys + name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sign makes an assertion with any claims and header, as a careless or
// hostile client would; the good ones come from clientauth.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, claims map[string]any, header map[jose.HeaderKey]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, &jose.SignerOptions{ExtraHeaders: header})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTokenEndpointVerifiesAssertions(t *testing.T) {
	rsaWithCert := keyFile(t, "rsa.key", "rsa.crt").Key()
	ecByKid := keyFile(t, "ec.key", "").Key()
	o := testOptions()
	o.ClientKeys = []jose.JSONWebKey{rsaWithCert.PublicJWK(), ecByKid.PublicJWK()}
	// Registered by certificate only, as in Entra ID: no kid to match.
	o.ClientKeys[0].KeyID = ""
	op := fakeoptest.NewTLSServer(t, o)
	tokenURL := op.Endpoints().Token
	client := op.Client()

	post := func(form url.Values, basic bool) (int, map[string]string) {
		t.Helper()
		form.Set("grant_type", "client_credentials")
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(testClientID, testClientSecret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	good := func(c clientauth.Client) url.Values {
		t.Helper()
		c.ID = testClientID
		req, err := c.Request(tokenURL)
		if err != nil {
			t.Fatal(err)
		}
		req.Params.Set("client_id", testClientID)
		return req.Params
	}
	form := func(assertion string) url.Values {
		return url.Values{"client_assertion_type": {clientauth.AssertionType}, "client_assertion": {assertion}}
	}
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"iss": testClientID, "sub": testClientID, "aud": tokenURL, "jti": rand.Text(),
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if change != nil {
			change(c)
		}
		return c
	}
	rsaKey, ecKey := privateKey(t, "rsa.key"), privateKey(t, "ec.key")
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherSum := sha1.Sum([]byte("another certificate"))
	replayed := good(clientauth.Client{Method: clientauth.PrivateKeyJWT, Key: keyFile(t, "ec.key", "")})
	if status, body := post(replayed, false); status != http.StatusOK {
		t.Fatalf("first use of an assertion: %d %v; want 200", status, body)
	}

	tests := []struct {
		name   string
		form   url.Values
		basic  bool
		status int
	}{
		{"RS256 found by x5t", good(clientauth.Client{Method: clientauth.PrivateKeyJWT, Key: keyFile(t, "rsa.key", "rsa.crt")}), false, 200},
		{"ES256 found by kid", good(clientauth.Client{Method: clientauth.PrivateKeyJWT, Key: keyFile(t, "ec.key", "")}), false, 200},
		{"client_secret_jwt", good(clientauth.Client{Method: clientauth.SecretJWT, Secret: testClientSecret}), false, 200},
		{"PS256 by hand", form(sign(t, jose.PS256, rsaKey, claims(nil), nil)), false, 200},
		{"jti used twice", replayed, false, 401},
		{"no jti", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { delete(c, "jti") }), nil)), false, 401},
		{"aud the issuer", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["aud"] = op.Issuer() }), nil)), false, 401},
		{"expired", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }), nil)), false, 401},
		{"no exp", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { delete(c, "exp") }), nil)), false, 401},
		{"lives a day", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["exp"] = now.Add(24 * time.Hour).Unix() }), nil)), false, 401},
		{"not yet valid", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), nil)), false, 401},
		{"iss another client", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["iss"] = "someone" }), nil)), false, 401},
		{"sub another client", form(sign(t, jose.ES256, ecKey, claims(func(c map[string]any) { c["sub"] = "someone" }), nil)), false, 401},
		{"unregistered key", form(sign(t, jose.ES256, stranger, claims(nil), nil)), false, 401},
		{"x5t of another certificate", form(sign(t, jose.RS256, rsaKey, claims(nil), map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(otherSum[:])})), false, 401},
		{"HS256 with another secret", form(sign(t, jose.HS256, []byte(strings.Repeat("x", 64)), claims(nil), nil)), false, 401},
		{"RS384 not accepted", form(sign(t, jose.RS384, rsaKey, claims(nil), nil)), false, 401},
		{"wrong assertion type", func() url.Values {
			f := form(sign(t, jose.ES256, ecKey, claims(nil), nil))
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return f
		}(), false, 401},
		{"no assertion type", url.Values{"client_assertion": {sign(t, jose.ES256, ecKey, claims(nil), nil)}}, false, 401},
		{"with a Basic header", form(sign(t, jose.ES256, ecKey, claims(nil), nil)), true, 401},
		{"with client_secret", func() url.Values {
			f := form(sign(t, jose.ES256, ecKey, claims(nil), nil))
			f.Set("client_secret", testClientSecret)
			return f
		}(), false, 401},
		{"client_id of another client", func() url.Values {
			f := form(sign(t, jose.ES256, ecKey, claims(nil), nil))
			f.Set("client_id", "someone")
			return f
		}(), false, 401},
		{"not a JWT", form("not.a.jwt"), false, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.form, tt.basic)
			if status != tt.status {
				t.Fatalf("token request %s = %d %v; want %d", tt.name, status, body, tt.status)
			}
			if status == 401 && body["error"] != "invalid_client" {
				t.Errorf("token request %s = %v; want invalid_client", tt.name, body)
			}
			if status == 200 && body["access_token"] == "" {
				t.Errorf("token request %s = %v; want an access token", tt.name, body)
			}
		})
	}
}

// TestTokenEndpointKeyRollover: after the administrator replaces the
// registered certificate, assertions signed with the old key are refused.
func TestTokenEndpointKeyRollover(t *testing.T) {
	oldKey, newKey := keyFile(t, "rsa.key", "rsa.crt"), keyFile(t, "ec.key", "ec.crt")
	o := testOptions()
	o.TokenAuthMethod = fakeop.PrivateKeyJWT
	o.ClientSecret = ""
	o.ClientKeys = []jose.JSONWebKey{oldKey.Key().PublicJWK()}
	op := fakeoptest.NewTLSServer(t, o)
	conf := func(k *clientauth.KeyFile) int {
		req, _ := clientauth.Client{ID: testClientID, Method: clientauth.PrivateKeyJWT, Key: k}.Request(op.Endpoints().Token)
		req.Params.Set("grant_type", "client_credentials")
		resp, err := op.Client().PostForm(op.Endpoints().Token, req.Params)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := conf(oldKey); got != 200 {
		t.Fatalf("old key before rollover: %d; want 200", got)
	}
	op.SetClientKeys(newKey.Key().PublicJWK())
	if got, got2 := conf(oldKey), conf(newKey); got != 401 || got2 != 200 {
		t.Errorf("after rollover: old key %d, new key %d; want 401 and 200", got, got2)
	}
	if m := op.Stats().TokenAuthMethods; len(m) != 3 || m[0] != fakeop.PrivateKeyJWT {
		t.Errorf("TokenAuthMethods = %v; want private_key_jwt three times", m)
	}
}

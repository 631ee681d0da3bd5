package clientauth

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const tokenURL = "https://login.example.com/tenant/oauth2/v2.0/token"

// pair makes a key pair valid around t0; RSA keys are slow to make, so
// each kind is made once.
var pairs sync.Map

func pair(t *testing.T, name string, ec bool) (keyPEM, certPEM []byte) {
	t.Helper()
	if v, ok := pairs.Load(name); ok {
		p := v.([2][]byte)
		return p[0], p[1]
	}
	k, c, err := Generate(GenerateOptions{Subject: pkix.Name{CommonName: name}, NotBefore: t0.Add(-time.Hour), Lifetime: 365 * 24 * time.Hour, EC: ec})
	if err != nil {
		t.Fatal(err)
	}
	pairs.Store(name, [2][]byte{k, c})
	return k, c
}

// writePair writes the pair into dir, through a rename as a careful
// operator's tooling would.
func writePair(t *testing.T, dir string, keyPEM, certPEM []byte) (keyFile, certFile string) {
	t.Helper()
	keyFile, certFile = filepath.Join(dir, "client.key"), filepath.Join(dir, "client.crt")
	for name, data := range map[string][]byte{keyFile: keyPEM, certFile: certPEM} {
		if err := os.WriteFile(name+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			t.Fatal(err)
		}
	}
	return keyFile, certFile
}

func openKey(t *testing.T, keyPEM, certPEM []byte, alg string) *KeyFile {
	t.Helper()
	keyFile, certFile := writePair(t, t.TempDir(), keyPEM, certPEM)
	if certPEM == nil {
		certFile = ""
	}
	f, err := OpenKeyFile(KeyFileOptions{KeyFile: keyFile, CertificateFile: certFile, Alg: alg, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatalf("OpenKeyFile: %v", err)
	}
	return f
}

func TestRequestAssertion(t *testing.T) {
	rsaKey, rsaCert := pair(t, "rsa", false)
	ecKey, ecCert := pair(t, "ec", true)
	const secret = "a client secret of at least 32 bytes, for HS256"
	tests := []struct {
		name    string
		client  func(t *testing.T) Client
		wantAlg string
		wantX5T bool
	}{
		{"RS256 default", func(t *testing.T) Client {
			return Client{ID: "app", Method: PrivateKeyJWT, Key: openKey(t, rsaKey, nil, "")}
		}, "RS256", false},
		{"RS256 with certificate", func(t *testing.T) Client {
			return Client{ID: "app", Method: PrivateKeyJWT, Key: openKey(t, rsaKey, rsaCert, "RS256")}
		}, "RS256", true},
		{"PS256", func(t *testing.T) Client {
			return Client{ID: "app", Method: PrivateKeyJWT, Key: openKey(t, rsaKey, rsaCert, "PS256")}
		}, "PS256", true},
		{"ES256 default", func(t *testing.T) Client {
			return Client{ID: "app", Method: PrivateKeyJWT, Key: openKey(t, ecKey, ecCert, "")}
		}, "ES256", true},
		{"client_secret_jwt", func(t *testing.T) Client {
			return Client{ID: "app", Method: SecretJWT, Secret: secret}
		}, "HS256", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client(t)
			c.Now = func() time.Time { return t0 }
			req, err := c.Request(tokenURL)
			if err != nil {
				t.Fatalf("Request() = %v", err)
			}
			if req.AuthStyle != oauth2.AuthStyleInParams || req.ClientSecret != "" {
				t.Errorf("Request() = style %v, secret %v; want in params, no secret", req.AuthStyle, req.ClientSecret != "")
			}
			if got := req.Params.Get("client_assertion_type"); got != AssertionType {
				t.Errorf("client_assertion_type = %q; want %q", got, AssertionType)
			}
			raw := req.Params.Get("client_assertion")
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.wantAlg)})
			if err != nil {
				t.Fatalf("ParseSigned: %v", err)
			}
			h := tok.Headers[0]
			var verifyKey any = []byte(secret)
			if c.Key != nil {
				k := c.Key.Key()
				verifyKey = k.PublicJWK()
				if h.KeyID != k.KeyID() {
					t.Errorf("kid = %q; want the RFC 7638 thumbprint %q", h.KeyID, k.KeyID())
				}
				if tt.wantX5T {
					sum := sha1.Sum(k.Certificate().Raw)
					if got := h.ExtraHeaders["x5t"]; got != base64.RawURLEncoding.EncodeToString(sum[:]) {
						t.Errorf("x5t = %v; want the certificate's SHA-1 thumbprint", got)
					}
					if got := h.ExtraHeaders["x5t#S256"]; got != k.X5TS256() || got == "" {
						t.Errorf("x5t#S256 = %v; want %q", got, k.X5TS256())
					}
				} else if _, ok := h.ExtraHeaders["x5t"]; ok {
					t.Errorf("x5t sent without a certificate")
				}
			} else if h.KeyID != "" {
				t.Errorf("kid = %q with client_secret_jwt; want none", h.KeyID)
			}
			var cl jwt.Claims
			if err := tok.Claims(verifyKey, &cl); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			if cl.Issuer != "app" || cl.Subject != "app" || len(cl.Audience) != 1 || cl.Audience[0] != tokenURL || cl.ID == "" {
				t.Errorf("claims = %+v; want iss = sub = app, aud = the token URL, a jti", cl)
			}
			if !cl.IssuedAt.Time().Equal(t0) || !cl.NotBefore.Time().Equal(t0) || !cl.Expiry.Time().Equal(t0.Add(5*time.Minute)) {
				t.Errorf("iat, nbf, exp = %v, %v, %v; want now, now, now+5m", cl.IssuedAt.Time(), cl.NotBefore.Time(), cl.Expiry.Time())
			}
			// aud is one string, as Entra ID and AD FS expect.
			var rawClaims map[string]any
			tok.UnsafeClaimsWithoutVerification(&rawClaims)
			if _, ok := rawClaims["aud"].(string); !ok {
				t.Errorf("aud = %#v; want a string", rawClaims["aud"])
			}
			again, _ := c.Request(tokenURL)
			tok2, _ := jwt.ParseSigned(again.Params.Get("client_assertion"), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.wantAlg)})
			var cl2 jwt.Claims
			tok2.UnsafeClaimsWithoutVerification(&cl2)
			if cl2.ID == cl.ID {
				t.Errorf("two assertions share jti %q", cl.ID)
			}
		})
	}
}

func TestRequestSecret(t *testing.T) {
	tests := []struct {
		method    Method
		wantStyle oauth2.AuthStyle
	}{
		{SecretBasic, oauth2.AuthStyleInHeader},
		{SecretPost, oauth2.AuthStyleInParams},
	}
	for _, tt := range tests {
		t.Run(tt.method.String(), func(t *testing.T) {
			req, err := Client{ID: "app", Method: tt.method, Secret: "s3cret"}.Request(tokenURL)
			if err != nil || req.AuthStyle != tt.wantStyle || req.ClientSecret != "s3cret" || req.Params != nil {
				t.Errorf("Request() = %+v, %v; want style %v with the secret and no params", req, err, tt.wantStyle)
			}
		})
	}
}

func TestClientCheck(t *testing.T) {
	tests := []struct {
		name   string
		client Client
		want   string
	}{
		{"no method", Client{ID: "app", Secret: "s"}, "unknown token endpoint authentication method"},
		{"no id", Client{Method: SecretBasic, Secret: "s"}, "client_id is empty"},
		{"basic without secret", Client{ID: "app", Method: SecretBasic}, "client_secret is empty"},
		{"short secret for HS256", Client{ID: "app", Method: SecretJWT, Secret: "short"}, "at least 32 bytes"},
		{"private_key_jwt without key", Client{ID: "app", Method: PrivateKeyJWT, Secret: "s"}, "needs a client assertion key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Request(tokenURL)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Request() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseKeyRefusals(t *testing.T) {
	rsaKey, rsaCert := pair(t, "rsa", false)
	ecKey, ecCert := pair(t, "ec", true)
	_, otherCert := pair(t, "other-rsa", false)
	tests := []struct {
		name            string
		keyPEM, certPEM []byte
		alg             string
		now             time.Time
		want            string
	}{
		{"not PEM", []byte("hello"), nil, "", t0, "no PEM private key"},
		{"certificate as key", rsaCert, nil, "", t0, "no PEM private key"},
		{"encrypted", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), nil, "", t0, "encrypted"},
		{"not a pair", rsaKey, otherCert, "", t0, "not a pair"},
		{"EC key and RSA certificate", ecKey, rsaCert, "", t0, "not a pair"},
		{"ES256 with RSA", rsaKey, nil, "ES256", t0, "RS256 or PS256"},
		{"RS256 with EC", ecKey, nil, "RS256", t0, "ES256"},
		{"HS256 with a key", rsaKey, nil, "HS256", t0, "RS256 or PS256"},
		{"expired", rsaKey, rsaCert, "", t0.Add(400 * 24 * time.Hour), "expired on"},
		{"not yet valid", ecKey, ecCert, "", t0.Add(-2 * time.Hour), "not valid before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.keyPEM, tt.certPEM, tt.alg, tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseKey() = %v, %v; want an error containing %q", k, err, tt.want)
			}
		})
	}
}

func TestKeyFileReloads(t *testing.T) {
	oldKey, oldCert := pair(t, "rsa", false)
	newKey, newCert := pair(t, "ec", true)
	_, otherCert := pair(t, "other-rsa", false)
	dir := t.TempDir()
	keyFile, certFile := writePair(t, dir, oldKey, oldCert)
	now := t0
	var reloads []error
	f, err := OpenKeyFile(KeyFileOptions{
		KeyFile: keyFile, CertificateFile: certFile, Interval: time.Minute,
		Now: func() time.Time { return now }, OnReload: func(err error) { reloads = append(reloads, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	first := f.Key()
	if first.Algorithm() != "RS256" {
		t.Fatalf("first key signs %s; want RS256", first.Algorithm())
	}

	// A new pair: not looked at before the interval, in service after it.
	writePair(t, dir, newKey, newCert)
	now = now.Add(30 * time.Second)
	if f.Key() != first || len(reloads) != 0 {
		t.Errorf("Key() reloaded before the interval passed")
	}
	now = now.Add(30 * time.Second)
	if k := f.Key(); k.Algorithm() != "ES256" || k.Thumbprint() == first.Thumbprint() || len(reloads) != 1 || reloads[0] != nil {
		t.Fatalf("after a rollover Key() = %v (reloads %v); want the new ES256 pair", k, reloads)
	}
	second := f.Key()

	// A broken pair (the certificate of another key) leaves the last good one.
	writePair(t, dir, newKey, otherCert)
	now = now.Add(time.Minute)
	if k := f.Key(); k != second || len(reloads) != 2 || reloads[1] == nil || !strings.Contains(reloads[1].Error(), "not a pair") {
		t.Errorf("after a bad pair Key() = %v (reloads %v); want the previous pair and an error", k, reloads)
	}
	// Unchanged files are not read again.
	now = now.Add(time.Minute)
	f.Key()
	if len(reloads) != 2 {
		t.Errorf("unchanged files reloaded: %v", reloads)
	}

	// A missing file is reported once and the last good pair stays.
	os.Remove(certFile)
	for range 3 {
		now = now.Add(time.Minute)
		if k := f.Key(); k != second {
			t.Errorf("with the certificate gone Key() = %v; want the pair in service", k)
		}
	}
	if len(reloads) != 3 || reloads[2] == nil {
		t.Errorf("reloads with a missing file = %v; want one more error", reloads)
	}
	// Back in place, the good pair is loaded again.
	writePair(t, dir, oldKey, oldCert)
	now = now.Add(time.Minute)
	if k := f.Key(); k.Algorithm() != "RS256" || len(reloads) != 4 || reloads[3] != nil {
		t.Errorf("after the files came back Key() = %v (reloads %v); want the RSA pair", k, reloads)
	}
}

func TestLoadKeyRefusesOddFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.key")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, file, want string }{
		{"missing", "/nonexistent/client.key", "/nonexistent/client.key"},
		{"a device", "/dev/zero", "not a regular file"},
		{"a directory", t.TempDir(), "not a regular file"},
		{"too large", big, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenKeyFile(KeyFileOptions{KeyFile: tt.file})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenKeyFile(%s) = %v; want an error containing %q", tt.file, err, tt.want)
			}
		})
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	keyPEM, certPEM := pair(t, "rsa", false)
	f := openKey(t, keyPEM, certPEM, "")
	k := f.Key()
	c := Client{ID: "app", Method: PrivateKeyJWT, Key: f, Secret: "the-secret-value"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "client", c, "key", k, "file", f)
	jwkJSON, _ := json.Marshal(jose.JSONWebKey{Key: k.private})
	var priv map[string]string
	json.Unmarshal(jwkJSON, &priv)
	body := strings.Join(strings.Split(string(keyPEM), "\n")[1:3], "")
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", k), "%+v": fmt.Sprintf("%+v", k), "%#v": fmt.Sprintf("%#v", k), "%s": fmt.Sprintf("%s", k),
		"file %#v": fmt.Sprintf("%#v REDACTED", f), "client %+v": fmt.Sprintf("%+v REDACTED", c),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		for _, secret := range []string{priv["d"], priv["p"], body, "the-secret-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains key material or the secret: %s", name, out)
			}
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s output = %s; want REDACTED", name, out)
		}
	}
}

func TestThumbprints(t *testing.T) {
	keyPEM, certPEM := pair(t, "rsa", false)
	k, err := ParseKey(keyPEM, certPEM, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(k.Certificate().Raw)
	if got, want := k.Thumbprint(), strings.ToUpper(hex.EncodeToString(sum[:])); got != want {
		t.Errorf("Thumbprint() = %q; want %q", got, want)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(k.X5T())
	if !bytes.Equal(raw, sum[:]) {
		t.Errorf("X5T() = %q; want base64url of the SHA-1 thumbprint", k.X5T())
	}
	j := k.PublicJWK()
	tp, _ := j.Thumbprint(0x5) // crypto.SHA256
	if base64.RawURLEncoding.EncodeToString(tp) != k.KeyID() || j.KeyID != k.KeyID() || !j.IsPublic() {
		t.Errorf("PublicJWK() = %+v; want the public key with kid = its RFC 7638 thumbprint %q", j, k.KeyID())
	}
}

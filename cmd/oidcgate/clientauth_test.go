package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/session"
)

const clientKeys = "../../testdata/clientauth/"

func testKey(t *testing.T, name string) *clientauth.Key {
	t.Helper()
	k, err := clientauth.LoadKey(clientKeys+name+".key", clientKeys+name+".crt", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// assertionConfig is a configuration whose sign-in client and credentials
// authenticate with keys, at a strict provider that holds only rsa's key.
func assertionConfig(t *testing.T) (path string, rsa *clientauth.Key) {
	t.Helper()
	rsa = testKey(t, "rsa")
	op, err := fakeop.New(fakeop.Options{ClientID: "cora", TokenAuthMethod: fakeop.PrivateKeyJWT, ClientKeys: []jose.JSONWebKey{rsa.PublicJWK()},
		Users: []fakeop.User{{Name: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(op.Handler())
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL)
	abs := func(name string) string { p, _ := filepath.Abs(clientKeys + name); return p }
	creds := fmt.Sprintf(`
[[credentials]]
name = "mail"
client_id = "cora"
token_endpoint = %[1]q
scopes = "https://outlook.office365.com/.default"
authentication_method = "private_key_jwt"
client_assertion_key_file = %[2]q
client_assertion_certificate_file = %[3]q
[[credentials]]
name = "unregistered"
client_id = "cora"
token_endpoint = %[1]q
scopes = "api"
authentication_method = "private_key_jwt"
client_assertion_key_file = %[4]q
client_assertion_certificate_file = %[5]q
`, op.Endpoints().Token, abs("rsa.key"), abs("rsa.crt"), abs("ec.key"), abs("ec.crt"))
	dir := t.TempDir()
	tlsCert, tlsKey, err := testcert.Write(dir, time.Hour, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The sign-in client too: no secret, the rsa pair.
	toml := testconfig.Options{
		Listen:   "127.0.0.1:0",
		CertFile: tlsCert, KeyFile: tlsKey,
		DiscoveryURL: op.Endpoints().Discovery,
		ClientID:     "cora",
		TokenAuth:    "private_key_jwt", AssertionKeyFile: abs("rsa.key"), AssertionCertificateFile: abs("rsa.crt"),
		Keys:  []string{session.GenerateKey()},
		Sites: []testconfig.Site{{Name: "Administration", BaseURL: "https://127.0.0.1/Administration/", Upstream: "http://127.0.0.1:1/Administration/"}},
		Extra: creds,
	}.TOML()
	path = filepath.Join(dir, "oidcgate.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, rsa
}

func TestCheckOnlineShowsWhatTheProviderMustHold(t *testing.T) {
	path, rsa := assertionConfig(t)
	code, out, stderr := runCmd(t, "check", "-online", "-config", path)
	if code != 0 {
		t.Fatalf("check -online = %d\n%s%s", code, out, stderr)
	}
	ec := testKey(t, "ec")
	for _, want := range []string{
		"openid_connect: private_key_jwt, RS256",
		"certificate thumbprint " + rsa.Thumbprint() + " (x5t " + rsa.X5T() + ")",
		"kid " + rsa.KeyID(),
		`credential "mail": OK`,
		`credential "unregistered": private_key_jwt, ES256`,
		"certificate thumbprint " + ec.Thumbprint(),
		`warning: credential "unregistered": token endpoint`, "invalid_client",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check -online output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, "PRIVATE KEY") || strings.Contains(out+stderr, "client_assertion=") {
		t.Errorf("check -online printed key material:\n%s", out)
	}
}

func TestCredentialsValidateWithAssertion(t *testing.T) {
	path, _ := assertionConfig(t)
	code, out, stderr := runCmd(t, "credentials", "validate", "-config", path, "mail")
	if code != 0 || !strings.Contains(out, `credential "mail": OK — token_type Bearer`) {
		t.Errorf("credentials validate mail = %d\n%s%s; want 0 and OK", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "credentials", "validate", "-config", path, "unregistered")
	if code != 1 || !strings.Contains(stderr, "answered 401: invalid_client") {
		t.Errorf("credentials validate unregistered = %d\n%s%s; want 1 and the provider's invalid_client", code, out, stderr)
	}
	if strings.Contains(out+stderr, "PRIVATE KEY") {
		t.Errorf("credentials validate printed key material")
	}
}

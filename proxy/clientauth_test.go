package proxy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

const clientKeys = "../testdata/clientauth/"

// longSecret is long enough to be client_secret_jwt's HS256 key.
const longSecret = "a client secret of at least 32 bytes, for HS256 assertions"

// registered is the public key of a pair in testdata, as the provider
// holds it after the administrator registered it.
func registered(t *testing.T, key, cert string) jose.JSONWebKey {
	t.Helper()
	if cert != "" {
		cert = clientKeys + cert
	}
	k, err := clientauth.LoadKey(clientKeys+key, cert, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicJWK()
}

// assertionSetup signs in with method, with the key pair key/cert (and
// alg) under [openid_connect], at a provider that holds opKeys.
func assertionSetup(method, key, cert, alg string, opKeys ...jose.JSONWebKey) setup {
	s := setup{tokenAuth: method, opOptions: fakeop.Options{ClientKeys: opKeys}}
	if method == fakeop.ClientSecretJWT {
		s.secret = longSecret
	}
	if key != "" {
		s.oidcExtra = fmt.Sprintf("client_assertion_key_file = %q\n", clientKeys+key)
	}
	if cert != "" {
		s.oidcExtra += fmt.Sprintf("client_assertion_certificate_file = %q\n", clientKeys+cert)
	}
	if alg != "" {
		s.oidcExtra += fmt.Sprintf("client_assertion_alg = %q\n", alg)
	}
	return s
}

func TestSignInWithClientAssertion(t *testing.T) {
	rsa, ec := registered(t, "rsa.key", "rsa.crt"), registered(t, "ec.key", "")
	tests := []struct {
		name string
		s    setup
	}{
		{"private_key_jwt RS256 with certificate", assertionSetup(fakeop.PrivateKeyJWT, "rsa.key", "rsa.crt", "", rsa)},
		{"private_key_jwt PS256", assertionSetup(fakeop.PrivateKeyJWT, "rsa.key", "", "PS256", rsa)},
		{"private_key_jwt ES256", assertionSetup(fakeop.PrivateKeyJWT, "ec.key", "", "", ec)},
		{"client_secret_jwt", assertionSetup(fakeop.ClientSecretJWT, "", "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			g.signedIn(g.browser(), "/Administration/")
			if m := g.op.Stats().TokenAuthMethods; len(m) != 1 || m[0] != tt.s.tokenAuth {
				t.Errorf("the provider saw token requests authenticated by %v; want one by %s", m, tt.s.tokenAuth)
			}
			assertNoKeyMaterial(t, g.logs.String())
		})
	}
}

// TestSignInAssertionRefused: a provider that does not hold the key (or
// the certificate was never uploaded) answers invalid_client, which ends in
// the clear refusal page and no session.
func TestSignInAssertionRefused(t *testing.T) {
	tests := []struct {
		name string
		s    setup
	}{
		{"key not registered", assertionSetup(fakeop.PrivateKeyJWT, "ec.key", "ec.crt", "", registered(t, "rsa.key", "rsa.crt"))},
		{"provider wants the secret", func() setup {
			s := assertionSetup(fakeop.PrivateKeyJWT, "rsa.key", "", "", registered(t, "rsa.key", ""))
			s.opOptions.TokenAuthMethod = fakeop.ClientSecretBasic
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			b := g.browser()
			g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "token_refused", "invalid_client")
			assertNoKeyMaterial(t, g.logs.String())
		})
	}
}

// TestInjectedCredentialWithClientAssertion: a site's credential signs its
// client-credentials requests with a key; no secret is configured for it.
func TestInjectedCredentialWithClientAssertion(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			// One provider serves the sign-in and the credential's token
			// endpoint, both by assertion; no secret for the credential.
			s := assertionSetup(fakeop.PrivateKeyJWT, "ec.key", "", "", registered(t, "rsa.key", "rsa.crt"), registered(t, "ec.key", ""))
			s.extraFor = func(op *fakeoptest.OP) string {
				return fmt.Sprintf(`[[sites.inject]]
credential = "mail"
header = "Authorization"
[[credentials]]
name = "mail"
client_id = %q
token_endpoint = %q
scopes = "https://outlook.office365.com/.default"
authentication_method = "private_key_jwt"
client_assertion_key_file = %q
client_assertion_certificate_file = %q
client_assertion_alg = %q
`, testClientID, op.Endpoints().Token, clientKeys+"rsa.key", clientKeys+"rsa.crt", alg)
			}
			g := newGate(t, s)
			g.op.ResetStats()
			g.signedIn(g.browser(), "/Flowtime/")
			got := g.backend.last(t).Header.Get("Authorization")
			if !strings.HasPrefix(got, "Bearer ") || len(got) < 20 {
				t.Errorf("Flowtime received Authorization %q; want the credential's Bearer token", got)
			}
			if m := g.op.Stats().TokenAuthMethods; len(m) != 2 || m[0] != fakeop.PrivateKeyJWT || m[1] != fakeop.PrivateKeyJWT {
				t.Errorf("token requests authenticated by %v; want private_key_jwt for the sign-in and the credential", m)
			}
			assertNoKeyMaterial(t, g.logs.String())
		})
	}
}

func assertNoKeyMaterial(t *testing.T, logs string) {
	t.Helper()
	for _, leak := range []string{"PRIVATE KEY", longSecret, testClientSecret, "client_assertion="} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q:\n%s", leak, logs)
		}
	}
}

package e2e

import (
	"context"
	"crypto/x509/pkix"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/credentials"
)

// KeyClientID is registered for private_key_jwt, with a public key and no
// secret; SecretJWTClientID for client_secret_jwt.
const (
	KeyClientID           = "key-client"
	SecretJWTClientID     = "secret-jwt-client"
	SecretJWTClientSecret = "a client secret long enough to be an HS256 key"
)

// writeKeyPair makes a key pair as `oidcgate gencert` does and returns its
// files and the key.
func writeKeyPair(t *testing.T, dir string, ec bool) (keyFile, certFile string, k *clientauth.Key) {
	t.Helper()
	keyPEM, certPEM, err := clientauth.Generate(clientauth.GenerateOptions{
		Subject: pkix.Name{CommonName: "oidcgate e2e"}, NotBefore: time.Now().Add(-time.Minute), Lifetime: 24 * time.Hour, EC: ec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile, certFile = filepath.Join(dir, "client.key"), filepath.Join(dir, "client.crt")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if k, err = clientauth.ParseKey(keyPEM, certPEM, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	return keyFile, certFile, k
}

// TestPrivateKeyJWT signs in through oidcgate with a client that has no
// secret: oidc-provider knows its public key (the JWK gencert prints) and
// checks each client assertion (signature, iss, sub, aud, exp, jti once,
// the assertion type, the registered method). A gate signing with a key the
// provider does not hold gets invalid_client, shown on oidcgate's page.
func TestPrivateKeyJWT(t *testing.T) {
	requireNode(t)
	requireChromium(t)
	cert := NewCert(t)
	dir := t.TempDir()
	keyFile, certFile, registered := writeKeyPair(t, filepath.Join(dir, "registered"), false)
	strangerKey, strangerCert, _ := writeKeyPair(t, filepath.Join(dir, "stranger"), true)

	ln := Listener(t)
	good := newScenarioGate(t, cert, ln, ln.Addr().String(), "keygood", "Administration")
	good.ClientID, good.TokenAuthMethod = KeyClientID, "private_key_jwt"
	good.AssertionKeyFile, good.AssertionCertificateFile = keyFile, certFile

	ln = Listener(t)
	stranger := newScenarioGate(t, cert, ln, ln.Addr().String(), "keystranger", "Administration")
	stranger.ClientID, stranger.TokenAuthMethod = KeyClientID, "private_key_jwt"
	stranger.AssertionKeyFile, stranger.AssertionCertificateFile = strangerKey, strangerCert

	gates := []*scenarioGate{good, stranger}
	var redirects []string
	for _, g := range gates {
		redirects = append(redirects, g.RedirectURIs()...)
	}
	op := StartOP(t, OPOptions{
		Host: "localhost",
		Cert: cert,
		Clients: []OPClient{{
			ID: KeyClientID, AuthMethod: "private_key_jwt", RedirectURIs: redirects, IDTokenAlg: "RS256",
			JWKS:       &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{registered.PublicJWK()}},
			GrantTypes: []string{"authorization_code", "client_credentials"},
		}, {
			ID: SecretJWTClientID, Secret: SecretJWTClientSecret, AuthMethod: "client_secret_jwt", RedirectURIs: redirects,
			GrantTypes: []string{"authorization_code", "client_credentials"},
		}},
	})
	for _, g := range gates {
		g.DiscoveryURL = op.DiscoveryURL()
		g.Rules = []GateRule{{ClaimType: "email", OriginalIssuer: op.Issuer, AuthenticationType: AuthenticationType}}
		g.start(t)
	}

	t.Run("registered key signs in", func(t *testing.T) {
		b := NewBrowser(t)
		tokens := len(op.TokenRequests())
		b.Navigate(good.url("Administration", "reports"))
		b.WaitVisible("#username")
		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#x-forwarded-user"); got != AliceEmail {
			t.Errorf("page shows X-Forwarded-User %q; want %q", got, AliceEmail)
		}
		wantOneToken(t, tokenRequestsAfter(t, op, tokens), KeyClientID, "private_key_jwt")
		if got := len(good.backends["Administration"].Requests()); got != 1 {
			t.Errorf("backend received %d requests; want 1", got)
		}
	})

	t.Run("unregistered key is refused", func(t *testing.T) {
		b := NewBrowser(t)
		tokens := len(op.TokenRequests())
		b.Navigate(stranger.url("Administration", ""))
		b.WaitVisible("#username")
		b.SignIn(AliceName, AlicePassword)
		b.WaitText("invalid_client")
		if got := b.Status(); got != http.StatusUnauthorized {
			t.Errorf("refusal page status = %d; want 401", got)
		}
		if got := stranger.backends["Administration"].Requests(); len(got) != 0 {
			t.Errorf("backend received %d requests after a refused sign-in; want none", len(got))
		}
		got := tokenRequestsAfter(t, op, tokens)
		if len(got) != 1 || got[0].AuthMethod != "private_key_jwt" || got[0].Status != http.StatusUnauthorized {
			t.Errorf("token requests = %+v; want one private_key_jwt request refused with 401", got)
		}
	})

	tokenURL := op.Issuer + "/token" // oidc-provider's route
	key, err := clientauth.OpenKeyFile(clientauth.KeyFileOptions{KeyFile: keyFile, CertificateFile: certFile})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("credentials", func(t *testing.T) {
		tests := []struct {
			method string
			c      credentials.Credential
		}{
			{"private_key_jwt", credentials.Credential{ClientID: KeyClientID, Method: credentials.PrivateKeyJWT, Key: key}},
			{"client_secret_jwt", credentials.Credential{ClientID: SecretJWTClientID, ClientSecret: SecretJWTClientSecret, Method: credentials.SecretJWT}},
		}
		for _, tt := range tests {
			t.Run(tt.method, func(t *testing.T) {
				tokens := len(op.TokenRequests())
				c := tt.c
				c.Name, c.TokenEndpoint, c.Scopes = "mail", tokenURL, "openid"
				res, err := credentials.Validate(context.Background(), c, op.HTTPClient())
				if err != nil || res.TokenType != "Bearer" {
					t.Fatalf("credentials.Validate() = %+v, %v; want a Bearer token", res, err)
				}
				got := tokenRequestsAfter(t, op, tokens)
				if len(got) != 1 || got[0].AuthMethod != tt.method || got[0].GrantType != "client_credentials" || got[0].Status != http.StatusOK {
					t.Errorf("token requests = %+v; want one client_credentials request by %s", got, tt.method)
				}
			})
		}
	})

	// The provider takes each assertion once: oidcgate makes a new one for
	// every token request.
	t.Run("an assertion is good once", func(t *testing.T) {
		req, err := clientauth.Client{ID: KeyClientID, Method: clientauth.PrivateKeyJWT, Key: key}.Request(tokenURL)
		if err != nil {
			t.Fatal(err)
		}
		req.Params.Set("grant_type", "client_credentials")
		var statuses []int
		for range 2 {
			resp, err := op.HTTPClient().PostForm(tokenURL, req.Params)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		if statuses[0] != http.StatusOK || statuses[1] != http.StatusUnauthorized {
			t.Errorf("the same assertion twice: %v; want 200 then 401", statuses)
		}
	})
}

// tokenRequestsAfter returns the provider's token requests after the first
// n, once there is one: the provider logs a request just after answering
// it, so its line may trail the answer a little.
func tokenRequestsAfter(t *testing.T, op *OP, n int) []OPEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := op.TokenRequests(); len(got) > n || time.Now().After(deadline) {
			return got[n:]
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package credentials

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

const keys = "../testdata/clientauth/"

const assertionSecret = "a client secret of at least 32 bytes, for HS256 assertions"

func openKeyFile(t *testing.T, o clientauth.KeyFileOptions) *clientauth.KeyFile {
	t.Helper()
	f, err := clientauth.OpenKeyFile(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// assertionOP is a strict provider holding the test key pairs.
func assertionOP(t *testing.T, method string, registered ...string) *fakeoptest.OP {
	t.Helper()
	var jwks []jose.JSONWebKey
	for _, name := range registered {
		k, err := clientauth.LoadKey(keys+name+".key", keys+name+".crt", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		jwks = append(jwks, k.PublicJWK())
	}
	return fakeoptest.NewTLSServer(t, fakeop.Options{
		ClientID: "mail-app", ClientSecret: assertionSecret, TokenAuthMethod: method, ClientKeys: jwks,
		Users: []fakeop.User{{Name: "unused"}},
	})
}

func TestValidateWithAssertion(t *testing.T) {
	tests := []struct {
		name    string
		method  Method
		key     clientauth.KeyFileOptions
		opAuth  string
		opKeys  []string
		wantErr string // "": a token
	}{
		{"private_key_jwt RS256 with x5t", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "rsa.key", CertificateFile: keys + "rsa.crt"}, fakeop.PrivateKeyJWT, []string{"rsa"}, ""},
		{"private_key_jwt PS256", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "rsa.key", Alg: "PS256"}, fakeop.PrivateKeyJWT, []string{"rsa"}, ""},
		{"private_key_jwt ES256", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "ec.key", CertificateFile: keys + "ec.crt"}, fakeop.PrivateKeyJWT, []string{"ec"}, ""},
		{"client_secret_jwt", SecretJWT, clientauth.KeyFileOptions{}, fakeop.ClientSecretJWT, nil, ""},
		// A secret left in the file is never sent along: the provider
		// refuses an assertion with a secret beside it.
		{"private_key_jwt with a secret configured too", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "rsa.key"}, fakeop.PrivateKeyJWT, []string{"rsa"}, ""},
		{"key not registered", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "ec.key", CertificateFile: keys + "ec.crt"}, fakeop.PrivateKeyJWT, []string{"rsa"}, "invalid_client"},
		{"provider wants a secret", PrivateKeyJWT, clientauth.KeyFileOptions{KeyFile: keys + "rsa.key"}, fakeop.ClientSecretPost, []string{"rsa"}, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := assertionOP(t, tt.opAuth, tt.opKeys...)
			c := Credential{Name: "mail", ClientID: "mail-app", TokenEndpoint: op.Endpoints().Token, Scopes: "https://outlook.office365.com/.default", Method: tt.method}
			if tt.method == SecretJWT || tt.name == "private_key_jwt with a secret configured too" {
				c.ClientSecret = assertionSecret
			}
			if tt.method == PrivateKeyJWT {
				c.Key = openKeyFile(t, tt.key)
			}
			res, err := Validate(context.Background(), c, op.Client())
			if tt.wantErr == "" {
				if err != nil || res.TokenType != "Bearer" || res.Scope != c.Scopes {
					t.Fatalf("Validate() = %+v, %v; want a Bearer token for the scopes", res, err)
				}
				if m := op.Stats().TokenAuthMethods; len(m) != 1 || m[0] != tt.opAuth {
					t.Errorf("the provider saw %v; want one request by %s", m, tt.opAuth)
				}
				return
			}
			var se *ServerError
			if !errors.As(err, &se) || se.Status != 401 || se.Code != tt.wantErr {
				t.Fatalf("Validate() = %v; want a 401 %s", err, tt.wantErr)
			}
			if c.ClientSecret != "" {
				assertNoSecret(t, c, err)
			}
		})
	}
}

// TestCredentialKeyRollover: the key pair is replaced on disk and at the
// provider; the next token request signs with the new key, without a new
// Source (no restart).
func TestCredentialKeyRollover(t *testing.T) {
	op := assertionOP(t, fakeop.PrivateKeyJWT, "rsa")
	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "client.key"), filepath.Join(dir, "client.crt")
	install := func(name string) {
		for src, dst := range map[string]string{keys + name + ".key": keyFile, keys + name + ".crt": certFile} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst+".tmp", data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(dst+".tmp", dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	install("rsa")
	clock := newClock()
	key := openKeyFile(t, clientauth.KeyFileOptions{KeyFile: keyFile, CertificateFile: certFile, Interval: time.Second, Now: clock.Now})
	c := Credential{Name: "mail", ClientID: "mail-app", TokenEndpoint: op.Endpoints().Token, Scopes: "api", Method: PrivateKeyJWT, Key: key}
	if _, err := Validate(context.Background(), c, op.Client()); err != nil {
		t.Fatalf("before the rollover: %v", err)
	}

	// The administrator uploads the new certificate and replaces the files.
	ec, err := clientauth.LoadKey(keys+"ec.key", keys+"ec.crt", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	op.SetClientKeys(ec.PublicJWK())
	install("ec")
	clock.Advance(2 * time.Second)
	if _, err := Validate(context.Background(), c, op.Client()); err != nil {
		t.Fatalf("after the rollover: %v", err)
	}
	if got := key.Key().Algorithm(); got != "ES256" {
		t.Errorf("key in service signs %s; want the new pair's ES256", got)
	}
}

package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/clientauth"
)

// TestNewcomerHints: the usual wrong discovery_uri, and a provider behind
// an internal CA, each get an error that names the fix.
func TestNewcomerHints(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/issuer", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/home", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>Welcome</html>"))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}`))
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"https://op.example.com","jwks_uri":"https://op.example.com/keys"}`))
	})
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	private := httptest.NewTLSServer(mux) // its certificate is signed by no CA this machine trusts
	t.Cleanup(private.Close)

	tests := []struct {
		name string
		kind Kind
		url  string
		want string
	}{
		{"issuer URL, 404", Discovery, plain.URL + "/issuer", "if it is the issuer, try " + plain.URL + "/issuer/.well-known/openid-configuration"},
		{"issuer URL, a web page", Discovery, plain.URL + "/home", "if it is the issuer, try " + plain.URL + "/home/.well-known/openid-configuration"},
		{"a JWKS as discovery document", Discovery, plain.URL + "/keys", `this is a JSON Web Key Set; set discovery_kind = "JsonWebKeySet"`},
		{"a discovery document as JWKS", JWKS, plain.URL + "/.well-known/openid-configuration", `this is a discovery document; set discovery_kind = "OpenIdDiscoveryDocument", or discovery_uri to its jwks_uri https://op.example.com/keys`},
		{"private CA", Discovery, private.URL + "/.well-known/openid-configuration", "signed by a CA oidcgate does not trust: set ca_file in [openid_connect]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Kind: tt.kind, URL: tt.url, ClientID: "cora", ClientSecret: "secret", TokenAuth: clientauth.SecretBasic,
				Issuer: "https://op.example.com", AuthorizationURL: "https://op.example.com/a", TokenURL: "https://op.example.com/t",
				HTTPClient: &http.Client{}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := New(ctx, o)
			if err == nil {
				_, err = p.Inspect(ctx)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Inspect(%s) = %v; want %q", tt.url, err, tt.want)
			}
		})
	}
}

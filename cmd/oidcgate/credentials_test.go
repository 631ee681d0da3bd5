package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/credentials"
	"github.com/oidcgate/oidcgate/proxy"
)

const (
	credTestSecret = "Zx9~cmd:secret%value"
	credTestToken  = "the-access-token-xyz"
)

// fakeTokenEndpoint accepts the client credentials by one method only
// ("basic" or "body") and refuses the other with 401 invalid_client.
func fakeTokenEndpoint(t *testing.T, method string, requests *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		r.ParseForm()
		user, pass, hasBasic := r.BasicAuth()
		var ok bool
		switch method {
		case "basic":
			id, _ := url.QueryUnescape(user)
			secret, _ := url.QueryUnescape(pass)
			ok = hasBasic && !r.PostForm.Has("client_secret") && id == "app" && secret == credTestSecret
		case "body":
			ok = !hasBasic && r.PostForm.Get("client_id") == "app" && r.PostForm.Get("client_secret") == credTestSecret
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": credTestToken, "token_type": "Bearer", "expires_in": 3600, "scope": r.PostForm.Get("scope"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth2/v2.0/token"
}

// writeCredentialsConfig writes a minimal valid configuration with the
// given [[credentials]] entries appended.
func writeCredentialsConfig(t *testing.T, credentialsTOML string) string {
	t.Helper()
	const base = `listen = ":8443"

[tls]
cert_file = "server.crt"
key_file  = "server.key"

[openid_connect]
discovery_kind = "OpenIdDiscoveryDocument"
discovery_uri  = "https://op.example.com/.well-known/openid-configuration"
client_id      = "cora"
client_secret  = "oidc-secret"
token_request_authorization_method = "client_secret_basic"

[session]
lifetime = "8h"

[authentication]
[[authentication.claims]]
claim_type          = "email"
authentication_type = "AzureAD"

[[sites]]
name     = "Administration"
base_url = "https://cora.example.com/Administration/"
upstream = "http://10.0.0.5:8080/Administration/"
`
	path := filepath.Join(t.TempDir(), "oidcgate.toml")
	if err := os.WriteFile(path, []byte(base+credentialsTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func credentialTOML(name, endpoint, method string) string {
	return fmt.Sprintf(`
[[credentials]]
name           = %q
client_id      = "app"
client_secret  = %q
token_endpoint = %q
scopes         = "https://outlook.office365.com/.default"
authentication_method = %q
`, name, credTestSecret, endpoint, method)
}

func TestCredentialsValidateCmd(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/token"
	}
	silent := func(t *testing.T) string {
		stop := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(stop) })
		return srv.URL + "/token"
	}
	html500 := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html><body><h1>Internal Server Error</h1><p>form: client_secret="+url.QueryEscape(credTestSecret)+"</p></body></html>")
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/token"
	}

	var requests atomic.Int32
	tests := []struct {
		name       string
		endpoint   func(t *testing.T) string
		method     string // in the configuration
		args       []string
		wantCode   int
		wantStdout string // exact, URL replaced by the endpoint
		wantStderr string // prefix, URL replaced by the endpoint
	}{
		{
			name:       "basic",
			endpoint:   func(t *testing.T) string { return fakeTokenEndpoint(t, "basic", &requests) },
			method:     "basic",
			args:       []string{"mail"},
			wantStdout: `credential "mail": OK — token_type Bearer, expires in 1h0m0s, scopes "https://outlook.office365.com/.default"` + "\n",
		},
		{
			name:       "body, flags after the name",
			endpoint:   func(t *testing.T) string { return fakeTokenEndpoint(t, "body", &requests) },
			method:     "body",
			args:       []string{"mail", "-timeout", "5s"},
			wantStdout: `credential "mail": OK — token_type Bearer, expires in 1h0m0s, scopes "https://outlook.office365.com/.default"` + "\n",
		},
		{
			name:       "body refused by a basic-only endpoint",
			endpoint:   func(t *testing.T) string { return fakeTokenEndpoint(t, "basic", &requests) },
			method:     "body",
			args:       []string{"mail"},
			wantCode:   1,
			wantStderr: `credential "mail": token endpoint URL answered 401: invalid_client: AADSTS7000215: Invalid client secret provided.` + "\n",
		},
		{
			name:       "basic refused by a body-only endpoint",
			endpoint:   func(t *testing.T) string { return fakeTokenEndpoint(t, "body", &requests) },
			method:     "basic",
			args:       []string{"mail"},
			wantCode:   1,
			wantStderr: `credential "mail": token endpoint URL answered 401: invalid_client: AADSTS7000215`,
		},
		{
			name:       "non-JSON 500",
			endpoint:   html500,
			method:     "basic",
			args:       []string{"mail"},
			wantCode:   1,
			wantStderr: `credential "mail": token endpoint URL answered 500: Internal Server Error form: client_secret=REDACTED` + "\n",
		},
		{
			name:       "connection refused",
			endpoint:   refused,
			method:     "basic",
			args:       []string{"mail"},
			wantCode:   1,
			wantStderr: `credential "mail": token endpoint URL: dial tcp `,
		},
		{
			name:       "timeout",
			endpoint:   silent,
			method:     "basic",
			args:       []string{"-timeout", "200ms", "mail"},
			wantCode:   1,
			wantStderr: `credential "mail": token endpoint URL: context deadline exceeded (Client.Timeout exceeded while awaiting headers)` + "\n",
		},
		{
			name:       "unknown name",
			endpoint:   func(t *testing.T) string { return "https://login.example.com/token" },
			method:     "basic",
			args:       []string{"Mail"},
			wantCode:   2,
			wantStderr: `oidcgate credentials validate: CONFIG has no credential named "Mail"; configured: "mail", "graph"` + "\n",
		},
		{
			name:       "no name",
			endpoint:   func(t *testing.T) string { return "https://login.example.com/token" },
			method:     "basic",
			wantCode:   2,
			wantStderr: "usage: oidcgate credentials validate",
		},
		{
			name:       "two names",
			endpoint:   func(t *testing.T) string { return "https://login.example.com/token" },
			method:     "basic",
			args:       []string{"mail", "graph"},
			wantCode:   2,
			wantStderr: "usage: oidcgate credentials validate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := tt.endpoint(t)
			path := writeCredentialsConfig(t, credentialTOML("mail", endpoint, tt.method)+credentialTOML("graph", "https://login.example.com/token", "body"))
			args := append([]string{"validate", "-config", path}, tt.args...)
			var stdout, stderr bytes.Buffer
			code := credentialsCmd(context.Background(), args, &stdout, &stderr)
			expand := func(s string) string {
				return strings.NewReplacer("URL", endpoint, "CONFIG", path).Replace(s)
			}
			if code != tt.wantCode {
				t.Errorf("credentialsCmd(%q) = %d; want %d (stderr %q)", args, code, tt.wantCode, stderr.String())
			}
			if got, want := stdout.String(), expand(tt.wantStdout); got != want {
				t.Errorf("credentialsCmd(%q) stdout = %q; want %q", args, got, want)
			}
			if got, want := stderr.String(), expand(tt.wantStderr); !strings.HasPrefix(got, want) || want == "" && got != "" {
				t.Errorf("credentialsCmd(%q) stderr = %q; want prefix %q", args, got, want)
			}
			assertCredentialsHidden(t, stdout.String()+stderr.String())
		})
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("fake token endpoints got %d requests; want 4, one per validation", n)
	}
}

func TestCredentialsCmdUsageAndConfigErrors(t *testing.T) {
	bad := writeCredentialsConfig(t, `
[[credentials]]
name          = "mail"
client_id     = "app"
client_secret = "`+credTestSecret+`"
scopes        = "api"
authentication_method = "header"
`)
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{"no subcommand", nil, []string{"usage: oidcgate credentials validate"}},
		{"unknown subcommand", []string{"check", "mail"}, []string{"usage: oidcgate credentials validate"}},
		{"no config: the default path", []string{"validate", "mail"}, []string{"/etc/oidcgate/config.toml"}},
		{"unknown flag", []string{"validate", "-online", "mail"}, []string{"flag provided but not defined: -online"}},
		{"missing file", []string{"validate", "-config", filepath.Join(t.TempDir(), "absent.toml"), "mail"}, []string{"oidcgate credentials validate: ", "absent.toml"}},
		{"invalid config", []string{"validate", "-config", bad, "mail"}, []string{"oidcgate credentials validate: ", "token_endpoint", "authentication_method"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := credentialsCmd(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("credentialsCmd(%q) = %d; want 2", tt.args, code)
			}
			if stdout.Len() != 0 {
				t.Errorf("credentialsCmd(%q) stdout = %q; want nothing", tt.args, stdout.String())
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("credentialsCmd(%q) stderr = %q; want it to contain %q", tt.args, stderr.String(), want)
				}
			}
			assertCredentialsHidden(t, stdout.String()+stderr.String())
		})
	}
}

func TestCredentialFromConfig(t *testing.T) {
	tests := []struct {
		method  config.CredentialMethod
		want    credentials.Method
		wantErr bool
	}{
		{config.CredentialBasic, credentials.Basic, false},
		{config.CredentialBody, credentials.Body, false},
		{"header", 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.method), func(t *testing.T) {
			cc := config.Credential{Name: "mail", ClientID: "app", ClientSecret: credTestSecret, TokenEndpoint: "https://login.example.com/token", Scopes: config.Scopes{"a", "B"}, AuthenticationMethod: tt.method}
			got, err := proxy.CredentialFromConfig(0, cc, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("credentialFromConfig(%v) error = %v; want error %v", tt.method, err, tt.wantErr)
			}
			want := credentials.Credential{Name: "mail", ClientID: "app", ClientSecret: credTestSecret, TokenEndpoint: "https://login.example.com/token", Scopes: "a B", Method: tt.want}
			if !tt.wantErr && got != want {
				t.Errorf("credentialFromConfig(%v) = %v; want %v", tt.method, got, want)
			}
		})
	}
}

// assertCredentialsHidden fails if out shows the client secret (as is or
// form-encoded) or the access token.
func assertCredentialsHidden(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{credTestSecret, url.QueryEscape(credTestSecret), credTestToken} {
		if strings.Contains(out, s) {
			t.Errorf("output shows %q: %s", s, out)
		}
	}
}

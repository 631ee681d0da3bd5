package credentials

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testSecret = "s3cr3t-Value"

func TestValidateMethods(t *testing.T) {
	tests := []struct {
		name    string
		server  Method
		client  Method
		wantErr bool
	}{
		{"basic against basic-only", Basic, Basic, false},
		{"body against basic-only", Basic, Body, true},
		{"body against body-only", Body, Body, false},
		{"basic against body-only", Body, Basic, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, srv := newTokenEndpoint(t, &tokenEndpoint{method: tt.server, clientID: "app", secret: testSecret, expiresIn: 3600})
			c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: srv.URL + "/token", Scopes: "api", Method: tt.client}
			_, err := Validate(context.Background(), c, srv.Client())
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("Validate(%v) error = %v; want error %v", tt.client, err, tt.wantErr)
			}
			if tt.wantErr {
				var se *ServerError
				if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || se.Code != "invalid_client" {
					t.Errorf("Validate(%v) error = %#v; want a 401 invalid_client *ServerError", tt.client, err)
				}
			}
			reqs := ep.Requests()
			if len(reqs) != 1 {
				t.Fatalf("token endpoint got %d requests; want exactly 1 (no fallback to the other method)", len(reqs))
			}
			r := reqs[0]
			switch tt.client {
			case Basic:
				if !strings.HasPrefix(r.Authorization, "Basic ") || r.Form.Has("client_secret") || r.Form.Has("client_id") {
					t.Errorf("basic request: Authorization %q, form %v; want Basic header and no credentials in the body", r.Authorization, r.Form)
				}
			case Body:
				if r.Authorization != "" || r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != testSecret {
					t.Errorf("body request: Authorization %q, client_id %q; want no header and credentials in the body", r.Authorization, r.Form.Get("client_id"))
				}
			}
		})
	}
}

func TestValidateScopesSentExactly(t *testing.T) {
	tests := []struct {
		name, scopes, want string
		wantSent           bool
	}{
		{"single, mixed case", "https://outlook.office365.com/.default", "https://outlook.office365.com/.default", true},
		{"several, case preserved", "Mail.Send offline_access User.Read.All api://Cora/Flowtime.Access", "Mail.Send offline_access User.Read.All api://Cora/Flowtime.Access", true},
		{"none", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, srv := newTokenEndpoint(t, &tokenEndpoint{method: Basic, clientID: "app", secret: testSecret})
			c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: srv.URL, Scopes: tt.scopes}
			if _, err := Validate(context.Background(), c, srv.Client()); err != nil {
				t.Fatal(err)
			}
			form := ep.Requests()[0].Form
			if got := form.Get("scope"); got != tt.want || form.Has("scope") != tt.wantSent {
				t.Errorf("scopes %q sent as scope=%q (present %v); want %q (present %v)", tt.scopes, got, form.Has("scope"), tt.want, tt.wantSent)
			}
		})
	}
}

// RFC 6749 §2.3.1: client id and secret are form-encoded, then joined with
// ':' and base64-encoded.
func TestValidateSpecialCharacters(t *testing.T) {
	const id, secret = "client:id 100% ü", "p@ss:w%rd with spaces/é+&="
	for _, m := range []Method{Basic, Body} {
		t.Run(m.String(), func(t *testing.T) {
			ep, srv := newTokenEndpoint(t, &tokenEndpoint{method: m, clientID: id, secret: secret})
			c := Credential{Name: "x", ClientID: id, ClientSecret: secret, TokenEndpoint: srv.URL, Method: m}
			if _, err := Validate(context.Background(), c, srv.Client()); err != nil {
				t.Fatalf("Validate with special characters: %v", err)
			}
			r := ep.Requests()[0]
			switch m {
			case Basic:
				raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Authorization, "Basic "))
				if err != nil {
					t.Fatalf("Authorization %q: %v", r.Authorization, err)
				}
				const want = "client%3Aid+100%25+%C3%BC:p%40ss%3Aw%25rd+with+spaces%2F%C3%A9%2B%26%3D"
				if string(raw) != want {
					t.Errorf("Basic credentials decode to %q; want %q", raw, want)
				}
			case Body:
				if r.Form.Get("client_id") != id || r.Form.Get("client_secret") != secret {
					t.Errorf("body client_id %q; want %q (and the secret intact)", r.Form.Get("client_id"), id)
				}
			}
		})
	}
}

func TestValidateResult(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		scope     string
		want      Result
	}{
		{"all stated", 3600, "https://outlook.office365.com/.default", Result{"Bearer", time.Hour, "https://outlook.office365.com/.default"}},
		{"no lifetime, no scope", 0, "", Result{"Bearer", 0, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newTokenEndpoint(t, &tokenEndpoint{method: Body, clientID: "app", secret: testSecret, expiresIn: tt.expiresIn, scope: tt.scope})
			c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: srv.URL, Scopes: "https://outlook.office365.com/.default", Method: Body}
			got, err := Validate(context.Background(), c, srv.Client())
			if err != nil || got != tt.want {
				t.Errorf("Validate() = %+v, %v; want %+v, nil", got, err, tt.want)
			}
		})
	}
}

func TestValidateFailures(t *testing.T) {
	const excerptPrefix = "500 Internal Server Error request: client_secret=REDACTED "
	type want struct {
		status      int // 0: not a *ServerError
		code        string
		description string
		message     string // substring of err.Error(), with URL replaced by the endpoint
	}
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/token"
	}
	silent := func(t *testing.T) string {
		stop := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(stop) }) // runs first: lets Close finish
		return srv.URL + "/token"
	}
	serve := func(h http.HandlerFunc) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL + "/token"
		}
	}
	tests := []struct {
		name     string
		endpoint func(t *testing.T) string
		secret   string
		want     want
	}{
		{
			name:     "invalid_client JSON 401",
			endpoint: serve((&tokenEndpoint{method: Basic, clientID: "app", secret: "other"}).ServeHTTP),
			want: want{401, "invalid_client", "client authentication failed",
				`token endpoint URL answered 401: invalid_client: client authentication failed`},
		},
		{
			name: "invalid_scope JSON 400 echoing the secret",
			endpoint: serve(func(w http.ResponseWriter, r *http.Request) {
				oauthError(w, 400, "invalid_scope", "scope refused for client with secret "+testSecret+"\x1b[2J")
			}),
			want: want{400, "invalid_scope", "scope refused for client with secret REDACTED [2J",
				`token endpoint URL answered 400: invalid_scope: scope refused`},
		},
		{
			name: "non-JSON 500",
			endpoint: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(500)
				w.Write([]byte("<html><head><title>500</title></head>\r\n<body><h1>Internal Server Error</h1>\n<p>request: client_secret=" + testSecret + "</p>" + strings.Repeat("x", 1000) + "</body></html>"))
			}),
			want: want{500, "", excerptPrefix + strings.Repeat("x", 200-len(excerptPrefix)) + "…",
				`token endpoint URL answered 500: 500 Internal Server Error request: client_secret=REDACTED xxx`},
		},
		{
			name: "200 without access_token",
			endpoint: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"token_type":"Bearer"}`))
			}),
			want: want{message: `token endpoint URL: oauth2: server response missing access_token`},
		},
		{
			name:     "connection refused",
			endpoint: refused,
			want:     want{message: `token endpoint URL: dial tcp`},
		},
		{
			name:     "timeout",
			endpoint: silent,
			want:     want{message: `token endpoint URL: context deadline exceeded (Client.Timeout exceeded while awaiting headers)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := tt.endpoint(t)
			c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: endpoint, Scopes: "api"}
			start := time.Now()
			_, err := Validate(context.Background(), c, &http.Client{Timeout: 200 * time.Millisecond})
			if err == nil {
				t.Fatal("Validate() = nil error; want an error")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Validate took %v", d)
			}
			msg := err.Error()
			if wantMsg := strings.ReplaceAll(tt.want.message, "URL", endpoint); !strings.HasPrefix(msg, wantMsg) {
				t.Errorf("Validate() error = %q; want prefix %q", msg, wantMsg)
			}
			var se *ServerError
			if isServer := errors.As(err, &se); isServer != (tt.want.status != 0) {
				t.Fatalf("errors.As(%q, *ServerError) = %v; want %v", msg, isServer, tt.want.status != 0)
			}
			if se != nil && (se.Status != tt.want.status || se.Code != tt.want.code || se.Description != tt.want.description) {
				t.Errorf("ServerError = %d %q %q; want %d %q %q", se.Status, se.Code, se.Description, tt.want.status, tt.want.code, tt.want.description)
			}
			if tt.name == "timeout" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%q, context.DeadlineExceeded) = false; want true", msg)
			}
			assertNoSecret(t, c, err)
		})
	}
}

func TestValidateRefusesIncompleteCredential(t *testing.T) {
	ep, srv := newTokenEndpoint(t, &tokenEndpoint{method: Basic, clientID: "app", secret: testSecret})
	tests := []struct {
		name string
		c    Credential
		want string
	}{
		{"zero", Credential{}, "client_id is empty"},
		{"no secret", Credential{Name: "m", ClientID: "app", TokenEndpoint: srv.URL}, "client_secret is empty"},
		{"relative endpoint", Credential{Name: "m", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: "/token"}, `token_endpoint "/token" is not an absolute http(s) URL`},
		{"unknown method", Credential{Name: "m", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: srv.URL, Method: 7}, "unknown authentication method Method(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(context.Background(), tt.c, srv.Client())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate(%v) = %v; want error containing %q", tt.c, err, tt.want)
			}
		})
	}
	if n := ep.Count(); n != 0 {
		t.Errorf("token endpoint got %d requests for incomplete credentials; want 0", n)
	}
}

// assertNoSecret checks that neither err's message nor a log line carrying
// the credential and err shows the client secret.
func assertNoSecret(t *testing.T, c Credential, err error) {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Error("token", "credential", c, "err", err)
	slog.New(slog.NewTextHandler(&buf, nil)).Error("token", "credential", c, "err", err)
	for _, s := range []string{err.Error(), buf.String()} {
		if strings.Contains(s, c.ClientSecret) {
			t.Errorf("client secret appears in %q", s)
		}
	}
}

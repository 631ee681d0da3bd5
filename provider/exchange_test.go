package provider

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/oidcgate/oidcgate/clientauth"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestExchange(t *testing.T) {
	op := newFakeOP(t)
	var got *http.Request
	var form map[string][]string
	op.token = func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		r.ParseForm()
		got, form = r, r.PostForm
		if r.PostForm.Get("code") == "bad" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"code expired"}`))
			return
		}
		writeJSON(w, map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "id_token": "id-1"})
	}

	tests := []struct {
		name       string
		method     clientauth.Method
		wantBasic  bool
		wantSecret string // client_secret in the body
	}{
		{"client_secret_basic", clientauth.SecretBasic, true, ""},
		{"client_secret_post", clientauth.SecretPost, false, "a client secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op.options(JWKS)
			o.TokenAuth = tt.method
			p := newProvider(t, o)
			tok, err := p.Exchange(context.Background(), "code-1", "verifier-1", "https://rp.example.com/cb")
			if err != nil {
				t.Fatalf("Exchange() = %v", err)
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			if id, _ := tok.Extra("id_token").(string); tok.AccessToken != "at-1" || id != "id-1" {
				t.Errorf("Exchange() = %+v (id_token %q); want at-1 and id-1", tok, id)
			}
			user, pass, basic := got.BasicAuth()
			// RFC 6749 2.3.1: both are form-encoded before going into the header.
			pass, _ = url.QueryUnescape(pass)
			if basic != tt.wantBasic || (basic && (user != "client-1" || pass != o.ClientSecret)) {
				t.Errorf("Exchange() sent basic auth %v (%q); want %v", basic, user, tt.wantBasic)
			}
			if secret := strings.Join(form["client_secret"], ""); !strings.HasPrefix(secret, tt.wantSecret) || (tt.wantSecret == "") != (secret == "") {
				t.Errorf("Exchange() sent client_secret in the body: %v; want %v", secret != "", tt.wantSecret != "")
			}
			for name, want := range map[string]string{"code": "code-1", "code_verifier": "verifier-1", "redirect_uri": "https://rp.example.com/cb", "grant_type": "authorization_code"} {
				if v := strings.Join(form[name], ","); v != want {
					t.Errorf("Exchange() sent %s = %q; want %q", name, v, want)
				}
			}
		})
	}

	t.Run("error answer", func(t *testing.T) {
		p := newProvider(t, op.options(JWKS))
		_, err := p.Exchange(context.Background(), "bad", "verifier-1", "https://rp.example.com/cb")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "code expired" {
			t.Errorf("Exchange(bad code) = %v; want a *oauth2.RetrieveError with invalid_grant", err)
		}
		if err != nil && !strings.Contains(err.Error(), op.URL+"/token") {
			t.Errorf("Exchange(bad code) = %v; want the token URL named", err)
		}
	})

	t.Run("token endpoint never answers", func(t *testing.T) {
		op.mu.Lock()
		op.token = func(w http.ResponseWriter, r *http.Request) {
			// net/http notices the client going away only once the body is read.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-op.closing:
			}
		}
		op.mu.Unlock()
		o := op.options(JWKS)
		o.Timeout = 200 * time.Millisecond
		p := newProvider(t, o)
		start := time.Now()
		_, err := p.Exchange(context.Background(), "code-1", "verifier-1", "https://rp.example.com/cb")
		if d := time.Since(start); err == nil || d > time.Second {
			t.Errorf("Exchange(hanging endpoint) = %v after %v; want an error within about %v", err, d, o.Timeout)
		}
	})
}

func TestUserInfo(t *testing.T) {
	op := newFakeOP(t)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"claims", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer at-1" {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			writeJSON(w, map[string]any{"sub": "user-1", "email": "user@example.com", "employee_id": 12345678901234567})
		}, ""},
		{"401", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) }, "401"},
		{"signed answer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/jwt")
			w.Write([]byte("a.b.c"))
		}, "application/jwt"},
		{"not an object", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`["sub"]`)) }, "claims"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"sub":"` + strings.Repeat("x", maxDocument) + `"}`))
		}, "larger than"},
	}
	p := newProvider(t, op.options(JWKS))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op.mu.Lock()
			op.userinfo = tt.handler
			op.mu.Unlock()
			c, err := p.UserInfo(context.Background(), "at-1")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("UserInfo(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UserInfo() = %v", err)
			}
			if id, ok := c["employee_id"].(json.Number); !ok || id.String() != "12345678901234567" {
				t.Errorf("UserInfo() employee_id = %#v; want json.Number 12345678901234567", c["employee_id"])
			}
		})
	}

	t.Run("no endpoint", func(t *testing.T) {
		o := op.options(JWKS)
		o.UserInfoURL = ""
		if _, err := newProvider(t, o).UserInfo(context.Background(), "at-1"); !errors.Is(err, ErrNoUserInfo) {
			t.Errorf("UserInfo(no endpoint) = %v; want ErrNoUserInfo", err)
		}
	})
}

// TestExchangeAssertion checks what goes over the wire with an assertion:
// client_id, client_assertion_type and a client_assertion for the token
// URL, and never a secret, in the body or in a header.
func TestExchangeAssertion(t *testing.T) {
	op := newFakeOP(t)
	var form url.Values
	var header http.Header
	op.token = func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		r.ParseForm()
		form, header = r.PostForm, r.Header.Clone()
		writeJSON(w, map[string]any{"access_token": "at-1", "token_type": "Bearer", "id_token": "id-1"})
	}
	key, err := clientauth.OpenKeyFile(clientauth.KeyFileOptions{KeyFile: "../testdata/clientauth/rsa.key", CertificateFile: "../testdata/clientauth/rsa.crt"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method clientauth.Method
		key    *clientauth.KeyFile
		alg    jose.SignatureAlgorithm
	}{
		{"private_key_jwt", clientauth.PrivateKeyJWT, key, jose.RS256},
		{"client_secret_jwt", clientauth.SecretJWT, nil, jose.HS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op.options(JWKS)
			o.TokenAuth, o.AssertionKey = tt.method, tt.key
			if _, err := newProvider(t, o).Exchange(context.Background(), "code-1", "verifier-1", "https://rp.example.com/cb"); err != nil {
				t.Fatalf("Exchange() = %v", err)
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			if h := header.Get("Authorization"); h != "" {
				t.Errorf("Exchange() sent Authorization %q; want no header with an assertion", h)
			}
			if _, ok := form["client_secret"]; ok {
				t.Errorf("Exchange() sent client_secret with an assertion")
			}
			if got := form.Get("client_id"); got != "client-1" {
				t.Errorf("Exchange() sent client_id %q; want client-1", got)
			}
			if got := form.Get("client_assertion_type"); got != clientauth.AssertionType {
				t.Errorf("client_assertion_type = %q; want %q", got, clientauth.AssertionType)
			}
			tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{tt.alg})
			if err != nil {
				t.Fatalf("client_assertion: %v", err)
			}
			var cl jwt.Claims
			tok.UnsafeClaimsWithoutVerification(&cl)
			if len(cl.Audience) != 1 || cl.Audience[0] != op.URL+"/token" || cl.Issuer != "client-1" {
				t.Errorf("assertion claims = %+v; want iss client-1, aud the token URL", cl)
			}
			if strings.Contains(strings.Join(form["client_assertion"], ""), o.ClientSecret) {
				t.Errorf("the assertion holds the secret")
			}
		})
	}
}

// TestExchangeKeyRollover: the key pair is replaced on disk while the
// provider runs; once the files have been looked at again, the code
// exchange signs with the new key (no restart).
func TestExchangeKeyRollover(t *testing.T) {
	op := newFakeOP(t)
	var assertions []string
	op.token = func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		r.ParseForm()
		assertions = append(assertions, r.PostForm.Get("client_assertion"))
		writeJSON(w, map[string]any{"access_token": "at-1", "token_type": "Bearer", "id_token": "id-1"})
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "client.key")
	install := func(name string) {
		data, err := os.ReadFile("../testdata/clientauth/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(keyFile+".tmp", keyFile); err != nil {
			t.Fatal(err)
		}
	}
	install("rsa.key")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key, err := clientauth.OpenKeyFile(clientauth.KeyFileOptions{KeyFile: keyFile, Interval: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	o := op.options(JWKS)
	o.TokenAuth, o.AssertionKey = clientauth.PrivateKeyJWT, key
	p := newProvider(t, o)
	exchange := func() {
		t.Helper()
		if _, err := p.Exchange(context.Background(), "code-1", "verifier-1", "https://rp.example.com/cb"); err != nil {
			t.Fatalf("Exchange() = %v", err)
		}
	}

	exchange()
	install("ec.key")
	exchange() // within the interval: still the old key
	now = now.Add(time.Minute)
	exchange()

	op.mu.Lock()
	defer op.mu.Unlock()
	for i, want := range []jose.SignatureAlgorithm{jose.RS256, jose.RS256, jose.ES256} {
		if _, err := jwt.ParseSigned(assertions[i], []jose.SignatureAlgorithm{want}); err != nil {
			t.Errorf("assertion %d: %v; want one signed %s", i, err, want)
		}
	}
}

package credentials

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// tokenEndpoint is a fake OAuth 2.0 token endpoint that accepts exactly one
// client authentication method and records every request it gets.
type tokenEndpoint struct {
	method           Method // the only client authentication it accepts
	clientID, secret string
	expiresIn        int    // 0: no expires_in in the response
	scope            string // "": no scope in the response

	mu       sync.Mutex
	requests []tokenRequest
	issued   int
	// fail, when set, answers instead of issuing a token.
	fail http.HandlerFunc
	// hold, when set, delays every answer until it is closed.
	hold chan struct{}
}

type tokenRequest struct {
	Authorization string // raw header
	Form          url.Values
}

func newTokenEndpoint(t *testing.T, e *tokenEndpoint) (*tokenEndpoint, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv
}

func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.requests = append(e.requests, tokenRequest{Authorization: r.Header.Get("Authorization"), Form: r.PostForm})
	fail, hold := e.fail, e.hold
	e.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if fail != nil {
		fail(w, r)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	if !e.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	e.mu.Lock()
	e.issued++
	resp := map[string]any{
		"access_token": fmt.Sprintf("access-token-%d", e.issued),
		"token_type":   "Bearer",
	}
	e.mu.Unlock()
	if e.expiresIn != 0 {
		resp["expires_in"] = e.expiresIn
	}
	if e.scope != "" {
		resp["scope"] = e.scope
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

// authenticated applies RFC 6749 §2.3: exactly one method, the configured one.
func (e *tokenEndpoint) authenticated(r *http.Request) bool {
	user, pass, hasBasic := r.BasicAuth()
	_, hasBodySecret := r.PostForm["client_secret"]
	switch e.method {
	case Basic:
		if !hasBasic || hasBodySecret {
			return false
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		return err1 == nil && err2 == nil && id == e.clientID && secret == e.secret
	case Body:
		if r.Header.Get("Authorization") != "" {
			return false
		}
		return r.PostForm.Get("client_id") == e.clientID && r.PostForm.Get("client_secret") == e.secret
	}
	return false
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	json.NewEncoder(w).Encode(body)
}

func (e *tokenEndpoint) Requests() []tokenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]tokenRequest(nil), e.requests...)
}

func (e *tokenEndpoint) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.requests)
}

func (e *tokenEndpoint) SetFail(h http.HandlerFunc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = h
}

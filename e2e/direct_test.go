package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestRealProviderDirect proves the harness itself: a minimal relying party,
// built only from go-oidc and x/oauth2, signs in through the real provider in
// the real browser. Scenarios through oidcgate build on the same pieces.
func TestRealProviderDirect(t *testing.T) {
	requireNode(t)
	requireChromium(t)

	cert := NewCert(t)
	rp := newRelyingParty(t, cert)
	// Provider on localhost, relying party on 127.0.0.1: the callback is a
	// cross-site navigation, as in most deployments.
	op := StartOP(t, OPOptions{
		Host: "localhost",
		Cert: cert,
		Clients: []OPClient{
			BasicClient([]string{rp.callbackURL()}, []string{rp.signedOutURL()}),
			PostClient([]string{rp.callbackURL()}, []string{rp.signedOutURL()}),
		},
	})
	rp.connect(op)

	tests := []struct {
		client     string
		wantMethod string
		wantAlg    string
	}{
		{client: BasicClientID, wantMethod: "client_secret_basic", wantAlg: "RS256"},
		{client: PostClientID, wantMethod: "client_secret_post", wantAlg: "ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			b := NewBrowser(t)
			before := len(op.TokenRequests())

			b.Navigate(rp.loginURL(tt.client, ""))
			b.WaitVisible("#username")
			if got := b.Text("#client"); got != tt.client {
				t.Errorf("sign-in form names client %q; want %q", got, tt.client)
			}
			b.Screenshot("op-sign-in")
			b.SignIn(AliceName, AlicePassword)

			if got := b.Text("#email"); got != AliceEmail {
				t.Errorf("relying party shows email %q; want %q", got, AliceEmail)
			}
			if got := b.Text("#alg"); got != tt.wantAlg {
				t.Errorf("ID token alg = %q; want %q", got, tt.wantAlg)
			}
			b.Screenshot("direct-rp-signed-in-" + tt.client)

			reqs := op.TokenRequests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("token requests = %+v; want exactly one", reqs)
			}
			if r := reqs[0]; r.ClientID != tt.client || r.AuthMethod != tt.wantMethod || r.Status != http.StatusOK {
				t.Errorf("token request = %+v; want client %s by %s, status 200", r, tt.client, tt.wantMethod)
			}
		})
	}

	t.Run("session", func(t *testing.T) {
		b := NewBrowser(t)
		b.Navigate(rp.loginURL(BasicClientID, ""))
		b.SignIn(AliceName, AlicePassword)
		b.WaitVisible("#email")
		logins := len(op.Logins())

		// The provider's session signs in again without the form...
		b.Navigate(rp.loginURL(BasicClientID, ""))
		if got := b.Text("#email"); got != AliceEmail {
			t.Errorf("second sign-in shows %q; want %q", got, AliceEmail)
		}
		if got := len(op.Logins()); got != logins {
			t.Errorf("second sign-in submitted the form %d times; want 0", got-logins)
		}
		// The same by a POST authorization request (oidcgate's default) from
		// another site, and from a second tab sharing the browser's cookies.
		tab := b.NewTab(t)
		tab.Navigate(rp.loginURLBy(BasicClientID, "", http.MethodPost))
		if got := tab.Text("#email"); got != AliceEmail {
			t.Errorf("sign-in by POST in a second tab shows %q; want %q", got, AliceEmail)
		}
		if got := len(op.Logins()); got != logins {
			t.Errorf("sign-in by POST submitted the form %d times; want 0", got-logins)
		}

		// ...unless prompt=login asks for the password again.
		b.Navigate(rp.loginURL(BasicClientID, "login"))
		b.SignIn(AliceName, AlicePassword)
		b.WaitVisible("#email")
		if got := len(op.Logins()); got != logins+1 {
			t.Errorf("prompt=login: form submitted %d times; want 1", got-logins)
		}

		// Sign-out at the provider ends at the relying party, and ends the
		// provider's session: the next sign-in shows the form.
		ends := len(op.EndSessions())
		b.Click("#signout")
		b.WaitVisible("#rp-signed-out")
		if got := len(op.EndSessions()); got != ends+1 {
			t.Errorf("end_session events = %d; want %d", got, ends+1)
		}
		b.Navigate(rp.loginURL(BasicClientID, ""))
		b.WaitVisible("#username")
	})

	t.Run("wrong password", func(t *testing.T) {
		b := NewBrowser(t)
		before := len(op.TokenRequests())

		b.Navigate(rp.loginURL(BasicClientID, ""))
		b.SignIn(AliceName, "not-alice-password")
		if got, want := b.Text("#error"), "Wrong user name or password."; got != want {
			t.Errorf("error = %q; want %q", got, want)
		}
		b.Screenshot("op-sign-in-wrong-password")
		logins := op.Logins()
		if last := logins[len(logins)-1]; last.Username != AliceName || last.OK {
			t.Errorf("last login = %+v; want alice, not ok", last)
		}
		if got := op.TokenRequests()[before:]; len(got) != 0 {
			t.Errorf("token requests after a wrong password = %+v; want none", got)
		}

		// The same form still works with the right password.
		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#email"); got != AliceEmail {
			t.Errorf("after retry, relying party shows %q; want %q", got, AliceEmail)
		}
	})
}

// relyingParty is the smallest correct code-flow client: state, nonce and
// PKCE S256 per attempt, the code exchanged with the client's own secret
// method, the ID token verified by go-oidc.
type relyingParty struct {
	t   testing.TB
	srv *httptest.Server

	// Set by connect, before the browser runs.
	op       *OP
	provider *oidc.Provider
	clients  map[string]OPClient

	mu       sync.Mutex
	attempts map[string]attempt // by state
	idTokens map[string]string  // last ID token by client, for id_token_hint
}

type attempt struct {
	client          OPClient
	nonce, verifier string
}

func newRelyingParty(t testing.TB, cert *Cert) *relyingParty {
	rp := &relyingParty{t: t, attempts: map[string]attempt{}, idTokens: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("GET /signout", rp.signOut)
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		rpPage(w, http.StatusOK, `<h1 id="rp-signed-out">Signed out</h1>`)
	})
	rp.srv = httptest.NewUnstartedServer(mux)
	rp.srv.TLS = cert.ServerConfig()
	rp.srv.StartTLS()
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) callbackURL() string  { return rp.srv.URL + "/callback" }
func (rp *relyingParty) signedOutURL() string { return rp.srv.URL + "/signed-out" }

func (rp *relyingParty) loginURL(client, prompt string) string {
	return rp.loginURLBy(client, prompt, http.MethodGet)
}

// loginURLBy starts sign-in with the authorization request sent by method
// (GET: a redirect; POST: an auto-submitted form).
func (rp *relyingParty) loginURLBy(client, prompt, method string) string {
	q := url.Values{"client": {client}, "method": {method}}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	return rp.srv.URL + "/login?" + q.Encode()
}

func (rp *relyingParty) connect(op *OP) {
	rp.t.Helper()
	p, err := oidc.NewProvider(oidc.ClientContext(context.Background(), op.HTTPClient()), op.Issuer)
	if err != nil {
		rp.t.Fatalf("discovery: %v", err)
	}
	rp.op, rp.provider = op, p
	rp.clients = map[string]OPClient{}
	for _, c := range []OPClient{BasicClient(nil, nil), PostClient(nil, nil)} {
		rp.clients[c.ID] = c
	}
}

func (rp *relyingParty) oauth2Config(c OPClient) *oauth2.Config {
	ep := rp.provider.Endpoint()
	// Never autodetect: the test asserts which method went on the wire.
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if c.AuthMethod == "client_secret_post" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint:     ep,
		RedirectURL:  rp.callbackURL(),
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

func (rp *relyingParty) login(w http.ResponseWriter, r *http.Request) {
	c, ok := rp.clients[r.URL.Query().Get("client")]
	if !ok {
		rpPage(w, http.StatusBadRequest, `<p id="rp-error">unknown client</p>`)
		return
	}
	a := attempt{client: c, nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	state := randomString()
	rp.mu.Lock()
	rp.attempts[state] = a
	rp.mu.Unlock()

	opts := []oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}
	if p := r.URL.Query().Get("prompt"); p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	authURL := rp.oauth2Config(c).AuthCodeURL(state, opts...)
	if r.URL.Query().Get("method") != "POST" {
		http.Redirect(w, r, authURL, http.StatusFound)
		return
	}
	// The authorization request as a form post (OpenID Connect Core 3.1.2.1),
	// as oidcgate sends it by default.
	u, err := url.Parse(authURL)
	if err != nil {
		rp.fail(w, err)
		return
	}
	var inputs strings.Builder
	for k, vs := range u.Query() {
		for _, v := range vs {
			fmt.Fprintf(&inputs, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
		}
	}
	u.RawQuery = ""
	rpPage(w, http.StatusOK, fmt.Sprintf(`<form method="post" action="%s">%s<button id="continue">Continue</button></form>
<script>document.forms[0].submit()</script>`, html.EscapeString(u.String()), inputs.String()))
}

func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		rp.fail(w, fmt.Errorf("provider answered %s: %s", e, q.Get("error_description")))
		return
	}
	rp.mu.Lock()
	a, ok := rp.attempts[q.Get("state")]
	delete(rp.attempts, q.Get("state"))
	rp.mu.Unlock()
	if !ok {
		rp.fail(w, fmt.Errorf("unknown state %q", q.Get("state")))
		return
	}

	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, rp.op.HTTPClient())
	tok, err := rp.oauth2Config(a.client).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		rp.fail(w, fmt.Errorf("exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	verifier := rp.provider.Verifier(&oidc.Config{
		ClientID:             a.client.ID,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
	})
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		rp.fail(w, fmt.Errorf("verify ID token: %w", err))
		return
	}
	if idt.Nonce != a.nonce {
		rp.fail(w, fmt.Errorf("nonce %q; want %q", idt.Nonce, a.nonce))
		return
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		rp.fail(w, err)
		return
	}
	alg, err := tokenAlg(raw)
	if err != nil {
		rp.fail(w, err)
		return
	}
	rp.mu.Lock()
	rp.idTokens[a.client.ID] = raw
	rp.mu.Unlock()

	rpPage(w, http.StatusOK, fmt.Sprintf(`<h1>Relying party</h1>
<p>Signed in as <b id="email">%s</b></p>
<p>Client <span id="rp-client">%s</span>, ID token signed with <span id="alg">%s</span></p>
<p><a id="signout" href="/signout?client=%s">Sign out</a></p>`,
		html.EscapeString(claims.Email), html.EscapeString(a.client.ID), html.EscapeString(alg), url.QueryEscape(a.client.ID)))
}

// signOut sends the browser to the provider's end_session_endpoint.
func (rp *relyingParty) signOut(w http.ResponseWriter, r *http.Request) {
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := rp.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		rp.fail(w, fmt.Errorf("no end_session_endpoint (%v)", err))
		return
	}
	client := r.URL.Query().Get("client")
	rp.mu.Lock()
	hint := rp.idTokens[client]
	rp.mu.Unlock()
	q := url.Values{
		"id_token_hint":            {hint},
		"post_logout_redirect_uri": {rp.signedOutURL()},
		"state":                    {randomString()},
	}
	http.Redirect(w, r, meta.EndSession+"?"+q.Encode(), http.StatusFound)
}

// fail shows the error in the page and logs it: the test then fails waiting
// for what should have been there, and the log says why.
func (rp *relyingParty) fail(w http.ResponseWriter, err error) {
	rp.t.Logf("relying party: %v", err)
	rpPage(w, http.StatusBadRequest, `<p id="rp-error">`+html.EscapeString(err.Error())+`</p>`)
}

func rpPage(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Relying party</title></head><body>%s</body></html>", body)
}

// tokenAlg reads the alg of a compact JWS header; go-oidc has verified it.
func tokenAlg(raw string) (string, error) {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", fmt.Errorf("ID token header: %w", err)
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &header); err != nil {
		return "", fmt.Errorf("ID token header: %w", err)
	}
	return header.Alg, nil
}

func randomString() string { return rand.Text() }

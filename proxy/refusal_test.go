package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// assertRefused checks what oidcgate promises for a bad sign-in: a 4xx
// page that says why, a log line naming the reason, no session, and
// nothing forwarded with an identity.
func (g *gate) assertRefused(b *browser, r *response, reason, words string) {
	g.t.Helper()
	if r.StatusCode < 400 || r.StatusCode > 499 {
		g.t.Errorf("status = %d; want 4xx\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, words) {
		g.t.Errorf("refusal page does not say %q:\n%s", words, r.Body)
	}
	for _, leak := range []string{testClientSecret, "goroutine ", ".go:"} {
		if strings.Contains(r.Body, leak) {
			g.t.Errorf("refusal page leaks %q", leak)
		}
	}
	if !strings.Contains(g.logs.String(), `"reason":"`+reason+`"`) {
		g.t.Errorf("no log line with reason %q; logs:\n%s", reason, g.logs.String())
	}
	for _, req := range g.backend.requests()[g.backendMark:] {
		if req.Header.Get("X-Forwarded-User") != "" {
			g.t.Errorf("backend received %s with X-Forwarded-User %q", req.URL, req.Header.Get("X-Forwarded-User"))
		}
	}
	// No session: an API call is still refused and nothing reaches the backend.
	before := len(g.backend.requests())
	api := b.Do(http.MethodGet, g.url+"/Administration/api/me", nil, http.Header{"Accept": {"application/json"}})
	if api.StatusCode != http.StatusUnauthorized || len(g.backend.requests()) != before {
		g.t.Errorf("after a refused sign-in an API call got %d and reached the backend %d time(s)", api.StatusCode, len(g.backend.requests())-before)
	}
}

// startSignIn runs the flow up to the callback and returns the callback
// request's URL without sending it.
func (g *gate) startSignIn(b *browser) *url.URL {
	g.t.Helper()
	r := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation?ReturnUrl=/Administration/", nil, nil)
	for i := 0; i < 10; i++ {
		loc := r.Header.Get("Location")
		if r.StatusCode == http.StatusOK && testkit.AutoSubmits(r.Body) {
			action, form := testkit.ParseForm(g.t, r)
			r = b.Do(http.MethodPost, action, form, nil)
			continue
		}
		if r.StatusCode != http.StatusFound {
			g.t.Fatalf("sign-in stopped at %d:\n%s", r.StatusCode, r.Body)
		}
		u, _ := r.Request.URL.Parse(loc)
		if strings.HasPrefix(u.String(), g.url) {
			return u
		}
		r = b.Do(http.MethodGet, u.String(), nil, nil)
	}
	g.t.Fatal("no callback reached")
	return nil
}

func TestIDTokenRefusals(t *testing.T) {
	tests := []struct {
		name    string
		s       setup
		prepare func(op *fakeoptest.OP)
		reason  string
		words   string
	}{
		{"bad signature", setup{}, func(op *fakeoptest.OP) {
			op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: op.KeyID()})
		}, "id_token_signature", "signature"},
		{"key unknown after a fresh fetch", setup{}, func(op *fakeoptest.OP) {
			op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true})
		}, "id_token_unknown_key", "signature"},
		{"alg none", setup{}, func(op *fakeoptest.OP) {
			op.SetSigning(fakeop.SigningOptions{None: true})
		}, "id_token_algorithm", "signing algorithm"},
		{"algorithm not allowed", setup{algs: `["RS256"]`, opOptions: fakeop.Options{Algorithm: "ES256"}}, nil, "id_token_algorithm", "signing algorithm"},
		{"wrong issuer", setup{}, mutate(func(c map[string]any) { c["iss"] = "https://evil.example" }), "id_token_issuer", "issuer"},
		{"wrong audience", setup{}, mutate(func(c map[string]any) { c["aud"] = "someone-else" }), "id_token_audience", "audience"},
		{"several audiences, wrong azp", setup{}, mutate(func(c map[string]any) {
			c["aud"] = []string{testClientID, "other"}
			c["azp"] = "other"
		}), "id_token_azp", "authorized party"},
		{"several audiences, no azp", setup{}, mutate(func(c map[string]any) {
			c["aud"] = []string{testClientID, "other"}
			delete(c, "azp")
		}), "id_token_azp", "authorized party"},
		{"expired", setup{}, mutate(func(c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		}), "id_token_expired", "expired"},
		{"iat in the future", setup{}, mutate(func(c map[string]any) {
			c["iat"] = time.Now().Add(time.Hour).Unix()
			c["exp"] = time.Now().Add(2 * time.Hour).Unix()
		}), "id_token_issued_at", "issue time"},
		{"missing sub", setup{}, mutate(func(c map[string]any) { delete(c, "sub") }), "id_token_subject", "subject"},
		{"wrong nonce", setup{}, mutate(func(c map[string]any) { c["nonce"] = "not-the-nonce" }), "id_token_nonce", "nonce"},
		{"missing nonce", setup{}, mutate(func(c map[string]any) { delete(c, "nonce") }), "id_token_nonce", "nonce"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			if tt.prepare != nil {
				tt.prepare(g.op)
			}
			b := g.browser()
			hops := b.Visit(g.url + "/Administration/")
			g.assertRefused(b, last(hops), tt.reason, tt.words)
		})
	}
}

func mutate(f func(map[string]any)) func(op *fakeoptest.OP) {
	return func(op *fakeoptest.OP) { op.MutateClaims(f) }
}

func TestStateRefusals(t *testing.T) {
	t.Run("missing state", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		b := g.browser()
		cb := g.startSignIn(b)
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		g.assertRefused(b, b.Do(http.MethodGet, cb.String(), nil, nil), "state_missing", "no state")
		if n := g.op.Stats().TokenRequests; n != 0 {
			t.Errorf("%d token requests before the state was checked; want 0", n)
		}
	})
	t.Run("forged state", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		b := g.browser()
		cb := g.startSignIn(b)
		q := cb.Query()
		q.Set("state", "forged-state-value-0123456789")
		cb.RawQuery = q.Encode()
		g.assertRefused(b, b.Do(http.MethodGet, cb.String(), nil, nil), "state_unknown", "not started in this browser")
		if n := g.op.Stats().TokenRequests; n != 0 {
			t.Errorf("%d token requests for a forged state; want 0", n)
		}
	})
	t.Run("state from another browser", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		cb := g.startSignIn(g.browser())
		other := g.browser()
		g.assertRefused(other, other.Do(http.MethodGet, cb.String(), nil, nil), "state_unknown", "not started in this browser")
	})
	t.Run("replayed callback with its cookie, OP redeems codes twice", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		g.op.AllowCodeReuse(true)
		b := g.browser()
		cb := g.startSignIn(b)
		// Keep a copy of the login cookie as an attacker would.
		saved := b.Jar.Cookies(cb)
		if r := last(b.Follow(b.Do(http.MethodGet, cb.String(), nil, nil))); r.StatusCode != http.StatusOK {
			t.Fatalf("first callback = %d:\n%s", r.StatusCode, r.Body)
		}
		g.backendMark = len(g.backend.requests())
		attacker := g.browser()
		attacker.Jar.SetCookies(cb, saved)
		g.assertRefused(attacker, attacker.Do(http.MethodGet, cb.String(), nil, nil), "state_replayed", "already used")
	})
	t.Run("code refused by the OP", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		g.op.TokenHook(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"code expired"}`))
			return true
		})
		b := g.browser()
		g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "token_refused", "invalid_grant")
	})
	t.Run("OP error answer", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		b := g.browser()
		cb := g.startSignIn(b)
		q := url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"The user cancelled <b>sign-in</b>"}}
		cb.RawQuery = q.Encode()
		r := b.Do(http.MethodGet, cb.String(), nil, nil)
		g.assertRefused(b, r, "provider_error", "access_denied")
		if strings.Contains(r.Body, "<b>sign-in</b>") {
			t.Error("provider text reached the page unescaped")
		}
	})
}

func TestCookieRefusals(t *testing.T) {
	t.Run("tampered session cookie", func(t *testing.T) {
		g := newGate(t, setup{})
		b := g.browser()
		g.signedIn(b, "/Administration/")
		u := mustURL(g.url + "/Administration/")
		for _, c := range b.Jar.Cookies(u) {
			if c.Name == sessionCookie {
				v := []byte(c.Value)
				v[len(v)/2] ^= 0x01
				c.Value = string(v)
				c.Path, c.Secure = "/", true // as a __Host- cookie must be
				b.Jar.SetCookies(u, []*http.Cookie{c})
			}
		}
		before := len(g.backend.requests())
		r := b.Do(http.MethodGet, g.url+"/Administration/", nil, nil)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "could not be read") || len(g.backend.requests()) != before {
			t.Errorf("tampered cookie: %d, backend reached %d time(s):\n%s", r.StatusCode, len(g.backend.requests())-before, r.Body)
		}
	})
	t.Run("cookie made with a key not in keys", func(t *testing.T) {
		g := newGate(t, setup{})
		b := g.browser()
		g.signedIn(b, "/Administration/")
		// Same browser, a deployment with other keys. Cookie jars key
		// cookies by host, not port, so the browser sends the same cookie.
		g2 := newGate(t, setup{keys: []string{testKey2}})
		r := b.Do(http.MethodGet, g2.url+"/Administration/", nil, nil)
		if r.StatusCode != http.StatusUnauthorized || len(g2.backend.requests()) != 0 {
			t.Errorf("foreign cookie: %d, backend reached %d time(s)", r.StatusCode, len(g2.backend.requests()))
		}
	})
}

func TestKeyRotationKeepsOldCookies(t *testing.T) {
	g := newGate(t, setup{keys: []string{testKey1}})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	// A replica with a new first key and the old one still listed; the
	// browser sends it the same cookie (jars key cookies by host).
	g2 := newGate(t, setup{keys: []string{testKey2, testKey1}})
	r := b.Do(http.MethodGet, g2.url+"/Administration/", nil, nil)
	if r.StatusCode != http.StatusOK || g2.backend.last(t).Header.Get("X-Forwarded-User") != "alice@example.com" {
		t.Fatalf("old cookie after rotation = %d:\n%s", r.StatusCode, r.Body)
	}
}

func TestUnauthenticatedRequests(t *testing.T) {
	g := newGate(t, setup{})
	b := g.browser()
	tests := []struct {
		name   string
		method string
		accept string
		want   int
	}{
		{"browser navigation", http.MethodGet, "text/html,application/xhtml+xml", http.StatusFound},
		{"API GET", http.MethodGet, "application/json", http.StatusUnauthorized},
		{"POST", http.MethodPost, "text/html", http.StatusUnauthorized},
		{"no Accept", http.MethodGet, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Do(tt.method, g.url+"/Flowtime/api/tasks?x=1", nil, http.Header{"Accept": {tt.accept}})
			if r.StatusCode != tt.want {
				t.Errorf("%s = %d; want %d", tt.name, r.StatusCode, tt.want)
			}
			if tt.want == http.StatusFound {
				loc := r.Header.Get("Location")
				if !strings.HasPrefix(loc, "/Flowtime/oidcServices/Signininitiation?ReturnUrl=") || !strings.Contains(loc, url.QueryEscape("/Flowtime/api/tasks?x=1")) {
					t.Errorf("redirect to %q", loc)
				}
			}
		})
	}
	if n := len(g.backend.requests()); n != 0 {
		t.Errorf("backend received %d unauthenticated request(s)", n)
	}
}

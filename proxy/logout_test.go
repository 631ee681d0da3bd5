package proxy_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/redistest"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/store"
)

// skew is the clock leeway the test gates allow (no clock_skew set).
const skew = provider.DefaultClockSkew

const (
	backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	opSID            = "op-session-1"
)

// sidUser is the default user whose ID tokens carry the OP's session id.
func sidUser() fakeop.User {
	u := defaultUser
	u.Claims = map[string]any{}
	for k, v := range defaultUser.Claims {
		u.Claims[k] = v
	}
	u.Claims["sid"] = opSID
	return u
}

// logoutClaims are the claims of a valid logout token for g's OP, naming
// the user's sub and the OP's session.
func logoutClaims(g *gate) map[string]any {
	return map[string]any{
		"iss":    g.op.Issuer(),
		"aud":    testClientID,
		"iat":    time.Now().Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{backChannelEvent: map[string]any{}},
		"sub":    defaultUser.Claims["sub"],
		"sid":    opSID,
	}
}

func signLogout(t *testing.T, op *fakeoptest.OP, claims map[string]any, s fakeop.SigningOptions) string {
	t.Helper()
	tok, err := op.SignToken(claims, s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// backChannel posts form to the back-channel logout endpoint, as the
// provider does: no cookie.
func (g *gate) backChannel(form url.Values) *response {
	g.t.Helper()
	return newBrowserOn(g.t, g.op.Client()).Do(http.MethodPost, g.url+"/Administration/oidcServices/BackChannelLogout", form, nil)
}

// reachesBackend reports whether b's session still gets a page through.
func (g *gate) reachesBackend(b *browser) bool {
	g.t.Helper()
	before := len(g.backend.requests())
	r := b.Do(http.MethodGet, g.url+"/Flowtime/home.aspx", nil, nil)
	return r.StatusCode == http.StatusOK && len(g.backend.requests()) == before+1
}

func assertLogoutError(t *testing.T, r *response, status int, words string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status = %d; want %d: %s", r.StatusCode, status, r.Body)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	if status == http.StatusBadRequest && body.Error != "invalid_request" {
		t.Errorf("error = %q; want invalid_request", body.Error)
	}
	if !strings.Contains(body.Description, words) {
		t.Errorf("error_description = %q; want it to mention %q", body.Description, words)
	}
}

// TestBackChannelLogoutRefusals sends one bad logout token per rule of
// the contract; each is refused with 400, and the signed-in session goes
// on working. A valid token at the end shows the session could end.
func TestBackChannelLogoutRefusals(t *testing.T) {
	g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	now := time.Now()
	without := func(name string) func(c map[string]any) { return func(c map[string]any) { delete(c, name) } }
	set := func(name string, v any) func(c map[string]any) { return func(c map[string]any) { c[name] = v } }
	tests := []struct {
		name    string
		mutate  func(c map[string]any)
		signing fakeop.SigningOptions
		reason  string
	}{
		{"bad signature", nil, fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: g.op.KeyID()}, "signature"},
		{"alg none", nil, fakeop.SigningOptions{None: true}, "algorithm"},
		{"alg not allowed", nil, fakeop.SigningOptions{Algorithm: "ES256"}, "algorithm"},
		{"another issuer", set("iss", "https://evil.example.com"), fakeop.SigningOptions{}, "issuer"},
		{"another audience", set("aud", "another-client"), fakeop.SigningOptions{}, "audience"},
		{"audiences without the client", set("aud", []any{"a", "b"}), fakeop.SigningOptions{}, "audience"},
		{"no iat", without("iat"), fakeop.SigningOptions{}, "issued_at"},
		{"iat not a number", set("iat", "yesterday"), fakeop.SigningOptions{}, "invalid"},
		{"iat in the future", set("iat", now.Add(time.Hour).Unix()), fakeop.SigningOptions{}, "issued_at"},
		{"exp passed, beyond clock_skew", set("exp", now.Add(-skew-10*time.Second).Unix()), fakeop.SigningOptions{}, "expired"},
		{"no exp, iat older than 2 minutes plus clock_skew", set("iat", now.Add(-2*time.Minute-skew-10*time.Second).Unix()), fakeop.SigningOptions{}, "expired"},
		{"no jti", without("jti"), fakeop.SigningOptions{}, "jti"},
		{"empty jti", set("jti", ""), fakeop.SigningOptions{}, "jti"},
		{"no events", without("events"), fakeop.SigningOptions{}, "events"},
		{"events not an object", set("events", backChannelEvent), fakeop.SigningOptions{}, "events"},
		{"logout event not an object", set("events", map[string]any{backChannelEvent: "yes"}), fakeop.SigningOptions{}, "events"},
		{"another event", set("events", map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}), fakeop.SigningOptions{}, "events"},
		{"neither sub nor sid", func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }, fakeop.SigningOptions{}, "subject"},
		{"sid not a string", set("sid", 7), fakeop.SigningOptions{}, "subject"},
		{"a nonce", set("nonce", "n-0S6_WzA2Mj"), fakeop.SigningOptions{}, "nonce"},
		{"typ at+jwt", nil, fakeop.SigningOptions{Header: map[string]any{"typ": "at+jwt"}}, "typ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := logoutClaims(g)
			if tt.mutate != nil {
				tt.mutate(c)
			}
			tok := signLogout(t, g.op, c, tt.signing)
			r := g.backChannel(url.Values{"logout_token": {tok}})
			assertLogoutError(t, r, http.StatusBadRequest, tt.reason)
			if !g.reachesBackend(b) {
				t.Fatalf("a refused logout token (%s) ended the session", tt.name)
			}
			if strings.Contains(g.logs.String(), tok) || strings.Contains(g.logs.String(), strings.Split(tok, ".")[1]) {
				t.Error("the logout token is in the log")
			}
			if !strings.Contains(g.logs.String(), `"reason":"`+tt.reason+`"`) {
				t.Errorf("no log line with reason %s:\n%s", tt.reason, g.logs.String())
			}
		})
	}
	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"no logout_token", url.Values{"token": {"x"}}},
		{"not a JWT", url.Values{"logout_token": {"not.a-jwt"}}},
		{"an ID token's shape, unsigned garbage", url.Values{"logout_token": {"eyJhbGciOiJSUzI1NiJ9.e30.AAAA"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assertLogoutError(t, g.backChannel(tt.form), http.StatusBadRequest, "")
			if !g.reachesBackend(b) {
				t.Fatal("a refused request ended the session")
			}
		})
	}

	// The same token, signed as it should be, does end the session.
	r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, logoutClaims(g), fakeop.SigningOptions{})}})
	if r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("valid logout token = %d, Cache-Control %q; want 200, no-store: %s", r.StatusCode, r.Header.Get("Cache-Control"), r.Body)
	}
	if g.reachesBackend(b) {
		t.Fatal("the session outlived a valid logout token")
	}
}

// TestBackChannelLogoutAccepts: the forms a valid token may take, each of
// which ends the session it names; unknown claims and form fields are
// ignored.
func TestBackChannelLogoutAccepts(t *testing.T) {
	g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}})
	now := time.Now()
	tests := []struct {
		name    string
		mutate  func(c map[string]any)
		signing fakeop.SigningOptions
		form    url.Values
	}{
		{"typ JWT, sub and sid", nil, fakeop.SigningOptions{}, nil},
		{"no typ", nil, fakeop.SigningOptions{Header: map[string]any{"typ": nil}}, nil},
		{"typ logout+jwt", nil, fakeop.SigningOptions{Header: map[string]any{"typ": "logout+jwt"}}, nil},
		{"sid alone", func(c map[string]any) { delete(c, "sub") }, fakeop.SigningOptions{}, nil},
		{"exp ahead, iat an hour old", func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(time.Minute).Unix()
		}, fakeop.SigningOptions{}, nil},
		{"no exp, iat 2 minutes old and within clock_skew", func(c map[string]any) { c["iat"] = now.Add(-2*time.Minute - skew + 20*time.Second).Unix() }, fakeop.SigningOptions{}, nil},
		{"exp passed, within clock_skew", func(c map[string]any) { c["exp"] = now.Add(-skew + 20*time.Second).Unix() }, fakeop.SigningOptions{}, nil},
		{"iat ahead, within clock_skew", func(c map[string]any) { c["iat"] = now.Add(skew - 20*time.Second).Unix() }, fakeop.SigningOptions{}, nil},
		{"aud an array", func(c map[string]any) { c["aud"] = []any{"other", testClientID} }, fakeop.SigningOptions{}, nil},
		{"unknown claims and fields", func(c map[string]any) {
			c["acr"], c["extra"] = "urn:x", map[string]any{"a": 1}
			c["events"].(map[string]any)["http://example.com/event"] = "x"
		}, fakeop.SigningOptions{}, url.Values{"state": {"x"}, "foo": {"bar"}}},
		{"key named by x5t", nil, fakeop.SigningOptions{UseX5T: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := g.browser()
			g.signedIn(b, "/Administration/")
			c := logoutClaims(g)
			if tt.mutate != nil {
				tt.mutate(c)
			}
			form := url.Values{"logout_token": {signLogout(t, g.op, c, tt.signing)}}
			for k, v := range tt.form {
				form[k] = v
			}
			r := g.backChannel(form)
			if r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("logout = %d, Cache-Control %q; want 200, no-store: %s", r.StatusCode, r.Header.Get("Cache-Control"), r.Body)
			}
			if g.reachesBackend(b) {
				t.Fatal("the session outlived the logout token")
			}
		})
	}
	if !strings.Contains(g.logs.String(), `"msg":"logout","channel":"back"`) || !strings.Contains(g.logs.String(), `"outcome":"ended"`) {
		t.Errorf("no logout log line with its outcome:\n%s", g.logs.String())
	}
}

// TestBackChannelLogoutSIDAndSubject: a token with a sid ends that
// provider session only; with sub alone, every session of the user issued
// until then. A later sign-in of the same user works in both cases.
func TestBackChannelLogoutSIDAndSubject(t *testing.T) {
	g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}})
	withSID := g.browser()
	g.signedIn(withSID, "/Administration/")
	g.op.MutateClaims(func(c map[string]any) { c["sid"] = "op-session-2" })
	otherSID := g.browser()
	g.signedIn(otherSID, "/Administration/")

	r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, logoutClaims(g), fakeop.SigningOptions{})}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("sid logout = %d: %s", r.StatusCode, r.Body)
	}
	if g.reachesBackend(withSID) {
		t.Error("the session with the logged-out sid still works")
	}
	if !g.reachesBackend(otherSID) {
		t.Error("a session with another sid of the same user ended")
	}

	later := g.browser()
	g.signedIn(later, "/Administration/") // sid op-session-2 again, issued after the mark
	c := logoutClaims(g)
	delete(c, "sid")
	r = g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("sub logout = %d: %s", r.StatusCode, r.Body)
	}
	if g.reachesBackend(otherSID) || g.reachesBackend(later) {
		t.Error("a session of the user outlived a logout by sub")
	}
	again := g.browser()
	g.signedIn(again, "/Administration/")
	if !g.reachesBackend(again) {
		t.Error("a sign-in after the logout by sub does not work")
	}
}

// TestBackChannelLogoutKeySources: the token's signature is checked with
// the keys of whichever discovery kind is configured.
func TestBackChannelLogoutKeySources(t *testing.T) {
	tests := []struct {
		name    string
		s       setup
		signing fakeop.SigningOptions
	}{
		{"OpenIdDiscoveryDocument", setup{}, fakeop.SigningOptions{}},
		{"JsonWebKeySet", setup{kind: "JsonWebKeySet"}, fakeop.SigningOptions{}},
		{"Federation", setup{kind: "Federation"}, fakeop.SigningOptions{KeyIDAndX5T: true}},
		{"Store", setup{kind: "Store", certs: opCertificate(t, false)}, fakeop.SigningOptions{UseX5T: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.opOptions.Users = []fakeop.User{sidUser()}
			g := newGate(t, tt.s)
			if err := g.op.SetSigning(tt.signing); err != nil {
				t.Fatal(err)
			}
			b := g.browser()
			g.signedIn(b, "/Administration/")
			bad := signLogout(t, g.op, logoutClaims(g), fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: g.op.KeyID(), UseX5T: tt.signing.UseX5T, KeyIDAndX5T: tt.signing.KeyIDAndX5T})
			assertLogoutError(t, g.backChannel(url.Values{"logout_token": {bad}}), http.StatusBadRequest, "")
			if !g.reachesBackend(b) {
				t.Fatal("a token signed with another key ended the session")
			}
			r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, logoutClaims(g), tt.signing)}})
			if r.StatusCode != http.StatusOK {
				t.Fatalf("logout = %d: %s", r.StatusCode, r.Body)
			}
			if g.reachesBackend(b) {
				t.Fatal("the session outlived the logout token")
			}
		})
	}
}

// TestBackChannelLogoutAnswers: the method, a repeated token, and a store
// that cannot be reached.
func TestBackChannelLogoutAnswers(t *testing.T) {
	t.Run("GET is 405", func(t *testing.T) {
		g := newGate(t, setup{})
		r := newBrowserOn(t, g.op.Client()).Do(http.MethodGet, g.url+"/Administration/oidcservices/backchannellogout", nil, nil)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Fatalf("GET = %d, Allow %q; want 405, POST", r.StatusCode, r.Header.Get("Allow"))
		}
	})
	t.Run("repeated jti is 400", func(t *testing.T) {
		g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}})
		c := logoutClaims(g)
		if r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}}); r.StatusCode != http.StatusOK {
			t.Fatalf("first = %d: %s", r.StatusCode, r.Body)
		}
		b := g.browser()
		g.signedIn(b, "/Administration/")
		// The same jti, even in a token otherwise new, is refused.
		c["iat"] = time.Now().Unix() + 1
		assertLogoutError(t, g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}}), http.StatusBadRequest, "used before")
		if !g.reachesBackend(b) {
			t.Fatal("a repeated logout token ended a later session")
		}
		if !strings.Contains(g.logs.String(), `"reason":"replayed"`) {
			t.Error("the repeated token is not logged as replayed")
		}
	})
	t.Run("times by oidcgate's clock", func(t *testing.T) {
		ahead := time.Now().Add(time.Hour)
		g := newGate(t, setup{clock: func() time.Time { return time.Now().Add(time.Hour) }})
		c := logoutClaims(g) // iat: an hour old by the gate's clock
		assertLogoutError(t, g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}}), http.StatusBadRequest, "expired")
		c["iat"], c["jti"] = ahead.Unix(), rand.Text()
		if r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}}); r.StatusCode != http.StatusOK {
			t.Fatalf("a token issued now by the gate's clock = %d: %s", r.StatusCode, r.Body)
		}
	})
	t.Run("store unreachable is 503, ends the session here", func(t *testing.T) {
		s := setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}, store: func(cfg *config.Config) store.Store {
			o, _, err := proxy.StoreOptions(cfg, store.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := store.NewMemory(o.Options)
			if err != nil {
				t.Fatal(err)
			}
			return unreachableStore{m}
		}}
		g := newGate(t, s)
		b := g.browser()
		g.signedIn(b, "/Administration/")
		r := g.backChannel(url.Values{"logout_token": {signLogout(t, g.op, logoutClaims(g), fakeop.SigningOptions{})}})
		assertLogoutError(t, r, http.StatusServiceUnavailable, "cannot be reached")
		if g.reachesBackend(b) {
			t.Fatal("the mark did not apply on this replica")
		}
	})
}

// unreachableStore is a memory store whose shared part is down: marks and
// reservations apply here only.
type unreachableStore struct{ *store.Memory }

func (s unreachableStore) Revoke(ctx context.Context, m store.Mark) error {
	if err := s.Memory.Revoke(ctx, m); err != nil {
		return err
	}
	return store.ErrUnavailable
}

func (s unreachableStore) Reserve(ctx context.Context, key string, ttl time.Duration) error {
	if err := s.Memory.Reserve(ctx, key, ttl); err != nil {
		return err
	}
	return store.ErrUnavailable
}

// frontChannel loads the front-channel logout page in b, as the
// provider's iframe does.
func (g *gate) frontChannel(b *browser, query url.Values) *response {
	g.t.Helper()
	target := g.url + "/Administration/oidcServices/FrontChannelLogout"
	if query != nil {
		target += "?" + query.Encode()
	}
	return b.Do(http.MethodGet, target, nil, nil)
}

func TestFrontChannelLogout(t *testing.T) {
	g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}}})
	opOrigin := strings.TrimSuffix(g.op.Endpoints().Authorization, "/authorize")
	if u, err := url.Parse(g.op.Endpoints().Authorization); err == nil {
		opOrigin = u.Scheme + "://" + u.Host
	}
	assertPage := func(t *testing.T, r *response) {
		t.Helper()
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Signed out") {
			t.Fatalf("front-channel logout = %d: %s", r.StatusCode, r.Body)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q; want no-store", got)
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors "+opOrigin+";") && !strings.HasSuffix(csp, "frame-ancestors "+opOrigin) {
			t.Errorf("Content-Security-Policy = %q; want frame-ancestors %s and nothing else", csp, opOrigin)
		}
		if r.Header.Get("X-Frame-Options") != "" {
			t.Errorf("X-Frame-Options %q would stop the provider's iframe", r.Header.Get("X-Frame-Options"))
		}
	}
	tests := []struct {
		name  string
		query url.Values
		ends  bool
	}{
		{"iss and sid", url.Values{"iss": {g.op.Issuer()}, "sid": {opSID}}, true},
		{"sid alone", url.Values{"sid": {opSID}}, true},
		{"another iss", url.Values{"iss": {"https://evil.example.com"}, "sid": {opSID}}, false},
		{"another sid", url.Values{"iss": {g.op.Issuer()}, "sid": {"someone-else"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := g.browser()
			g.signedIn(b, "/Administration/")
			// The provider's iframe: another browser context, no cookie.
			assertPage(t, g.frontChannel(newBrowserOn(t, g.op.Client()), tt.query))
			if ended := !g.reachesBackend(b); ended != tt.ends {
				t.Fatalf("session ended = %v; want %v", ended, tt.ends)
			}
			again := g.browser()
			g.signedIn(again, "/Administration/")
			if !g.reachesBackend(again) {
				t.Fatal("a sign-in after the logout does not work")
			}
		})
	}
	t.Run("only a cookie", func(t *testing.T) {
		b, other, copied := g.browser(), g.browser(), g.browser()
		g.signedIn(b, "/Administration/")
		g.signedIn(other, "/Administration/")
		site, _ := url.Parse(g.url + "/Administration/")
		copied.Jar.SetCookies(site, b.Jar.Cookies(site))
		assertPage(t, g.frontChannel(b, nil))
		if g.reachesBackend(b) {
			t.Error("the browser's session outlived its front-channel logout")
		}
		if g.reachesBackend(copied) {
			t.Error("a copy of the cookie taken before the logout still works")
		}
		if !g.reachesBackend(other) {
			t.Error("another browser's session of the same user ended")
		}
	})
	t.Run("only a cookie, from a link on another site", func(t *testing.T) {
		b := g.browser()
		g.signedIn(b, "/Administration/")
		target := g.url + "/Administration/oidcServices/FrontChannelLogout"
		for _, h := range []http.Header{
			{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Dest": {"document"}},
			{"Origin": {"https://attacker.example"}},
		} {
			r := b.Do(http.MethodGet, target, nil, h)
			if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Nothing was signed out") {
				t.Errorf("cross-site front-channel logout with %v = %d %q; want 200 saying nothing ended", h, r.StatusCode, r.Body)
			}
		}
		if !g.reachesBackend(b) {
			t.Error("a link on another site ended the session through the front-channel logout")
		}
	})
	t.Run("no cookie, no sid", func(t *testing.T) {
		b := g.browser()
		g.signedIn(b, "/Administration/")
		assertPage(t, g.frontChannel(newBrowserOn(t, g.op.Client()), nil))
		if !g.reachesBackend(b) {
			t.Error("a logout naming no session ended one")
		}
	})
	t.Run("POST is 405", func(t *testing.T) {
		r := newBrowserOn(t, g.op.Client()).Do(http.MethodPost, g.url+"/Administration/oidcservices/frontchannellogout", url.Values{"sid": {opSID}}, nil)
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST = %d; want 405", r.StatusCode)
		}
	})
	logs := g.logs.String()
	for _, want := range []string{`"channel":"front"`, `"reason":"issuer"`, `"reason":"no_session"`, `"reason":"cross_site"`, `"outcome":"ended"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no logout log line with %s", want)
		}
	}
}

// TestLogoutMetrics: each logout that writes a mark is counted by its
// source.
func TestLogoutMetrics(t *testing.T) {
	g := newGate(t, setup{})
	backend := newRecorder(t)
	r := startRun(t, g.op, backend.URL, "")
	waitRunReady(t, r)
	b := g.browser()
	b.Client.Transport = r.client.Transport
	c := logoutClaims(g)
	delete(c, "sid")
	if p := b.Do(http.MethodPost, r.public+"/Administration/oidcServices/backchannellogout", url.Values{"logout_token": {signLogout(t, g.op, c, fakeop.SigningOptions{})}}, nil); p.StatusCode != http.StatusOK {
		t.Fatalf("back-channel = %d: %s", p.StatusCode, p.Body)
	}
	b.Do(http.MethodPost, r.public+"/Administration/oidcServices/backchannellogout", url.Values{"logout_token": {"bad"}}, nil)
	for range 2 {
		b.Do(http.MethodGet, r.public+"/Administration/oidcServices/frontchannellogout?sid=s1", nil, nil)
	}
	_, metrics := r.get(t, r.admin+"/metrics")
	for _, want := range []string{
		`oidcgate_revocations_total{source="backchannel"} 1`,
		`oidcgate_revocations_total{source="frontchannel"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(metrics, "revocations"))
		}
	}
}

// TestBackChannelLogoutReplicas: two replicas sharing a real Redis. A
// logout token's jti is single use across both, and the mark written at
// one ends the session at the other.
func TestBackChannelLogoutReplicas(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	s := setup{
		tokenAuth: "client_secret_basic",
		opOptions: fakeop.Options{Users: []fakeop.User{sidUser()}},
		extra:     fmt.Sprintf("[store]\nkind = \"redis\"\nurl = %q\n", redis.URL),
	}
	g := newGate(t, s)
	cfg, err := config.Parse([]byte(g.configTOML(s)), "replica.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	replica, err := proxy.New(ctx, proxy.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), OutboundClient: g.op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Close() })
	waitReady(t, replica)
	atReplica := func(token string) int {
		req := httptest.NewRequest(http.MethodPost, g.url+"/Administration/oidcServices/backchannellogout", strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		replica.ServeHTTP(w, req)
		return w.Code
	}

	b := g.browser()
	g.signedIn(b, "/Administration/")
	tok := signLogout(t, g.op, logoutClaims(g), fakeop.SigningOptions{})
	if code := atReplica(tok); code != http.StatusOK {
		t.Fatalf("logout at the replica = %d; want 200", code)
	}
	if err := testkit.Until(2*time.Second, func() error {
		if g.reachesBackend(b) {
			return errors.New("the session still reaches the backend")
		}
		return nil
	}); err != nil {
		t.Fatalf("a logout at one replica did not end the session at the other: %v", err)
	}

	later := g.browser()
	g.signedIn(later, "/Administration/")
	assertLogoutError(t, g.backChannel(url.Values{"logout_token": {tok}}), http.StatusBadRequest, "used before")
	if code := atReplica(tok); code != http.StatusBadRequest {
		t.Errorf("the token again at the replica = %d; want 400", code)
	}
	if !g.reachesBackend(later) {
		t.Fatal("a replayed logout token ended a later session")
	}
}

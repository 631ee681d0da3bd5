package proxy_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// The attacks here are written as an attacker sends them: raw bytes over a
// TLS connection, because net/http's client would clean the path or drop
// the headers first.

// raw sends request as it is over a new TLS connection and returns the
// answer with its body read.
func (g *gate) raw(t *testing.T, request string) *response {
	t.Helper()
	conn, err := tls.Dial("tcp", g.host(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	// The request the answer belongs to: its method (a HEAD answer has no
	// body) and a URL to resolve the answer's links against.
	method, _, _ := strings.Cut(request, " ")
	req, err := http.NewRequest(method, g.url+"/", nil)
	if err != nil {
		req = nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, Body: string(body)}
}

func (g *gate) host() string { return strings.TrimPrefix(g.url, "https://") }

// rawGet is a browser-like GET of target, sent as written, with the
// browser's cookies and the extra header lines.
func (g *gate) rawGet(t *testing.T, b *browser, target string, lines ...string) *response {
	t.Helper()
	return g.rawRequest(t, b, "GET", target, lines...)
}

func (g *gate) rawRequest(t *testing.T, b *browser, method, target string, lines ...string) *response {
	t.Helper()
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: text/html\r\n", method, target, g.host())
	if b != nil {
		if c := cookieHeader(b, g.url+"/Administration/"); c != "" {
			fmt.Fprintf(&req, "Cookie: %s\r\n", c)
		}
	}
	for _, l := range lines {
		req.WriteString(l + "\r\n")
	}
	req.WriteString("\r\n")
	return g.raw(t, req.String())
}

// cookieHeader is the Cookie header the browser sends to target.
func cookieHeader(b *browser, target string) string {
	var pairs []string
	for _, c := range b.Jar.Cookies(mustURL(target)) {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// TestPathsAreRoutedCleaned: a path is routed as a browser would resolve
// it, and what a browser would never send is refused; the backend never
// receives a path outside its site's upstream path. The deployment has
// single sign-on off and an Administration session only, so reaching
// Flowtime's upstream would be a breach.
func TestPathsAreRoutedCleaned(t *testing.T) {
	off := false
	te := newTokenEndpoint(t, 3600)
	s := injectSetup(te)
	s.sso = &off
	g := newGate(t, s)
	b := g.browser()
	g.signedIn(b, "/Administration/")
	tests := []struct {
		name, target string
		status       int
		backendPath  string // "" = nothing reaches the backend
	}{
		{"dot segments into another site", "/Administration/../flowtime/inbox", http.StatusFound, ""},
		{"dot segments into another site, capitals", "/Administration/../Flowtime/inbox", http.StatusFound, ""},
		{"encoded dot segments above every site", "/Administration/%2e%2e/%2e%2e/internal-only/secret", http.StatusBadRequest, ""},
		{"encoded dot segments in capitals", "/Administration/%2E%2E/Flowtime/inbox", http.StatusBadRequest, ""},
		{"half-encoded dot segment", "/Administration/.%2e/Flowtime/inbox", http.StatusBadRequest, ""},
		{"encoded slash", "/Administration/..%2f..%2finternal-only/secret", http.StatusBadRequest, ""},
		{"encoded slash into the injecting site", "/Flowtime/..%2f..%2fadministration/x", http.StatusBadRequest, ""},
		{"encoded backslash", "/Administration/..%5c..%5cinternal-only", http.StatusBadRequest, ""},
		{"encoded backslash, lower case", "/Administration/x%5cy", http.StatusBadRequest, ""},
		{"backslash", "/Administration/..\\..\\internal-only", http.StatusBadRequest, ""},
		{"dot segment with parameters", "/Administration/..;/flowtime/inbox", http.StatusBadRequest, ""},
		{"parameters, then dot segments", "/Administration/x;/../../flowtime/inbox", http.StatusFound, ""},
		{"above the root", "/Administration/../../../etc/passwd", http.StatusNotFound, ""},
		{"up to nothing", "/Administration/..", http.StatusNotFound, ""},
		{"dot segments within the site", "/Administration/a/./b/../c", http.StatusOK, "/administration/a/c"},
		{"trailing dot segment", "/Administration/a/b/..", http.StatusOK, "/administration/a/"},
		{"dot segments that come back", "/Flowtime/../Administration/page", http.StatusOK, "/administration/page"},
		{"dots inside a name", "/Administration/a..b/.c/d.", http.StatusOK, "/administration/a..b/.c/d."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(g.backend.requests())
			r := g.rawGet(t, b, tt.target)
			if r.StatusCode != tt.status {
				t.Errorf("GET %s = %d; want %d\n%s", tt.target, r.StatusCode, tt.status, r.Body)
			}
			got := g.backend.requests()[before:]
			switch {
			case tt.backendPath == "" && len(got) > 0:
				t.Errorf("GET %s reached the backend as %s", tt.target, got[0].URL.RequestURI())
			case tt.backendPath != "" && len(got) != 1:
				t.Errorf("GET %s reached the backend %d times; want once", tt.target, len(got))
			case tt.backendPath != "" && got[0].URL.EscapedPath() != tt.backendPath:
				t.Errorf("GET %s reached the backend as %s; want %s", tt.target, got[0].URL.EscapedPath(), tt.backendPath)
			}
			if tt.status == http.StatusFound && !strings.HasPrefix(r.Header.Get("Location"), "/Flowtime/oidcServices/") {
				t.Errorf("GET %s went to %q; want Flowtime's sign-in", tt.target, r.Header.Get("Location"))
			}
			if tt.status == http.StatusBadRequest && (!strings.Contains(r.Body, "not allowed") || !strings.Contains(r.Body, "<h1>Address not allowed</h1>")) {
				t.Errorf("GET %s: the page does not say why:\n%s", tt.target, r.Body)
			}
		})
	}
	if !strings.Contains(g.logs.String(), `"reason":"path_refused"`) {
		t.Error("no log line with reason path_refused")
	}
	if n := te.requests.Load(); n != 0 {
		t.Errorf("the token endpoint was asked %d times; no request reached the injecting site", n)
	}
}

// TestConnectionHeaderCannotRemoveIdentity: a client's Connection header
// names the identity headers, the injected Authorization and the request
// id; ReverseProxy drops what it names, and the backend must still get
// every one of them.
func TestConnectionHeaderCannotRemoveIdentity(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	g := newGate(t, injectSetup(te))
	b := g.browser()
	g.signedIn(b, "/Flowtime/")
	before := len(g.backend.requests())
	r := g.rawGet(t, b, "/Flowtime/inbox",
		"Connection: keep-alive, X-Forwarded-User, X-Forwarded-Authentication-Type, X-Forwarded-Issuer, X-Forwarded-Email, X-Forwarded-Preferred-Username, Authorization, X-Request-Id, X-Forwarded-For, X-Forwarded-Proto",
		"Authorization: Bearer client-chosen",
		"X-Request-Id: abc-123")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET = %d\n%s", r.StatusCode, r.Body)
	}
	got := g.backend.requests()[before:]
	if len(got) != 1 {
		t.Fatalf("backend received %d requests; want 1", len(got))
	}
	h := got[0].Header
	for name, want := range map[string]string{
		"X-Forwarded-User":                "alice@example.com",
		"X-Forwarded-Authentication-Type": "TestOP",
		"X-Forwarded-Issuer":              g.op.Endpoints().Issuer,
		"X-Forwarded-Email":               "alice@example.com",
		"X-Forwarded-Preferred-Username":  "alice",
		"X-Forwarded-Proto":               "https",
		"X-Request-Id":                    "abc-123",
	} {
		if h.Get(name) != want {
			t.Errorf("backend %s = %q; want %q", name, h.Get(name), want)
		}
	}
	if a := h.Get("Authorization"); !strings.HasPrefix(a, "Bearer mail-token-") {
		t.Errorf("backend Authorization = %q; want the injected token", a)
	}
	if h.Get("X-Forwarded-For") == "" {
		t.Error("backend received no X-Forwarded-For")
	}
}

// TestTraceIsRefused: a backend that echoes TRACE would hand the injected
// token and the identity headers to the client.
func TestTraceIsRefused(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	g := newGate(t, injectSetup(te))
	b := g.browser()
	g.signedIn(b, "/Flowtime/")
	for _, tt := range []struct {
		method string
		lines  []string
	}{
		{"TRACE", nil}, {"TRACK", nil}, {"trace", nil},
		// Frameworks that honour a method override would answer these
		// as TRACE.
		{"POST", []string{"X-HTTP-Method-Override: TRACE", "Content-Length: 0"}},
		{"POST", []string{"X-HTTP-Method: track", "Content-Length: 0"}},
		{"GET", []string{"X_Method_Override: Trace"}},
	} {
		method := tt.method + " " + strings.Join(tt.lines, " ")
		before := len(g.backend.requests())
		r := g.rawRequest(t, b, tt.method, "/Flowtime/inbox", tt.lines...)
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s = %d; want 405", method, r.StatusCode)
		}
		if strings.Contains(r.Body, "mail-token") || strings.Contains(r.Body, "X-Forwarded-User") {
			t.Errorf("%s answer carries forwarded headers:\n%s", method, r.Body)
		}
		if n := len(g.backend.requests()) - before; n != 0 {
			t.Errorf("%s reached the backend %d times", method, n)
		}
	}
}

// TestTrustedHeadersAreRemoved: headers that IIS, App Service, oauth2-proxy
// and frameworks act on never reach the backend, nor do strip_headers.
func TestTrustedHeadersAreRemoved(t *testing.T) {
	g := newGate(t, setup{top: "strip_headers = [\"X-Custom-Trust\"]\n"})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	forged := []string{
		"X-Original-URL: /Flowtime/admin", "X-Rewrite-URL: /Flowtime/admin", "Remote-User: boss",
		"X-Remote-User: boss", "REMOTE_USER: boss", "X-MS-CLIENT-PRINCIPAL-NAME: boss", "X-MS-CLIENT-PRINCIPAL: Ym9zcw==",
		"X-Auth-Request-User: boss", "X-Auth-Request-Email: boss@example.com", "X-Forwarded-Groups: admins",
		"X-Forwarded-Username: boss", "X-Forwarded-Prefix: /Flowtime", "X-Forwarded-Port: 80", "X-Forwarded-Server: evil",
		"X-Forwarded-Ssl: off", "Forwarded: for=10.0.0.1;proto=http", "X-Custom-Trust: boss", "x_custom_trust: boss",
		"X-Site-Header: kept",
	}
	before := len(g.backend.requests())
	r := g.rawGet(t, b, "/Administration/page", forged...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET = %d\n%s", r.StatusCode, r.Body)
	}
	got := g.backend.requests()[before:]
	if len(got) != 1 {
		t.Fatalf("backend received %d requests; want 1", len(got))
	}
	for name, vals := range got[0].Header {
		for _, v := range vals {
			if strings.Contains(v, "boss") || strings.Contains(v, "admins") || strings.Contains(v, "evil") ||
				strings.Contains(v, "/Flowtime") || v == "off" || v == "80" || strings.Contains(v, "10.0.0.1") {
				t.Errorf("backend received the client's %s: %q", name, v)
			}
		}
	}
	if got[0].Header.Get("X-Site-Header") != "kept" {
		t.Error("an ordinary header did not reach the backend")
	}
	if got[0].URL.Path != "/administration/page" {
		t.Errorf("backend path = %q", got[0].URL.Path)
	}
}

// TestUnverifiedEmailNamesNobody: on providers where users edit their own
// address, an email rule would let anyone name themselves after someone
// else; email_verified false stops the rule (absent is fine).
func TestUnverifiedEmailNamesNobody(t *testing.T) {
	victim := fakeop.User{Name: "mallory", Password: "mallory-password", Claims: map[string]any{
		"sub": "attacker-1", "email": "alice@example.com", "email_verified": false, "preferred_username": "mallory"}}
	t.Run("refused", func(t *testing.T) {
		g := newGate(t, setup{opOptions: fakeop.Options{Users: []fakeop.User{victim}}})
		b := g.browser()
		r := last(b.Visit(g.url + "/Administration/"))
		if r.StatusCode != http.StatusForbidden || r.Request.URL.Path != "/Administration/AccessDenied.aspx" {
			t.Errorf("unverified email = %d at %s; want the access denied page", r.StatusCode, r.Request.URL.Path)
		}
		if n := len(g.backend.requests()); n != 0 {
			t.Errorf("backend received %d request(s)", n)
		}
		if !strings.Contains(g.logs.String(), `"reason":"email_unverified"`) {
			t.Errorf("no log line with reason email_unverified:\n%s", g.logs.String())
		}
	})
	t.Run("a later rule names the user, the address is not forwarded", func(t *testing.T) {
		g := newGate(t, setup{
			opOptions: fakeop.Options{Users: []fakeop.User{victim}},
			rules: "[[authentication.claims]]\nclaim_type = \"email\"\nauthentication_type = \"Mail\"\n" +
				"[[authentication.claims]]\nclaim_type = \"sub\"\nauthentication_type = \"Subject\"\n",
		})
		b := g.browser()
		g.signedIn(b, "/Administration/")
		got := g.backend.last(t)
		if got.Header.Get("X-Forwarded-User") != "attacker-1" || got.Header.Get("X-Forwarded-Authentication-Type") != "Subject" {
			t.Errorf("backend user = %q (%q); want attacker-1 by the sub rule", got.Header.Get("X-Forwarded-User"), got.Header.Get("X-Forwarded-Authentication-Type"))
		}
		if e := got.Header.Get("X-Forwarded-Email"); e != "" {
			t.Errorf("backend received the unverified address %q", e)
		}
	})
}

// TestUnknownKeyRefusedInEveryKind: a token signed by a key none of the
// configured sources holds is a 401 refusal whatever the discovery kind,
// and the log names the key and where keys come from.
func TestUnknownKeyRefusedInEveryKind(t *testing.T) {
	tests := []struct {
		kind  string
		s     setup
		where string
	}{
		{"OpenIdDiscoveryDocument", setup{}, "jwks_uri"},
		{"JsonWebKeySet", setup{kind: "JsonWebKeySet"}, "the JWKS"},
		{"Federation", setup{kind: "Federation"}, "federation metadata"},
		{"Store", setup{kind: "Store", certs: opCertificate(t, false)}, "identity_provider_certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			tt.s.authMethod = "GET"
			g := newGate(t, tt.s)
			if err := g.op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: "made-up-kid"}); err != nil {
				t.Fatal(err)
			}
			b := g.browser()
			r := last(b.Visit(g.url + "/Administration/"))
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("token signed by an unknown key = %d; want 401\n%s", r.StatusCode, r.Body)
			}
			g.assertRefused(b, r, "id_token_unknown_key", "signature")
			logs := g.logs.String()
			if !strings.Contains(logs, `made-up-kid`) || !strings.Contains(logs, tt.where) {
				t.Errorf("the refusal's log does not name the key made-up-kid and %q:\n%s", tt.where, grep(logs, "request refused"))
			}
		})
	}
}

// TestCookiesCarryTheHostPrefix: with require_ssl every cookie oidcgate
// sets in a sign-in and a sign-out is __Host-: Secure, Path=/, no Domain,
// so a sibling subdomain cannot plant one beside it.
func TestCookiesCarryTheHostPrefix(t *testing.T) {
	for _, sso := range []bool{true, false} {
		t.Run(fmt.Sprintf("sso_enabled = %v", sso), func(t *testing.T) {
			g := newGate(t, setup{sso: &sso, signOutSTS: true})
			b := g.browser()
			hops := g.signedIn(b, "/Administration/")
			hops = append(hops, b.Do(http.MethodPost, g.url+"/Administration/oidcServices/signoutinitiation", nil, nil))
			seen := map[bool]bool{} // login cookie?
			for _, h := range hops {
				if h.Request.URL.Host != g.host() {
					continue
				}
				for _, line := range h.Header.Values("Set-Cookie") {
					c, err := http.ParseSetCookie(line)
					if err != nil {
						t.Fatalf("Set-Cookie %q: %v", line, err)
					}
					if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" || strings.Contains(strings.ToLower(line), "domain=") {
						t.Errorf("Set-Cookie %q; want a __Host- cookie: Secure, Path=/, no Domain", line)
					}
					seen[strings.Contains(c.Name, "_login_")] = true
				}
			}
			if !seen[true] || !seen[false] {
				t.Errorf("login cookie set: %v, session cookie set: %v; want both", seen[true], seen[false])
			}
		})
	}
}

// TestCookieTossing: where a sibling subdomain can plant cookies (without
// the __Host- prefix, require_ssl = false), the browser sends ours and the
// planted one under one name. The one that decodes wins; two sessions give
// none; an unreadable one deletes nothing.
func TestCookieTossing(t *testing.T) {
	g := newGate(t, setup{sessionTOML: "require_ssl = false\n"})
	victim := g.browser()
	g.signedIn(victim, "/Administration/")
	victimCookie := cookieHeader(victim, g.url+"/Administration/")
	// The attacker is a user too, here of a deployment with the same keys.
	mallory := fakeop.User{Name: "mallory", Password: "m-password", Claims: map[string]any{"sub": "m-1", "email": "mallory@example.com"}}
	ga := newGate(t, setup{sessionTOML: "require_ssl = false\n", opOptions: fakeop.Options{Users: []fakeop.User{mallory}}})
	attacker := ga.browser()
	ga.signedIn(attacker, "/Administration/")
	attackerCookie := cookieHeader(attacker, ga.url+"/Administration/")
	if !strings.HasPrefix(victimCookie, "oidcgate=") || !strings.HasPrefix(attackerCookie, "oidcgate=") {
		t.Fatalf("cookies %q and %q; want oidcgate= (no prefix without require_ssl)", victimCookie, attackerCookie)
	}
	tests := []struct {
		name, cookie string
		status       int
		user         string // the backend's X-Forwarded-User; "" = nothing forwarded
	}{
		{"unreadable first", "oidcgate=AAAA; " + victimCookie, http.StatusOK, "alice@example.com"},
		{"unreadable last", victimCookie + "; oidcgate=AAAA", http.StatusOK, "alice@example.com"},
		{"the attacker's session first", attackerCookie + "; " + victimCookie, http.StatusUnauthorized, ""},
		{"the attacker's session last", victimCookie + "; " + attackerCookie, http.StatusUnauthorized, ""},
		{"only unreadable", "oidcgate=AAAA", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(g.backend.requests())
			r := g.rawGet(t, nil, "/Administration/page", "Cookie: "+tt.cookie)
			if r.StatusCode != tt.status {
				t.Errorf("GET with Cookie %.60q… = %d; want %d\n%s", tt.cookie, r.StatusCode, tt.status, r.Body)
			}
			got := g.backend.requests()[before:]
			switch {
			case tt.user == "" && len(got) > 0:
				t.Errorf("backend received the request as %q", got[0].Header.Get("X-Forwarded-User"))
			case tt.user != "" && (len(got) != 1 || got[0].Header.Get("X-Forwarded-User") != tt.user):
				t.Errorf("backend received %d request(s); want one as %s", len(got), tt.user)
			}
			if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("answer sets cookies %q; an unreadable or planted cookie is no reason to delete one", sc)
			}
		})
	}
}

// TestOwnCookiesNeverReachTheBackend: every cookie oidcgate sets (session,
// chunks, login states, per-site sessions), with or without the __Host-
// prefix, is removed from what the backend receives, whatever sso_enabled
// says; the site's own cookies pass.
func TestOwnCookiesNeverReachTheBackend(t *testing.T) {
	for _, sso := range []bool{true, false} {
		t.Run(fmt.Sprintf("sso_enabled = %v", sso), func(t *testing.T) {
			g := newGate(t, setup{sso: &sso})
			b := g.browser()
			// A login state of an abandoned sign-in stays in the browser.
			b.Do(http.MethodGet, g.url+"/Flowtime/oidcServices/signininitiation", nil, nil)
			g.signedIn(b, "/Administration/")
			own := cookieHeader(b, g.url+"/Administration/")
			if !strings.Contains(own, loginCookiePrefix) {
				t.Fatalf("browser cookies %q; want a login state among them", own)
			}
			extra := "theme=dark; __Host-oidcgate_login_0123456789abcdef=x; oidcgate_login_0123456789abcdef=x; " +
				"__Host-oidcgate-flowtime=x; oidcgate-administration=x; oidcgate=x; oidcgate_1=x; __Host-oidcgate_2=x; lang=en"
			before := len(g.backend.requests())
			r := g.rawGet(t, nil, "/Administration/page", "Cookie: "+own+"; "+extra)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d\n%s", r.StatusCode, r.Body)
			}
			got := g.backend.requests()[before:]
			if len(got) != 1 {
				t.Fatalf("backend received %d requests", len(got))
			}
			if c := strings.Join(got[0].Header.Values("Cookie"), "; "); c != "theme=dark; lang=en" {
				t.Errorf("backend Cookie = %q; want only the site's cookies: theme=dark; lang=en", c)
			}
		})
	}
}

// TestCrossSiteSignOut: a third-party page must not sign users out (nor,
// with sign_out_from_sts, send them to the provider with id_token_hint).
// What the browser marks as cross-site gets a page whose button signs out;
// a same-site request signs out at once.
func TestCrossSiteSignOut(t *testing.T) {
	g := newGate(t, setup{signOutSTS: true})
	const signOut = "/Administration/oidcServices/SignOutInitiation"
	tests := []struct {
		name   string
		method string
		lines  []string
		ends   bool
	}{
		{"cross-site GET", "GET", []string{"Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"}, false},
		{"cross-site POST", "POST", []string{"Sec-Fetch-Site: cross-site", "Origin: https://evil.example", "Content-Length: 0"}, false},
		{"POST from another origin, no Sec-Fetch-Site", "POST", []string{"Origin: https://evil.example", "Content-Length: 0"}, false},
		{"POST from another port of this host", "POST", []string{"Origin: https://" + strings.Split(g.host(), ":")[0] + ":1", "Content-Length: 0"}, false},
		{"POST from an opaque origin", "POST", []string{"Origin: null", "Content-Length: 0"}, false},
		{"the page's own button", "POST", []string{"Sec-Fetch-Site: same-origin", "Origin: " + g.url, "Content-Length: 0"}, true},
		{"a link on the site", "GET", []string{"Sec-Fetch-Site: same-origin", "Sec-Fetch-Mode: navigate"}, true},
		{"a browser that says nothing", "GET", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := g.browser()
			g.signedIn(b, "/Administration/")
			r := g.rawRequest(t, b, tt.method, signOut, tt.lines...)
			cleared := false
			for _, line := range r.Header.Values("Set-Cookie") {
				if c, err := http.ParseSetCookie(line); err == nil && c.Name == sessionCookie && c.MaxAge < 0 {
					cleared = true
				}
			}
			loc := r.Header.Get("Location")
			if tt.ends {
				if !cleared || r.StatusCode != http.StatusFound || !strings.Contains(loc, "id_token_hint=") {
					t.Errorf("%s = %d, Location %.80q, session cleared %v; want signed out and sent to the provider", tt.name, r.StatusCode, loc, cleared)
				}
				return
			}
			if cleared || loc != "" || r.StatusCode != http.StatusOK {
				t.Errorf("%s = %d, Location %.80q, session cleared %v; want a page and the session kept", tt.name, r.StatusCode, loc, cleared)
			}
			action, _ := testkit.ParseForm(t, r)
			if !strings.HasSuffix(action, signOut) || !strings.Contains(r.Body, `method="post"`) || testkit.AutoSubmits(r.Body) {
				t.Errorf("%s: the page's form posts to %q; want a button posting to %s:\n%s", tt.name, action, signOut, r.Body)
			}
			if page := b.Do(http.MethodGet, g.url+"/Administration/after", nil, nil); page.StatusCode != http.StatusOK {
				t.Errorf("after %s the session answers %d; want 200", tt.name, page.StatusCode)
			}
		})
	}
}

// TestBackendCannotSetOwnCookies: a backend page that sets a cookie named
// like oidcgate's could end the user's session or plant a second one
// beside it; those Set-Cookie lines never reach the browser, the site's
// own do.
func TestBackendCannotSetOwnCookies(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
		w.Header().Add("Set-Cookie", sessionCookie+"=planted; Path=/; Secure")
		w.Header().Add("Set-Cookie", "oidcgate=planted; Path=/Administration/")
		w.Header().Add("Set-Cookie", loginCookiePrefix+"0123456789abcdef=x; Path=/; Secure")
		w.Header().Add("Set-Cookie", "lang=en")
		io.WriteString(w, "<h1>backend</h1>")
	}))
	t.Cleanup(backend.Close)
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	r := startRun(t, op, backend.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: &recorder{}}
	b := g.browser()
	b.Client.Transport = r.client.Transport
	g.signedIn(b, "/Administration/")
	resp := g.rawGet(t, b, "/Administration/page")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %d", resp.StatusCode)
	}
	got := resp.Header.Values("Set-Cookie")
	if len(got) != 2 || got[0] != "theme=dark; Path=/" || got[1] != "lang=en" {
		t.Errorf("the browser got Set-Cookie %q; want only the site's theme and lang", got)
	}
}

package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/proxy"
)

const fuzzBase = "https://gate.example/Administration/"

// callbackHarness drives the real sign-in response handler in-process; the
// test OP, on a loopback TLS server, stands in for the provider.
type callbackHarness struct {
	tb     testing.TB
	op     *fakeoptest.OP
	srv    *proxy.Server
	cancel context.CancelFunc
	spent  int // login states the server has remembered as used
}

func newCallbackHarness(tb testing.TB) *callbackHarness {
	h := &callbackHarness{tb: tb}
	h.op = fakeoptest.NewTLSServer(tb, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	h.start()
	tb.Cleanup(func() { h.cancel() })
	return h
}

// start builds a fresh server; the fuzz loop calls it again before the
// login states kept by its successful sign-ins pile up.
func (h *callbackHarness) start() {
	if h.cancel != nil {
		h.cancel()
	}
	toml := `listen = "127.0.0.1:0"
[tls]
cert_file = "unused.crt"
key_file = "unused.key"
[openid_connect]
discovery_kind = "OpenIdDiscoveryDocument"
discovery_uri = "` + h.op.Endpoints().Discovery + `"
client_id = "` + testClientID + `"
client_secret = "` + testClientSecret + `"
token_request_authorization_method = "client_secret_basic"
authorization_request_http_method = "GET"
[session]
keys = ["` + testKey1 + `"]
[authentication]
[[authentication.claims]]
claim_type = "email"
authentication_type = "TestOP"
[[sites]]
name = "Administration"
base_url = "` + fuzzBase + `"
upstream = "http://127.0.0.1:9/administration/"
[limits]
outbound_timeout = "2s"
max_callback_body_bytes = 4096
`
	cfg, err := config.Parse([]byte(toml), "fuzz.toml")
	if err != nil {
		h.tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.srv, err = proxy.New(ctx, proxy.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), OutboundClient: h.op.Client()})
	if err != nil {
		h.tb.Fatal(err)
	}
	waitReady(h.tb, h.srv)
	h.spent = 0
}

// begin starts a sign-in as a browser would and returns the login cookie,
// the state, and the authorization request's URL at the OP.
func (h *callbackHarness) begin() (*http.Cookie, string, *url.URL) {
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, fuzzBase+"oidcServices/signininitiation?ReturnUrl=/Administration/x", nil))
	if w.Code != http.StatusFound {
		h.tb.Fatalf("sign-in initiation = %d", w.Code)
	}
	authz, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		h.tb.Fatal(err)
	}
	var login *http.Cookie
	for _, c := range w.Result().Cookies() {
		if strings.HasPrefix(c.Name, loginCookiePrefix) {
			login = c
		}
	}
	if login == nil {
		h.tb.Fatal("no login cookie")
	}
	return login, authz.Query().Get("state"), authz
}

// code has the OP approve the authorization request and returns the code
// it sends back.
func (h *callbackHarness) code(authz *url.URL) string {
	c := h.op.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authz.String())
	if err != nil {
		h.tb.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		h.tb.Fatalf("authorization answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.Query().Get("code")
}

// FuzzSignInResponse sends arbitrary answers to the redirect URI: any
// method, query and body, with or without the browser's login cookie, while
// the token endpoint behaves or fails. In the query and the body, {state}
// and {code} stand for a real state and a code the OP issued for it. It
// must never fail with a 5xx of its own (502, 503 and 504 report the
// provider), never show internals, and never set a session cookie unless
// the answer carried the state of the login cookie it came with.
func FuzzSignInResponse(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	// The token endpoint's misbehaviours the fuzzer picks from; index 0
	// and anything past the end leave the OP alone.
	tokenFaults := []http.HandlerFunc{
		nil,
		answer(http.StatusInternalServerError, "text/plain", "boom"),
		answer(http.StatusServiceUnavailable, "application/json", `{"error":"temporarily_unavailable"}`),
		answer(http.StatusOK, "text/html", "<html>maintenance</html>"),
		answer(http.StatusOK, "application/json", `{"access_token":"at","token_type":"Bearer"}`),
		answer(http.StatusOK, "application/json", `{"access_token":"at","token_type":"Bearer","id_token":"e30.e30.e30"}`),
		answer(http.StatusBadRequest, "application/json", `{"error":"invalid_grant","error_description":"<b>no</b>"}`),
		hangUp,
	}
	f.Add(byte(0), "state={state}&code={code}", "", "", true, byte(0))
	f.Add(byte(1), "", "state={state}&code={code}", form, true, byte(0))
	f.Add(byte(0), "state={state}&code={code}", "", "", false, byte(0))
	f.Add(byte(0), "state=forged&code={code}", "", "", true, byte(0))
	f.Add(byte(0), "state={state}&error=access_denied&error_description=%3Cscript%3E", "", "", true, byte(0))
	f.Add(byte(0), "state={state}&state=other&code={code}&code=x", "", "", true, byte(0))
	f.Add(byte(0), "state=%zz&code=%", "", "", true, byte(0))
	f.Add(byte(1), "state={state}", "code={code}&state=x", form+"; charset=utf-16", true, byte(0))
	f.Add(byte(1), "", "--b\r\nContent-Disposition: form-data; name=\"state\"\r\n\r\n{state}\r\n--b--", "multipart/form-data; boundary=b", true, byte(0))
	f.Add(byte(2), "state={state}&code={code}", "", "", true, byte(0))
	f.Add(byte(3), "state={state}&code={code}", "", "", true, byte(0))
	for fault := range tokenFaults {
		f.Add(byte(0), "state={state}&code={code}", "", "", true, byte(fault))
	}
	h := newCallbackHarness(f)
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead}
	f.Fuzz(func(t *testing.T, method byte, query, body, contentType string, withCookie bool, fault byte) {
		if h.spent > 100_000 {
			h.start()
		}
		login, state, authz := h.begin()
		if strings.Contains(query+body, "{code}") {
			code := h.code(authz)
			query = strings.ReplaceAll(query, "{code}", url.QueryEscape(code))
			body = strings.ReplaceAll(body, "{code}", url.QueryEscape(code))
		}
		query = strings.ReplaceAll(query, "{state}", url.QueryEscape(state))
		body = strings.ReplaceAll(body, "{state}", url.QueryEscape(state))
		if int(fault) < len(tokenFaults) && tokenFaults[fault] != nil {
			tf := tokenFaults[fault]
			h.op.TokenHook(func(w http.ResponseWriter, r *http.Request) bool { tf(w, r); return true })
			defer h.op.TokenHook(nil)
		}

		m := methods[int(method)%len(methods)]
		r := httptest.NewRequest(m, fuzzBase+"oidcServices/signinresponse", strings.NewReader(body))
		r.URL.RawQuery = query
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if withCookie {
			r.AddCookie(login)
		}
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		h.spent++

		resp := w.Result()
		page, _ := io.ReadAll(resp.Body)
		if w.Code >= 500 && w.Code != http.StatusBadGateway && w.Code != http.StatusServiceUnavailable && w.Code != http.StatusGatewayTimeout {
			t.Fatalf("%s ?%q body %q (%q) = %d\n%s", m, query, body, contentType, w.Code, page)
		}
		for _, leak := range []string{testClientSecret, "goroutine ", ".go:", "<b>no</b>", "<script>"} {
			// The provider's error_description is shown, escaped: only
			// what the request did not carry counts as a leak.
			if strings.Contains(string(page), leak) && !strings.Contains(query+body, leak) {
				t.Fatalf("%s ?%q body %q: page shows %q\n%s", m, query, body, leak, page)
			}
		}
		for _, c := range resp.Cookies() {
			if c.Name != sessionCookie || c.MaxAge < 0 {
				continue
			}
			if !withCookie || !strings.Contains(query+body, url.QueryEscape(state)) {
				t.Fatalf("%s ?%q body %q (cookie %v) = %d set a session without the login cookie's state", m, query, body, withCookie, w.Code)
			}
			if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, "/Administration/") {
				t.Fatalf("signed in, then %d to %q; want 302 to a path on the site", w.Code, loc)
			}
		}
	})
}

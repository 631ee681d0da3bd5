package fakeop_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

func interactiveOP(t *testing.T) *fakeoptest.OP {
	t.Helper()
	o := testOptions()
	o.Interactive = true
	return fakeoptest.NewTLSServer(t, o)
}

var requestIDRE = regexp.MustCompile(`<input type="hidden" name="request" value="([^"]+)">`)

// signInForm expects the sign-in page and returns its request id.
func signInForm(t *testing.T, resp *http.Response) (string, string) {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d; want 200 sign-in page:\n%s", resp.StatusCode, body)
	}
	m := requestIDRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form in:\n%s", body)
	}
	return html.UnescapeString(m[1]), body
}

func submit(t *testing.T, c *http.Client, op *fakeoptest.OP, requestID, user, password string) *http.Response {
	t.Helper()
	action := strings.TrimSuffix(op.Issuer(), "/") + "/signin"
	resp, err := c.PostForm(action, url.Values{"request": {requestID}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return resp
}

func TestInteractiveSignIn(t *testing.T) {
	t.Parallel()
	op := interactiveOP(t)
	b := browser(t, op)
	a := newAuthRequest(op)

	id, page := signInForm(t, a.send(t, b, op, http.MethodGet))
	for _, want := range []string{fakeop.Banner, `name="username"`, `name="password"`, `type="password"`, testClientID} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://fonts", "<link", "<script", " src="} {
		if strings.Contains(page, bad) {
			t.Errorf("sign-in page contains %q; want no external resources or scripts", bad)
		}
	}

	tests := []struct {
		name, user, password string
	}{
		{name: "wrong password", user: "bob", password: "wonderland"},
		{name: "unknown user", user: "carol", password: "x"},
		{name: "empty", user: "", password: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := submit(t, b, op, id, tt.user, tt.password)
			again, body := signInForm(t, resp)
			if again != id {
				t.Errorf("form after %s has request %q; want %q", tt.name, again, id)
			}
			if !strings.Contains(body, "The user name or password is wrong.") {
				t.Errorf("form after %s lacks the error message", tt.name)
			}
		})
	}

	got := callback(t, submit(t, b, op, id, "BOB", "builder")) // user names are case-insensitive
	if got.Get("state") != a.params.Get("state") || got.Get("code") == "" {
		t.Fatalf("callback after sign-in = %v; want code and state", got)
	}
	status, tr := redeem(t, op, fakeop.ClientSecretBasic, got.Get("code"), a.verifier)
	if status != http.StatusOK {
		t.Fatalf("token = %d %s", status, tr.Error)
	}
	tok, err := verify(t, verifier(t, op), op, tr.IDToken)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if tok.Subject != "bob" { // bob has no sub claim: his name is the subject
		t.Errorf("sub = %q; want bob", tok.Subject)
	}

	// The pending request is used up.
	resp := submit(t, b, op, id, "bob", "builder")
	if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second submit = %d; want 400:\n%s", resp.StatusCode, body)
	}

	t.Run("single sign-on", func(t *testing.T) {
		a := newAuthRequest(op)
		if got := callback(t, a.send(t, b, op, http.MethodPost)); got.Get("code") == "" {
			t.Errorf("authorize with an OP session = %v; want a code at once", got)
		}
	})
	t.Run("prompt=login", func(t *testing.T) {
		a := newAuthRequest(op)
		a.params.Set("prompt", "login")
		signInForm(t, a.send(t, b, op, http.MethodGet))
	})
	t.Run("another browser", func(t *testing.T) {
		a := newAuthRequest(op)
		signInForm(t, a.send(t, browser(t, op), op, http.MethodGet))
	})
	t.Run("prompt=none without session", func(t *testing.T) {
		a := newAuthRequest(op)
		a.params.Set("prompt", "none")
		if got := callback(t, a.send(t, browser(t, op), op, http.MethodGet)); got.Get("error") != "login_required" {
			t.Errorf("callback = %v; want error login_required", got)
		}
	})
	t.Run("logout ends single sign-on", func(t *testing.T) {
		resp, err := b.Get(op.Endpoints().EndSession)
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed out") {
			t.Errorf("logout = %d; want 200 signed-out page:\n%s", resp.StatusCode, body)
		}
		a := newAuthRequest(op)
		signInForm(t, a.send(t, b, op, http.MethodGet))
	})
}

func TestSignInPageEscapes(t *testing.T) {
	t.Parallel()
	op := interactiveOP(t)
	a := newAuthRequest(op)
	a.params.Set("login_hint", `"><script>alert(1)</script>`)
	_, page := signInForm(t, a.send(t, browser(t, op), op, http.MethodGet))
	if strings.Contains(page, "<script>alert") {
		t.Errorf("login_hint is not escaped:\n%s", page)
	}
	if !strings.Contains(page, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Errorf("login_hint does not prefill the user name:\n%s", page)
	}
}

func TestSignInExpiredRequest(t *testing.T) {
	t.Parallel()
	op := interactiveOP(t)
	resp := submit(t, browser(t, op), op, "no-such-request", "alice", "wonderland")
	if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("sign-in with an unknown request = %d; want 400 page:\n%s", resp.StatusCode, body)
	}
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		params       url.Values
		allow        []string
		wantStatus   int
		wantLocation string
	}{
		{name: "signed-out page", params: url.Values{}, wantStatus: http.StatusOK},
		{
			name:         "post logout redirect with state",
			params:       url.Values{"post_logout_redirect_uri": {"https://rp.example/bye?x=1"}, "state": {"s1"}, "id_token_hint": {"hint"}},
			wantStatus:   http.StatusFound,
			wantLocation: "https://rp.example/bye?state=s1&x=1",
		},
		{
			name:         "registered redirect",
			params:       url.Values{"post_logout_redirect_uri": {"https://rp.example/bye"}},
			allow:        []string{"https://rp.example/bye"},
			wantStatus:   http.StatusFound,
			wantLocation: "https://rp.example/bye",
		},
		{
			name:       "unregistered redirect",
			params:     url.Values{"post_logout_redirect_uri": {"https://evil.example/"}},
			allow:      []string{"https://rp.example/bye"},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "http redirect",
			params:     url.Values{"post_logout_redirect_uri": {"http://rp.example/bye"}},
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			op.AllowPostLogoutRedirect(tt.allow...)
			resp, err := browser(t, op).Get(op.Endpoints().EndSession + "?" + tt.params.Encode())
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != tt.wantLocation {
				t.Errorf("end session = %d %q; want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus, tt.wantLocation)
			}
			cleared := false
			for _, c := range resp.Cookies() {
				cleared = cleared || (c.Name == "proxytest_op_session" && c.MaxAge < 0)
			}
			if !cleared {
				t.Errorf("end session did not clear the OP session cookie: %v", resp.Header["Set-Cookie"])
			}
			s := op.Stats()
			if s.EndSessionRequests != 1 || s.EndSessionParams[0].Encode() != tt.params.Encode() {
				t.Errorf("Stats() end session = %d %v; want 1 %v", s.EndSessionRequests, s.EndSessionParams, tt.params)
			}
		})
	}
}

package fakeop_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

func TestDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		authMethod string
		want       []string
	}{
		{name: "either", authMethod: "", want: []string{fakeop.ClientSecretBasic, fakeop.ClientSecretPost}},
		{name: "basic", authMethod: fakeop.ClientSecretBasic, want: []string{fakeop.ClientSecretBasic}},
		{name: "post", authMethod: fakeop.ClientSecretPost, want: []string{fakeop.ClientSecretPost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.TokenAuthMethod = tt.authMethod
			op := fakeoptest.NewTLSServer(t, o)
			e := op.Endpoints()
			var doc struct {
				Issuer           string   `json:"issuer"`
				Authorization    string   `json:"authorization_endpoint"`
				Token            string   `json:"token_endpoint"`
				UserInfo         string   `json:"userinfo_endpoint"`
				JWKS             string   `json:"jwks_uri"`
				EndSession       string   `json:"end_session_endpoint"`
				Algs             []string `json:"id_token_signing_alg_values_supported"`
				Challenges       []string `json:"code_challenge_methods_supported"`
				ResponseModes    []string `json:"response_modes_supported"`
				TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
			}
			if status := getJSON(t, op, e.Discovery, &doc); status != http.StatusOK {
				t.Fatalf("GET discovery = %d; want 200", status)
			}
			checks := []struct{ field, got, want string }{
				{"issuer", doc.Issuer, op.Issuer()},
				{"authorization_endpoint", doc.Authorization, op.Issuer() + "/authorize"},
				{"token_endpoint", doc.Token, op.Issuer() + "/token"},
				{"userinfo_endpoint", doc.UserInfo, op.Issuer() + "/userinfo"},
				{"jwks_uri", doc.JWKS, op.Issuer() + "/jwks"},
				{"end_session_endpoint", doc.EndSession, op.Issuer() + "/logout"},
				{"id_token_signing_alg_values_supported", strings.Join(doc.Algs, " "), "RS256"},
				{"code_challenge_methods_supported", strings.Join(doc.Challenges, " "), "S256"},
				{"response_modes_supported", strings.Join(doc.ResponseModes, " "), "query form_post"},
				{"token_endpoint_auth_methods_supported", strings.Join(doc.TokenAuthMethods, " "), strings.Join(tt.want, " ")},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("discovery %s = %q; want %q", c.field, c.got, c.want)
				}
			}
			if got := op.Stats().DiscoveryFetches; got != 1 {
				t.Errorf("Stats().DiscoveryFetches = %d; want 1", got)
			}
		})
	}
}

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		method       string // of the authorization request
		responseMode string
	}{
		{name: "GET query", method: http.MethodGet, responseMode: ""},
		{name: "GET explicit query", method: http.MethodGet, responseMode: "query"},
		{name: "GET form_post", method: http.MethodGet, responseMode: "form_post"},
		{name: "POST query", method: http.MethodPost, responseMode: "query"},
		{name: "POST form_post", method: http.MethodPost, responseMode: "form_post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.UserInfoOnly = []string{"groups"}
			op := fakeoptest.NewTLSServer(t, o)
			a := newAuthRequest(op)
			if tt.responseMode != "" {
				a.params.Set("response_mode", tt.responseMode)
			}
			got := callback(t, a.send(t, browser(t, op), op, tt.method))
			if got.Get("state") != a.params.Get("state") {
				t.Errorf("callback state = %q; want %q", got.Get("state"), a.params.Get("state"))
			}
			if got.Get("code") == "" {
				t.Fatalf("callback has no code: %v", got)
			}
			status, tr := redeem(t, op, fakeop.ClientSecretBasic, got.Get("code"), a.verifier)
			if status != http.StatusOK {
				t.Fatalf("token request = %d %s; want 200", status, tr.ErrorDescription)
			}
			if tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || tr.AccessToken == "" {
				t.Errorf("token response = %+v; want Bearer, 3600 s, an access token", tr)
			}

			tok, err := verify(t, verifier(t, op), op, tr.IDToken)
			if err != nil {
				t.Fatalf("Verify(id_token) = %v; want nil", err)
			}
			if err := tok.VerifyAccessToken(tr.AccessToken); err != nil {
				t.Errorf("VerifyAccessToken (at_hash) = %v; want nil", err)
			}
			c := claimsOf(t, tok)
			want := map[string]any{
				"iss":                op.Issuer(),
				"sub":                "alice-subject",
				"aud":                testClientID,
				"azp":                testClientID,
				"nonce":              a.params.Get("nonce"),
				"email":              "alice@example.com",
				"preferred_username": "alice",
				"name":               "Alice Liddell",
			}
			for name, w := range want {
				if c[name] != w {
					t.Errorf("id_token claim %q = %v; want %v", name, c[name], w)
				}
			}
			for _, name := range []string{"exp", "iat", "auth_time", "at_hash"} {
				if _, ok := c[name]; !ok {
					t.Errorf("id_token claim %q missing", name)
				}
			}
			if _, ok := c["groups"]; ok {
				t.Errorf("id_token has groups, which is UserInfoOnly")
			}

			info := userInfo(t, op, tr.AccessToken)
			if info["sub"] != "alice-subject" || info["email"] != "alice@example.com" {
				t.Errorf("userinfo = %v; want sub alice-subject and email", info)
			}
			if groups, _ := info["groups"].([]any); len(groups) != 2 {
				t.Errorf("userinfo groups = %v; want [admins users]", info["groups"])
			}

			s := op.Stats()
			if s.AuthorizeRequests != 1 || s.TokenRequests != 1 || s.UserInfoRequests != 1 {
				t.Errorf("Stats() = %+v; want 1 authorization, token and userinfo request", s)
			}
			if !slices.Equal(s.AuthorizeMethods, []string{tt.method}) {
				t.Errorf("Stats().AuthorizeMethods = %v; want [%s]", s.AuthorizeMethods, tt.method)
			}
			if len(s.AuthorizeParams) != 1 || s.AuthorizeParams[0].Get("nonce") != a.params.Get("nonce") {
				t.Errorf("Stats().AuthorizeParams = %v; want the request's parameters", s.AuthorizeParams)
			}
		})
	}
}

func userInfo(t *testing.T, op *fakeoptest.OP, accessToken string) map[string]any {
	t.Helper()
	status, info := userInfoStatus(t, op, accessToken)
	if status != http.StatusOK {
		t.Fatalf("userinfo = %d; want 200", status)
	}
	return info
}

func userInfoStatus(t *testing.T, op *fakeoptest.OP, accessToken string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, op.Endpoints().UserInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var info map[string]any
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusOK {
		if err := jsonUnmarshal(body, &info); err != nil {
			t.Fatalf("userinfo is not JSON: %v", err)
		}
	}
	return resp.StatusCode, info
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	tr, _ := signIn(t, op)

	op.SetUserInfoSub("someone-else")
	if got := userInfo(t, op, tr.AccessToken)["sub"]; got != "someone-else" {
		t.Errorf("userinfo sub after SetUserInfoSub = %v; want someone-else", got)
	}
	op.SetUserInfoSub("")
	if got := userInfo(t, op, tr.AccessToken)["sub"]; got != "alice-subject" {
		t.Errorf("userinfo sub after reset = %v; want alice-subject", got)
	}
	if status, _ := userInfoStatus(t, op, "not-a-token"); status != http.StatusUnauthorized {
		t.Errorf("userinfo(unknown token) = %d; want 401", status)
	}
	op.FailUserInfo(http.StatusBadGateway)
	if status, _ := userInfoStatus(t, op, tr.AccessToken); status != http.StatusBadGateway {
		t.Errorf("userinfo with FailUserInfo(502) = %d; want 502", status)
	}
}

func TestTokenClientAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		configured, used string
		wantStatus       int
		wantError        string
	}{
		{configured: "", used: fakeop.ClientSecretBasic, wantStatus: 200},
		{configured: "", used: fakeop.ClientSecretPost, wantStatus: 200},
		{configured: fakeop.ClientSecretBasic, used: fakeop.ClientSecretBasic, wantStatus: 200},
		{configured: fakeop.ClientSecretBasic, used: fakeop.ClientSecretPost, wantStatus: 401, wantError: "invalid_client"},
		{configured: fakeop.ClientSecretPost, used: fakeop.ClientSecretPost, wantStatus: 200},
		{configured: fakeop.ClientSecretPost, used: fakeop.ClientSecretBasic, wantStatus: 401, wantError: "invalid_client"},
		{configured: "", used: "none", wantStatus: 401, wantError: "invalid_client"},
		{configured: "", used: "both", wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.configured+" used "+tt.used, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.TokenAuthMethod = tt.configured
			op := fakeoptest.NewTLSServer(t, o)
			a := newAuthRequest(op)
			got := callback(t, a.send(t, browser(t, op), op, http.MethodGet))
			status, tr := redeem(t, op, tt.used, got.Get("code"), a.verifier)
			if status != tt.wantStatus || tr.Error != tt.wantError {
				t.Errorf("token request with %s = %d %q; want %d %q", tt.used, status, tr.Error, tt.wantStatus, tt.wantError)
			}
			want := tt.used
			if tt.used == "both" {
				want = fakeop.ClientSecretBasic + "+" + fakeop.ClientSecretPost
			}
			if got := op.Stats().TokenAuthMethods; !slices.Equal(got, []string{want}) {
				t.Errorf("Stats().TokenAuthMethods = %v; want [%s]", got, want)
			}
		})
	}
}

func TestTokenWrongSecret(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	a := newAuthRequest(op)
	code := callback(t, a.send(t, browser(t, op), op, http.MethodGet)).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirectURI}, "code_verifier": {a.verifier}}
	req, _ := http.NewRequest(http.MethodPost, op.Endpoints().Token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, "wrong")
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
		t.Errorf("token request with a wrong secret = %d %s; want 401 invalid_client", resp.StatusCode, body)
	}
	if strings.Contains(body, testClientSecret) {
		t.Errorf("token error reveals the client secret: %s", body)
	}
}

func TestTokenGrantChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(form url.Values)
		advance time.Duration
		want    string
	}{
		{name: "PKCE verifier mismatch", change: func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, want: "invalid_grant"},
		{name: "PKCE verifier missing", change: func(f url.Values) { f.Del("code_verifier") }, want: "invalid_grant"},
		{name: "other redirect_uri", change: func(f url.Values) { f.Set("redirect_uri", "https://rp.example/other") }, want: "invalid_grant"},
		{name: "unknown code", change: func(f url.Values) { f.Set("code", "forged") }, want: "invalid_grant"},
		{name: "missing code", change: func(f url.Values) { f.Del("code") }, want: "invalid_request"},
		{name: "other grant type", change: func(f url.Values) { f.Set("grant_type", "password") }, want: "unsupported_grant_type"},
		{name: "expired code", advance: 2 * time.Minute, want: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := time.Now()
			o := testOptions()
			o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			op := fakeoptest.NewTLSServer(t, o)
			a := newAuthRequest(op)
			code := callback(t, a.send(t, browser(t, op), op, http.MethodGet)).Get("code")
			mu.Lock()
			now = now.Add(tt.advance)
			mu.Unlock()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirectURI}, "code_verifier": {a.verifier}}
			if tt.change != nil {
				tt.change(form)
			}
			status, tr := postToken(t, op, form)
			if status != http.StatusBadRequest || tr.Error != tt.want {
				t.Errorf("token request (%s) = %d %q; want 400 %q", tt.name, status, tr.Error, tt.want)
			}
		})
	}
}

func postToken(t *testing.T, op *fakeoptest.OP, form url.Values) (int, tokenResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, op.Endpoints().Token, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tr tokenResponse
	if err := jsonUnmarshal(readBody(t, resp), &tr); err != nil {
		t.Fatalf("token response is not JSON: %v", err)
	}
	return resp.StatusCode, tr
}

func TestCodeReuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		allow      bool
		wantSecond int
	}{
		{name: "refused by default", allow: false, wantSecond: http.StatusBadRequest},
		{name: "allowed by AllowCodeReuse", allow: true, wantSecond: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			op.AllowCodeReuse(tt.allow)
			a := newAuthRequest(op)
			code := callback(t, a.send(t, browser(t, op), op, http.MethodGet)).Get("code")
			if status, tr := redeem(t, op, fakeop.ClientSecretBasic, code, a.verifier); status != http.StatusOK {
				t.Fatalf("first redemption = %d %s; want 200", status, tr.Error)
			}
			status, tr := redeem(t, op, fakeop.ClientSecretBasic, code, a.verifier)
			if status != tt.wantSecond {
				t.Errorf("second redemption = %d %s; want %d", status, tr.Error, tt.wantSecond)
			}
			if tt.allow {
				tok, err := verify(t, verifier(t, op), op, tr.IDToken)
				if err != nil {
					t.Fatalf("second ID token: Verify = %v; want nil", err)
				}
				if tok.Nonce != a.params.Get("nonce") {
					t.Errorf("second ID token nonce = %q; want %q", tok.Nonce, a.params.Get("nonce"))
				}
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		change    func(p url.Values)
		allow     []string // registered redirect URIs
		wantPage  bool     // an error page at the OP, nothing sent to the client
		wantError string   // else the error sent to the redirect URI
		formPost  bool
	}{
		{name: "missing client_id", change: func(p url.Values) { p.Del("client_id") }, wantPage: true},
		{name: "unknown client_id", change: func(p url.Values) { p.Set("client_id", "<evil>") }, wantPage: true},
		{name: "missing redirect_uri", change: func(p url.Values) { p.Del("redirect_uri") }, wantPage: true},
		{name: "http redirect_uri", change: func(p url.Values) { p.Set("redirect_uri", "http://rp.example/cb") }, wantPage: true},
		{name: "unregistered redirect_uri", allow: []string{"https://rp.example/registered"}, wantPage: true},
		{name: "missing state", change: func(p url.Values) { p.Del("state") }, wantError: "invalid_request"},
		{name: "missing nonce", change: func(p url.Values) { p.Del("nonce") }, wantError: "invalid_request"},
		{name: "missing code_challenge", change: func(p url.Values) { p.Del("code_challenge") }, wantError: "invalid_request"},
		{name: "plain code_challenge_method", change: func(p url.Values) { p.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "missing code_challenge_method", change: func(p url.Values) { p.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "implicit flow", change: func(p url.Values) { p.Set("response_type", "id_token") }, wantError: "unsupported_response_type"},
		{name: "no openid scope", change: func(p url.Values) { p.Set("scope", "profile") }, wantError: "invalid_scope"},
		{name: "unknown response_mode", change: func(p url.Values) { p.Set("response_mode", "fragment") }, wantError: "invalid_request"},
		{name: "repeated parameter", change: func(p url.Values) { p.Add("nonce", "second") }, wantError: "invalid_request"},
		{name: "error by form_post", change: func(p url.Values) { p.Del("nonce"); p.Set("response_mode", "form_post") }, wantError: "invalid_request", formPost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			op.AllowRedirect(tt.allow...)
			a := newAuthRequest(op)
			if tt.change != nil {
				tt.change(a.params)
			}
			resp := a.send(t, browser(t, op), op, http.MethodGet)
			if tt.wantPage {
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("authorize = %d Location %q; want 400 page", resp.StatusCode, resp.Header.Get("Location"))
				}
				if strings.Contains(body, "<evil>") {
					t.Errorf("error page does not escape the client_id:\n%s", body)
				}
				return
			}
			if tt.formPost && resp.StatusCode != http.StatusOK {
				t.Errorf("authorize = %d; want 200 form_post page", resp.StatusCode)
			}
			got := callback(t, resp)
			if got.Get("error") != tt.wantError || got.Get("code") != "" {
				t.Errorf("callback = %v; want error %q and no code", got, tt.wantError)
			}
			if state := a.params.Get("state"); got.Get("state") != state {
				t.Errorf("callback state = %q; want %q", got.Get("state"), state)
			}
		})
	}
}

func TestAllowRedirect(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	op.AllowRedirect(testRedirectURI)
	a := newAuthRequest(op)
	if got := callback(t, a.send(t, browser(t, op), op, http.MethodGet)); got.Get("code") == "" {
		t.Errorf("authorize with a registered redirect_uri = %v; want a code", got)
	}
}

func TestFailAuthorize(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	op.FailAuthorize("access_denied", "the user said no")
	a := newAuthRequest(op)
	got := callback(t, a.send(t, browser(t, op), op, http.MethodGet))
	if got.Get("error") != "access_denied" || got.Get("error_description") != "the user said no" || got.Get("state") != a.params.Get("state") {
		t.Errorf("callback = %v; want access_denied with description and state", got)
	}
	op.FailAuthorize("", "")
	if got := callback(t, a.send(t, browser(t, op), op, http.MethodGet)); got.Get("code") == "" {
		t.Errorf("callback after reset = %v; want a code", got)
	}
}

func TestTokenHook(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	op.TokenHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.PostForm.Get("grant_type") != "authorization_code" {
			return false
		}
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return true
	})
	a := newAuthRequest(op)
	code := callback(t, a.send(t, browser(t, op), op, http.MethodGet)).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirectURI}, "code_verifier": {a.verifier}}
	req, _ := http.NewRequest(http.MethodPost, op.Endpoints().Token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "maintenance") {
		t.Errorf("token request with hook = %d %q; want the hook's 500", resp.StatusCode, body)
	}
	op.TokenHook(nil)
	if status, tr := redeem(t, op, fakeop.ClientSecretBasic, code, a.verifier); status != http.StatusOK {
		t.Errorf("token request after TokenHook(nil) = %d %s; want 200 (the hooked request did not use the code)", status, tr.Error)
	}
	if s := op.Stats(); s.TokenRequests != 2 || len(s.TokenAuthMethods) != 2 {
		t.Errorf("Stats() = %+v; want 2 token requests recorded", s)
	}
}

func TestConcurrentFlows(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	v := verifier(t, op)
	t.Run("flows", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				tr, nonce := signIn(t, op)
				tok, err := verify(t, v, op, tr.IDToken)
				if err != nil {
					t.Fatalf("Verify = %v; want nil", err)
				}
				if tok.Nonce != nonce {
					t.Errorf("nonce = %q; want %q", tok.Nonce, nonce)
				}
			})
		}
	})
	if got := op.Stats().TokenRequests; got != 8 {
		t.Errorf("Stats().TokenRequests = %d; want 8", got)
	}
}

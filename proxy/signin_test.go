package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// signedIn visits a page of the Administration site and signs in on the
// way; it fails unless the browser ends on the backend's page.
func (g *gate) signedIn(b *browser, path string) []*response {
	g.t.Helper()
	hops := b.Visit(g.url + path)
	if r := last(hops); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "<h1>backend</h1>") {
		g.t.Fatalf("GET %s after sign-in = %d:\n%s\nlogs:\n%s", path, r.StatusCode, r.Body, g.logs.String())
	}
	return hops
}

func TestSignInFlows(t *testing.T) {
	tests := []struct {
		name string
		s    setup
	}{
		{"POST authorization, basic, query", setup{authMethod: "POST", tokenAuth: "client_secret_basic"}},
		{"GET authorization, basic, query", setup{authMethod: "GET", tokenAuth: "client_secret_basic"}},
		{"POST authorization, post, query", setup{authMethod: "POST", tokenAuth: "client_secret_post"}},
		{"GET authorization, post, form_post", setup{authMethod: "GET", tokenAuth: "client_secret_post", responseMode: "form_post"}},
		{"POST authorization, basic, form_post", setup{authMethod: "POST", tokenAuth: "client_secret_basic", responseMode: "form_post"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			b := g.browser()
			hops := g.signedIn(b, "/Administration/reports/list.aspx?id=7")

			start := hops[1] // the sign-in initiation
			if tt.s.authMethod == "GET" {
				if start.StatusCode != http.StatusFound {
					t.Errorf("GET authorization request: initiation answered %d; want 302", start.StatusCode)
				}
			} else if start.StatusCode != http.StatusOK || !strings.Contains(start.Body, "<form method=\"post\"") {
				t.Errorf("POST authorization request: initiation answered %d without an auto-post form", start.StatusCode)
			}

			got := g.backend.last(t)
			if got.URL.Path != "/administration/reports/list.aspx" || got.URL.RawQuery != "id=7" {
				t.Errorf("backend path = %s?%s; want /administration/reports/list.aspx?id=7", got.URL.Path, got.URL.RawQuery)
			}
			want := map[string]string{
				"X-Forwarded-User":                "alice@example.com",
				"X-Forwarded-Authentication-Type": "TestOP",
				"X-Forwarded-Email":               "alice@example.com",
				"X-Forwarded-Preferred-Username":  "alice",
				"X-Forwarded-Issuer":              g.op.Issuer(),
				"X-Forwarded-Proto":               "https",
				"X-Forwarded-Host":                strings.TrimPrefix(g.url, "https://"),
			}
			for h, v := range want {
				if got.Header.Get(h) != v {
					t.Errorf("backend header %s = %q; want %q", h, got.Header.Get(h), v)
				}
			}
			methods := g.op.Stats().TokenAuthMethods
			if len(methods) != 1 || methods[0] != tt.s.tokenAuth {
				t.Errorf("token requests used %v; want exactly [%s]", methods, tt.s.tokenAuth)
			}
		})
	}
}

func TestSingleSignOnAcrossSites(t *testing.T) {
	g := newGate(t, setup{})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	before := g.op.Stats().AuthorizeRequests

	r := last(b.Visit(g.url + "/Flowtime/inbox"))
	if r.StatusCode != http.StatusOK || g.backend.last(t).Header.Get("X-Forwarded-User") != "alice@example.com" {
		t.Fatalf("Flowtime after signing in to Administration = %d %q", r.StatusCode, r.Body)
	}
	if after := g.op.Stats().AuthorizeRequests; after != before {
		t.Errorf("Flowtime caused %d more authorization requests; want 0", after-before)
	}
}

func TestWithoutSingleSignOnEachSiteSignsIn(t *testing.T) {
	off := false
	g := newGate(t, setup{sso: &off})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	before := g.op.Stats().AuthorizeRequests
	g.signedIn(b, "/Flowtime/")
	if g.op.Stats().AuthorizeRequests == before {
		t.Error("with sso_enabled = false, Flowtime was served on Administration's session")
	}
}

func TestForceReauthenticateSendsPromptLogin(t *testing.T) {
	for _, force := range []bool{false, true} {
		g := newGate(t, setup{authMethod: "GET", force: force})
		r := g.browser().Do(http.MethodGet, g.url+"/Administration/oidcServices/Signininitiation", nil, nil)
		has := strings.Contains(r.Header.Get("Location"), "prompt=login")
		if has != force {
			t.Errorf("force_reauthenticate = %v: authorization request %q; prompt=login present = %v", force, r.Header.Get("Location"), has)
		}
	}
}

func TestAuthorizationRequestCarriesStateNoncePKCE(t *testing.T) {
	g := newGate(t, setup{authMethod: "GET"})
	b := g.browser()
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation", nil, nil)
		loc, _ := r.Request.URL.Parse(r.Header.Get("Location"))
		q := loc.Query()
		for _, p := range []string{"state", "nonce", "code_challenge"} {
			v := q.Get(p)
			if len(v) < 20 {
				t.Fatalf("authorization request %s = %q; want a long random value", p, v)
			}
			if seen[v] {
				t.Errorf("%s %q reused across authorization requests", p, v)
			}
			seen[v] = true
		}
		if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorization request = %v", q)
		}
	}
}

func TestParallelTabsBothSignIn(t *testing.T) {
	g := newGate(t, setup{authMethod: "GET"})
	b := g.browser()
	// Two tabs start sign-in before either comes back.
	r1 := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation?ReturnUrl=/Administration/one", nil, nil)
	r2 := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation?ReturnUrl=/Administration/two", nil, nil)
	for i, r := range []*response{r2, r1} {
		hops := b.Follow(r)
		want := []string{"/administration/two", "/administration/one"}[i]
		if got := g.backend.last(t).URL.Path; last(hops).StatusCode != http.StatusOK || got != want {
			t.Errorf("tab %d ended at %d %s; want 200 %s", 2-i, last(hops).StatusCode, got, want)
		}
	}
}

func TestAbandonedSignInsDoNotPileUpCookies(t *testing.T) {
	g := newGate(t, setup{authMethod: "GET"})
	b := g.browser()
	for i := 0; i < 30; i++ {
		b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation", nil, nil)
	}
	u := mustURL(g.url + "/Administration/")
	n := 0
	for _, c := range b.Jar.Cookies(u) {
		if strings.Contains(c.Name, "login") {
			n++
		}
	}
	if n == 0 || n > 5 {
		t.Errorf("after 30 abandoned sign-ins the browser holds %d login cookies; want 1..5", n)
	}
}

// TestSignInLogsOneLinePerOutcome: the sign-in answer gets one line saying
// how it ended (besides the request line every request gets): "sign-in"
// when it succeeded or no claims rule let the user in, "request refused"
// when a check failed; never both.
func TestSignInLogsOneLinePerOutcome(t *testing.T) {
	noRule := "[[authentication.claims]]\nclaim_type = \"upn\"\nauthentication_type = \"AzureAD\"\n"
	tests := []struct {
		name   string
		s      setup
		claims func(map[string]any)
		want   string // the outcome line's message and result or reason
	}{
		{"ok", setup{}, nil, `"msg":"sign-in","result":"ok"`},
		{"denied", setup{rules: noRule}, nil, `"msg":"sign-in","result":"denied","reason":"no_claims_rule"`},
		{"refused", setup{}, func(c map[string]any) { c["nonce"] = "not-the-nonce" }, `"reason":"id_token_nonce"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			if tt.claims != nil {
				g.op.MutateClaims(tt.claims)
			}
			b := g.browser()
			g.logs.Reset()
			b.Visit(g.url + "/Administration/")
			var outcomes []string
			for _, line := range strings.Split(g.logs.String(), "\n") {
				if strings.Contains(line, `"msg":"sign-in"`) || strings.Contains(line, `"msg":"request refused"`) {
					outcomes = append(outcomes, line)
				}
			}
			if len(outcomes) != 1 || !strings.Contains(outcomes[0], tt.want) {
				t.Errorf("outcome lines:\n%s\nwant one, with %s", strings.Join(outcomes, "\n"), tt.want)
			}
		})
	}
}

// TestDeniedSignInLogLineNamesTheClaims: a user no claims rule admits is
// diagnosed from one line: the request id, the token's issuer and subject,
// and the names of the claims it had (here: no upn), never their values.
func TestDeniedSignInLogLineNamesTheClaims(t *testing.T) {
	g := newGate(t, setup{rules: "[[authentication.claims]]\nclaim_type = \"upn\"\nauthentication_type = \"AzureAD\"\n"})
	b := g.browser()
	g.logs.Reset()
	hops := b.Visit(g.url + "/Administration/")
	var requestID string
	for _, h := range hops {
		if strings.Contains(strings.ToLower(h.Request.URL.Path), "signinresponse") {
			requestID = h.Header.Get("X-Request-Id")
		}
	}
	if requestID == "" {
		t.Fatal("no sign-in response among the hops, or it carried no X-Request-Id")
	}
	var line string
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"sign-in"`) {
			line = l
		}
	}
	for _, want := range []string{
		`"result":"denied"`, `"reason":"no_claims_rule"`,
		`"request_id":"` + requestID + `"`,
		`"issuer":"` + g.op.Issuer() + `"`,
		`"subject":"user-1234"`,
		`"claims":"at_hash,aud,auth_time,azp,email,exp,iat,iss,name,nonce,preferred_username,sub"`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("denied sign-in line lacks %s:\n%s", want, line)
		}
	}
	if end := last(hops); end.StatusCode != http.StatusForbidden || !strings.Contains(end.Body, "Request id: <code>"+requestID+"</code>") {
		t.Errorf("the access denied page (%d) does not show the sign-in's request id %s:\n%s", end.StatusCode, requestID, end.Body)
	}
	for _, value := range []string{"alice@example.com", "Alice Example", `"alice"`, testClientID} {
		if strings.Contains(line, value) {
			t.Errorf("denied sign-in line shows the claim value %s:\n%s", value, line)
		}
	}
}

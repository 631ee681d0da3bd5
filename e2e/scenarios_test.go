package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// AuthenticationType is what the scenarios' claims rules tell the sites.
const AuthenticationType = "AzureAD"

// scenarioGate is one oidcgate of TestScenarios, with backends of its own,
// so that what a backend received belongs to one scenario's gate only.
type scenarioGate struct {
	GateOptions
	ln       net.Listener // nil: StartGate's subprocess binds Listen itself
	backends map[string]*Backend
}

// newScenarioGate prepares a gate on listen with one backend per site
// name. Every gate gets its own cookie name: they all live on 127.0.0.1,
// and browsers share cookies between the ports of a host.
func newScenarioGate(t *testing.T, cert *Cert, ln net.Listener, listen, cookieName string, sites ...string) *scenarioGate {
	t.Helper()
	g := &scenarioGate{ln: ln, backends: map[string]*Backend{}}
	g.Listen, g.Cert, g.CookieName = listen, cert, cookieName
	for _, name := range sites {
		b := StartBackend(t, name)
		g.backends[name] = b
		g.Sites = append(g.Sites, SiteFor(listen, b))
	}
	return g
}

// url is a page of the named site: its base_url followed by path.
func (g *scenarioGate) url(site, path string) string {
	for _, s := range g.Sites {
		if s.Name == site {
			return s.BaseURL + path
		}
	}
	panic("e2e: no site " + site)
}

// start runs the gate: the real binary when it has no listener, in this
// process otherwise.
func (g *scenarioGate) start(t *testing.T) {
	t.Helper()
	if g.ln == nil {
		StartGate(t, g.GateOptions)
		return
	}
	RunGate(t, g.GateOptions, g.ln)
}

// TestScenarios is what users do through oidcgate, in a real browser, with
// a real, independent OpenID provider. One provider serves every scenario;
// each scenario has its own gate configuration (and its own browser, so no
// cookie of one scenario reaches another).
//
// The provider is on localhost and every gate on 127.0.0.1: each sign-in
// crosses sites, as it does wherever the provider lives elsewhere, so the
// browser's SameSite rules apply to every authorization request and every
// callback.
func TestScenarios(t *testing.T) {
	requireNode(t)
	requireChromium(t)
	cert := NewCert(t)

	// The main gate is the real `oidcgate serve` binary; the others run in
	// this process, which is faster and runs the same code from the same
	// TOML. Addresses come first: the provider must know every redirect URI.
	mainAddr := FreeAddr(t)
	main := newScenarioGate(t, cert, nil, mainAddr, "main", "Administration", "Flowtime")
	main.ClientID, main.ClientSecret, main.TokenAuthMethod = BasicClientID, BasicClientSecret, "client_secret_basic"
	main.SSO, main.SignOutFromSTS = true, true

	ln := Listener(t)
	byGet := newScenarioGate(t, cert, ln, ln.Addr().String(), "byget", "Administration")
	byGet.ClientID, byGet.ClientSecret, byGet.TokenAuthMethod = PostClientID, PostClientSecret, "client_secret_post"
	byGet.AuthorizationRequestMethod, byGet.SSO = "GET", true

	ln = Listener(t)
	formPost := newScenarioGate(t, cert, ln, ln.Addr().String(), "formpost", "Administration")
	formPost.ClientID, formPost.ClientSecret, formPost.TokenAuthMethod = BasicClientID, BasicClientSecret, "client_secret_basic"
	formPost.ResponseMode = "form_post"

	// Sites that do not share a session, so that a second site needs a
	// second sign-in while the provider still has its session. GET puts
	// prompt=login where the navigation log shows it.
	ln = Listener(t)
	reauth := newScenarioGate(t, cert, ln, ln.Addr().String(), "reauth", "Administration", "Flowtime")
	reauth.ClientID, reauth.ClientSecret, reauth.TokenAuthMethod = BasicClientID, BasicClientSecret, "client_secret_basic"
	reauth.ForceReauthenticate, reauth.AuthorizationRequestMethod = true, "GET"

	ln = Listener(t)
	denied := newScenarioGate(t, cert, ln, ln.Addr().String(), "denied", "Administration")
	denied.ClientID, denied.ClientSecret, denied.TokenAuthMethod = BasicClientID, BasicClientSecret, "client_secret_basic"

	gates := []*scenarioGate{main, byGet, formPost, reauth, denied}
	var redirects, postLogout []string
	for _, g := range gates {
		redirects = append(redirects, g.RedirectURIs()...)
		for _, s := range g.Sites {
			postLogout = append(postLogout, s.BaseURL)
		}
	}
	op := StartOP(t, OPOptions{
		Host:    "localhost",
		Cert:    cert,
		Clients: []OPClient{BasicClient(redirects, postLogout), PostClient(redirects, postLogout)},
	})
	ep := opEndpoints(t, op)

	for _, g := range gates {
		g.DiscoveryURL = op.DiscoveryURL()
		g.Rules = []GateRule{{ClaimType: "email", OriginalIssuer: op.Issuer, AuthenticationType: AuthenticationType}}
	}
	// A rule matches by the presence of its claim: alice, the
	// organisation's own account, has a upn; bob, a guest, has none.
	denied.Rules = []GateRule{{ClaimType: "upn", OriginalIssuer: op.Issuer, AuthenticationType: AuthenticationType}}
	for _, g := range gates {
		g.start(t)
	}

	// alice is what a backend should receive for alice from gate g.
	alice := func(g *scenarioGate) []header {
		return []header{
			{"X-Forwarded-User", AliceEmail},
			{"X-Forwarded-Authentication-Type", AuthenticationType},
			{"X-Forwarded-Email", AliceEmail},
			{"X-Forwarded-Preferred-Username", AliceName},
			{"X-Forwarded-Issuer", op.Issuer},
			{"X-Forwarded-Proto", "https"},
			{"X-Forwarded-Host", g.Listen},
		}
	}

	t.Run("sign in", func(t *testing.T) {
		tests := []struct {
			name        string
			gate        *scenarioGate
			client      string
			authzMethod string // how the browser carried the authorization request
			tokenAuth   string // how the token request authenticated the client
			screenshots bool
		}{
			{name: "POST authorization request, client_secret_basic, oidcgate serve", gate: main,
				client: BasicClientID, authzMethod: http.MethodPost, tokenAuth: "client_secret_basic", screenshots: true},
			{name: "GET authorization request, client_secret_post", gate: byGet,
				client: PostClientID, authzMethod: http.MethodGet, tokenAuth: "client_secret_post"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := NewBrowser(t)
				tokens, logins := len(op.TokenRequests()), len(op.Logins())
				backend := tt.gate.backends["Administration"]

				// A deep link: after sign-in the user lands on what was asked for.
				b.Navigate(tt.gate.url("Administration", "reports/monthly?year=2024"))
				b.WaitVisible("#username")
				if got := b.Text("#client"); got != tt.client {
					t.Errorf("the provider's form names client %q; want %q", got, tt.client)
				}
				if tt.screenshots {
					b.Screenshot("01-sign-in-form")
				}
				if got := backend.Requests(); len(got) != 0 {
					t.Errorf("backend received %d requests before sign-in; want none: %+v", len(got), got)
				}
				wantNavigation(t, b.Navigations(), tt.authzMethod, ep.Authorization)

				b.SignIn(AliceName, AlicePassword)
				if got := b.Text("#site"); got != "Administration" {
					t.Errorf("page shows site %q; want Administration", got)
				}
				if got := b.Text("#x-forwarded-user"); got != AliceEmail {
					t.Errorf("page shows X-Forwarded-User %q; want %q", got, AliceEmail)
				}
				if got, want := b.URL(), tt.gate.url("Administration", "reports/monthly?year=2024"); got != want {
					t.Errorf("browser ends at %q; want %q", got, want)
				}
				if tt.screenshots {
					b.Screenshot("02-administration")
				}

				reqs := backend.Requests()
				if len(reqs) != 1 {
					t.Fatalf("backend received %d requests; want 1: %+v", len(reqs), reqs)
				}
				if r := reqs[0]; r.Path != "/Administration/reports/monthly" || r.RawQuery != "year=2024" {
					t.Errorf("backend request = %s ?%s; want /Administration/reports/monthly ?year=2024", r.Path, r.RawQuery)
				}
				wantHeaders(t, reqs[0], alice(tt.gate))
				wantNoOwnCookies(t, reqs[0], tt.gate.CookieName)

				wantOneToken(t, op.TokenRequests()[tokens:], tt.client, tt.tokenAuth)
				if got := op.Logins()[logins:]; len(got) != 1 || got[0].Username != AliceName || !got[0].OK {
					t.Errorf("provider logins = %+v; want one, alice, ok", got)
				}
			})
		}
	})

	t.Run("SSO into Flowtime without a second sign-in", func(t *testing.T) {
		b := NewBrowser(t)
		b.Navigate(main.url("Administration", ""))
		b.SignIn(AliceName, AlicePassword)
		b.WaitVisible("#site")
		tokens, logins, navs := len(op.TokenRequests()), len(op.Logins()), len(b.Navigations())

		b.Navigate(main.url("Flowtime", "timesheets"))
		if got := b.Text("#site"); got != "Flowtime" {
			t.Errorf("page shows site %q; want Flowtime", got)
		}
		if got := b.Text("#x-forwarded-user"); got != AliceEmail {
			t.Errorf("Flowtime shows X-Forwarded-User %q; want %q", got, AliceEmail)
		}
		for _, n := range b.Navigations()[navs:] {
			if strings.HasPrefix(n.URL, op.Issuer) {
				t.Errorf("the browser went to the provider (%s %s); want Flowtime served from the shared session", n.Method, n.URL)
			}
		}
		if got := op.Logins()[logins:]; len(got) != 0 {
			t.Errorf("provider logins = %+v; want none", got)
		}
		if got := op.TokenRequests()[tokens:]; len(got) != 0 {
			t.Errorf("token requests = %+v; want none", got)
		}
		last, ok := main.backends["Flowtime"].Last()
		if !ok || last.Path != "/Flowtime/timesheets" {
			t.Fatalf("Flowtime backend last request = %+v, %v; want /Flowtime/timesheets", last, ok)
		}
		wantHeaders(t, last, alice(main))
	})

	t.Run("form_post callback across sites", func(t *testing.T) {
		opURL, _ := url.Parse(op.Issuer)
		gateHost, _, _ := net.SplitHostPort(formPost.Listen)
		if opURL.Hostname() == gateHost {
			t.Fatalf("provider %s and oidcgate %s share a host; the callback would not cross sites", op.Issuer, formPost.Listen)
		}
		b := NewBrowser(t)
		tokens := len(op.TokenRequests())

		b.Navigate(formPost.url("Administration", "inbox"))
		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#x-forwarded-user"); got != AliceEmail {
			t.Errorf("page shows X-Forwarded-User %q; want %q", got, AliceEmail)
		}
		// The provider's answer came back as a cross-site POST, which carries
		// only SameSite=None cookies: oidcgate's login state had to be one.
		wantNavigation(t, b.Navigations(), http.MethodPost, formPost.url("Administration", "oidcServices/signinresponse"))
		last, ok := formPost.backends["Administration"].Last()
		if !ok || last.Path != "/Administration/inbox" {
			t.Fatalf("backend last request = %+v, %v; want /Administration/inbox", last, ok)
		}
		wantHeaders(t, last, alice(formPost))
		wantOneToken(t, op.TokenRequests()[tokens:], BasicClientID, "client_secret_basic")
	})

	t.Run("no matching claims rule: access denied", func(t *testing.T) {
		b := NewBrowser(t)
		tokens := len(op.TokenRequests())

		b.Navigate(denied.url("Administration", ""))
		b.SignIn(BobName, BobPassword)
		text := b.WaitText("Access denied")
		if got := b.Status(); got != http.StatusForbidden {
			t.Errorf("status = %d; want 403", got)
		}
		// The query names the denied sign-in's request id, which the page shows.
		if got, want := b.URL(), denied.url("Administration", "AccessDenied.aspx?signin="); !strings.HasPrefix(got, want) || !strings.Contains(text, "Request id: "+strings.TrimPrefix(got, want)) {
			t.Errorf("browser ends at %q; want %q and the sign-in's request id on the page:\n%s", got, want+"…", text)
		}
		if strings.Contains(text, BobEmail) {
			t.Errorf("access-denied page shows bob's identity:\n%s", text)
		}
		b.Screenshot("03-access-denied")

		// The provider did sign bob in: the refusal is oidcgate's rule.
		wantOneToken(t, op.TokenRequests()[tokens:], BasicClientID, "client_secret_basic")
		if got := denied.backends["Administration"].Requests(); len(got) != 0 {
			t.Errorf("backend received %d requests; want none: %+v", len(got), got)
		}
		// Nor does a second visit get bob through.
		b.Navigate(denied.url("Administration", "users"))
		b.WaitText("Access denied")
		if got := denied.backends["Administration"].Requests(); len(got) != 0 {
			t.Errorf("after a second visit, backend received %d requests; want none: %+v", len(got), got)
		}

		// The same rule admits alice, whose account has a upn.
		a := NewBrowser(t)
		a.Navigate(denied.url("Administration", ""))
		a.SignIn(AliceName, AlicePassword)
		a.WaitText(AliceEmail)
		last, ok := denied.backends["Administration"].Last()
		if !ok || last.Header.Get("X-Forwarded-User") != AliceEmail {
			t.Errorf("the upn rule did not admit alice: backend last request %+v, %v", last, ok)
		}
	})

	t.Run("force_reauthenticate asks for the password despite a provider session", func(t *testing.T) {
		b := NewBrowser(t)
		logins := len(op.Logins())
		b.Navigate(reauth.url("Administration", ""))
		b.SignIn(AliceName, AlicePassword)
		b.WaitVisible("#site")

		// The provider has a session now: a gate without
		// force_reauthenticate signs in through it without the form.
		b.Navigate(byGet.url("Administration", ""))
		if got := b.Text("#x-forwarded-user"); got != AliceEmail {
			t.Errorf("gate without force_reauthenticate shows X-Forwarded-User %q; want %q", got, AliceEmail)
		}
		if got := len(op.Logins()) - logins; got != 1 {
			t.Fatalf("provider logins = %d; want 1 (the provider session should have served the second gate)", got)
		}

		// This gate's other site needs its own sign-in (no SSO), and
		// force_reauthenticate makes the provider ask again.
		navs := len(b.Navigations())
		b.Navigate(reauth.url("Flowtime", ""))
		b.WaitVisible("#username")
		authz := wantNavigation(t, b.Navigations()[navs:], http.MethodGet, ep.Authorization)
		if u, err := url.Parse(authz.URL); err != nil || u.Query().Get("prompt") != "login" {
			t.Errorf("authorization request %s; want prompt=login", authz.URL)
		}
		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#site"); got != "Flowtime" {
			t.Errorf("page shows site %q; want Flowtime", got)
		}
		if got := len(op.Logins()) - logins; got != 2 {
			t.Errorf("provider logins = %d; want 2", got)
		}
		last, ok := reauth.backends["Flowtime"].Last()
		if !ok {
			t.Fatal("Flowtime backend received nothing")
		}
		wantHeaders(t, last, alice(reauth))
	})

	t.Run("sign-out with sign_out_from_sts ends the provider session", func(t *testing.T) {
		b := NewBrowser(t)
		b.Navigate(main.url("Administration", ""))
		b.SignIn(AliceName, AlicePassword)
		b.WaitVisible("#site")
		ends, logins, navs := len(op.EndSessions()), len(op.Logins()), len(b.Navigations())
		adminReqs, flowReqs := len(main.backends["Administration"].Requests()), len(main.backends["Flowtime"].Requests())

		// Sign-out goes through the provider's end-session endpoint and
		// back to the site, which, with no session anywhere, asks for the
		// password.
		b.Navigate(main.url("Administration", "oidcServices/SignOutInitiation"))
		b.WaitVisible("#username")
		if got := len(op.EndSessions()) - ends; got != 1 {
			t.Errorf("provider end_session events = %d; want 1", got)
		}
		wantNavigation(t, b.Navigations()[navs:], http.MethodGet, ep.EndSession)
		wantNavigation(t, b.Navigations()[navs:], http.MethodGet, main.url("Administration", ""))

		// A later visit, to the other site, asks for the password too.
		b.Navigate(main.url("Flowtime", ""))
		b.WaitVisible("#username")
		if got := len(op.Logins()) - logins; got != 0 {
			t.Errorf("provider logins after sign-out = %d; want 0", got)
		}
		if a, f := len(main.backends["Administration"].Requests())-adminReqs, len(main.backends["Flowtime"].Requests())-flowReqs; a != 0 || f != 0 {
			t.Errorf("backends received %d (Administration) and %d (Flowtime) requests after sign-out; want none", a, f)
		}
		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#site"); got != "Flowtime" {
			t.Errorf("after signing in again the page shows %q; want Flowtime", got)
		}
	})

	t.Run("two tabs sign in at once", func(t *testing.T) {
		b := NewBrowser(t)
		tab := b.NewTab(t)
		tokens := len(op.TokenRequests())
		backend := main.backends["Administration"]
		before := len(backend.Requests())

		// Both sign-ins start, and reach the provider's form, before either
		// finishes: each has its own login state in oidcgate.
		b.Navigate(main.url("Administration", "tab-one"))
		b.WaitVisible("#username")
		tab.Navigate(main.url("Administration", "tab-two"))
		tab.WaitVisible("#username")

		b.SignIn(AliceName, AlicePassword)
		if got := b.Text("#path"); got != "/Administration/tab-one" {
			t.Errorf("tab one shows %q; want /Administration/tab-one", got)
		}
		tab.SignIn(AliceName, AlicePassword)
		if got := tab.Text("#path"); got != "/Administration/tab-two" {
			t.Errorf("tab two shows %q; want /Administration/tab-two", got)
		}

		reqs := backend.Requests()[before:]
		if len(reqs) != 2 || reqs[0].Path != "/Administration/tab-one" || reqs[1].Path != "/Administration/tab-two" {
			t.Fatalf("backend requests = %+v; want tab-one then tab-two", reqs)
		}
		for _, r := range reqs {
			wantHeaders(t, r, alice(main))
		}
		if got := op.TokenRequests()[tokens:]; len(got) != 2 || got[0].Status != http.StatusOK || got[1].Status != http.StatusOK {
			t.Errorf("token requests = %+v; want two, both 200", got)
		}
	})

	t.Run("forged callback: error page", func(t *testing.T) {
		b := NewBrowser(t)
		tokens, before := len(op.TokenRequests()), len(main.backends["Administration"].Requests())

		b.Navigate(main.url("Administration", "oidcServices/signinresponse?state=forged&code=x"))
		text := b.WaitText("Sign-in could not be completed")
		if got := b.Status(); got != http.StatusBadRequest {
			t.Errorf("status = %d; want 400", got)
		}
		if !strings.Contains(text, "not started in this browser") {
			t.Errorf("error page does not say why:\n%s", text)
		}
		b.Screenshot("04-error-page")
		if got := op.TokenRequests()[tokens:]; len(got) != 0 {
			t.Errorf("token requests = %+v; want none (the state is checked first)", got)
		}
		if got := len(main.backends["Administration"].Requests()) - before; got != 0 {
			t.Errorf("backend received %d requests; want none", got)
		}
	})
}

// header is one expected header value.
type header struct{ name, value string }

// wantHeaders checks the headers a backend received.
func wantHeaders(t *testing.T, r BackendRequest, want []header) {
	t.Helper()
	for _, h := range want {
		if got := r.Header.Values(h.name); len(got) != 1 || got[0] != h.value {
			t.Errorf("backend received %s = %q; want %q", h.name, got, h.value)
		}
	}
}

// wantNoOwnCookies checks that none of oidcgate's cookies (the session
// and login cookies, all named after cookie_name) reached the backend.
func wantNoOwnCookies(t *testing.T, r BackendRequest, cookieName string) {
	t.Helper()
	req := http.Request{Header: r.Header}
	for _, c := range req.Cookies() {
		if strings.HasPrefix(strings.TrimPrefix(c.Name, "__Host-"), cookieName) {
			t.Errorf("backend received oidcgate's cookie %q", c.Name)
		}
	}
}

// wantOneToken checks that exactly one token request was made, by client
// with the given client authentication method, and that it succeeded.
func wantOneToken(t *testing.T, got []OPEvent, client, method string) {
	t.Helper()
	if len(got) != 1 {
		t.Errorf("token requests = %+v; want exactly one", got)
		return
	}
	if r := got[0]; r.ClientID != client || r.AuthMethod != method || r.Status != http.StatusOK {
		t.Errorf("token request = client %q, auth %q, status %d; want client %q, auth %q, status 200",
			r.ClientID, r.AuthMethod, r.Status, client, method)
	}
}

// wantNavigation finds the first navigation by method to target (any
// query), or fails the test listing them all.
func wantNavigation(t *testing.T, navs []Navigation, method, target string) Navigation {
	t.Helper()
	for _, n := range navs {
		u, _, _ := strings.Cut(n.URL, "?")
		if n.Method == method && u == target {
			return n
		}
	}
	var list strings.Builder
	for _, n := range navs {
		list.WriteString("\n  " + n.Method + " " + n.URL)
	}
	t.Errorf("no %s navigation to %s; the browser made:%s", method, target, list.String())
	return Navigation{}
}

// endpoints are the provider's, from its discovery document.
type endpoints struct {
	Authorization string `json:"authorization_endpoint"`
	EndSession    string `json:"end_session_endpoint"`
}

func opEndpoints(t *testing.T, op *OP) endpoints {
	t.Helper()
	resp, err := op.HTTPClient().Get(op.DiscoveryURL())
	if err != nil {
		t.Fatalf("e2e: discovery: %v", err)
	}
	defer resp.Body.Close()
	var ep endpoints
	if err := json.NewDecoder(resp.Body).Decode(&ep); err != nil || ep.Authorization == "" || ep.EndSession == "" {
		t.Fatalf("e2e: discovery %s: %+v, %v; want authorization and end-session endpoints", op.DiscoveryURL(), ep, err)
	}
	return ep
}

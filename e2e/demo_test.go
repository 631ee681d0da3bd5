package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/oidcgate/oidcgate/internal/demo"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// TestDemoScenarios runs TestScenarios' scenarios against `oidcgate demo`
// as it ships (its provider, its sites, its configuration), so that what a
// newcomer tries first keeps working.
//
// force_reauthenticate has a test of its own, TestDemoForceReauthenticate,
// on a demo started with -force-reauthenticate.
func TestDemoScenarios(t *testing.T) {
	requireChromium(t)
	d, log := startDemo(t, demo.Options{})
	alice, bob := demoUser(t, "alice"), demoUser(t, "bob")
	admin, flow := demoSite(t, d, "Administration"), demoSite(t, d, "Flowtime")

	// What the Administration and Flowtime pages show they received.
	wantAlice := []header{
		{"X-Forwarded-User", alice.Email},
		{"X-Forwarded-Authentication-Type", demo.AuthenticationType},
		{"X-Forwarded-Email", alice.Email},
		{"X-Forwarded-Preferred-Username", alice.Name},
		{"X-Forwarded-Issuer", d.Issuer},
		{"X-Forwarded-Proto", "https"},
		{"X-Forwarded-Host", strings.TrimPrefix(d.URL, "https://")},
	}
	signIn := func(b *Browser, target string) {
		b.Navigate(target)
		b.SignIn(alice.Name, alice.Password)
		b.WaitText("Signed in as")
	}

	t.Run("sign in by POST authorization request", func(t *testing.T) {
		b := NewBrowser(t)
		before := d.Provider.Stats()

		b.Navigate(admin.URL + "reports?year=2024")
		b.WaitVisible("#username")
		if text := b.PageText(); !strings.Contains(text, fakeop.Banner) {
			t.Errorf("the demo provider's form lacks its banner %q:\n%s", fakeop.Banner, text)
		}
		b.Screenshot("demo-01-sign-in-form")
		b.SignIn(alice.Name, alice.Password)
		text := b.WaitText("Signed in as")
		if !strings.Contains(text, "Signed in as "+alice.Email) {
			t.Errorf("Administration page does not say who signed in:\n%s", text)
		}
		if got, want := b.URL(), admin.URL+"reports?year=2024"; got != want {
			t.Errorf("browser ends at %q; want %q", got, want)
		}
		got := demoPage(t, b)
		wantShown(t, got, wantAlice)
		if got["Path"] != "/Administration/reports?year=2024" {
			t.Errorf("site received path %q; want /Administration/reports?year=2024", got["Path"])
		}
		// Cookie names, or a sentence saying there were none.
		if c := got["Cookies"]; !strings.HasPrefix(c, "none") {
			for _, name := range strings.Split(c, ", ") {
				if strings.HasPrefix(strings.TrimPrefix(name, "__Host-"), "oidcgate") {
					t.Errorf("site received oidcgate's cookie %q", name)
				}
			}
		}
		b.Screenshot("demo-02-administration")

		after := d.Provider.Stats()
		if m := after.AuthorizeMethods[len(before.AuthorizeMethods):]; len(m) != 1 || m[0] != http.MethodPost {
			t.Errorf("authorization requests by %q; want one, by POST", m)
		}
		if m := after.TokenAuthMethods[len(before.TokenAuthMethods):]; len(m) != 1 || m[0] != fakeop.ClientSecretBasic {
			t.Errorf("token requests authenticated by %q; want one, by %s", m, fakeop.ClientSecretBasic)
		}
	})

	t.Run("SSO into Flowtime without a second sign-in", func(t *testing.T) {
		b := NewBrowser(t)
		signIn(b, admin.URL)
		before, navs := d.Provider.Stats(), len(b.Navigations())

		// The site's own link, as a person would go.
		b.Click(`nav a[href="/Flowtime/"]`)
		b.WaitText("Signed in as")
		if got, want := b.URL(), flow.URL; got != want {
			t.Errorf("browser ends at %q; want %q", got, want)
		}
		wantShown(t, demoPage(t, b), wantAlice)
		for _, n := range b.Navigations()[navs:] {
			if strings.HasPrefix(n.URL, d.Issuer) {
				t.Errorf("the browser went to the provider (%s %s); want Flowtime served from the shared session", n.Method, n.URL)
			}
		}
		if after := d.Provider.Stats(); after.AuthorizeRequests != before.AuthorizeRequests || after.TokenRequests != before.TokenRequests {
			t.Errorf("provider saw %d authorization and %d token requests; want none",
				after.AuthorizeRequests-before.AuthorizeRequests, after.TokenRequests-before.TokenRequests)
		}
	})

	t.Run("no matching claims rule: access denied", func(t *testing.T) {
		b := NewBrowser(t)
		from := len(log.requests(t))

		b.Navigate(admin.URL)
		b.SignIn(bob.Name, bob.Password)
		text := b.WaitText("Access denied")
		if got := b.Status(); got != http.StatusForbidden {
			t.Errorf("status = %d; want 403", got)
		}
		// The query names the denied sign-in's request id, which the page shows.
		if got, want := b.URL(), admin.URL+"AccessDenied.aspx?signin="; !strings.HasPrefix(got, want) || !strings.Contains(text, "Request id: "+strings.TrimPrefix(got, want)) {
			t.Errorf("browser ends at %q; want %q and the sign-in's request id on the page:\n%s", got, want+"…", text)
		}
		if strings.Contains(text, "Signed in as") || strings.Contains(text, bob.Email) {
			t.Errorf("access-denied page shows an identity:\n%s", text)
		}
		b.Screenshot("demo-03-access-denied")
		b.Navigate(flow.URL)
		b.WaitText("Access denied")

		// The demo's sites keep no record; oidcgate's log has one line per
		// request, naming the user it was served for.
		denials := 0
		for _, r := range log.requests(t)[from:] {
			if r.User != "" && !strings.Contains(strings.ToLower(r.Path), "/oidcservices/") {
				t.Errorf("oidcgate served %s %s for user %q; want nothing served with an identity", r.Method, r.Path, r.User)
			}
			if strings.HasSuffix(r.Path, "/AccessDenied.aspx") && r.Status == http.StatusForbidden {
				denials++
			}
		}
		if denials != 2 {
			t.Errorf("oidcgate's log has %d access-denied answers; want 2 (one per site)", denials)
		}
	})

	t.Run("sign-out ends the provider session", func(t *testing.T) {
		b := NewBrowser(t)
		signIn(b, admin.URL)
		before := d.Provider.Stats()

		b.Click(`nav a[href$="/oidcServices/signoutinitiation"]`)
		// Back at the site with no session anywhere: the password again.
		b.WaitVisible("#username")
		if got := d.Provider.Stats().EndSessionRequests - before.EndSessionRequests; got != 1 {
			t.Errorf("provider end-session requests = %d; want 1", got)
		}
		// A later visit, to the other site, asks for the password too.
		b.Navigate(flow.URL)
		b.WaitVisible("#username")
		b.SignIn(alice.Name, alice.Password)
		b.WaitText("Signed in as")
		if got, want := b.URL(), flow.URL; got != want {
			t.Errorf("after signing in again the browser is at %q; want %q", got, want)
		}
		if after := d.Provider.Stats(); after.TokenRequests-before.TokenRequests != 1 {
			t.Errorf("token requests after sign-out = %d; want 1 (the new sign-in)", after.TokenRequests-before.TokenRequests)
		}
	})

	t.Run("two tabs sign in at once", func(t *testing.T) {
		b := NewBrowser(t)
		tab := b.NewTab(t)
		before := d.Provider.Stats()

		b.Navigate(admin.URL + "tab-one")
		b.WaitVisible("#username")
		tab.Navigate(flow.URL + "tab-two")
		tab.WaitVisible("#username")

		b.SignIn(alice.Name, alice.Password)
		b.WaitText("Signed in as")
		if got := demoPage(t, b)["Path"]; got != "/Administration/tab-one" {
			t.Errorf("tab one shows path %q; want /Administration/tab-one", got)
		}
		tab.SignIn(alice.Name, alice.Password)
		tab.WaitText("Signed in as")
		got := demoPage(t, tab)
		if got["Path"] != "/Flowtime/tab-two" {
			t.Errorf("tab two shows path %q; want /Flowtime/tab-two", got["Path"])
		}
		wantShown(t, got, wantAlice)
		if n := d.Provider.Stats().TokenRequests - before.TokenRequests; n != 2 {
			t.Errorf("token requests = %d; want 2", n)
		}
	})
}

// startDemo runs `oidcgate demo` in this process on free loopback ports
// until the test ends, with its log kept for assertions and failures.
func startDemo(t *testing.T, o demo.Options) (*demo.Demo, *demoLog) {
	t.Helper()
	requireLong(t)
	log := &demoLog{}
	ctx, cancel := context.WithCancel(context.Background())
	o.Listen = "127.0.0.1:0"
	o.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := demo.Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("demo.Start: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		cancel()
		if err := d.Wait(); err != nil {
			t.Errorf("demo Wait after cancel = %v; want nil", err)
		}
		if t.Failed() {
			t.Logf("demo log:\n%s", log)
		}
	})
	return d, log
}

func demoUser(t *testing.T, name string) demo.User {
	t.Helper()
	for _, u := range demo.Users() {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("e2e: the demo has no user %q", name)
	return demo.User{}
}

func demoSite(t *testing.T, d *demo.Demo, name string) demo.Site {
	t.Helper()
	for _, s := range d.Sites {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("e2e: the demo has no site %q", name)
	return demo.Site{}
}

// demoPage reads the tables of a demo site's page: header or request
// field name → the value it shows.
func demoPage(t *testing.T, b *Browser) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), actionTimeout)
	defer cancel()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("tr")].filter(r => r.cells.length >= 2).map(r => [r.cells[0].innerText.trim(), r.cells[1].innerText.trim()]))`))
	if err != nil {
		t.Fatalf("e2e: read the demo page: %v", err)
	}
	return m
}

// wantShown checks the headers a demo site's page says it received.
func wantShown(t *testing.T, shown map[string]string, want []header) {
	t.Helper()
	for _, h := range want {
		if got := shown[h.name]; got != h.value {
			t.Errorf("site shows %s = %q; want %q", h.name, got, h.value)
		}
	}
}

// demoLog keeps the demo's JSON log lines.
type demoLog struct{ testkit.SyncBuffer }

// logRequest is oidcgate's one log line per request.
type logRequest struct {
	Msg, Site, Method, Path, User string
	Status                        int
}

func (l *demoLog) requests(t *testing.T) []logRequest {
	t.Helper()
	var out []logRequest
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var r logRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("e2e: demo log line %q: %v", sc.Text(), err)
		}
		if r.Msg == "request" {
			out = append(out, r)
		}
	}
	return out
}

// TestDemoForceReauthenticate: once oidcgate's session is gone but the
// provider's remains, the default demo signs alice in again without a
// password, and the demo started with -force-reauthenticate asks for it.
func TestDemoForceReauthenticate(t *testing.T) {
	requireChromium(t)
	alice := demoUser(t, "alice")
	for _, force := range []bool{false, true} {
		d, _ := startDemo(t, demo.Options{ForceReauthenticate: force})
		admin := demoSite(t, d, "Administration")
		b := NewBrowser(t)
		b.Navigate(admin.URL)
		b.SignIn(alice.Name, alice.Password)
		b.WaitText("Signed in as")

		// Forget oidcgate's session, keep the provider's.
		b.Do("delete oidcgate's session cookie", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: "__Host-" + d.Config.Session.CookieName, URL: admin.URL})
			return chromedp.Void{}, err
		})
		before := d.Provider.Stats().AuthorizeRequests
		b.Navigate(admin.URL + "again")
		if force {
			b.WaitVisible("#username")
			b.SignIn(alice.Name, alice.Password)
		}
		text := b.WaitText("Signed in as")
		if !strings.Contains(text, "Signed in as "+alice.Email) {
			t.Errorf("force_reauthenticate = %v: page after signing in again:\n%s", force, text)
		}
		params := d.Provider.Stats().AuthorizeParams
		if got := d.Provider.Stats().AuthorizeRequests - before; got < 1 {
			t.Fatalf("force_reauthenticate = %v: no new authorization request", force)
		}
		if prompt := params[len(params)-1].Get("prompt"); (prompt == "login") != force {
			t.Errorf("force_reauthenticate = %v: authorization request prompt=%q", force, prompt)
		}
	}
}

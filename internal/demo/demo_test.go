package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// startDemo runs the demo on free loopback ports until the test ends.
func startDemo(t *testing.T, o Options) *Demo {
	t.Helper()
	o.Listen = "127.0.0.1:0"
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := d.Wait(); err != nil {
			t.Errorf("Wait after cancel = %v; want nil", err)
		}
	})
	return d
}

// browser is the tests' browser trusting the demo's certificate, with
// redirects followed but each form submitted by hand.
type browser struct{ *testkit.Browser }

func newBrowser(t *testing.T, d *Demo) *browser {
	t.Helper()
	pem, err := os.ReadFile(d.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	b := testkit.NewBrowser(t, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
	b.Client.Timeout = 10 * time.Second
	// Cleanups run last first: the demo then stops without waiting for
	// this client's idle connections.
	t.Cleanup(b.Client.CloseIdleConnections)
	return &browser{b}
}

// page is where a navigation ended.
type page = *testkit.Page

func (b *browser) get(target string) page {
	b.TB.Helper()
	return b.Redirects(b.Do(http.MethodGet, target, nil, nil))
}

var formRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// submit posts the page's form with its fields and more.
func (b *browser) submit(p page, more url.Values) page {
	b.TB.Helper()
	return b.Redirects(b.Submit(p, more))
}

// signIn opens a site and goes through the sign-in form as user; it
// returns the page the browser lands on.
func (b *browser) signIn(d *Demo, site, user, password string) page {
	b.TB.Helper()
	p := b.get(site)
	mustAutoPost(b.TB, d, p)
	p = b.submit(p, nil)
	mustSignInForm(b.TB, p)
	return b.submit(p, url.Values{"username": {user}, "password": {password}})
}

// mustAutoPost: oidcgate's sign-in page, sending the authorization request
// to the provider by POST.
func mustAutoPost(t testing.TB, d *Demo, p page) {
	t.Helper()
	m := formRE.FindStringSubmatch(p.Body)
	if p.StatusCode != http.StatusOK || m == nil || html.UnescapeString(m[1]) != d.Issuer+fakeop.AuthorizationPath || !strings.Contains(p.Body, ".submit()") {
		t.Fatalf("got %d at %s; want the auto-posting sign-in page for %s:\n%s", p.StatusCode, p.Request.URL, d.Issuer, p.Body)
	}
}

func mustSignInForm(t testing.TB, p page) {
	t.Helper()
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, fakeop.Banner) || !strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("got %d at %s; want the provider's sign-in form:\n%s", p.StatusCode, p.Request.URL, p.Body)
	}
}

// header returns the value the demo site shows for a header.
func header(p page, name string) string {
	re := regexp.MustCompile(`<tr><th>` + regexp.QuoteMeta(name) + `</th><td class="value">([^<]*)</td>`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAliceSignsInUsesBothSitesAndSignsOut(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{})
	admin, flowtime := d.Sites[0], d.Sites[1]
	b := newBrowser(t, d)

	p := b.signIn(d, admin.URL, "alice", "alice-password")
	if p.StatusCode != http.StatusOK || p.Request.URL.String() != admin.URL || !strings.Contains(p.Body, "<title>Administration · oidcgate demo</title>") {
		t.Fatalf("after sign-in: %d at %s; want the Administration page at %s:\n%s", p.StatusCode, p.Request.URL, admin.URL, p.Body)
	}
	u, _ := url.Parse(d.URL)
	for name, want := range map[string]string{
		"X-Forwarded-User":                "alice@example.com",
		"X-Forwarded-Authentication-Type": "Demo",
		"X-Forwarded-Email":               "alice@example.com",
		"X-Forwarded-Preferred-Username":  "alice",
		"X-Forwarded-Issuer":              d.Issuer,
		"X-Forwarded-Proto":               "https",
		"X-Forwarded-Host":                u.Host,
		"X-Forwarded-For":                 "127.0.0.1",
	} {
		if got := header(p, name); got != want {
			t.Errorf("Administration page shows %s = %q; want %q", name, got, want)
		}
	}
	if header(p, "X-Request-Id") == "" {
		t.Error("Administration page shows no X-Request-Id")
	}
	if !strings.Contains(p.Body, "Signed in as <strong>alice@example.com</strong>") {
		t.Error("Administration page does not say who is signed in")
	}

	// Single sign-on: Flowtime opens without the provider being asked.
	before := d.Provider.Stats().AuthorizeRequests
	p = b.get(flowtime.URL + "reports?week=3")
	if p.StatusCode != http.StatusOK || header(p, "X-Forwarded-User") != "alice@example.com" {
		t.Fatalf("Flowtime after signing in to Administration: %d at %s; want alice's page:\n%s", p.StatusCode, p.Request.URL, p.Body)
	}
	if !strings.Contains(p.Body, "/Flowtime/reports?week=3") {
		t.Error("Flowtime page does not show the request path")
	}
	if n := d.Provider.Stats().AuthorizeRequests - before; n != 0 {
		t.Errorf("opening Flowtime made %d authorization requests; want 0 (single sign-on)", n)
	}

	// Sign-out ends the provider's session too, then comes back to the site,
	// which asks for a sign-in, and the provider asks for the password.
	p = b.get(flowtime.URL + "oidcServices/SignOutInitiation")
	mustAutoPost(t, d, p)
	st := d.Provider.Stats()
	if st.EndSessionRequests != 1 || st.EndSessionParams[0].Get("post_logout_redirect_uri") != flowtime.URL || st.EndSessionParams[0].Get("id_token_hint") == "" {
		t.Errorf("end-session requests: %d %v; want 1 with id_token_hint and post_logout_redirect_uri %s", st.EndSessionRequests, st.EndSessionParams, flowtime.URL)
	}
	mustSignInForm(t, b.submit(p, nil))
	p = b.get(admin.URL)
	mustAutoPost(t, d, p)
	mustSignInForm(t, b.submit(p, nil))
}

func TestBobIsDenied(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{})
	admin := d.Sites[0]
	b := newBrowser(t, d)
	p := b.signIn(d, admin.URL, "bob", "bob-password")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "Access denied") || p.Request.URL.Path != "/Administration/AccessDenied.aspx" {
		t.Fatalf("bob after sign-in: %d at %s; want 403 Access denied:\n%s", p.StatusCode, p.Request.URL, p.Body)
	}
	if p := b.get(d.Sites[1].URL); p.StatusCode == http.StatusOK && strings.Contains(p.Body, "Signed in as") {
		t.Errorf("bob reached Flowtime:\n%s", p.Body)
	}
}

func TestWrongPasswordStaysOnTheForm(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{})
	b := newBrowser(t, d)
	p := b.signIn(d, d.Sites[0].URL, "alice", "bob-password")
	mustSignInForm(t, p)
	if !strings.Contains(p.Body, "The user name or password is wrong.") {
		t.Errorf("wrong password: no error message on the form:\n%s", p.Body)
	}
}

func TestSiteReachedDirectlyShowsNoIdentity(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{})
	resp, err := http.Get(d.Sites[0].Upstream)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "No identity") || strings.Contains(string(body), "Signed in as") {
		t.Errorf("direct request to the site: want the No identity warning:\n%s", body)
	}
}

func TestInstructions(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	d := startDemo(t, Options{Out: &out})
	text := out.String()
	wants := []string{"oidcgate demo — for trial only", d.Sites[0].URL, d.Sites[1].URL, "self-signed",
		"alice", "alice-password", "bob", "bob-password", "Access denied",
		d.Sites[0].URL + "oidcServices/signoutinitiation", "Ctrl-C", "-write-config"}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("instructions lack %q:\n%s", want, text)
		}
	}
}

func TestStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Wait = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo still running 10s after its context ended")
	}
	if _, err := os.Stat(d.CertFile); !os.IsNotExist(err) {
		t.Errorf("certificate %s still there after the demo stopped (%v); want its temporary folder removed", d.CertFile, err)
	}
	for _, addr := range []string{strings.TrimPrefix(d.URL, "https://"), strings.TrimPrefix(d.Issuer, "https://"), strings.TrimPrefix(d.AdminURL, "http://")} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo stopped", addr)
		}
	}
}

func TestBusyPortIsExplained(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), Options{Listen: ln.Addr().String(), ProviderListen: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "-listen") {
		t.Errorf("Start on a busy port = %v; want an error naming -listen", err)
	}
}

func TestProviderListen(t *testing.T) {
	tests := []struct {
		name, listen, given, want string
		wantErr                   bool
	}{
		{name: "default", listen: "localhost:8443", want: "localhost:8444"},
		{name: "given", listen: "localhost:8443", given: "127.0.0.1:9000", want: "127.0.0.1:9000"},
		{name: "free port", listen: "127.0.0.1:0", want: "127.0.0.1:0"},
		{name: "every interface", listen: ":8443", want: ":8444"},
		{name: "last port", listen: "localhost:65535", want: "localhost:0"},
		{name: "no port", listen: "localhost", wantErr: true},
		{name: "named port", listen: "localhost:https", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := providerListen(tt.listen, tt.given)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("providerListen(%q, %q) = %q, %v; want %q (error: %v)", tt.listen, tt.given, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPublicHost(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"localhost:8443", "localhost"},
		{":8443", "localhost"},
		{"0.0.0.0:8443", "localhost"},
		{"[::]:8443", "localhost"},
		{"127.0.0.1:0", "127.0.0.1"},
		{"demo.internal:8443", "demo.internal"},
	}
	for _, tt := range tests {
		if got := publicHost(tt.listen); got != tt.want {
			t.Errorf("publicHost(%q) = %q; want %q", tt.listen, got, tt.want)
		}
	}
}

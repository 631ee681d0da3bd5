package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
)

// running is proxy.Run on loopback listeners with its admin listener, the
// way `oidcgate serve` runs it.
type running struct {
	public, admin string // base URLs
	client        *http.Client
	stop          context.CancelFunc
	done          chan error
	logs          *testkit.SyncBuffer
	certFile      string
	keyFile       string
}

// returned waits for Run to return after stop, and wants it to return nil
// and to refuse new connections on the public listener.
func (r *running) returned(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v; want nil after a graceful stop", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(r.public, "https://"), time.Second); err == nil {
		t.Error("the public listener still accepts connections after Run returned")
	}
}

func startRun(t *testing.T, op *fakeoptest.OP, backendURL, extraTOML string) *running {
	t.Helper()
	return startRunWith(t, op, backendURL, extraTOML, nil, nil)
}

// startRunWith is startRun with the configuration's options and Run's
// options changed by the given functions (either may be nil). The
// shutdown delay is over at once unless o.After says otherwise; with no
// cert_file the public URL is http.
func startRunWith(t *testing.T, op *fakeoptest.OP, backendURL, extraTOML string, conf func(*testconfig.Options), opts func(*proxy.RunOptions)) *running {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, err := testcert.Write(dir, 24*time.Hour, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "https://" + ln.Addr().String()
	co := testconfig.Options{
		Listen: ln.Addr().String(), AdminListen: adminLn.Addr().String(),
		CertFile: certFile, KeyFile: keyFile,
		DiscoveryURL: op.Issuer() + "/.well-known/openid-configuration",
		ClientID:     testClientID, ClientSecret: testClientSecret,
		AuthorizationMethod: "GET",
		Keys:                []string{testKey1},
		AuthenticationType:  "TestOP",
		Sites:               []testconfig.Site{{Name: "Administration", BaseURL: public + "/Administration/", Upstream: backendURL + "/administration/"}},
		Extra:               extraTOML,
	}
	if conf != nil {
		conf(&co)
	}
	if co.CertFile == "" {
		public = "http://" + ln.Addr().String()
	}
	toml := co.TOML()
	cfg, err := config.Parse([]byte(toml), "run.toml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	r := &running{public: public, admin: "http://" + adminLn.Addr().String(), done: make(chan error, 1), logs: &testkit.SyncBuffer{}, certFile: certFile, keyFile: keyFile}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	started := make(chan struct{})
	ro := proxy.RunOptions{
		Options: proxy.Options{
			Config:         cfg,
			Logger:         slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			OutboundClient: op.Client(),
			Version:        "test",
		},
		Listener:      ln,
		AdminListener: adminLn,
		Started:       func(net.Addr, net.Addr) { close(started) },
		// Every handshake looks at the files: a test that replaces
		// them need not wait out the second.
		CertificateCheck: time.Nanosecond,
		After: func(time.Duration) <-chan time.Time {
			over := make(chan time.Time, 1)
			over <- time.Now()
			return over
		},
	}
	if opts != nil {
		opts(&ro)
	}
	go func() { r.done <- proxy.Run(ctx, ro) }()
	select {
	case <-started:
	case err := <-r.done:
		t.Fatalf("proxy.Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("proxy.Run did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	r.client = &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test's own self-signed certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r
}

func (r *running) get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := r.client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	op.FailDiscovery(http.StatusServiceUnavailable)
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "")

	if code, body := r.get(t, r.admin+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := r.get(t, r.admin+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready") {
		t.Errorf("/readyz with the provider down = %d %q; want 503", code, body)
	}
	// The provider comes back; readiness follows without a restart.
	op.FailDiscovery(0)
	err := testkit.Until(15*time.Second, func() error {
		if code, body := r.get(t, r.admin+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz after the provider came back = %d %q", code, body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The admin endpoints are never on the public listener.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := r.get(t, r.public+p); code == http.StatusOK {
			t.Errorf("public listener serves %s", p)
		}
	}
}

func TestMetricsAfterSignInAndRefusal(t *testing.T) {
	g := newGate(t, setup{})
	op := g.op
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "")
	waitRunReady(t, r)

	b := g.browser()
	b.Client.Transport = r.client.Transport
	hops := b.Visit(r.public + "/Administration/")
	if last(hops).StatusCode != http.StatusOK {
		t.Fatalf("sign-in through Run = %d", last(hops).StatusCode)
	}
	op.MutateClaims(func(c map[string]any) { c["nonce"] = "wrong" })
	b2 := g.browser()
	b2.Client.Transport = r.client.Transport
	b2.Visit(r.public + "/Administration/")

	_, metrics := r.get(t, r.admin+"/metrics")
	for _, want := range []string{
		`oidcgate_signins_total{reason="",result="ok"} 1`,
		`oidcgate_signins_total{reason="id_token_nonce",result="refused"} 1`,
		`oidcgate_requests_total{class="2xx",site="Administration"}`,
		`oidcgate_upstream_duration_seconds_count{site="Administration"} 1`,
		`oidcgate_provider_fetches_total{result="ok",source="discovery"}`,
		`oidcgate_provider_keys 1`,
		`oidcgate_token_endpoint_duration_seconds_count 2`,
		`oidcgate_tls_certificate_expiry_timestamp_seconds`,
		`oidcgate_build_info{goversion=`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grep(metrics, "oidcgate_"))
	}
}

func TestLogsNeverCarrySecrets(t *testing.T) {
	g := newGate(t, setup{signOutSTS: true})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	// Collect every secret the sign-in handled.
	secrets := []string{testClientSecret, testKey1}
	u := mustURL(g.url + "/Administration/")
	for _, c := range b.Jar.Cookies(u) {
		secrets = append(secrets, c.Value)
	}
	params := g.op.Stats().AuthorizeParams
	for _, p := range params {
		secrets = append(secrets, p.Get("state"), p.Get("nonce"), p.Get("code_challenge"))
	}
	b.Do(http.MethodGet, g.url+"/Administration/oidcServices/SignOutInitiation", nil, nil)
	for _, e := range g.op.Stats().EndSessionParams {
		secrets = append(secrets, e.Get("id_token_hint"))
	}
	logs := g.logs.String()
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("a log line carries a secret (%.12s…)", s)
		}
	}
	for _, word := range []string{"eyJ", "code="} { // JWTs, authorization codes
		if strings.Contains(logs, word) {
			t.Errorf("logs contain %q", word)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "finished")
	}))
	t.Cleanup(slow.Close)
	r := startRun(t, op, slow.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: &recorder{}}
	b := g.browser()
	b.Client.Transport = r.client.Transport
	// Sign in through the slow backend: release it for the sign-in's own request.
	go func() { release <- struct{}{} }()
	if last(b.Visit(r.public+"/Administration/")).StatusCode != http.StatusOK {
		t.Fatal("sign-in failed")
	}
	<-arrived // the sign-in's own request

	inflight := make(chan *response, 1)
	go func() { inflight <- b.Do(http.MethodGet, r.public+"/Administration/slow", nil, nil) }()
	select { // the request is now waiting at the backend
	case <-arrived:
	case resp := <-inflight:
		t.Fatalf("the in-flight request ended before reaching the backend: %d %q", resp.StatusCode, resp.Body)
	}
	r.stop()
	err := testkit.Until(5*time.Second, func() error {
		if code, _ := r.get(t, r.admin+"/readyz"); code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz during shutdown = %d; want 503", code)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	close(release)
	select {
	case resp := <-inflight:
		if resp.StatusCode != http.StatusOK || resp.Body != "finished" {
			t.Errorf("in-flight request during shutdown = %d %q", resp.StatusCode, resp.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	r.returned(t)
}

func TestLimits(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "[limits]\nmax_header_bytes = 8192\nmax_callback_body_bytes = 1024\n")
	waitRunReady(t, r)

	req, _ := http.NewRequest(http.MethodGet, r.public+"/Administration/", nil)
	req.Header.Set("Cookie", "big="+strings.Repeat("x", 64<<10))
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB cookie = %d; want 431", resp.StatusCode)
	}

	body := "state=x&code=" + strings.Repeat("a", 4096)
	resp, err = r.client.Post(r.public+"/Administration/oidcServices/signinresponse", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("4 KiB callback body over a 1 KiB limit = %d; want 413", resp.StatusCode)
	}
	if code, _ := r.get(t, r.admin+"/healthz"); code != http.StatusOK {
		t.Error("server unhealthy after oversized requests")
	}
	if n := len(backend.requests()); n != 0 {
		t.Errorf("backend received %d request(s)", n)
	}
}

func TestCertificateReloadedWithoutRestart(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	r := startRun(t, op, newRecorder(t).URL, "")
	serial := func() string {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(r.public, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	// Keep one connection open across the swap: it must not be dropped.
	keep := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if _, err := keep.Get(r.public + "/Administration/"); err != nil {
		t.Fatal(err)
	}
	swapCertificate(t, r)
	if after := serial(); after == before {
		t.Error("the replaced certificate is not served")
	}
	if _, err := keep.Get(r.public + "/Administration/"); err != nil {
		t.Errorf("an open connection failed after the swap: %v", err)
	}
}

func waitRunReady(t *testing.T, r *running) {
	t.Helper()
	err := testkit.Until(10*time.Second, func() error {
		if code, _ := r.get(t, r.admin+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz = %d", code)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("never ready: %v", err)
	}
}

func grep(s, substr string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

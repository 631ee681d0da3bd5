package proxy_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
)

func newTestOP(t *testing.T) *fakeoptest.OP {
	return fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
}

// TestShutdownDelay: after the stop signal /readyz answers 503 at once,
// the public listener goes on serving for shutdown_delay, and only then
// closes. The delay is a channel the test lets go.
func TestShutdownDelay(t *testing.T) {
	asked := make(chan time.Duration, 1)
	elapse := make(chan time.Time)
	r := startRunWith(t, newTestOP(t), newRecorder(t).URL, "[limits]\nshutdown_delay = \"7s\"\n", nil, func(o *proxy.RunOptions) {
		o.After = func(d time.Duration) <-chan time.Time {
			asked <- d
			return elapse
		}
	})
	waitRunReady(t, r)
	r.stop()
	select {
	case d := <-asked:
		if d != 7*time.Second {
			t.Errorf("waited %v; want shutdown_delay, 7s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not start the shutdown delay")
	}
	if code, _ := r.get(t, r.admin+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the shutdown delay = %d; want 503", code)
	}
	// A new connection, as a load balancer that has not yet noticed opens.
	r.client.CloseIdleConnections()
	if code, _ := r.get(t, r.public+"/Administration/api"); code != http.StatusUnauthorized {
		t.Errorf("public request during the shutdown delay = %d; want it served (401 without a session)", code)
	}
	select {
	case err := <-r.done:
		t.Fatalf("Run returned during the shutdown delay: %v", err)
	default:
	}
	close(elapse)
	r.returned(t)
	if !strings.Contains(r.logs.String(), `"shutdown_delay":"7s"`) {
		t.Errorf("no log line names the shutdown delay:\n%s", r.logs.String())
	}
}

func TestShutdownDelayZeroClosesAtOnce(t *testing.T) {
	r := startRunWith(t, newTestOP(t), newRecorder(t).URL, "[limits]\nshutdown_delay = \"0s\"\n", nil, func(o *proxy.RunOptions) {
		o.After = func(d time.Duration) <-chan time.Time {
			t.Errorf("shutdown_delay = 0s waited %v", d)
			return time.After(0)
		}
	})
	r.stop()
	r.returned(t)
}

// TestHangupLooksAtCertificatesAndKeepsServing: SIGHUP never stops
// oidcgate; it makes it look at the TLS files at once.
func TestHangupLooksAtCertificatesAndKeepsServing(t *testing.T) {
	hup := make(chan os.Signal, 1)
	r := startRunWith(t, newTestOP(t), newRecorder(t).URL, "", nil, func(o *proxy.RunOptions) {
		o.Hangup = hup
		o.CertificateCheck = time.Hour // only SIGHUP makes it look again
	})
	serial := func() string {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(r.public, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	swapCertificate(t, r)
	if serial() != before {
		t.Fatal("the certificate changed before SIGHUP; the test cannot tell what SIGHUP did")
	}
	hup <- syscall.SIGHUP
	err := testkit.Until(5*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "tls: certificate reloaded") {
			return os.ErrNotExist
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no reload after SIGHUP:\n%s", r.logs.String())
	}
	if serial() == before {
		t.Error("after SIGHUP the old certificate is still served")
	}
	if !strings.Contains(r.logs.String(), "SIGHUP received") {
		t.Error("SIGHUP was not logged")
	}
	select {
	case err := <-r.done:
		t.Fatalf("Run ended after SIGHUP: %v", err)
	default:
	}
	waitRunReady(t, r)
}

// TestPlainHTTPBehindALoadBalancer: without [tls] the public listener
// speaks plain HTTP to a load balancer that ends TLS; users sign in
// through the load balancer, cookies stay Secure, and the backend sees
// the client's address chain and https.
func TestPlainHTTPBehindALoadBalancer(t *testing.T) {
	op := newTestOP(t)
	backend := newRecorder(t)
	lbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lbURL := "https://" + lbLn.Addr().String()
	r := startRunWith(t, op, backend.URL, "", func(o *testconfig.Options) {
		o.CertFile, o.KeyFile = "", ""
		o.TrustedProxies = []string{"127.0.0.1"}
		o.Sites[0].BaseURL = lbURL + "/Administration/"
	}, nil)
	if !strings.HasPrefix(r.public, "http://") {
		t.Fatalf("public URL %s", r.public)
	}
	waitRunReady(t, r)
	// Straight to the listener, in plain HTTP: served (no site answers
	// at this host; the site's host is the load balancer's).
	if code, _ := r.get(t, r.public+"/Administration/api"); code != http.StatusNotFound {
		t.Errorf("plain HTTP request to the listener = %d; want 404 (no site at this host)", code)
	}
	if !strings.Contains(r.logs.String(), "plain HTTP") {
		t.Error("serving plain HTTP was not logged as a warning")
	}

	target, _ := url.Parse(r.public)
	lb := &httptest.Server{Listener: lbLn, Config: &http.Server{Handler: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		pr.SetXForwarded()
	}}}}
	lb.StartTLS()
	t.Cleanup(lb.Close)

	b := newBrowserOn(t, op.Client())
	hops := b.Visit(lbURL + "/Administration/")
	if end := last(hops); end.StatusCode != http.StatusOK || !strings.Contains(end.Body, "<h1>backend</h1>") {
		t.Fatalf("sign-in through the load balancer ended at %d:\n%s\nlogs:\n%s", end.StatusCode, end.Body, r.logs.String())
	}
	sessionCookies := 0
	for _, h := range hops {
		for _, c := range h.Cookies() {
			if c.Value != "" && !c.Secure {
				t.Errorf("cookie %s set without Secure behind the load balancer", c.Name)
			}
			sessionCookies++
		}
	}
	if sessionCookies == 0 {
		t.Error("no cookie was set during sign-in")
	}
	page := b.Do(http.MethodGet, lbURL+"/Administration/page", nil, http.Header{"X-Forwarded-For": {"203.0.113.9"}})
	if page.StatusCode != http.StatusOK {
		t.Fatalf("signed-in page through the load balancer = %d", page.StatusCode)
	}
	got := backend.last(t).Header
	want := map[string]string{
		"X-Forwarded-For":   "203.0.113.9, 127.0.0.1, 127.0.0.1", // client's, the load balancer's peer, oidcgate's peer
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  lbLn.Addr().String(),
		"X-Forwarded-User":  "alice@example.com",
	}
	for h, v := range want {
		if got.Get(h) != v {
			t.Errorf("backend %s = %q; want %q", h, got.Get(h), v)
		}
	}
}

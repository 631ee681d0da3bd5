package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/session"
)

// faultyOP is the test OP behind a switch for every endpoint: a fault set
// for a path answers instead of the OP, and the whole provider can be made
// unreachable (every connection dropped as soon as it is accepted).
type faultyOP struct {
	op  *fakeop.OP
	srv *httptest.Server
	ln  *droppingListener

	mu     sync.Mutex
	faults map[string]http.HandlerFunc
}

func newFaultyOP(t *testing.T) *faultyOP {
	t.Helper()
	op, err := fakeop.New(fakeop.Options{
		ClientID: testClientID, ClientSecret: testClientSecret,
		TokenAuthMethod: fakeop.ClientSecretBasic,
		Users:           []fakeop.User{defaultUser},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyOP{op: op, faults: map[string]http.HandlerFunc{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = &droppingListener{Listener: ln}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fault := f.faults[r.URL.Path]
		f.mu.Unlock()
		if fault != nil {
			fault(w, r)
			return
		}
		op.Handler().ServeHTTP(w, r)
	}))
	f.srv.Listener = f.ln
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	op.SetIssuer(f.srv.URL)
	return f
}

// set makes path answer with fault; nil gives the path back to the OP.
func (f *faultyOP) set(path string, fault http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault == nil {
		delete(f.faults, path)
		return
	}
	f.faults[path] = fault
}

// down makes the provider unreachable, or reachable again.
func (f *faultyOP) down(down bool) {
	f.ln.drop.Store(down)
	if down {
		f.srv.CloseClientConnections()
	}
}

// client trusts the OP and every httptest server (they share a certificate).
func (f *faultyOP) client() *http.Client {
	return &http.Client{Transport: f.srv.Client().Transport}
}

// droppingListener closes every connection it accepts while drop is set.
type droppingListener struct {
	net.Listener
	drop atomic.Bool
}

func (l *droppingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.drop.Load() {
			return c, err
		}
		c.Close()
	}
}

// Fault handlers. The slow ones end when the caller gives up, so a test
// leaves no handler behind.
func slowFor(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Only a server that has read the whole request notices its
		// client leaving.
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		http.Error(w, "too late", http.StatusServiceUnavailable)
	}
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func redirectLoop(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	c.Close()
}

// faultGate starts oidcgate between fo and backend. extra is appended to the
// configuration; wait waits for the provider to be ready.
func faultGate(t *testing.T, fo *faultyOP, backend *recorder, s setup, wait bool) (*gate, *proxy.Server) {
	t.Helper()
	g := &gate{t: t, op: fakeoptest.Wrap(fo.op, fo.srv), backend: backend, logs: &testkit.SyncBuffer{}}
	if s.tokenAuth == "" {
		s.tokenAuth = "client_secret_basic"
	}
	if s.authMethod == "" {
		s.authMethod = "GET"
	}
	g.start(s, fo.client(), wait)
	return g, g.server
}

// signInAs signs b in as a user whose email is email: the OP approves its
// one account, with the claims changed for this sign-in only.
func signInAs(g *gate, b *browser, email string) {
	g.t.Helper()
	g.op.MutateClaims(func(c map[string]any) { c["email"], c["sub"] = email, "sub-"+email })
	defer g.op.MutateClaims(nil)
	g.signedIn(b, "/Administration/")
	if got := g.backend.last(g.t).Header.Get("X-Forwarded-User"); got != email {
		g.t.Fatalf("signed in as %q; want %q", got, email)
	}
}

// stillSignedIn checks that b's session still reaches the backend as user.
func stillSignedIn(g *gate, b *browser, user, path string) {
	g.t.Helper()
	r := b.Do(http.MethodGet, g.url+path, nil, nil)
	if r.StatusCode != http.StatusOK {
		g.t.Errorf("%s's session: GET %s = %d; want 200\n%s", user, path, r.StatusCode, r.Body)
		return
	}
	if got := g.backend.last(g.t).Header.Get("X-Forwarded-User"); got != user {
		g.t.Errorf("%s's session reached the backend as %q", user, got)
	}
}

// assertErrorPage checks a failure page: the status, the reason in words,
// the reason in the log, nothing internal shown and no session made.
func assertErrorPage(g *gate, r *response, status int, reason, words string) {
	g.t.Helper()
	if r.StatusCode != status {
		g.t.Errorf("status = %d; want %d\n%s", r.StatusCode, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		g.t.Errorf("Content-Type = %q; want an HTML page", ct)
	}
	if !strings.Contains(r.Body, words) {
		g.t.Errorf("page does not say %q:\n%s", words, r.Body)
	}
	for _, leak := range []string{testClientSecret, "goroutine ", ".go:", "panic"} {
		if strings.Contains(r.Body, leak) {
			g.t.Errorf("page shows %q", leak)
		}
	}
	if reason != "" && !strings.Contains(g.logs.String(), `"reason":"`+reason+`"`) {
		g.t.Errorf("no log line with reason %q", reason)
	}
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie && c.Value != "" && c.MaxAge >= 0 {
			g.t.Errorf("a failed request set a session cookie")
		}
	}
}

// leakCheck counts goroutines now and returns a check that they are no
// more at the end. quiesce closes idle connections everywhere, again and
// again while the count settles (a connection turns idle on the server a
// moment after its client has the answer), so that only goroutines a fault
// left behind remain.
func leakCheck(t *testing.T, quiesce func()) func() {
	t.Helper()
	base := settledGoroutines(quiesce)
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			quiesce()
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				var buf bytes.Buffer
				pprof.Lookup("goroutine").WriteTo(&buf, 1)
				t.Errorf("goroutines: %d before the fault, %d after; still running:\n%s", base, n, buf.String())
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// settledGoroutines quiesces until the goroutine count holds still.
func settledGoroutines(quiesce func()) int {
	quiesce()
	n := runtime.NumGoroutine()
	for i, still := 0, 0; i < 200 && still < 5; i++ {
		time.Sleep(10 * time.Millisecond)
		quiesce()
		m := runtime.NumGoroutine()
		if m == n {
			still++
		} else {
			n, still = m, 0
		}
	}
	return n
}

// closeIdle drops idle keep-alive connections from both ends: the
// browsers' and the servers'. The proxy's own outbound connections are
// closed by the servers at the other end, and the OP's shared client
// transport (which the proxy uses too) is emptied.
func closeIdle(servers []*httptest.Server, browsers ...*browser) func() {
	return func() {
		for _, b := range browsers {
			b.Client.CloseIdleConnections()
		}
		for _, s := range servers {
			s.Client().CloseIdleConnections()
			s.Config.SetKeepAlivesEnabled(false)
			s.Config.SetKeepAlivesEnabled(true)
		}
	}
}

func TestFaultProviderDownAtStart(t *testing.T) {
	fo := newFaultyOP(t)
	fo.down(true)
	backend := newRecorder(t)
	g, srv := faultGate(t, fo, backend, setup{}, false)

	// A user signed in before this replica started (the cookie comes from
	// a replica sharing the keys) needs no provider.
	bob := newBrowserOn(t, fo.client())
	bob.Jar.SetCookies(mustURL(g.url), mintSession(t, testKey1, "bob@example.com"))
	alice := newBrowserOn(t, fo.client())
	check := leakCheck(t, closeIdle([]*httptest.Server{fo.srv, g.srv, backend.Server}, alice, bob))

	for i := 0; i < 2; i++ {
		r := alice.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation", nil, nil)
		assertErrorPage(g, r, http.StatusServiceUnavailable, "provider_unavailable", "cannot be reached yet")
		if i == 0 {
			waitFetchFailures(t, srv, 2)
		}
	}
	if srv.Ready() == nil {
		t.Fatal("ready while the provider is unreachable")
	}
	stillSignedIn(g, bob, "bob@example.com", "/Administration/while-down")

	fo.down(false)
	waitReady(t, srv) // the background fetch retries with backoff
	signInAs(g, alice, "alice@example.com")
	stillSignedIn(g, bob, "bob@example.com", "/Administration/after")
	check()
}

// waitFetchFailures waits until the provider has failed n fetches.
func waitFetchFailures(t *testing.T, s *proxy.Server, n int64) {
	t.Helper()
	err := testkit.Until(10*time.Second, func() error {
		if st := s.Provider().Stats(); st.FetchErrors < n {
			return fmt.Errorf("provider stats %+v; want %d failed fetches", st, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mintSession makes the session cookie a replica with key would set.
func mintSession(t *testing.T, key, user string) []*http.Cookie {
	t.Helper()
	k, err := session.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := session.NewCodec([][]byte{k})
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(session.StoreOptions{Name: sessionCookie, Lifetime: time.Hour, Secure: true, Codec: codec})
	w := httptest.NewRecorder()
	sess := &session.Session{User: user, AuthenticationType: "TestOP", Email: user, Subject: "sub-" + user, Issuer: "https://op.example"}
	if err := store.Save(w, httptest.NewRequest(http.MethodGet, "https://127.0.0.1/", nil), sess); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()
}

const outboundLimit = "[limits]\noutbound_timeout = \"500ms\"\n"

func TestFaultKeyEndpointAtStart(t *testing.T) {
	tests := []struct {
		name  string
		fault http.HandlerFunc
	}{
		{"slow beyond the outbound timeout", slowFor(5 * time.Second)},
		{"500", answer(http.StatusInternalServerError, "text/plain", "internal error")},
		{"garbage JSON", answer(http.StatusOK, "application/json", `{"keys":[{"kty":"RSA","n":`)},
		{"not a key set", answer(http.StatusOK, "application/json", `{"keys":"none"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fo := newFaultyOP(t)
			fo.set(fakeop.JWKSPath, tt.fault)
			backend := newRecorder(t)
			g, srv := faultGate(t, fo, backend, setup{extra: outboundLimit}, false)
			bob := newBrowserOn(t, fo.client())
			bob.Jar.SetCookies(mustURL(g.url), mintSession(t, testKey1, "bob@example.com"))
			alice := newBrowserOn(t, fo.client())
			check := leakCheck(t, closeIdle([]*httptest.Server{fo.srv, g.srv, backend.Server}, alice, bob))

			waitFetchFailures(t, srv, 1)
			r := alice.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation", nil, nil)
			assertErrorPage(g, r, http.StatusServiceUnavailable, "provider_unavailable", "cannot be reached yet")
			stillSignedIn(g, bob, "bob@example.com", "/Administration/while-broken")

			fo.set(fakeop.JWKSPath, nil)
			waitReady(t, srv)
			signInAs(g, alice, "alice@example.com")
			stillSignedIn(g, bob, "bob@example.com", "/Administration/after")
			check()
		})
	}
}

// TestFaultKeyEndpointDuringRotation: the provider rotates its key while
// its key endpoint fails. A token signed with the new key cannot be checked
// (one forced fetch, which failed): 503, try again; sessions go on, and
// once the endpoint is back the next forced fetch (at most one per
// ForcedKeyRefresh, here shortened from 10 s so the test need not wait)
// lets sign-ins through.
func TestFaultKeyEndpointDuringRotation(t *testing.T) {
	const forcedKeyRefresh = 50 * time.Millisecond
	fo := newFaultyOP(t)
	backend := newRecorder(t)
	g, srv := faultGate(t, fo, backend, setup{extra: outboundLimit, forcedKeyRefresh: forcedKeyRefresh}, true)
	bob, alice := newBrowserOn(t, fo.client()), newBrowserOn(t, fo.client())
	signInAs(g, bob, "bob@example.com")
	check := leakCheck(t, closeIdle([]*httptest.Server{fo.srv, g.srv, backend.Server}, alice, bob))
	stats := srv.Provider().Stats()

	fo.set(fakeop.JWKSPath, answer(http.StatusInternalServerError, "text/plain", "internal error"))
	if _, err := fo.op.RotateKey(false); err != nil {
		t.Fatal(err)
	}
	r := last(alice.Visit(g.url + "/Administration/"))
	assertErrorPage(g, r, http.StatusServiceUnavailable, "id_token_keys_unavailable", "try again")
	if now := srv.Provider().Stats(); now.ForcedFetches != stats.ForcedFetches+1 || now.FetchErrors != stats.FetchErrors+1 {
		t.Errorf("provider stats %+v, before %+v; want one more forced fetch, failed", now, stats)
	}
	stillSignedIn(g, bob, "bob@example.com", "/Administration/during")

	fo.set(fakeop.JWKSPath, nil)
	time.Sleep(forcedKeyRefresh) // the interval itself: the failed forced fetch is over
	signInAs(g, alice, "alice@example.com")
	stillSignedIn(g, bob, "bob@example.com", "/Administration/after")
	check()
}

func TestFaultTokenEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		fault  http.HandlerFunc
		status int
		reason string
		words  string
	}{
		{"slow beyond the outbound timeout", slowFor(5 * time.Second), http.StatusGatewayTimeout, "token_endpoint_timeout", "did not answer in time"},
		{"500 without a body", answer(http.StatusInternalServerError, "text/plain", ""), http.StatusBadGateway, "token_endpoint_failed", "token endpoint failed"},
		{"500 with an OAuth error", answer(http.StatusInternalServerError, "application/json", `{"error":"server_error"}`), http.StatusBadGateway, "token_endpoint_failed", "server_error"},
		{"400 with an OAuth error", answer(http.StatusBadRequest, "application/json", `{"error":"invalid_grant"}`), http.StatusUnauthorized, "token_refused", "invalid_grant"},
		{"not JSON", answer(http.StatusOK, "text/html", "<html><body>Service temporarily unavailable</body></html>"), http.StatusBadGateway, "token_endpoint_failed", "could not be read"},
		{"JSON without id_token", answer(http.StatusOK, "application/json", `{"access_token":"at-123","token_type":"Bearer","expires_in":3600}`), http.StatusBadGateway, "id_token_missing", "no ID token"},
		{"id_token not a JWT", answer(http.StatusOK, "application/json", `{"access_token":"at-123","token_type":"Bearer","id_token":"not.a.jwt"}`), http.StatusUnauthorized, "id_token_malformed", "malformed"},
		{"redirect loop", redirectLoop, http.StatusBadGateway, "token_endpoint_failed", "could not be reached"},
		{"connection closed", hangUp, http.StatusBadGateway, "token_endpoint_failed", "could not be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fo := newFaultyOP(t)
			backend := newRecorder(t)
			g, _ := faultGate(t, fo, backend, setup{extra: outboundLimit}, true)
			bob, alice := newBrowserOn(t, fo.client()), newBrowserOn(t, fo.client())
			signInAs(g, bob, "bob@example.com")
			check := leakCheck(t, closeIdle([]*httptest.Server{fo.srv, g.srv, backend.Server}, alice, bob))

			fo.set(fakeop.TokenPath, tt.fault)
			start := time.Now()
			r := last(alice.Visit(g.url + "/Administration/"))
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the failed sign-in took %v; the outbound timeout is 500ms", d)
			}
			assertErrorPage(g, r, tt.status, tt.reason, tt.words)
			if n := len(backend.requests()); n != 1 {
				t.Errorf("backend received %d requests; want only bob's sign-in", n)
			}
			stillSignedIn(g, bob, "bob@example.com", "/Administration/during")

			// Nothing sticks: the next attempt, with the endpoint back, works.
			fo.set(fakeop.TokenPath, nil)
			signInAs(g, alice, "alice@example.com")
			check()
		})
	}
}

// switchable is a backend that can be stopped (its port refuses
// connections) and started again on the same address.
type switchable struct {
	t    *testing.T
	addr string
	h    http.Handler

	mu  sync.Mutex
	srv *http.Server
}

func newSwitchable(t *testing.T, h http.Handler) *switchable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchable{t: t, addr: ln.Addr().String(), h: h}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *switchable) serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv = &http.Server{Handler: s.h}
	go s.srv.Serve(ln)
}

func (s *switchable) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func (s *switchable) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("backend cannot listen on %s again: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *switchable) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.SetKeepAlivesEnabled(false)
		s.srv.SetKeepAlivesEnabled(true)
	}
}

// faultyBackend records requests like newRecorder's backend and misbehaves
// on some paths: /administration/slow answers after 5 s, /drop hangs up
// before answering, /cut and /cut-late hang up in the middle of the body,
// after 1 KiB and after 64 KiB of it.
func faultyBackend(t *testing.T) (*recorder, *switchable) {
	rec := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		switch r.URL.Path {
		case "/administration/slow":
			slowFor(5*time.Second)(w, r)
		case "/administration/drop":
			hangUp(w, r)
		case "/administration/cut", "/administration/cut-late":
			sent := 1000
			if strings.HasSuffix(r.URL.Path, "late") {
				sent = 64 << 10
			}
			w.Header().Set("Content-Length", "1000000")
			w.WriteHeader(http.StatusOK)
			w.Write(bytes.Repeat([]byte("x"), sent))
			http.NewResponseController(w).Flush()
			hangUp(w, r)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<h1>backend</h1><p>user=%s</p>", r.Header.Get("X-Forwarded-User"))
		}
	})
	sw := newSwitchable(t, h)
	// configTOML reads only the backend's URL.
	rec.Server = &httptest.Server{URL: "http://" + sw.addr}
	return rec, sw
}

func TestFaultBackend(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		down   bool
		status int
		reason string
		words  string
	}{
		{"down", "/Administration/page", true, http.StatusBadGateway, "upstream_failed", "could not be reached"},
		{"slow beyond upstream_response_header_timeout", "/Administration/slow", false, http.StatusGatewayTimeout, "upstream_timeout", "did not answer in time"},
		{"hangs up before answering", "/Administration/drop", false, http.StatusBadGateway, "upstream_failed", "could not be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
			fo := &faultyOP{op: op.OP, srv: op.Server()}
			backend, sw := faultyBackend(t)
			g, _ := faultGate(t, fo, backend, setup{extra: "[limits]\nupstream_response_header_timeout = \"300ms\"\n"}, true)
			bob, alice := g.browser(), g.browser()
			signInAs(g, bob, "bob@example.com")
			signInAs(g, alice, "alice@example.com")
			check := leakCheck(t, func() {
				closeIdle([]*httptest.Server{op.Server(), g.srv}, alice, bob)()
				sw.closeIdle()
			})

			if tt.down {
				sw.stop()
			}
			start := time.Now()
			r := alice.Do(http.MethodGet, g.url+tt.path, nil, nil)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the failed request took %v", d)
			}
			assertErrorPage(g, r, tt.status, tt.reason, tt.words)
			if tt.down {
				sw.start()
			}
			// Both sessions survive the backend's failure.
			stillSignedIn(g, alice, "alice@example.com", "/Administration/after")
			stillSignedIn(g, bob, "bob@example.com", "/Administration/other")
			check()
		})
	}
}

// TestFaultBackendCutsResponse: a backend that hangs up in the middle of
// its body. Early on, nothing has reached the client yet and its connection
// is closed without an answer; later, the status line has been relayed and
// the client sees a body cut short. Either way it must never receive a
// short response passed off as complete, and the proxy goes on serving.
func TestFaultBackendCutsResponse(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend, sw := faultyBackend(t)
	g, _ := faultGate(t, &faultyOP{op: op.OP, srv: op.Server()}, backend, setup{}, true)
	bob, alice := g.browser(), g.browser()
	signInAs(g, bob, "bob@example.com")
	signInAs(g, alice, "alice@example.com")
	check := leakCheck(t, func() {
		closeIdle([]*httptest.Server{op.Server(), g.srv}, alice, bob)()
		sw.closeIdle()
	})

	for _, path := range []string{"/Administration/cut", "/Administration/cut-late", "/Administration/cut"} {
		req, _ := http.NewRequest(http.MethodGet, g.url+path, nil)
		resp, err := alice.Client.Do(req)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("GET %s: %v; want the connection closed", path, err)
			}
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("GET %s = %d with %d bytes, read error %v; want a body cut short (io.ErrUnexpectedEOF)", path, resp.StatusCode, len(body), err)
		}
	}
	// The aborted requests still have their structured log lines.
	if n := strings.Count(g.logs.String(), `"outcome":"aborted"`); n < 2 {
		t.Errorf("%d aborted request(s) logged; want one per cut response", n)
	}
	stillSignedIn(g, alice, "alice@example.com", "/Administration/after")
	stillSignedIn(g, bob, "bob@example.com", "/Administration/other")
	check()
}

// TestCertificateSwapWithOpenConnections replaces the certificate on disk
// while several keep-alive connections are open and a request is in
// flight: none of them is dropped, and new connections get the new
// certificate.
func TestCertificateSwapWithOpenConnections(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(slow.Close)
	r := startRun(t, op, slow.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: &recorder{}}
	b := g.browser()
	b.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if last(b.Visit(r.public+"/Administration/")).StatusCode != http.StatusOK {
		t.Fatal("sign-in failed")
	}

	serial := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(r.public, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()

	// Eight clients, each with a connection of its own kept alive.
	const n = 8
	var clients []*http.Client
	for i := 0; i < n; i++ {
		c := &http.Client{
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: 1},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if _, err := getReused(c, r.public+"/Administration/"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	inflight := make(chan error, 1)
	go func() {
		resp := b.Do(http.MethodGet, r.public+"/Administration/slow", nil, nil)
		if resp.StatusCode != http.StatusOK || resp.Body != "ok" {
			inflight <- fmt.Errorf("in-flight request = %d %q", resp.StatusCode, resp.Body)
			return
		}
		inflight <- nil
	}()
	select { // the request is now waiting at the backend
	case <-arrived:
	case err := <-inflight:
		t.Fatalf("the in-flight request ended before reaching the backend: %v", err)
	}

	swapCertificate(t, r)
	if after := serial(); after == before {
		t.Error("the replaced certificate is not served to new connections")
	}
	close(release)
	select {
	case err := <-inflight:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight request never finished")
	}
	for i, c := range clients {
		reused, err := getReused(c, r.public+"/Administration/")
		if err != nil {
			t.Errorf("client %d after the swap: %v", i, err)
		} else if !reused {
			t.Errorf("client %d: its connection was dropped by the swap", i)
		}
	}
}

// getReused sends a GET and reports whether it went over a connection
// opened earlier.
func getReused(c *http.Client, url string) (bool, error) {
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return reused, nil
}

// swapCertificate replaces the running proxy's key and certificate files
// the way a certificate manager does: write aside, then rename over.
func swapCertificate(t *testing.T, r *running) {
	t.Helper()
	newCert, newKey, err := testcert.Write(t.TempDir(), time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(r.certFile)
	for src, dst := range map[string]string{newKey: r.keyFile, newCert: r.certFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "swap.tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
}

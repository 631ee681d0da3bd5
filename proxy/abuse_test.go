package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
)

func TestReplayAndInjection(t *testing.T) {
	t.Run("code injected into another browser's sign-in, OP redeems codes twice", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		g.op.AllowCodeReuse(true)
		victim, attacker := g.browser(), g.browser()
		stolen := g.startSignIn(victim).Query().Get("code")
		cb := g.startSignIn(attacker)
		q := cb.Query()
		q.Set("code", stolen)
		cb.RawQuery = q.Encode()
		// The code is bound to the victim's PKCE challenge; the attacker's
		// login state holds another verifier.
		g.assertRefused(attacker, attacker.Do(http.MethodGet, cb.String(), nil, nil), "token_refused", "invalid_grant")
	})
	t.Run("callback sent again by the browser that completed it", func(t *testing.T) {
		g := newGate(t, setup{authMethod: "GET"})
		g.op.AllowCodeReuse(true)
		b := g.browser()
		cb := g.startSignIn(b)
		if r := last(b.Follow(b.Do(http.MethodGet, cb.String(), nil, nil))); r.StatusCode != http.StatusOK {
			t.Fatalf("first callback = %d", r.StatusCode)
		}
		r := b.Do(http.MethodGet, cb.String(), nil, nil)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "already completed") {
			t.Errorf("second callback = %d; want 400 saying the sign-in was already completed\n%s", r.StatusCode, r.Body)
		}
		for _, c := range r.Cookies() {
			if c.Name == sessionCookie {
				t.Errorf("second callback touched the session cookie: %v", c)
			}
		}
		if n := g.op.Stats().TokenRequests; n != 1 {
			t.Errorf("%d token requests; want 1", n)
		}
	})
	t.Run("login cookie spent by an error answer leaves no used state", func(t *testing.T) {
		// Only a sign-in that succeeded leaves its state behind: a failed
		// callback is released, so that failing callbacks in a loop cost
		// the server nothing. The login cookie (bound to the PKCE verifier
		// and nonce) still works with the provider's real answer.
		g := newGate(t, setup{authMethod: "GET"})
		b := g.browser()
		cb := g.startSignIn(b)
		saved := b.Jar.Cookies(cb)
		denied := *cb
		denied.RawQuery = url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}}.Encode()
		if r := b.Do(http.MethodGet, denied.String(), nil, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("error answer = %d; want 401", r.StatusCode)
		}
		b.Jar.SetCookies(cb, saved)
		if r := last(b.Follow(b.Do(http.MethodGet, cb.String(), nil, nil))); r.StatusCode != http.StatusOK {
			t.Fatalf("answer with the code after a failed one = %d; want the site", r.StatusCode)
		}
		// Once that sign-in succeeded, its state is spent for good.
		g.backendMark = len(g.backend.requests())
		again := g.browser()
		again.Jar.SetCookies(cb, saved)
		g.assertRefused(again, again.Do(http.MethodGet, cb.String(), nil, nil), "state_replayed", "already used")
	})
}

// TestSignInFlood: a client starting a thousand sign-ins keeps at most five
// login cookies, and the server's memory does not grow with the attempts:
// their state lives in the cookies, not on the server.
func TestSignInFlood(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	g := &gate{t: t, op: op, backend: newRecorder(t), logs: &testkit.SyncBuffer{}}
	srv := quietGate(t, g)
	b := g.browser()
	start := g.url + "/Administration/oidcServices/signininitiation?ReturnUrl=/Administration/x"
	flood := func(n int) {
		for i := 0; i < n; i++ {
			r := b.Do(http.MethodGet, start, nil, nil)
			if r.StatusCode != http.StatusFound {
				t.Fatalf("sign-in initiation %d = %d", i, r.StatusCode)
			}
		}
	}
	flood(50) // warm up: connections, pools, lazily built tables
	before := heapAfterGC()
	flood(1000)
	after := heapAfterGC()

	loginCookies := 0
	for _, c := range b.Jar.Cookies(mustURL(g.url + "/Administration/")) {
		if strings.HasPrefix(c.Name, loginCookiePrefix) {
			loginCookies++
		}
	}
	if loginCookies == 0 || loginCookies > 5 {
		t.Errorf("after 1050 sign-in initiations the browser holds %d login cookies; want 1 to 5", loginCookies)
	}
	const slack = 1 << 20
	t.Logf("heap after GC: %d bytes before 1000 initiations, %d after", before, after)
	if after > before+slack {
		t.Errorf("heap grew from %d to %d bytes over 1000 sign-in initiations; the server must keep no state per attempt", before, after)
	}
	// The flood spent nothing a real sign-in needs.
	if err := srv.Ready(); err != nil {
		t.Fatal(err)
	}
	g.signedIn(b, "/Administration/")
}

// quietGate is newGate's proxy for g without logging, so that the log
// buffer does not count as server memory.
func quietGate(t *testing.T, g *gate) *proxy.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.url = "https://" + ln.Addr().String()
	cfg, err := config.Parse([]byte(g.configTOML(setup{tokenAuth: "client_secret_basic", authMethod: "GET"})), "quiet.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := proxy.New(ctx, proxy.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), OutboundClient: g.op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv}}
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	waitReady(t, srv)
	return srv
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestClientKeepingEveryLoginCookie: a client that ignores the expiry of
// old login cookies is told again on every attempt to drop them, and once
// its Cookie header outgrows max_header_bytes it gets 431, never a crash.
func TestClientKeepingEveryLoginCookie(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	r := startRun(t, op, newRecorder(t).URL, "")
	waitRunReady(t, r)

	var kept []string // every login cookie ever set, as name=value
	got431 := false
	for i := 0; i < 1000 && !got431; i++ {
		req, _ := http.NewRequest(http.MethodGet, r.public+"/Administration/oidcServices/signininitiation", nil)
		if len(kept) > 0 {
			req.Header.Set("Cookie", strings.Join(kept, "; "))
		}
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatalf("initiation %d with %d cookies: %v", i, len(kept), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusFound:
		case http.StatusRequestHeaderFieldsTooLarge:
			got431 = true
			t.Logf("431 after %d attempts (%d bytes of cookies)", i, len(strings.Join(kept, "; ")))
			continue
		default:
			t.Fatalf("initiation %d with %d cookies = %d", i, len(kept), resp.StatusCode)
		}
		expired, set := 0, 0
		for _, c := range resp.Cookies() {
			switch {
			case c.MaxAge < 0:
				expired++
			case strings.HasPrefix(c.Name, loginCookiePrefix):
				set++
				kept = append(kept, c.Name+"="+c.Value)
			}
		}
		if want := max(0, i-4); set != 1 || expired != want {
			t.Fatalf("initiation %d with %d login cookies: set %d, expired %d; want 1 and %d", i, i, set, expired, want)
		}
	}
	if !got431 {
		t.Fatal("1000 login cookies never made a 431")
	}
	if code, _ := r.get(t, r.admin+"/healthz"); code != http.StatusOK {
		t.Error("unhealthy after the flood")
	}
}

// TestOversizedCookies: cookie headers past max_header_bytes (64 KiB by
// default) get 431; big ones below it are served normally; none crashes.
func TestOversizedCookies(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: backend}
	b := g.browser()
	b.Client.Transport = r.client.Transport
	g.signedIn(b, "/Administration/")
	session := ""
	for _, c := range b.Jar.Cookies(mustURL(r.public + "/Administration/")) {
		if c.Name == sessionCookie {
			session = sessionCookie + "=" + c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after sign-in")
	}

	many := func(n, size int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("c%d=%s", i, strings.Repeat("v", size))
		}
		return strings.Join(parts, "; ")
	}
	chunks := func(n int) string {
		parts := []string{session}
		for i := 1; i <= n; i++ {
			parts = append(parts, fmt.Sprintf("%s_%d=%s", sessionCookie, i, strings.Repeat("A", 3000)))
		}
		return strings.Join(parts, "; ")
	}
	tests := []struct {
		name    string
		cookies []string // Cookie header lines
		want    int
	}{
		{"one 100 KiB cookie", []string{"big=" + strings.Repeat("x", 100<<10)}, http.StatusRequestHeaderFieldsTooLarge},
		{"5000 small cookies", []string{many(5000, 20)}, http.StatusRequestHeaderFieldsTooLarge},
		{"40 Cookie lines of 3 KiB", repeat(many(100, 25), 40), http.StatusRequestHeaderFieldsTooLarge},
		{"a session among 2000 cookies under the limit", []string{many(2000, 10) + "; " + session}, http.StatusOK},
		{"20 forged session chunks", []string{chunks(20)}, http.StatusOK},
		{"a session split over 10 Cookie lines", append(repeat(many(50, 10), 9), session), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, r.public+"/Administration/page", nil)
			req.Header["Cookie"] = tt.cookies
			resp, err := r.client.Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s = %d; want %d", tt.name, resp.StatusCode, tt.want)
			}
			if code, _ := r.get(t, r.admin+"/healthz"); code != http.StatusOK {
				t.Errorf("unhealthy after %s", tt.name)
			}
		})
	}
	// The backend never sees oidcgate's own cookies, however many came.
	for _, req := range backend.requests() {
		for _, c := range req.Cookies() {
			if c.Name == sessionCookie || strings.HasPrefix(c.Name, sessionCookie+"_") {
				t.Errorf("backend received cookie %s", c.Name)
			}
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestReplayAtAnotherReplica: replicas share cookie keys, so a login
// cookie copied with its callback can be offered to a replica other than
// the one that spent it. Each replica remembers only the states it spent
// itself, so there it is the provider's refusal of a used code that stops
// the replay (README, "Several replicas").
func TestReplayAtAnotherReplica(t *testing.T) {
	g := newGate(t, setup{authMethod: "GET"})
	b := g.browser()
	cb := g.startSignIn(b)
	saved := b.Jar.Cookies(cb)
	if r := last(b.Follow(b.Do(http.MethodGet, cb.String(), nil, nil))); r.StatusCode != http.StatusOK {
		t.Fatalf("first callback = %d", r.StatusCode)
	}
	replica := secondReplica(t, g)
	req := httptest.NewRequest(http.MethodGet, cb.String(), nil)
	for _, c := range saved {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	replica.ServeHTTP(w, req)
	session := false
	for _, c := range w.Result().Cookies() {
		session = session || c.Name == sessionCookie && c.MaxAge >= 0
	}
	if w.Code < 400 || w.Code > 499 || session {
		t.Errorf("replayed callback at another replica = %d, session %v; want 4xx and no session", w.Code, session)
	}
}

// secondReplica is another proxy with g's configuration and keys, called
// directly rather than over the network.
func secondReplica(t *testing.T, g *gate) *proxy.Server {
	t.Helper()
	cfg, err := config.Parse([]byte(g.configTOML(setup{tokenAuth: "client_secret_basic", authMethod: "GET"})), "replica.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	replica, err := proxy.New(ctx, proxy.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), OutboundClient: g.op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, replica)
	return replica
}

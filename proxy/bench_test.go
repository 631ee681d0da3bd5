package proxy

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/redistest"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

// The benchmarks run the server's handler directly, with a transport that
// answers every forwarded request at once, so they measure the proxy's own
// work: no sockets, no TLS, no backend.

const (
	benchHost     = "cora.example.com"
	benchClientID = "oidcgate-bench"
	benchSecret   = "bench-secret"
	backendBody   = "<h1>backend</h1>"
)

// fixedTransport answers every request with the same small page.
type fixedTransport struct{}

func (fixedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body:          io.NopCloser(strings.NewReader(backendBody)),
		ContentLength: int64(len(backendBody)),
		Request:       r,
	}, nil
}

// discardWriter is a ResponseWriter reused across iterations, so the
// benchmarks measure the handler and not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

var entraUser = fakeop.EntraIDUser()

// benchServer is a server with two sites in front of fixedTransport, and
// the in-process OP it signs users in at.
func benchServer(b *testing.B) (*Server, *fakeoptest.OP) {
	b.Helper()
	return benchServerWith(b, "")
}

// benchServerWith is benchServer with more TOML, such as a [store].
func benchServerWith(b *testing.B, extra string) (*Server, *fakeoptest.OP) {
	b.Helper()
	op := fakeoptest.NewTLSServer(b, fakeop.Options{
		ClientID: benchClientID, ClientSecret: benchSecret,
		Users: []fakeop.User{entraUser},
	})
	toml := fmt.Sprintf(`listen = "127.0.0.1:0"
[tls]
cert_file = "unused.crt"
key_file = "unused.key"
[openid_connect]
discovery_kind = "OpenIdDiscoveryDocument"
discovery_uri = %q
client_id = %q
client_secret = %q
authorization_request_http_method = "GET"
token_request_authorization_method = "client_secret_basic"
[session]
keys = [%q]
lifetime = "8h"
[authentication]
sso_enabled = true
[[authentication.claims]]
claim_type = "preferred_username"
authentication_type = "EntraID"
[[sites]]
name = "Administration"
base_url = "https://%[5]s/Administration/"
upstream = "http://backend.internal/administration/"
[[sites]]
name = "Flowtime"
base_url = "https://%[5]s/Flowtime/"
upstream = "http://backend.internal/flowtime/"
`+extra, op.Issuer()+"/.well-known/openid-configuration", benchClientID, benchSecret, session.GenerateKey(), benchHost)
	cfg, err := config.Parse([]byte(toml), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	// The access log goes through the handler oidcgate serve uses.
	discardLog := slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	s, err := New(ctx, Options{
		Config:            cfg,
		Logger:            slog.New(discardLog),
		OutboundClient:    op.Client(),
		UpstreamTransport: fixedTransport{},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := testkit.Until(10*time.Second, s.Ready); err != nil {
		b.Fatalf("proxy not ready: %v", err)
	}
	return s, op
}

// sessionCookie is the Cookie header pair of a signed-in session of s.
func sessionCookie(b *testing.B, s *Server) string {
	b.Helper()
	w := httptest.NewRecorder()
	err := s.sites[0].sessions.Save(w, httptest.NewRequest(http.MethodGet, "https://"+benchHost+"/", nil), &session.Session{
		User:               "AdeleV@contoso.onmicrosoft.com",
		AuthenticationType: "EntraID",
		Email:              "AdeleV@contoso.onmicrosoft.com",
		PreferredUsername:  "AdeleV@contoso.onmicrosoft.com",
		Issuer:             "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
		Subject:            "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
	})
	if err != nil {
		b.Fatal(err)
	}
	pair, _, _ := strings.Cut(w.Header().Get("Set-Cookie"), ";")
	return pair
}

// browserRequest is a page request as Chrome sends it (HTTP/1.1: the
// Host header is not in the map); the header is fresh each time because
// the proxy rewrites it.
func browserRequest(target, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header = http.Header{
		"Sec-Ch-Ua":                 {`"Chromium";v="131", "Not_A Brand";v="24"`},
		"Sec-Ch-Ua-Mobile":          {"?0"},
		"Sec-Ch-Ua-Platform":        {`"Windows"`},
		"Upgrade-Insecure-Requests": {"1"},
		"User-Agent":                {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Sec-Fetch-Site":            {"same-origin"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Dest":            {"document"},
		"Referer":                   {"https://" + benchHost + "/Administration/"},
		"Accept-Encoding":           {"gzip, deflate, br, zstd"},
		"Accept-Language":           {"en-US,en;q=0.9"},
		"Cookie":                    {"ai_user=q1w2e3; " + cookie},
	}
	return r
}

func BenchmarkAuthenticatedRequest(b *testing.B) {
	s, _ := benchServer(b)
	cookie := sessionCookie(b, s)
	target := "https://" + benchHost + "/Administration/reports/list.aspx?id=7"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		s.ServeHTTP(w, browserRequest(target, cookie))
		if w.status != http.StatusOK {
			b.Fatalf("status %d; want 200", w.status)
		}
	}
}

// BenchmarkBareReverseProxy is the floor: the standard library's proxy
// with the same transport, request, writer and copy-buffer pool.
func BenchmarkBareReverseProxy(b *testing.B) {
	up, _ := url.Parse("http://backend.internal/administration/")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport:  fixedTransport{},
		BufferPool: &bufferPool{},
	}
	target := "https://" + benchHost + "/Administration/reports/list.aspx?id=7"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		rp.ServeHTTP(w, browserRequest(target, "oidcgate=x"))
		if w.status != http.StatusOK {
			b.Fatalf("status %d; want 200", w.status)
		}
	}
}

func BenchmarkRoute(b *testing.B) {
	s, _ := benchServer(b)
	r := httptest.NewRequest(http.MethodGet, "https://"+benchHost+"/Flowtime/timesheets/week.aspx", nil)
	b.ReportAllocs()
	for b.Loop() {
		if st, _ := s.route(r); st == nil || st.name != "Flowtime" {
			b.Fatalf("route = %v; want Flowtime", st)
		}
	}
}

// BenchmarkSignInResponse is the callback: login state, code exchange at
// the OP over TLS, ID token verification, session cookie. The OP's token
// endpoint (an RSA signature) runs in this process and is counted too;
// cmd bench measures the proxy's share on its own.
func BenchmarkSignInResponse(b *testing.B) {
	s, op := benchServer(b)
	opClient := op.Client()
	opClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		callback, cookie := startSignIn(b, s, opClient)
		r := httptest.NewRequest(http.MethodGet, callback, nil)
		r.Header.Set("Cookie", cookie)
		w.reset()
		b.StartTimer()
		s.ServeHTTP(w, r)
		if w.status != http.StatusFound || len(w.h["Set-Cookie"]) == 0 {
			b.Fatalf("callback answered %d; want 302 with a session cookie", w.status)
		}
	}
}

// startSignIn begins a sign-in and has the OP approve it; it returns the
// callback URL and the login-state cookie.
func startSignIn(b *testing.B, s *Server, opClient *http.Client) (callback, cookie string) {
	b.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://"+benchHost+"/Administration/oidcServices/Signininitiation?ReturnUrl=%2FAdministration%2F", nil))
	if w.Code != http.StatusFound {
		b.Fatalf("sign-in answered %d; want 302:\n%s", w.Code, w.Body)
	}
	cookie, _, _ = strings.Cut(w.Header().Get("Set-Cookie"), ";")
	resp, err := opClient.Get(w.Header().Get("Location"))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // so the connection is used again
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.Fatalf("OP authorize answered %d; want 302", resp.StatusCode)
	}
	return resp.Header.Get("Location"), cookie
}

// storeKinds are the [store] tables the store benchmarks compare, side by
// side in one run: memory (nothing shared) and a real Redis, each holding
// 1,000 marks for other users, as a busy deployment might.
func storeKinds(b *testing.B) []struct{ name, toml string } {
	r := redistest.Start(b, redistest.Options{})
	return []struct{ name, toml string }{
		{"memory", "[store]\nkind = \"memory\"\n"},
		{"redis", fmt.Sprintf("[store]\nkind = \"redis\"\nurl = %q\n", r.URL)},
	}
}

func withMarks(b *testing.B, s *Server, n int) {
	b.Helper()
	for i := range n {
		if err := s.store.Revoke(context.Background(), store.SubjectMark("https://login.microsoftonline.com/other/v2.0", fmt.Sprint("user-", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// storeCommands is how many commands s has sent to its store so far.
func storeCommands(s *Server) float64 {
	if c, ok := s.store.(interface{ Commands() uint64 }); ok {
		return float64(c.Commands())
	}
	return 0
}

// BenchmarkAuthenticatedRequestByStore: an authenticated request with
// each store; store-cmds/op shows it sends no command to the store (the
// follower's steady reads, one per half second at most while idle, are
// all that count).
func BenchmarkAuthenticatedRequestByStore(b *testing.B) {
	for _, k := range storeKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			s, _ := benchServerWith(b, k.toml)
			withMarks(b, s, 1000)
			cookie := sessionCookie(b, s)
			target := "https://" + benchHost + "/Administration/reports/list.aspx?id=7"
			w := &discardWriter{h: http.Header{}}
			before := storeCommands(s)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				s.ServeHTTP(w, browserRequest(target, cookie))
				if w.status != http.StatusOK {
					b.Fatalf("status %d; want 200", w.status)
				}
			}
			b.ReportMetric((storeCommands(s)-before)/float64(b.N), "store-cmds/op")
		})
	}
}

// BenchmarkSignInResponseByStore: the callback with each store; with Redis
// it reserves the login state once (SET NX), one round trip.
func BenchmarkSignInResponseByStore(b *testing.B) {
	for _, k := range storeKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			s, op := benchServerWith(b, k.toml)
			opClient := op.Client()
			opClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			w := &discardWriter{h: http.Header{}}
			var cmds float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				callback, cookie := startSignIn(b, s, opClient)
				r := httptest.NewRequest(http.MethodGet, callback, nil)
				r.Header.Set("Cookie", cookie)
				w.reset()
				before := storeCommands(s)
				b.StartTimer()
				s.ServeHTTP(w, r)
				b.StopTimer()
				cmds += storeCommands(s) - before
				b.StartTimer()
				if w.status != http.StatusFound || len(w.h["Set-Cookie"]) == 0 {
					b.Fatalf("callback answered %d; want 302 with a session cookie", w.status)
				}
			}
			b.ReportMetric(cmds/float64(b.N), "store-cmds/op")
		})
	}
}

// BenchmarkReserveLoginState is what the store adds to a sign-in on its
// own: one reservation of a login state, kept as after a sign-in that
// succeeded.
func BenchmarkReserveLoginState(b *testing.B) {
	for _, k := range storeKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			s, _ := benchServerWith(b, k.toml)
			ctx := context.Background()
			run := rand.Text() // states of another run may still be reserved
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.store.Reserve(ctx, loginKey(fmt.Sprint(run, i)), time.Minute); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkAuthenticatedRequestStoreRatio runs the same authenticated
// request against a memory-store server and a Redis-store server in
// turns, in batches of 64, so both see the same machine load; it reports
// each side's median batch time per request, the throughput with Redis as
// a share of that with memory (redis/memory, target ≥ 0.95; medians, so a
// pause that hits one batch on a shared machine does not decide it), and
// the store commands per request.
func BenchmarkAuthenticatedRequestStoreRatio(b *testing.B) {
	kinds := storeKinds(b)
	type side struct {
		s       *Server
		cookie  string
		batches []time.Duration
		before  float64
	}
	sides := make([]*side, len(kinds))
	for i, k := range kinds {
		s, _ := benchServerWith(b, k.toml)
		withMarks(b, s, 1000)
		sides[i] = &side{s: s, cookie: sessionCookie(b, s)}
	}
	target := "https://" + benchHost + "/Administration/reports/list.aspx?id=7"
	w := &discardWriter{h: http.Header{}}
	for _, sd := range sides {
		sd.before = storeCommands(sd.s)
	}
	const batch = 64
	reqs := make([]*http.Request, batch)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range sides {
			sd := sides[(i+n)%len(sides)] // alternate which goes first
			for j := range reqs {
				reqs[j] = browserRequest(target, sd.cookie)
			}
			start := time.Now()
			for _, r := range reqs {
				w.reset()
				sd.s.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d; want 200", w.status)
				}
			}
			sd.batches = append(sd.batches, time.Since(start))
		}
		n++
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / batch
	}
	mem, red := median(sides[0].batches), median(sides[1].batches)
	b.ReportMetric(mem, "memory-ns/req")
	b.ReportMetric(red, "redis-ns/req")
	b.ReportMetric(mem/red, "redis/memory")
	b.ReportMetric((storeCommands(sides[1].s)-sides[1].before)/float64(n*batch), "redis-store-cmds/req")
}

package proxy_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

// gate is oidcgate between a test OP and a recording backend, as a browser
// sees it.
type gate struct {
	t       *testing.T
	op      *fakeoptest.OP
	backend *recorder
	srv     *httptest.Server
	server  *proxy.Server
	url     string // https://127.0.0.1:port
	logs    *testkit.SyncBuffer
	// backendMark: requests before it came from a legitimate sign-in
	// earlier in the test.
	backendMark int
}

// setup describes one test deployment; zero values give the defaults of
// the configuration reference (README and config.example.toml).
type setup struct {
	authMethod   string // GET | POST
	tokenAuth    string // client_secret_basic | client_secret_post
	responseMode string // query | form_post
	signOutSTS   bool
	sso          *bool
	force        bool
	keys         []string
	rules        string // TOML of [[authentication.claims]] blocks
	algs         string // TOML array
	extra        string // more TOML appended
	oidcExtra    string // more [openid_connect] keys
	top          string // top-level keys, written before the first table
	sessionTOML  string // more keys of [session]
	// extraFor returns more TOML appended after extra, made knowing the OP.
	extraFor  func(op *fakeoptest.OP) string
	opOptions fakeop.Options

	kind        string // discovery_kind; "" = OpenIdDiscoveryDocument
	validIssuer string // valid_issuer; without discovery "" means the OP's issuer
	// certs returns the [[openid_connect.identity_provider_certificates]]
	// blocks of a Store deployment, made from the OP's certificates.
	certs       func(op *fakeoptest.OP) string
	secret      string                  // client secret; "" = testClientSecret
	opSecret    string                  // the secret the OP expects; "" = the same as secret
	beforeStart func(op *fakeoptest.OP) // runs before proxy.New, e.g. to break the OP
	noWait      bool                    // do not wait for the provider to be ready
	// forcedKeyRefresh is proxy.Options.ForcedKeyRefresh: 0 = 10 s.
	forcedKeyRefresh time.Duration
	clock            func() time.Time // proxy.Options.Clock; nil = time.Now
	// store makes proxy.Options.Store from the configuration; nil: [store].
	store func(cfg *config.Config) store.Store
}

const testClientID, testClientSecret = "oidcgate-test", "s3cret-Value/with+chars"

// The cookie names of the test deployments: require_ssl is on, so they
// carry the __Host- prefix.
const (
	sessionCookie     = "__Host-oidcgate"
	loginCookiePrefix = "__Host-oidcgate_login_"
)

var defaultUser = fakeop.User{
	Name: "alice", Password: "alice-password",
	Claims: map[string]any{"sub": "user-1234", "email": "alice@example.com", "preferred_username": "alice", "name": "Alice Example"},
}

func newGate(t *testing.T, s setup) *gate {
	t.Helper()
	if s.tokenAuth == "" {
		s.tokenAuth = "client_secret_basic"
	}
	o := s.opOptions
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	if s.secret != "" {
		o.ClientSecret = s.secret
	}
	if s.opSecret != "" {
		o.ClientSecret = s.opSecret
	}
	if o.TokenAuthMethod == "" {
		o.TokenAuthMethod = s.tokenAuth
	}
	if len(o.Users) == 0 {
		o.Users = []fakeop.User{defaultUser}
	}
	op := fakeoptest.NewTLSServer(t, o)
	g := &gate{t: t, op: op, backend: newRecorder(t), logs: &testkit.SyncBuffer{}}
	g.start(s, op.Client(), !s.noWait)
	return g
}

// start serves oidcgate, configured from s, over TLS on a fresh loopback
// port; it reaches the provider with client.
func (g *gate) start(s setup, client *http.Client, wait bool) {
	t := g.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.url = "https://" + ln.Addr().String()
	cfg, err := config.Parse([]byte(g.configTOML(s)), "test.toml")
	if err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	if s.beforeStart != nil {
		s.beforeStart(g.op)
	}
	var st store.Store
	if s.store != nil {
		st = s.store(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	handler := slog.NewJSONHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	srv, err := proxy.New(ctx, proxy.Options{
		Config:           cfg,
		Logger:           slog.New(handler),
		OutboundClient:   client,
		ForcedKeyRefresh: s.forcedKeyRefresh,
		Clock:            s.clock,
		Store:            st,
	})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	g.server = srv
	g.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv}}
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	if wait {
		waitReady(t, srv)
	}
}

func (g *gate) configTOML(s setup) string {
	var b strings.Builder
	b.WriteString(s.top)
	fmt.Fprintf(&b, "listen = %q\n[tls]\ncert_file = \"unused.crt\"\nkey_file = \"unused.key\"\n", "127.0.0.1:0")
	b.WriteString("[openid_connect]\n")
	e := g.op.Endpoints()
	switch s.kind {
	case "", "OpenIdDiscoveryDocument":
		fmt.Fprintf(&b, "discovery_kind = \"OpenIdDiscoveryDocument\"\ndiscovery_uri = %q\n", e.Discovery)
		if s.validIssuer != "" {
			fmt.Fprintf(&b, "valid_issuer = %q\n", s.validIssuer)
		}
	default:
		fmt.Fprintf(&b, "discovery_kind = %q\n", s.kind)
		if uri := map[string]string{"JsonWebKeySet": e.JWKS, "Federation": e.FederationMetadata}[s.kind]; uri != "" {
			fmt.Fprintf(&b, "discovery_uri = %q\n", uri)
		}
		issuer := s.validIssuer
		if issuer == "" {
			issuer = e.Issuer
		}
		fmt.Fprintf(&b, "valid_issuer = %q\nauthority = %q\ntoken_endpoint = %q\nlogout_endpoint = %q\n", issuer, e.Authorization, e.Token, e.EndSession)
	}
	secret := testClientSecret
	if s.secret != "" {
		secret = s.secret
	}
	fmt.Fprintf(&b, "client_id = %q\nclient_secret = %q\n", testClientID, secret)
	fmt.Fprintf(&b, "token_request_authorization_method = %q\n", s.tokenAuth)
	b.WriteString(s.oidcExtra)
	if s.authMethod != "" {
		fmt.Fprintf(&b, "authorization_request_http_method = %q\n", s.authMethod)
	}
	if s.responseMode != "" {
		fmt.Fprintf(&b, "response_mode = %q\n", s.responseMode)
	}
	if s.algs != "" {
		fmt.Fprintf(&b, "id_token_signing_alg_values = %s\n", s.algs)
	}
	fmt.Fprintf(&b, "force_reauthenticate = %v\n", s.force)
	if s.certs != nil {
		b.WriteString(s.certs(g.op))
	}
	b.WriteString("[session]\n")
	keys := s.keys
	if keys == nil {
		keys = []string{testKey1}
	}
	fmt.Fprintf(&b, "keys = [%s]\nlifetime = \"1h\"\n", quoteAll(keys))
	b.WriteString(s.sessionTOML)
	sso := true
	if s.sso != nil {
		sso = *s.sso
	}
	fmt.Fprintf(&b, "[authentication]\nsso_enabled = %v\nsign_out_from_sts = %v\n", sso, s.signOutSTS)
	rules := s.rules
	if rules == "" {
		rules = "[[authentication.claims]]\nclaim_type = \"email\"\nauthentication_type = \"TestOP\"\n"
	}
	b.WriteString(rules)
	for _, name := range []string{"Administration", "Flowtime"} {
		fmt.Fprintf(&b, "[[sites]]\nname = %q\nbase_url = %q\nupstream = %q\n", name, g.url+"/"+name+"/", g.backend.URL+"/"+strings.ToLower(name)+"/")
	}
	b.WriteString(s.extra)
	if s.extraFor != nil {
		b.WriteString(s.extraFor(g.op))
	}
	return b.String()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

var (
	testKey1 = session.GenerateKey()
	testKey2 = session.GenerateKey()
)

// waitReady waits for the provider's discovery and keys, which load in the
// background.
// The background fetch retries with backoff, so after a provider outage
// this can take a few seconds.
func waitReady(tb testing.TB, s *proxy.Server) {
	tb.Helper()
	if err := testkit.Until(10*time.Second, s.Ready); err != nil {
		tb.Fatalf("proxy not ready: %v", err)
	}
}

// recorder is a backend that records every request it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<h1>backend</h1><p>user=%s path=%s</p>", html.EscapeString(r.Header.Get("X-Forwarded-User")), html.EscapeString(r.URL.Path))
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*http.Request(nil), rec.reqs...)
}

func (rec *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	reqs := rec.requests()
	if len(reqs) == 0 {
		t.Fatal("backend received no request")
	}
	return reqs[len(reqs)-1]
}

// browser follows redirects and submits auto-posting forms, the way a
// browser with scripts does, and keeps cookies.
type browser = testkit.Browser

// response is a page with its body read.
type response = testkit.Page

func (g *gate) browser() *browser { return newBrowserOn(g.t, g.op.Client()) }

// newBrowserOn is a browser trusting what client trusts.
func newBrowserOn(t *testing.T, client *http.Client) *browser {
	return testkit.NewBrowser(t, client.Transport.(*http.Transport).Clone())
}

func last(hops []*response) *response { return hops[len(hops)-1] }

// Package proxy is oidcgate's HTTP side: it routes requests to sites, runs
// the OpenID Connect sign-in and sign-out endpoints, and forwards signed-in
// requests upstream with identity headers no client can forge.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/credentials"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

// Options are what New needs beyond the configuration file.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// OutboundClient calls the provider and token endpoints. Nil: a client
	// with the configured outbound timeout and the system roots.
	OutboundClient *http.Client
	// UpstreamTransport carries forwarded requests. Nil: a transport with
	// the configured dial and response-header timeouts.
	UpstreamTransport http.RoundTripper
	// Version is reported in the oidcgate_build_info metric.
	Version string
	// ForcedKeyRefresh is the least time between two key fetches forced by
	// an ID token signed with an unknown key. Zero: 10 seconds.
	ForcedKeyRefresh time.Duration
	// Clock tells the time for token lifetimes: ID token checks and the
	// renewal of injected credential tokens (sessions and login states
	// keep the system clock). Nil: time.Now.
	Clock func() time.Time
	// Store keeps revocation marks and single-use keys in place of the one
	// [store] configures (tests give one that fails as they need). Nil:
	// [store]'s.
	Store store.Store
}

// Server is the proxy's public handler: it routes each request to its site
// and either to the sign-in flow or upstream.
type Server struct {
	errorWriter
	log    *slog.Logger
	auth   *authFlow
	sites  []*site
	stores []*session.Store
	// cookieNames are the names of every cookie oidcgate sets, or set
	// under another configuration; see ownsCookie.
	cookieNames []string
	metrics     *metrics
	noSite      *siteCounters // requests that matched no site
	buffers     *bufferPool   // the reverse proxies' copy buffers
	trusted     trustedProxies
	store       store.Store // revocation marks and single-use reservations
	outage      store.Outage
}

// New builds the server from a validated configuration. The provider's
// discovery and keys are fetched in the background until ctx ends; the
// server answers sign-ins with 503 until they are there.
func New(ctx context.Context, o Options) (*Server, error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("proxy: no configuration")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	outbound := o.OutboundClient
	if outbound == nil {
		outbound = OutboundClient(cfg.Limits.OutboundTimeout.Duration, cfg.OpenIDConnect.RootCAs)
	}
	transport := o.UpstreamTransport
	if transport == nil {
		transport = upstreamTransport(cfg.Limits)
	}
	m := newMetrics(o.Version)
	s := &Server{errorWriter: errorWriter{log}, log: log, metrics: m, noSite: m.siteCounters(""), buffers: &bufferPool{}}
	s.trusted = cfg.TrustedProxyPrefixes()

	po, err := s.providerOptions(o, outbound)
	if err != nil {
		return nil, err
	}
	plog := &providerLog{log: log}
	po.OnRefresh = plog.refreshed
	prov, err := provider.New(ctx, po)
	if err != nil {
		return nil, fmt.Errorf("openid_connect: %w", err)
	}
	if cfg.OpenIDConnect.DiscoveryKind == config.DiscoveryStore { // loaded by New, never fetched
		plog.refreshed(provider.Refreshed{Issuer: cfg.OpenIDConnect.ValidIssuer, Keys: prov.Stats().Keys})
	}
	codec, err := sessionCodec(cfg.Session)
	if err != nil {
		return nil, err
	}
	if codec.generated {
		log.Warn("session: no keys configured; a random key was made for this process: sessions end when it restarts, and replicas cannot share them. Set [session] keys (oidcgate genkey).")
	}
	creds, err := s.credentialSources(cfg, outbound, o.Clock)
	if err != nil {
		return nil, err
	}
	if err := s.openStore(cfg, o.Store); err != nil {
		return nil, err
	}
	s.auth = newAuthFlow(cfg, prov, codec.codec, s.store, m, log)
	if err := s.addSites(cfg, codec.codec, transport, creds); err != nil {
		s.store.Close()
		return nil, err
	}
	m.gauge("oidcgate_provider_keys", "Signing keys loaded from the provider or the certificate store.", func() float64 { return float64(prov.Stats().Keys) })
	return s, nil
}

// providerOptions are ProviderOptions with the clock and forced-refresh
// interval of o, and every fetch counted and failed ones logged.
func (s *Server) providerOptions(o Options, outbound *http.Client) (provider.Options, error) {
	po, err := ProviderOptions(o.Config, outbound, s.log)
	if err != nil {
		return provider.Options{}, err
	}
	po.ForcedRefreshMinInterval = o.ForcedKeyRefresh
	po.Now = o.Clock
	po.OnFetch = func(source string, err error) {
		s.metrics.keyFetches.WithLabelValues(source, result(err)).Inc()
		if err != nil {
			s.log.Warn("provider fetch failed", "source", source, "error", err.Error())
			return
		}
		s.log.Debug("provider fetch", "source", source)
	}
	return po, nil
}

// hostPrefix is the cookie name prefix browsers keep to the host that set
// it (RFC 6265bis).
const hostPrefix = "__Host-"

// cookieName is what the names of oidcgate's cookies start with. With
// require_ssl every cookie carries the __Host- prefix: browsers then accept
// it only Secure, for Path=/ and without Domain, so no sibling subdomain
// can plant one beside ours.
func cookieName(c config.Session) string {
	if c.RequireSSL {
		return hostPrefix + c.CookieName
	}
	return c.CookieName
}

// addSites builds the sites, each with its session store (one shared by
// all with sso_enabled) and its credential injections, longest prefix
// first, so "/a/b/" wins over "/a/".
func (s *Server) addSites(cfg *config.Config, codec *session.Codec, transport http.RoundTripper, creds map[string]*credentials.Source) error {
	store := func(name string) *session.Store {
		st := session.NewStore(session.StoreOptions{
			Name:     name,
			Lifetime: cfg.Session.Lifetime.Duration,
			Secure:   cfg.Session.RequireSSL,
			Codec:    codec,
		})
		s.stores = append(s.stores, st)
		return st
	}
	// Every name oidcgate may have set under this cookie_name, whatever
	// sso_enabled says now and with or without __Host-: a browser keeps
	// the cookies of an earlier setting, and anyone may send one.
	s.cookieNames = []string{cfg.Session.CookieName}
	for _, sc := range cfg.Sites {
		s.cookieNames = append(s.cookieNames, cfg.Session.CookieName+"-"+cookieSafe(sc.Name))
	}
	for _, n := range s.cookieNames {
		s.cookieNames = append(s.cookieNames, hostPrefix+n)
	}
	var shared *session.Store
	if cfg.Authentication.SSOEnabled {
		shared = store(cookieName(cfg.Session))
	}
	for _, sc := range cfg.Sites {
		st, err := s.newSite(cfg, sc, transport)
		if err != nil {
			return err
		}
		st.sessions = shared
		st.counters = s.metrics.siteCounters(st.name)
		st.latency = s.metrics.upstream.WithLabelValues(st.name)
		if st.sessions == nil {
			st.sessions = store(cookieName(cfg.Session) + "-" + cookieSafe(sc.Name))
			st.ownSession = true
		}
		for _, inj := range sc.Inject {
			header := http.CanonicalHeaderKey(inj.Header)
			st.inject = append(st.inject, injection{header: header, credential: inj.Credential, source: creds[inj.Credential]})
			st.stripHeaders = append(st.stripHeaders, header)
		}
		st.stripHeaders = append(st.stripHeaders, cfg.StripHeaders...)
		s.sites = append(s.sites, st)
	}
	sort.SliceStable(s.sites, func(i, j int) bool { return len(s.sites[i].prefix) > len(s.sites[j].prefix) })
	return nil
}

func (s *Server) newSite(cfg *config.Config, sc config.Site, transport http.RoundTripper) (*site, error) {
	base := sc.BaseURL()
	up := sc.Upstream()
	if base == nil || up == nil {
		return nil, fmt.Errorf("sites %q: base_url and upstream must be valid URLs", sc.Name)
	}
	if !strings.HasSuffix(up.Path, "/") || !strings.HasSuffix(base.Path, "/") {
		// The prefix is replaced by the upstream's path; without the
		// slashes "/app" + "page" would be forwarded as "/apppage".
		return nil, fmt.Errorf("sites %q: base_url and upstream must end with \"/\"", sc.Name)
	}
	a := cfg.Authentication
	st := &site{
		name:             sc.Name,
		hostname:         strings.ToLower(base.Hostname()),
		port:             base.Port(),
		prefix:           base.Path,
		signInPath:       sc.Resolve(a.LoginURL),
		callbackPath:     sc.Resolve("~/oidcServices/signinresponse"),
		signOutPath:      sc.Resolve(a.LogoutURL),
		deniedPath:       sc.Resolve(a.AccessDeniedURL),
		backChannelPath:  sc.Resolve("~/oidcServices/backchannellogout"),
		frontChannelPath: sc.Resolve("~/oidcServices/frontchannellogout"),
		baseURL:          base.String(),
		upstream:         up,
	}
	st.redirectURI = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: st.callbackPath}).String()
	st.proxy = s.reverseProxy(st, transport)
	return st, nil
}

// ServeHTTP is the edge: it gives the request an id, routes it, and
// records one log line and the request metrics for its outcome.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get("X-Request-Id"))
	// One value slice for both headers: nothing appends to it in place
	// (its capacity is 1), and the forwarded request gets a copy.
	ids := []string{id}
	r.Header["X-Request-Id"] = ids
	w.Header()["X-Request-Id"] = ids
	lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
	var st *site
	var user string
	defer func() {
		// A backend that breaks off its response makes ReverseProxy abort
		// the request with a panic; it still gets its log line and count
		// before the server closes the connection.
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			status, outcome := lw.outcome(true)
			s.logRequest(r, st, user, status, start, outcome)
			panic(p)
		}
	}()
	st, user = s.dispatch(lw, r)
	status, outcome := lw.outcome(false)
	s.logRequest(r, st, user, status, start, outcome)
}

// logRequest writes the request's one log line and counts it. The record
// goes to the handler directly: Logger.LogAttrs would also walk the stack
// for the caller's source position on every request.
func (s *Server) logRequest(r *http.Request, st *site, user string, status int, start time.Time, outcome string) {
	siteName := ""
	counters := s.noSite
	level := slog.LevelInfo
	if st != nil {
		siteName, counters = st.name, st.counters
	} else if noSiteNoise(r.URL.Path) {
		level = slog.LevelDebug
	}
	counters.observe(status)
	h := s.log.Handler()
	ctx := r.Context()
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now()
	rec := slog.NewRecord(now, level, "request", 0)
	rec.AddAttrs(
		slog.String("site", siteName),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", now.Sub(start)),
		slog.String("user", user),
		slog.String("request_id", r.Header.Get("X-Request-Id")),
	)
	if outcome != "" {
		rec.AddAttrs(slog.String("outcome", outcome))
	}
	if st == nil { // which name the client used: a base_url host, a load balancer's, another
		rec.AddAttrs(slog.String("host", clip(r.Host, 256)))
	}
	h.Handle(ctx, rec)
}

// noSiteNoise: paths that browsers and crawlers ask every host for, which
// fill the log with requests for no site. They are logged at debug level.
func noSiteNoise(path string) bool {
	p := strings.ToLower(path)
	return p == "/favicon.ico" || p == "/robots.txt" || p == "/sitemap.xml" ||
		strings.HasPrefix(p, "/apple-touch-icon") || strings.HasPrefix(p, "/.well-known/")
}

// dispatch routes a request to its site and to the endpoint it asks for;
// everything that is not one of oidcgate's own endpoints is forwarded, if
// the request carries a session. It returns the site and, when known, the
// user.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) (*site, string) {
	if err := screen(r); err != nil {
		s.writeError(w, r, err)
		return nil, ""
	}
	st, bare := s.route(r)
	switch {
	case st == nil:
		s.writeError(w, r, refuse(http.StatusNotFound, "no_site", "No site is served at this address.", fmt.Errorf("no site for host %q", clip(r.Host, 256))))
	case bare:
		target := st.prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	case strings.EqualFold(r.URL.Path, st.signInPath):
		s.auth.signIn(w, r, st)
	case strings.EqualFold(r.URL.Path, st.callbackPath):
		return st, s.auth.signInResponse(w, r, st)
	case strings.EqualFold(r.URL.Path, st.signOutPath):
		s.auth.signOut(w, r, st)
	case strings.EqualFold(r.URL.Path, st.backChannelPath):
		s.backChannelLogout(w, r, st)
	case strings.EqualFold(r.URL.Path, st.frontChannelPath):
		s.frontChannelLogout(w, r, st)
	case strings.EqualFold(r.URL.Path, st.deniedPath):
		accessDenied(w, r, st)
	default:
		return st, s.forward(w, r, st)
	}
	return st, ""
}

// screen refuses, before routing, what no site may receive: methods that
// echo the request back (TRACE, TRACK: an echo would hand the injected
// headers to the client) and paths a browser would never send. It leaves
// the request's path cleaned of dot segments.
func screen(r *http.Request) error {
	if isTrace(r.Method) || overridesToTrace(r.Header) {
		return refuse(http.StatusMethodNotAllowed, "method_refused", "This method is not allowed.", nil)
	}
	return cleanRequestPath(r)
}

func isTrace(method string) bool {
	method = strings.TrimSpace(method)
	return strings.EqualFold(method, "TRACE") || strings.EqualFold(method, "TRACK")
}

// overridesToTrace reports whether a method-override header, which many
// frameworks honour in place of the request's method, asks for TRACE or
// TRACK.
func overridesToTrace(h http.Header) bool {
	for key, vals := range h {
		if !sameHeaderName(key, "x-http-method-override") && !sameHeaderName(key, "x-http-method") && !sameHeaderName(key, "x-method-override") {
			continue
		}
		for _, v := range vals {
			if isTrace(v) {
				return true
			}
		}
	}
	return false
}

// sameHeaderName compares a header name with a lower-case one, ignoring
// case and '_' for '-' as CGI-style backends do, without allocating.
func sameHeaderName(key, lower string) bool {
	if len(key) != len(lower) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == '_' {
			c = '-'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Ready reports whether users can sign in: the provider's endpoints and
// keys are known, and every current revocation mark is loaded.
func (s *Server) Ready() error {
	if err := s.auth.provider.Ready(); err != nil {
		return err
	}
	return s.store.Ready()
}

// Provider exposes the provider for the admin endpoints and `check -online`.
func (s *Server) Provider() *provider.Provider { return s.auth.provider }

// ProviderOptions maps [openid_connect] to the provider package's options,
// opening the private_key_jwt key pair; reloads of it are logged to log
// (nil: not logged).
func ProviderOptions(cfg *config.Config, client *http.Client, log *slog.Logger) (provider.Options, error) {
	oc := cfg.OpenIDConnect
	key, err := clientKey("openid_connect", oc.TokenRequestAuthorizationMethod == config.PrivateKeyJWT,
		oc.ClientAssertionKeyFile, oc.ClientAssertionCertificateFile, oc.ClientAssertionAlg, log)
	if err != nil {
		return provider.Options{}, fmt.Errorf("openid_connect: %w", err)
	}
	var certs []provider.Certificate
	for _, c := range oc.IdentityProviderCertificates {
		certs = append(certs, provider.Certificate{Name: c.Name, FindType: string(c.FindType), FindValue: c.FindValue, Location: c.Location, Valid: c.Valid})
	}
	return provider.Options{
		Kind:             providerKind(oc.DiscoveryKind),
		URL:              oc.DiscoveryURI,
		ClientID:         oc.ClientID,
		ClientSecret:     oc.ClientSecret,
		Algorithms:       oc.IDTokenSigningAlgValues,
		Issuer:           oc.ValidIssuer,
		AuthorizationURL: oc.Authority,
		TokenURL:         oc.TokenEndpoint,
		EndSessionURL:    oc.LogoutEndpoint,
		TokenAuth:        tokenAuth(oc.TokenRequestAuthorizationMethod),
		AssertionKey:     key,
		Certificates:     certs,
		HTTPClient:       client,
		Timeout:          cfg.Limits.OutboundTimeout.Duration,
		ClockSkew:        clockSkew(oc.ClockSkew.Duration),
	}, nil
}

// clockSkew maps clock_skew to the provider's option, where 0 means the
// default.
func clockSkew(d time.Duration) time.Duration {
	if d == 0 {
		return provider.NoClockSkew
	}
	return d
}

// OutboundClient is the client for calls to the provider or a token
// endpoint: outboundTransport, trusting roots (ca_file; nil: the system's).
func OutboundClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	t := outboundTransport()
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: timeout, Transport: t}
}

func providerKind(k config.DiscoveryKind) provider.Kind {
	switch k {
	case config.DiscoveryJWKS:
		return provider.JWKS
	case config.DiscoveryFederation:
		return provider.Federation
	case config.DiscoveryStore:
		return provider.Store
	default:
		return provider.Discovery
	}
}

// outboundTransport is http.DefaultTransport (proxy from the environment,
// the system's roots) keeping more idle connections per host, and speaking
// HTTP/1.1 only. The default keeps 2 idle connections, so in a burst of
// sign-ins most code exchanges would open a new TLS connection to the token
// endpoint. Each call to the provider is one small request and answer, for
// which HTTP/2's framing, header compression and flow control cost more CPU
// than they save: HTTP/1.1 over kept-alive connections made a sign-in
// cheaper for oidcgate and for the provider alike (bench/README.md).
func outboundTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	// Once the default transport has been used, its TLS settings offer
	// HTTP/2 by ALPN, and a server would take the offer; it has no other
	// TLS settings of its own.
	t.TLSClientConfig = nil
	return t
}

// cookieSafe turns a site name into a cookie-name fragment.
func cookieSafe(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oidcgate/oidcgate/claims"
	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/session"
)

// forward sends a signed-in request upstream. Without a session (or with
// one a revocation mark has ended), a browser navigation goes to sign-in
// and anything else gets 401; nothing is forwarded without an identity.
// The marks are in memory: the check costs no round trip to the store.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, st *site) (user string) {
	if s.storeRefuses() {
		s.writeError(w, r, refuse(http.StatusServiceUnavailable, "store_unavailable",
			"Sessions cannot be checked right now. Please try again in a minute.", nil))
		return ""
	}
	sess, err := st.sessions.Load(r)
	if err == nil && sess.Site != "" && sess.Site != st.name {
		err = session.ErrNoSession
	}
	if err == nil && s.store.Revoked(sessionIdentity(sess)) {
		st.sessions.Clear(w, r)
		err = session.ErrNoSession
	}
	if err != nil {
		s.unauthenticated(w, r, st, err)
		return ""
	}
	ctx := &outboundContext{Context: r.Context(), ob: outbound{identity: claims.Identity{
		User:               sess.User,
		AuthenticationType: sess.AuthenticationType,
		Email:              sess.Email,
		PreferredUsername:  sess.PreferredUsername,
		Issuer:             sess.Issuer,
	}}}
	if ctx.ob.tokens, err = s.injectTokens(r, st); err != nil {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			err = withRetry(err, r.URL.RequestURI())
		}
		s.writeError(w, r, err)
		return sess.User
	}
	r = r.WithContext(ctx)
	start := time.Now()
	st.proxy.ServeHTTP(w, r)
	st.latency.Observe(since(start))
	return sess.User
}

// unauthenticated answers a request without a usable session. A cookie
// that is there but cannot be trusted (tampered, made with a key this
// server does not have) gets an error page that also clears it.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, st *site, err error) {
	login := st.signInPath + "?ReturnUrl=" + url.QueryEscape(r.URL.RequestURI())
	// A cookie that cannot be read is not cleared: it may be one planted
	// beside the user's own (which the browser would then lose); signing
	// in again replaces the user's own.
	switch {
	case errors.Is(err, session.ErrSessionConflict):
		e := refuse(http.StatusUnauthorized, "session_cookie_conflict",
			"Your browser sent two different sessions for this site, one of them perhaps planted by another site. Neither was used. Clear this site's cookies and sign in again.", err)
		s.writeErrorLink(w, r, e, login, "Sign in again")
		return
	case !errors.Is(err, session.ErrNoSession) && !errors.Is(err, session.ErrSessionExpired):
		e := refuse(http.StatusUnauthorized, "session_cookie_invalid",
			"Your session cookie could not be read: it was changed, or it was made with a key this server no longer has. Please sign in again.", err)
		s.writeErrorLink(w, r, e, login, "Sign in again")
		return
	}
	if isNavigation(r) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, login, http.StatusFound)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="oidcgate"`)
	s.writeError(w, r, refuse(http.StatusUnauthorized, "unauthenticated", "This request needs a signed-in session. Sign in with a browser first.", nil))
}

// isNavigation: a browser loading a page (GET or HEAD that accepts HTML),
// as opposed to a script or an API client.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Sec-Fetch-Mode") != "" && r.Header.Get("Sec-Fetch-Mode") != "navigate" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// ownsCookie reports whether a cookie is one of oidcgate's own: a
// session, its chunks or a login state, of any site, with or without the
// __Host- prefix. These never reach a backend.
func (s *Server) ownsCookie(name string) bool {
	for _, n := range s.cookieNames {
		if session.Owns(n, name) {
			return true
		}
	}
	return false
}

// dropOwnSetCookies removes the backend's Set-Cookie lines for cookies
// named like oidcgate's: a backend page could otherwise end the user's
// session, or plant a second cookie of its name beside it.
func (s *Server) dropOwnSetCookies(h http.Header) {
	lines := h["Set-Cookie"]
	own := func(line string) bool {
		name, _, _ := strings.Cut(line, "=")
		return s.ownsCookie(strings.TrimSpace(name))
	}
	if !slices.ContainsFunc(lines, own) {
		return
	}
	kept := slices.DeleteFunc(slices.Clone(lines), own)
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// outbound is what forward decided about a request, for Rewrite to put on
// the request that leaves for the backend.
type outbound struct {
	identity claims.Identity
	tokens   []string // one access token per entry of the site's inject
}

type outboundKey struct{}

// outboundContext carries a request's outbound to Rewrite: a context of
// its own rather than context.WithValue and a separate value, so it costs
// one allocation per request instead of two.
type outboundContext struct {
	context.Context
	ob outbound
}

func (c *outboundContext) Value(key any) any {
	if key == (outboundKey{}) {
		return &c.ob
	}
	return c.Context.Value(key)
}

// reverseProxy forwards to the site's upstream. Rewrite (not Director)
// starts from a request without the client's X-Forwarded-* headers and
// without the hop-by-hop headers its Connection header names; the site's
// path prefix is replaced by the upstream's path. Every header oidcgate
// vouches for is set here, on the outbound request, so nothing the client
// sends can remove it afterwards.
func (s *Server) reverseProxy(st *site, transport http.RoundTripper) *httputil.ReverseProxy {
	up := st.upstream
	upEscaped := up.EscapedPath()
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			in, out := pr.In, pr.Out
			ob, ok := in.Context().Value(outboundKey{}).(*outbound)
			if !ok {
				// Only forward sends requests here, always with an
				// outbound; without one nothing leaves.
				panic(http.ErrAbortHandler)
			}
			out.URL.Scheme = up.Scheme
			out.URL.Host = up.Host
			out.Host = ""
			out.URL.Path = up.Path + in.URL.Path[len(st.prefix):]
			out.URL.RawPath = ""
			if in.URL.RawPath != "" {
				if esc := in.URL.EscapedPath(); hasPrefixFold(esc, st.prefix) {
					out.URL.RawPath = upEscaped + esc[len(st.prefix):]
				}
			}
			h := out.Header
			claims.StripIdentity(h, st.stripHeaders...)
			session.StripCookies(h, s.ownsCookie)
			onlyWebSocketUpgrade(h)
			ob.identity.SetHeaders(h)
			for i, inj := range st.inject {
				h[inj.header] = []string{"Bearer " + ob.tokens[i]}
			}
			// The request id set at the edge, unless the client's
			// Connection header had it dropped.
			if id := in.Header["X-Request-Id"]; len(id) == 1 && len(h["X-Request-Id"]) != 1 {
				h["X-Request-Id"] = []string{id[0]}
			}
			// ReverseProxy dropped the client's X-Forwarded-For from out;
			// a trusted load balancer's is kept, and SetXForwarded adds
			// the address the request came from after it.
			if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 && s.trusted.has(in.RemoteAddr) {
				out.Header["X-Forwarded-For"] = prior
			}
			pr.SetXForwarded()
			if in.TLS == nil {
				// TLS ended at a load balancer: the browser's scheme is
				// still https (base_url's).
				out.Header.Set("X-Forwarded-Proto", "https")
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// The request id is ours; a backend echoing it would double it.
			resp.Header.Del("X-Request-Id")
			if resp.StatusCode == http.StatusSwitchingProtocols && !isWebSocketUpgrade(resp.Header) {
				return fmt.Errorf("the backend switched protocols to %q; only websocket is forwarded", resp.Header.Get("Upgrade"))
			}
			s.dropOwnSetCookies(resp.Header)
			return nil
		},
		Transport:    transport,
		ErrorHandler: s.upstreamErrorHandler(st),
		BufferPool:   s.buffers,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// onlyWebSocketUpgrade drops an Upgrade to anything but websocket (h2c, or
// a protocol oidcgate cannot look into), so the request goes on as plain
// HTTP, as a server that ignores Upgrade answers it.
func onlyWebSocketUpgrade(h http.Header) {
	if _, ok := h["Upgrade"]; ok && !isWebSocketUpgrade(h) {
		delete(h, "Upgrade")
		delete(h, "Connection")
	}
}

// hasToken reports whether one of the comma-separated lists in values
// holds token, in any letter case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// isWebSocketUpgrade reports whether h asks for (or answers with) a switch
// to websocket and nothing else.
func isWebSocketUpgrade(h http.Header) bool {
	return hasToken(h["Connection"], "upgrade") &&
		len(h["Upgrade"]) == 1 && strings.EqualFold(strings.TrimSpace(h["Upgrade"][0]), "websocket")
}

// copyBufferSize is the buffer httputil.ReverseProxy copies a response
// body through when it is given none.
const copyBufferSize = 32 << 10

// bufferPool lends the reverse proxies their copy buffers, which they
// would otherwise allocate, 32 KB each, for every request.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, copyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		buf = buf[:copyBufferSize]
		b.p.Put(&buf)
	}
}

// upstreamErrorHandler is the site's ReverseProxy.ErrorHandler, which is
// handed the request that went upstream.
func (s *Server) upstreamErrorHandler(st *site) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, out *http.Request, err error) {
		s.upstreamError(w, out, err, st.retryURL(out))
	}
}

// upstreamError renders a backend failure: 504 when it timed out, 502
// otherwise, with a link to try again at retry (none when "").
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error, retry string) {
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		// The client went away; nobody is left to read a page.
		return
	}
	if isTimeout(err) {
		s.writeError(w, r, withRetry(refuse(http.StatusGatewayTimeout, "upstream_timeout", "The site did not answer in time. Please try again.", err), retry))
		return
	}
	s.writeError(w, r, withRetry(refuse(http.StatusBadGateway, "upstream_failed", "The site could not be reached. Please try again in a moment.", err), retry))
}

// retryURL is where the browser asked to go, read back from the request
// that went upstream (the upstream's path in place of the site's prefix),
// for a page's "Try again"; "" for requests that are not page loads.
func (st *site) retryURL(out *http.Request) string {
	if out.Method != http.MethodGet && out.Method != http.MethodHead {
		return ""
	}
	rest, ok := strings.CutPrefix(out.URL.EscapedPath(), st.upstream.EscapedPath())
	target := st.prefix + rest
	if !ok || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") {
		return st.prefix // never a link that leaves the site ("//host/…")
	}
	if out.URL.RawQuery != "" {
		target += "?" + out.URL.RawQuery
	}
	return target
}

func upstreamTransport(l config.Limits) *http.Transport {
	dialer := &net.Dialer{Timeout: l.UpstreamDialTimeout.Duration, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // upstreams are reached directly, never through HTTP_PROXY
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   l.UpstreamDialTimeout.Duration,
		ResponseHeaderTimeout: l.UpstreamResponseHeaderTimeout.Duration,
		ExpectContinueTimeout: time.Second,
	}
}

package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/oidcgate/oidcgate/session"
	"github.com/prometheus/client_golang/prometheus"
)

// site is one [[sites]] entry, ready to answer: the host and path prefix it
// owns, its own endpoints as absolute paths, and the reverse proxy to its
// upstream.
type site struct {
	name     string
	hostname string // lower case
	port     string // "" matches any port
	prefix   string // "/Administration/", as configured

	signInPath, callbackPath, signOutPath, deniedPath string
	backChannelPath, frontChannelPath                 string
	redirectURI                                       string // absolute callback URL registered at the provider
	baseURL                                           string

	upstream *url.URL
	proxy    *httputil.ReverseProxy
	sessions *session.Store
	// ownSession: single sign-on is off, so this site's sessions are
	// bound to it and kept in a cookie of its own.
	ownSession bool
	inject     []injection
	// stripHeaders are removed from every request forwarded to the site,
	// besides the identity and trusted headers: the inject entries' header
	// names, which clients may not send either, and strip_headers.
	stripHeaders []string

	counters *siteCounters
	latency  prometheus.Observer
}

// route finds the site for a request by host and longest path prefix;
// sites are sorted longest prefix first. It also reports whether the path is
// the prefix without its trailing slash ("/Administration"), which is
// redirected to the prefix the way IIS does.
func (s *Server) route(r *http.Request) (st *site, bare bool) {
	hostname, port := splitHost(r.Host)
	for _, c := range s.sites {
		if !strings.EqualFold(hostname, c.hostname) || (c.port != "" && port != c.port) {
			continue
		}
		if hasPrefixFold(r.URL.Path, c.prefix) {
			return c, false
		}
		if strings.EqualFold(r.URL.Path, c.prefix[:len(c.prefix)-1]) {
			return c, true
		}
	}
	return nil, false
}

// splitHost splits a Host header into name and port without allocating:
// "example.com:8443", "example.com", "[::1]:8443", "[::1]".
func splitHost(hostport string) (host, port string) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return hostport, ""
		}
		host, rest := hostport[1:end], hostport[end+1:]
		if strings.HasPrefix(rest, ":") {
			return host, rest[1:]
		}
		return host, ""
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && strings.IndexByte(hostport, ':') == i {
		return hostport[:i], hostport[i+1:]
	}
	return hostport, ""
}

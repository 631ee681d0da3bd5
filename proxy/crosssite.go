package proxy

import (
	"net/http"
	"net/url"
	"strings"
)

// crossSite reports whether the browser marks r as sent from another site:
// Sec-Fetch-Site says cross-site, or Origin names an origin other than
// the site's own (or "null", an opaque origin such as a sandboxed frame's).
// The site's own origin is its base_url's, or the one the request was sent
// to (a port the base_url leaves out): a browser never sends the target's
// own origin from another page. A request with neither header comes from a
// browser too old to say, or from no browser; it is taken as it is.
func crossSite(r *http.Request, st *site) bool {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return !sameOrigin(origin, st.baseURL) && !sameOrigin(origin, scheme+"://"+r.Host)
}

// sameOrigin compares an Origin header with the site's base URL: scheme,
// host and port, the port written or not.
func sameOrigin(origin, base string) bool {
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" {
		return false
	}
	b, err := url.Parse(base)
	if err != nil {
		return false
	}
	return strings.EqualFold(o.Scheme, b.Scheme) && strings.EqualFold(o.Hostname(), b.Hostname()) && portOf(o) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

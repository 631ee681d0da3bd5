package claims

import (
	"net/http"
	"strings"
)

// The headers the backend trusts to say who the user is.
const (
	HeaderUser              = "X-Forwarded-User"
	HeaderAuthType          = "X-Forwarded-Authentication-Type"
	HeaderEmail             = "X-Forwarded-Email"
	HeaderPreferredUsername = "X-Forwarded-Preferred-Username"
	HeaderIssuer            = "X-Forwarded-Issuer"
)

// StripIdentity removes from h every header the backend could take as said
// by the proxy: the identity headers, X-Forwarded-For, X-Forwarded-Host,
// X-Forwarded-Proto, Forwarded, the headers that other proxies and
// frameworks set and backends trust (see isTrusted), and the extra names
// (headers the proxy itself injects, such as Authorization, and the
// operator's strip_headers).
//
// Names are compared ignoring ASCII case and treating '_' as '-', whatever
// the key's spelling in the map: Go leaves "X_forwarded_user" apart from
// "X-Forwarded-User", but IIS and CGI-style backends read both as
// HTTP_X_FORWARDED_USER. Forwarded (RFC 7239) goes too: a backend may trust
// it for the client address or scheme, and removing it here does not depend
// on how the caller forwards the request.
//
// It does not allocate when there is nothing to remove.
func StripIdentity(h http.Header, extra ...string) {
	for key := range h {
		if IsProxyHeader(key) || isTrusted(key) || anySameName(key, extra) {
			delete(h, key)
		}
	}
}

// IdentityHeaders are the headers SetHeaders writes, in canonical form.
func IdentityHeaders() []string {
	return []string{HeaderUser, HeaderAuthType, HeaderEmail, HeaderPreferredUsername, HeaderIssuer}
}

// proxyHeaders are what StripIdentity always removes: the identity headers
// and those that say where the request came from.
var proxyHeaders = append(IdentityHeaders(), "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded")

// IsProxyHeader reports whether a header of this name is removed by
// StripIdentity whatever the extra names: the identity headers,
// X-Forwarded-For, -Host, -Proto and Forwarded, compared as StripIdentity
// compares them.
func IsProxyHeader(key string) bool { return anySameName(key, proxyHeaders) }

// trustedHeaders are headers that other proxies set and backends or their
// frameworks act on: X-Original-URL and X-Rewrite-URL make IIS URL Rewrite
// and several frameworks route on another path than the one oidcgate
// checked; Remote-User and X-Remote-User name a user; the other
// X-Forwarded-* names are taken for the user, the path or the scheme.
var trustedHeaders = []string{
	"X-Original-URL", "X-Rewrite-URL", "Remote-User", "X-Remote-User",
	"X-Forwarded-Groups", "X-Forwarded-Username", "X-Forwarded-Prefix",
	"X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Ssl",
}

// trustedPrefixes: App Service authentication's identity
// (X-MS-CLIENT-PRINCIPAL, -NAME, -ID, -IDP) and oauth2-proxy's.
var trustedPrefixes = []string{"X-MS-CLIENT-PRINCIPAL", "X-Auth-Request-"}

// isTrusted reports whether StripIdentity removes key as a header other
// proxies set (see trustedHeaders).
func isTrusted(key string) bool {
	if anySameName(key, trustedHeaders) {
		return true
	}
	for _, p := range trustedPrefixes {
		if len(key) >= len(p) && sameName(key[:len(p)], p) {
			return true
		}
	}
	return false
}

func anySameName(key string, names []string) bool {
	for _, n := range names {
		if sameName(key, n) {
			return true
		}
	}
	return false
}

// sameName reports whether two header names are equal ignoring ASCII case
// and the difference between '_' and '-'.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if foldName(a[i]) != foldName(b[i]) {
			return false
		}
	}
	return true
}

func foldName(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case c == '_':
		return '-'
	}
	return c
}

// SetHeaders writes the identity headers into h. User, authentication type
// and issuer are always set; email and preferred username only when known,
// and removed otherwise, so a stale value never survives.
//
// Claim values come from the provider and are partly chosen by users. Match
// never returns a value with control characters; for any other Identity they
// are dropped here, because Go's transport refuses a header value with CR,
// LF or NUL and the request would fail instead of being forwarded.
//
// Only the canonical spellings are touched: call StripIdentity first.
func (id Identity) SetHeaders(h http.Header) {
	// One backing array for every value, as http.Header.Clone does; values
	// are never appended to, so sharing it is safe.
	vals := make([]string, 0, 5)
	set := func(key, v string) {
		vals = append(vals, dropControl(v))
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set(HeaderUser, id.User)
	set(HeaderAuthType, id.AuthenticationType)
	set(HeaderIssuer, id.Issuer)
	if id.Email != "" {
		set(HeaderEmail, id.Email)
	} else {
		delete(h, HeaderEmail)
	}
	if id.PreferredUsername != "" {
		set(HeaderPreferredUsername, id.PreferredUsername)
	} else {
		delete(h, HeaderPreferredUsername)
	}
}

func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if isControl(s[i]) {
			return true
		}
	}
	return false
}

func dropControl(s string) string {
	if !hasControl(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if !isControl(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

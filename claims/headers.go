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
// X-Forwarded-Proto, Forwarded, and the extra names (headers the proxy
// itself injects, such as Authorization).
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
		if isProxyHeader(key) || anySameName(key, extra) {
			delete(h, key)
		}
	}
}

func isProxyHeader(key string) bool {
	const prefix = "x-forwarded-"
	if len(key) <= len(prefix) || !sameName(key[:len(prefix)], prefix) {
		return sameName(key, "forwarded")
	}
	rest := key[len(prefix):]
	return sameName(rest, "user") ||
		sameName(rest, "authentication-type") ||
		sameName(rest, "email") ||
		sameName(rest, "preferred-username") ||
		sameName(rest, "issuer") ||
		sameName(rest, "for") ||
		sameName(rest, "host") ||
		sameName(rest, "proto")
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

// StripCookies removes from the Cookie header(s) of h every cookie for which
// own reports true, so the proxy's session never reaches the backend. The
// cookies kept are joined with "; " into a single Cookie header, in their
// order and with their text as received, apart from surrounding spaces; when
// none are left the header is removed. Several Cookie lines (HTTP/2 sends one
// per cookie) are treated as one list.
//
// A cookie's name is the text before its first '=', without surrounding
// spaces; a piece with no '=' is passed whole. Values are never decoded or
// re-quoted, unlike http.Request.Cookies, which drops what it cannot parse.
//
// It does not allocate when no cookie is the proxy's, and copies no cookie
// text when the ones kept are already side by side, as browsers send them.
// own must not be nil.
func StripCookies(h http.Header, own func(name string) bool) {
	lines := h["Cookie"]
	if !anyOwn(lines, own) {
		return
	}
	if len(lines) == 1 {
		if kept, ok := keptSpan(lines[0], own); ok {
			h["Cookie"] = []string{kept}
			return
		}
	}
	var b strings.Builder
	size := 0
	for _, line := range lines {
		size += len(line) + 2
	}
	b.Grow(size)
	for _, line := range lines {
		for line != "" {
			var piece string
			piece, line, _ = strings.Cut(line, ";")
			piece = trimSpace(piece)
			if piece == "" || own(cookieName(piece)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(piece)
		}
	}
	if b.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{b.String()}
}

// keptSpan is the common case without copying: when the cookies kept are
// next to each other in line and already separated by "; ", what
// StripCookies would build is a piece of line itself. It reports false
// otherwise, and when nothing would be kept.
func keptSpan(line string, own func(string) bool) (string, bool) {
	start, end := -1, -1
	for off := 0; off < len(line); {
		piece, _, _ := strings.Cut(line[off:], ";")
		at := off
		off += len(piece) + 1
		trimmed := trimSpace(piece)
		if trimmed == "" || own(cookieName(trimmed)) {
			continue
		}
		at += len(piece) - len(trimLeftSpace(piece))
		if start < 0 {
			start = at
		} else if line[end:at] != "; " {
			return "", false
		}
		end = at + len(trimmed)
	}
	if start < 0 {
		return "", false
	}
	return line[start:end], true
}

func anyOwn(lines []string, own func(string) bool) bool {
	for _, line := range lines {
		for line != "" {
			var piece string
			piece, line, _ = strings.Cut(line, ";")
			if piece = trimSpace(piece); piece != "" && own(cookieName(piece)) {
				return true
			}
		}
	}
	return false
}

func cookieName(piece string) string {
	name, _, _ := strings.Cut(piece, "=")
	return trimSpace(name)
}

// trimSpace trims the optional whitespace of HTTP (space and tab) only.
func trimSpace(s string) string {
	s = trimLeftSpace(s)
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeftSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

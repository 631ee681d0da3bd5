package session

import (
	"net/textproto"
	"strings"
)

// cookieValue returns the value of the first cookie called name in the
// Cookie header lines, with the meaning http.Request.Cookie gives it: pairs
// are split at ';' and trimmed, a value may be wrapped in double quotes,
// and a pair whose value has a byte no cookie may carry is skipped, so a
// later pair of the same name can still count. Unlike Request.Cookie it
// builds no Cookie for every pair the browser sent; it runs on every
// forwarded request. (Request.Cookie also gives up when a request carries
// more than 3,000 cookies; the server's header size limit bounds the work
// here instead.)
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			n, v, _ := strings.Cut(textproto.TrimString(pair), "=")
			if textproto.TrimString(n) != name {
				continue
			}
			if v, ok := cookieText(v); ok {
				return v, true
			}
		}
	}
	return "", false
}

// cookieValues appends to dst the value of every cookie called name in the
// Cookie header lines, in their order, with cookieValue's meaning. A
// browser sends several when cookies of the same name were set for
// different paths or domains, such as one planted by a sibling subdomain.
func cookieValues(dst []string, lines []string, name string) []string {
	for _, line := range lines {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			n, v, _ := strings.Cut(textproto.TrimString(pair), "=")
			if textproto.TrimString(n) != name {
				continue
			}
			if v, ok := cookieText(v); ok {
				dst = append(dst, v)
			}
		}
	}
	return dst
}

// cookieText checks a cookie value as net/http does: surrounding double
// quotes are dropped, and every byte left must be a cookie-octet of RFC
// 6265 or a space or comma, which browsers send.
func cookieText(raw string) (string, bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
			return "", false
		}
	}
	return raw, true
}

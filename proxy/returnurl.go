package proxy

import (
	"net/url"
	"path"
	"strings"
)

// safeReturnURL returns raw when it is a path on the site whose path prefix
// is prefix, and prefix itself otherwise. Browsers are generous readers of
// URLs ("\" as "/", tabs and newlines dropped, "//host" as another host), so
// anything a browser could read as leaving the site is refused rather than
// repaired.
func safeReturnURL(raw, prefix string) string {
	if raw == "" || len(raw) > 4096 || raw[0] != '/' {
		return prefix
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return prefix
		}
	}
	if strings.HasPrefix(raw, "//") {
		return prefix
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return prefix
	}
	// The cleaned path must stay under the site: "/Site/../Other/" is
	// another site on the same host.
	clean := path.Clean(u.Path)
	if !strings.HasSuffix(clean, "/") && strings.HasSuffix(u.Path, "/") {
		clean += "/"
	}
	if !hasPrefixFold(clean, prefix) {
		// The site's root without its slash is the site's root.
		return prefix
	}
	out := (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return prefix
	}
	return out
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case, the way IIS
// matches paths.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

package proxy

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnURL(t *testing.T) {
	const site = "/Administration/"
	tests := []struct{ in, want string }{
		{"", site},
		{"/Administration/", "/Administration/"},
		{"/Administration/page.aspx?id=1&x=%2F", "/Administration/page.aspx?id=1&x=%2F"},
		{"/administration/page", "/administration/page"},
		{"/Administration", site},
		{"/AdministrAtion", site},
		{"https://evil.example/Administration/", site},
		{"//evil.example/Administration/", site},
		{`/\evil.example`, site},
		{`/Administration/\..\..\evil`, site},
		{"/Administration/../Flowtime/", site},
		{"/Administration/./page", "/Administration/page"},
		{"/\t/evil.example", site},
		{"javascript:alert(1)", site},
		{"/Administration/#frag", "/Administration/"},
	}
	for _, tt := range tests {
		if got := safeReturnURL(tt.in, site); got != tt.want {
			t.Errorf("safeReturnURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafeReturnURL holds the property oidcgate promises: whatever the
// input, the result is a path on the same site.
func FuzzSafeReturnURL(f *testing.F) {
	for _, s := range []string{"/Administration/x", "//evil", `/\evil`, "https://evil", "/Administration/../x", "/Administration/%2e%2e/", "/Administration/?a=//b"} {
		f.Add(s)
	}
	const site = "/Administration/"
	f.Fuzz(func(t *testing.T, in string) {
		out := safeReturnURL(in, site)
		if !hasPrefixFold(out, site) || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\t\r\n") {
			t.Fatalf("safeReturnURL(%q) = %q; not a path on the site", in, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("safeReturnURL(%q) = %q; parses as %#v", in, out, u)
		}
	})
}

func TestSplitHost(t *testing.T) {
	tests := []struct{ in, host, port string }{
		{"example.com:8443", "example.com", "8443"},
		{"example.com", "example.com", ""},
		{"[::1]:8443", "::1", "8443"},
		{"[::1]", "::1", ""},
		{"::1", "::1", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if h, p := splitHost(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHost(%q) = %q, %q; want %q, %q", tt.in, h, p, tt.host, tt.port)
		}
	}
}

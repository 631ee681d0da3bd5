package proxy

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestCrossSite(t *testing.T) {
	st := &site{baseURL: "https://cora.example.com/Administration/"}
	tests := []struct {
		name, host, fetchSite, origin string
		want                          bool
	}{
		{"no headers", "cora.example.com", "", "", false},
		{"same origin", "cora.example.com", "same-origin", "https://cora.example.com", false},
		{"same origin, default port written", "cora.example.com", "", "https://cora.example.com:443", false},
		{"same site (a sibling subdomain)", "cora.example.com", "same-site", "", false},
		{"typed in the address bar", "cora.example.com", "none", "", false},
		{"cross-site", "cora.example.com", "cross-site", "", true},
		{"cross-site, capitals", "cora.example.com", "Cross-Site", "", true},
		{"another origin", "cora.example.com", "", "https://evil.example", true},
		{"another scheme", "cora.example.com", "", "http://cora.example.com", true},
		{"another port", "cora.example.com", "", "https://cora.example.com:8443", true},
		{"the port the request came to", "cora.example.com:8443", "", "https://cora.example.com:8443", false},
		{"opaque origin", "cora.example.com", "", "null", true},
		{"garbage", "cora.example.com", "", "%%%", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "https://"+tt.host+"/Administration/oidcServices/signoutinitiation", nil)
		r.TLS = &tls.ConnectionState{}
		if tt.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
		}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := crossSite(r, st); got != tt.want {
			t.Errorf("%s: crossSite(Host %q, Sec-Fetch-Site %q, Origin %q) = %v; want %v", tt.name, tt.host, tt.fetchSite, tt.origin, got, tt.want)
		}
	}
}

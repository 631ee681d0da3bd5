package proxy_test

import (
	"net/http"
	"testing"
)

// TestTrustedProxiesForwardedFor: the X-Forwarded-For of a trusted load
// balancer reaches the backend extended by its address; from anyone else
// it is replaced by the sender's address. The test's requests come from
// 127.0.0.1.
func TestTrustedProxiesForwardedFor(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		sent    []string // X-Forwarded-For as the client sends it
		want    string
	}{
		{"no trusted proxies", "", []string{"203.0.113.9"}, "127.0.0.1"},
		{"sender not trusted", `["10.0.0.0/8", "192.0.2.10"]`, []string{"203.0.113.9"}, "127.0.0.1"},
		{"sender trusted by address", `["127.0.0.1"]`, []string{"203.0.113.9"}, "203.0.113.9, 127.0.0.1"},
		{"sender trusted by prefix, a chain in two headers", `["::1", "127.0.0.0/8"]`, []string{"203.0.113.9, 198.51.100.2", "192.0.2.1"}, "203.0.113.9, 198.51.100.2, 192.0.2.1, 127.0.0.1"},
		{"trusted sender without the header", `["127.0.0.1"]`, nil, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{}
			if tt.trusted != "" {
				s.top = "trusted_proxies = " + tt.trusted + "\n"
			}
			g := newGate(t, s)
			b := g.browser()
			g.signedIn(b, "/Administration/")
			r := b.Do(http.MethodGet, g.url+"/Administration/page", nil, http.Header{"X-Forwarded-For": tt.sent})
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d\n%s", r.StatusCode, r.Body)
			}
			got := g.backend.last(t).Header
			if xff := got.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != tt.want {
				t.Errorf("backend X-Forwarded-For = %q; want %q", xff, tt.want)
			}
			if p := got.Get("X-Forwarded-Proto"); p != "https" {
				t.Errorf("backend X-Forwarded-Proto = %q; want https", p)
			}
		})
	}
}

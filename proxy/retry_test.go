package proxy

import (
	"net/http"
	"net/url"
	"testing"
)

// TestRetryURL: the "Try again" link of a backend failure is the address
// the browser asked for, on the site, and never one that leaves it.
func TestRetryURL(t *testing.T) {
	up := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	tests := []struct {
		name     string
		prefix   string
		upstream string
		method   string
		out      string // the request as it went upstream
		want     string
	}{
		{"page with a query", "/Administration/", "http://10.0.0.5/administration/", "GET", "http://10.0.0.5/administration/reports/list.aspx?id=7", "/Administration/reports/list.aspx?id=7"},
		{"escaped path", "/Flowtime/", "http://10.0.0.5/Flowtime/", "GET", "http://10.0.0.5/Flowtime/a%20b", "/Flowtime/a%20b"},
		{"a form post is not retried", "/Flowtime/", "http://10.0.0.5/Flowtime/", "POST", "http://10.0.0.5/Flowtime/save", ""},
		{"root site, doubled slash", "/", "http://10.0.0.5/app/", "GET", "http://10.0.0.5/app//evil.example/x", "/"},
		{"root site", "/", "http://10.0.0.5/", "GET", "http://10.0.0.5/inbox", "/inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &site{prefix: tt.prefix, upstream: up(tt.upstream)}
			r, err := http.NewRequest(tt.method, tt.out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.retryURL(r); got != tt.want {
				t.Errorf("retryURL(%s %s) = %q; want %q", tt.method, tt.out, got, tt.want)
			}
		})
	}
}

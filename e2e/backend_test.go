package e2e

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// BackendHeaders are the request headers a Backend shows on its page, each
// in an element whose id is the lower-case name (#x-forwarded-user).
func BackendHeaders() []string {
	return []string{
		"X-Forwarded-User",
		"X-Forwarded-Authentication-Type",
		"X-Forwarded-Email",
		"X-Forwarded-Preferred-Username",
		"X-Forwarded-Issuer",
		"X-Forwarded-For",
		"X-Forwarded-Host",
		"X-Forwarded-Proto",
		"Authorization",
		"Cookie",
	}
}

// BackendRequest is what a Backend received.
type BackendRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
}

// Backend is a site behind oidcgate (plain HTTP, as IIS behind it would be):
// it records every request and answers with a page that shows the site's
// name (#site), the path (#path) and the identity headers it received.
type Backend struct {
	Name string
	URL  string // http://127.0.0.1:port, no trailing slash

	mu   sync.Mutex
	reqs []BackendRequest
}

// StartBackend starts a recording backend, closed when the test ends.
func StartBackend(t testing.TB, name string) *Backend {
	t.Helper()
	b := &Backend{Name: name}
	srv := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.reqs = append(b.reqs, BackendRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()})
	b.mu.Unlock()

	var rows strings.Builder
	for _, name := range BackendHeaders() {
		v, ok := r.Header[name]
		shown := "(absent)"
		if ok {
			shown = strings.Join(v, ", ")
		}
		fmt.Fprintf(&rows, "<tr><th>%s</th><td id=\"%s\">%s</td></tr>\n",
			name, strings.ToLower(name), html.EscapeString(shown))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>%[1]s</title>
<style>body{font-family:sans-serif;margin:40px}th{text-align:left;padding-right:16px}td{font-family:monospace}</style></head>
<body><h1 id="site">%[1]s</h1><p>Backend page <code id="path">%[2]s</code></p><table>
%[3]s</table></body></html>`, html.EscapeString(b.Name), html.EscapeString(r.URL.Path), rows.String())
}

// Requests returns a copy of every request received so far.
func (b *Backend) Requests() []BackendRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reqs)
}

// Last returns the latest request; ok is false if there was none.
func (b *Backend) Last() (r BackendRequest, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return BackendRequest{}, false
	}
	return b.reqs[len(b.reqs)-1], true
}

func TestBackendRecordsAndShowsHeaders(t *testing.T) {
	b := StartBackend(t, "Administration")
	req, err := http.NewRequest(http.MethodGet, b.URL+"/Administration/page?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-User", "alice@example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(page)

	got, ok := b.Last()
	if !ok || got.Path != "/Administration/page" || got.RawQuery != "x=1" || got.Header.Get("X-Forwarded-User") != "alice@example.com" {
		t.Errorf("Last() = %+v, %v; want GET /Administration/page?x=1 with X-Forwarded-User", got, ok)
	}
	for _, want := range []string{
		`<td id="x-forwarded-user">alice@example.com</td>`,
		`<td id="x-forwarded-email">(absent)</td>`,
		`<h1 id="site">Administration</h1>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

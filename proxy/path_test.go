package proxy

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/session"
)

func TestResolveDots(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/b/..", "/a/"},
		{"/a/b/.", "/a/b/"},
		{"/..", "/"},
		{"/../../x", "/x"},
		{"/a//../b", "/a/b"},
		{"/.well-known/x", "/.well-known/x"},
		{"/a/...", "/a/..."},
		{"/a/..b/c.", "/a/..b/c."},
	}
	for _, tt := range tests {
		if got := resolveDots(tt.in); got != tt.want {
			t.Errorf("resolveDots(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// pathHarness is a Server whose upstream transport records the URL of
// every request it is given, with an Administration session only (single
// sign-on off).
type pathHarness struct {
	s      *Server
	cookie string
	mu     sync.Mutex
	sent   []*url.URL
}

func (h *pathHarness) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.sent = append(h.sent, r.URL)
	h.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func newPathHarness(tb testing.TB) *pathHarness {
	tb.Helper()
	cfg, err := config.Parse([]byte(`listen = "127.0.0.1:0"
[tls]
cert_file = "unused.crt"
key_file = "unused.key"
[openid_connect]
discovery_kind = "JsonWebKeySet"
discovery_uri = "https://127.0.0.1:1/keys"
valid_issuer = "https://op.test"
authority = "https://op.test/authorize"
token_endpoint = "https://op.test/token"
client_id = "c"
client_secret = "s"
token_request_authorization_method = "client_secret_basic"
[session]
keys = ["`+session.GenerateKey()+`"]
[authentication]
sso_enabled = false
[[authentication.claims]]
claim_type = "email"
authentication_type = "Test"
[[sites]]
name = "Administration"
base_url = "https://cora.test/Administration/"
upstream = "http://backend.test/administration/"
[[sites]]
name = "Flowtime"
base_url = "https://cora.test/Flowtime/"
upstream = "http://backend.test/flowtime/"
`), "fuzz.toml")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	h := &pathHarness{}
	if h.s, err = New(ctx, Options{Config: cfg, UpstreamTransport: h}); err != nil {
		tb.Fatal(err)
	}
	var admin *site
	for _, st := range h.s.sites {
		if st.name == "Administration" {
			admin = st
		}
	}
	w := httptest.NewRecorder()
	sess := &session.Session{User: "alice@example.com", AuthenticationType: "Test", Issuer: "https://op.test", Site: "Administration", Expires: time.Now().Add(time.Hour)}
	if err := admin.sessions.Save(w, httptest.NewRequest("GET", "/", nil), sess); err != nil {
		tb.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		h.cookie = c.Name + "=" + c.Value
	}
	return h
}

// get sends a GET for target, parsed from the request line as the server
// parses it, and returns the status and the URL that left for the backend
// (nil when nothing did).
func (h *pathHarness) get(target string) (int, *url.URL, bool) {
	raw := "GET " + target + " HTTP/1.1\r\nHost: cora.test\r\nAccept: text/html\r\nCookie: " + h.cookie + "\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return 0, nil, false // net/http refuses it before oidcgate sees it
	}
	h.mu.Lock()
	h.sent = nil
	h.mu.Unlock()
	w := httptest.NewRecorder()
	h.s.ServeHTTP(w, r)
	io.Copy(io.Discard, w.Result().Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sent) == 0 {
		return w.Code, nil, true
	}
	return w.Code, h.sent[0], true
}

// checkForwarded is the promise: the forwarded path lies under the
// Administration upstream's path (the only site with a session) and has
// no dot segment, encoded or not.
func checkForwarded(t *testing.T, target string, u *url.URL) {
	t.Helper()
	for _, p := range []string{u.Path, u.EscapedPath()} {
		if !strings.HasPrefix(p, "/administration/") {
			t.Fatalf("GET %q forwarded as %q; want a path under /administration/", target, p)
		}
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			t.Fatalf("GET %q forwarded %q: %v", target, u.EscapedPath(), err)
		}
		name, _, _ := strings.Cut(dec, ";")
		if name == "." || name == ".." || strings.ContainsAny(dec, "/\\") {
			t.Fatalf("GET %q forwarded with segment %q: %q", target, seg, u.EscapedPath())
		}
	}
}

func TestForwardedPaths(t *testing.T) {
	h := newPathHarness(t)
	for _, target := range pathSeeds {
		code, u, ok := h.get(target)
		if !ok || u == nil {
			continue
		}
		if code != http.StatusOK {
			t.Errorf("GET %q = %d after forwarding", target, code)
		}
		checkForwarded(t, target, u)
	}
	if code, u, _ := h.get("/Administration/a/./b/../c%3Bd"); u == nil || u.EscapedPath() != "/administration/a/c%3Bd" {
		t.Errorf("GET /Administration/a/./b/../c%%3Bd = %d, forwarded %v; want /administration/a/c%%3Bd", code, u)
	}
}

var pathSeeds = []string{
	"/Administration/page",
	"/Administration/../Flowtime/inbox",
	"/Administration/%2e%2e/%2e%2e/internal-only/secret",
	"/Administration/..%2f..%2fFlowtime/x",
	"/Administration/..%5cFlowtime",
	"/Administration/x;/../../Flowtime/x",
	"/Administration/..;/Flowtime/x",
	"/Administration/a/./b/../../../x",
	"/Administration//..//../x",
	"/ADMINISTRATION/%41/./x",
	"/Administration/%252e%252e/x",
	"/Administration/.%2E/x",
	"/Flowtime/../Administration/x",
	"http://cora.test/Administration/../x",
	"/Administration/\u212a/../x",
}

// FuzzForwardedPath: whatever path a client sends, what reaches the
// backend is under the upstream path of the one site the client has a
// session for, and has no dot segment.
func FuzzForwardedPath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	h := newPathHarness(f)
	f.Fuzz(func(t *testing.T, target string) {
		if strings.ContainsAny(target, " \r\n") {
			return
		}
		_, u, _ := h.get(target)
		if u != nil {
			checkForwarded(t, target, u)
		}
	})
}

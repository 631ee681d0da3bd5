package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// accessLines are the request lines of a gate's JSON log.
func accessLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

// Each request gets one log line and an X-Request-Id that the backend and
// the client both see: the client's own when it is a sane token, else a
// new one.
func TestAccessLogAndRequestID(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup setup
	}{
		{"slog's JSON handler", setup{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.setup)
			b := g.browser()
			g.signedIn(b, "/Administration/")
			for _, c := range []struct {
				sent string
				kept bool
			}{
				{"lb-4f1c9e2a", true},
				{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
				{"trace_1.2", true},
				{strings.Repeat("x", 64), true},
				{"", false},
				{"has space", false},
				{strings.Repeat("x", 65), false},
				{`quote"d`, false},
				{"<script>alert(1)</script>", false},
				{"a%0d%0aSet-Cookie:x", false},
				{"id;rm", false},
				{"{jndi:ldap://x}", false},
			} {
				g.logs.Reset()
				start := time.Now()
				h := http.Header{}
				if c.sent != "" {
					h.Set("X-Request-Id", c.sent)
				}
				resp := b.Do(http.MethodGet, g.url+"/Administration/reports/week.aspx?id=7", nil, h)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("signed-in GET = %d; want 200", resp.StatusCode)
				}
				id := resp.Header.Get("X-Request-Id")
				switch {
				case c.kept && id != c.sent:
					t.Errorf("X-Request-Id %q came back as %q; want it kept", c.sent, id)
				case !c.kept && (id == c.sent || len(id) < 16 || strings.ContainsAny(id, " \"")):
					t.Errorf("X-Request-Id %q came back as %q; want a new id", c.sent, id)
				}
				if got := g.backend.last(t).Header.Values("X-Request-Id"); len(got) != 1 || got[0] != id {
					t.Errorf("backend got X-Request-Id %q; want exactly %q", got, id)
				}
				lines := accessLines(t, g.logs.String())
				if len(lines) != 1 {
					t.Fatalf("%d request lines for one request; want 1:\n%s", len(lines), g.logs.String())
				}
				l := lines[0]
				for key, want := range map[string]any{
					"level": "INFO", "site": "Administration", "method": "GET", "path": "/Administration/reports/week.aspx",
					"status": float64(200), "user": "alice@example.com", "request_id": id,
				} {
					if l[key] != want {
						t.Errorf("log %s = %v; want %v", key, l[key], want)
					}
				}
				if d, ok := l["duration"].(float64); !ok || d <= 0 || time.Duration(d) > time.Since(start) {
					t.Errorf("log duration = %v; want the request's time in nanoseconds", l["duration"])
				}
				if ts, err := time.Parse(time.RFC3339Nano, l["time"].(string)); err != nil || ts.Before(start) {
					t.Errorf("log time = %v; want when the request ended", l["time"])
				}
				if _, ok := l["outcome"]; ok {
					t.Errorf("a finished request was logged with outcome %v", l["outcome"])
				}
			}
		})
	}
}

// TestNoSiteRequestsLogged: a request for no site is logged with the Host
// it named (a load balancer sending the wrong one shows at once), at info
// level; favicon.ico and its kind, which browsers ask every host for, at
// debug level only.
func TestNoSiteRequestsLogged(t *testing.T) {
	for _, tt := range []struct {
		name, path, level string
	}{
		{"a page", "/Reports/", "INFO"},
		{"favicon.ico", "/favicon.ico", "DEBUG"},
		{"robots.txt", "/robots.txt", "DEBUG"},
		{"apple touch icon", "/apple-touch-icon-precomposed.png", "DEBUG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, setup{})
			g.logs.Reset()
			req, _ := http.NewRequest(http.MethodGet, g.url+tt.path, nil)
			req.Host = "internal-name.example:8443"
			resp, err := g.op.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s for no site = %d; want 404", tt.path, resp.StatusCode)
			}
			lines := accessLines(t, g.logs.String())
			if len(lines) != 1 {
				t.Fatalf("%d request lines; want 1:\n%s", len(lines), g.logs.String())
			}
			if l := lines[0]; l["host"] != "internal-name.example:8443" || l["level"] != tt.level || l["status"] != float64(404) {
				t.Errorf("request line host=%v level=%v status=%v; want internal-name.example:8443 %s 404", l["host"], l["level"], l["status"], tt.level)
			}
			refused := grep(g.logs.String(), `"msg":"request refused"`)
			if !strings.Contains(refused, `"level":"`+tt.level+`"`) || !strings.Contains(refused, `internal-name.example:8443`) {
				t.Errorf("refusal line not at %s or without the host:\n%s", tt.level, refused)
			}
		})
	}
}

package proxy_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// TestWebSocketPassesThrough upgrades a signed-in connection through
// oidcgate to a backend that echoes, as a websocket backend would after its
// handshake.
func TestWebSocketPassesThrough(t *testing.T) {
	var gotUser string
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			io.WriteString(w, "<h1>backend</h1>")
			return
		}
		gotUser = r.Header.Get("X-Forwarded-User")
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo: " + line)
		rw.Flush()
	}))
	t.Cleanup(echo.Close)

	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	r := startRun(t, op, echo.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: &recorder{}}
	b := g.browser()
	b.Client.Transport = r.client.Transport
	if last(b.Visit(r.public+"/Administration/")).StatusCode != http.StatusOK {
		t.Fatal("sign-in failed")
	}
	var cookies []string
	for _, c := range b.Jar.Cookies(mustURL(r.public + "/Administration/")) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}

	conn, err := tls.Dial("tcp", strings.TrimPrefix(r.public, "https://"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /Administration/socket HTTP/1.1\r\nHost: "+strings.TrimPrefix(r.public, "https://")+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: "+
		strings.Join(cookies, "; ")+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through oidcgate = %d; want 101", resp.StatusCode)
	}
	io.WriteString(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Errorf("after the upgrade read %q, %v; want the backend's echo", line, err)
	}
	if gotUser != "alice@example.com" {
		t.Errorf("backend saw X-Forwarded-User %q on the upgrade", gotUser)
	}
	// The upgrade's request line says 101, once the connection has ended.
	conn.Close()
	err = testkit.Until(5*time.Second, func() error {
		for _, l := range accessLines(t, r.logs.String()) {
			if l["path"] == "/Administration/socket" {
				if l["status"] != float64(http.StatusSwitchingProtocols) {
					return fmt.Errorf("websocket logged with status %v; want 101", l["status"])
				}
				return nil
			}
		}
		return errors.New("no request line for the websocket")
	})
	if err != nil {
		t.Error(err)
	}
}

// TestWriteTimeoutLogged: a response that write_timeout cuts off after
// its status line went out is logged as 504 "write_timeout", not as the
// 200 the client saw begin.
func TestWriteTimeoutLogged(t *testing.T) {
	stalled := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first part\n")
		http.NewResponseController(w).Flush()
		// The cut needs the wall clock to pass write_timeout: a socket's
		// deadline cannot be told the time.
		time.Sleep(400 * time.Millisecond)
		io.WriteString(w, strings.Repeat("second part\n", 1000))
		close(stalled)
	}))
	t.Cleanup(slow.Close)
	r := startRun(t, newTestOP(t), slow.URL, "[limits]\nwrite_timeout = \"200ms\"\n")
	waitRunReady(t, r)
	req, _ := http.NewRequest(http.MethodGet, r.public+"/Administration/stream", nil)
	for _, c := range mintSession(t, testKey1, "alice@example.com") {
		req.AddCookie(c)
	}
	resp, err := r.client.Do(req)
	if err == nil {
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	<-stalled
	err = testkit.Until(5*time.Second, func() error {
		for _, l := range accessLines(t, r.logs.String()) {
			if l["path"] == "/Administration/stream" {
				if l["status"] != float64(http.StatusGatewayTimeout) || l["outcome"] != "write_timeout" {
					return fmt.Errorf("cut response logged with status %v, outcome %v; want 504 write_timeout", l["status"], l["outcome"])
				}
				return nil
			}
		}
		return errors.New("no request line for the cut response")
	})
	if err != nil {
		t.Error(err)
	}
}

// upgradeBackend records the Upgrade header of each request and answers
// /administration/switch with a 101 to h2c, whatever was asked, as a
// backend that tunnels anything would.
type upgradeBackend struct {
	*httptest.Server
	mu       sync.Mutex
	upgrades []string
}

func newUpgradeBackend(t *testing.T) *upgradeBackend {
	ub := &upgradeBackend{}
	ub.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ub.mu.Lock()
		ub.upgrades = append(ub.upgrades, r.Header.Get("Upgrade")+"|"+r.Header.Get("Connection"))
		ub.mu.Unlock()
		if r.URL.Path != "/administration/switch" {
			io.WriteString(w, "<h1>backend</h1>")
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nunchecked bytes")
		rw.Flush()
	}))
	t.Cleanup(ub.Close)
	return ub
}

func (ub *upgradeBackend) seen() []string {
	ub.mu.Lock()
	defer ub.mu.Unlock()
	return append([]string(nil), ub.upgrades...)
}

// TestOnlyWebSocketUpgradesAreForwarded: an h2c (or any other) upgrade
// reaches the backend as a plain request, and a backend that switches to
// anything but websocket gets no tunnel to the client.
func TestOnlyWebSocketUpgradesAreForwarded(t *testing.T) {
	ub := newUpgradeBackend(t)
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	r := startRun(t, op, ub.URL, "")
	waitRunReady(t, r)
	g := &gate{t: t, op: op, url: r.public, logs: r.logs, backend: &recorder{}}
	b := g.browser()
	b.Client.Transport = r.client.Transport
	if last(b.Visit(r.public+"/Administration/")).StatusCode != http.StatusOK {
		t.Fatal("sign-in failed")
	}
	tests := []struct {
		name, path string
		lines      []string
		status     int
		backend    string // Upgrade|Connection the backend saw
	}{
		{"h2c", "/Administration/page", []string{"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}, http.StatusOK, "|"},
		{"a made-up protocol", "/Administration/page", []string{"Connection: upgrade", "Upgrade: raw-tcp"}, http.StatusOK, "|"},
		{"websocket offered with another", "/Administration/page", []string{"Connection: Upgrade", "Upgrade: websocket, h2c"}, http.StatusOK, "|"},
		{"a backend switching to h2c unasked", "/Administration/switch", nil, http.StatusBadGateway, "|"},
		{"a backend switching to h2c when websocket was asked", "/Administration/switch",
			[]string{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusBadGateway, "websocket|Upgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ub.seen())
			resp := g.rawGet(t, b, tt.path, tt.lines...)
			if resp.StatusCode != tt.status {
				t.Errorf("GET %s with %q = %d; want %d\n%s", tt.path, tt.lines, resp.StatusCode, tt.status, resp.Body)
			}
			if strings.Contains(resp.Body, "unchecked bytes") {
				t.Error("the backend's bytes after its 101 reached the client")
			}
			seen := ub.seen()[before:]
			if len(seen) != 1 || seen[0] != tt.backend {
				t.Errorf("backend saw Upgrade|Connection %q; want [%q]", seen, tt.backend)
			}
		})
	}
}

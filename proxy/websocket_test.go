package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
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
}

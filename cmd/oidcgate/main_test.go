package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/session"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(t); code != 2 || !strings.Contains(stderr, "usage") {
		t.Errorf("no command = %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command = %d %q", code, stderr)
	}
}

func TestGenkeyMakesUsableKeys(t *testing.T) {
	code, out, _ := runCmd(t, "genkey")
	k1 := strings.TrimSpace(out)
	if _, err := session.ParseKey(k1); code != 0 || err != nil {
		t.Fatalf("genkey = %d %q: %v", code, out, err)
	}
	_, out2, _ := runCmd(t, "genkey")
	if strings.TrimSpace(out2) == k1 {
		t.Error("genkey printed the same key twice")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	if code != 0 || !regexp.MustCompile(`^oidcgate \S+ \(go1\.\S+, commit \S+\)\n$`).MatchString(out) {
		t.Errorf("version = %d %q", code, out)
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	code, out, _ := runCmd(t, "check", "-config", "../../testdata/config/several-mistakes.toml")
	if code != 1 {
		t.Errorf("check of a bad file = %d; want 1", code)
	}
	if n := strings.Count(out, "\n  - "); n < 3 {
		t.Errorf("check reported %d problem(s); want them all:\n%s", n+1, out)
	}
	if !regexp.MustCompile(`several-mistakes\.toml: openid_connect\.client_id: `).MatchString(out) {
		t.Errorf("check output names no key paths:\n%s", out)
	}
	// A syntax error has its line and column, from the TOML library.
	_, out, _ = runCmd(t, "check", "-config", "../../testdata/config/syntax-error.toml")
	if !regexp.MustCompile(`syntax-error\.toml:\d+:\d+: `).MatchString(out) {
		t.Errorf("check output names no line for a syntax error:\n%s", out)
	}
}

func TestCheckExampleConfig(t *testing.T) {
	t.Setenv("OIDCGATE_CLIENT_SECRET", "example-secret")
	t.Setenv("OIDCGATE_COOKIE_KEY", session.GenerateKey())
	t.Setenv("OIDCGATE_COOKIE_KEY_PREVIOUS", session.GenerateKey())
	t.Setenv("OIDCGATE_MAIL_CLIENT_SECRET", "mail-secret")
	// check loads the TLS pair: give the example's paths real files.
	dir := t.TempDir()
	cert, key, err := testcert.Write(dir, time.Hour, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	example = []byte(strings.NewReplacer("/etc/oidcgate/tls/server.crt", cert, "/etc/oidcgate/tls/server.key", key).Replace(string(example)))
	path := filepath.Join(dir, "config.example.toml")
	if err := os.WriteFile(path, example, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCmd(t, "check", "-config", path); code != 0 {
		t.Errorf("check config.example.toml = %d\n%s%s", code, out, stderr)
	}
}

// writeConfig writes a configuration for a provider at issuer and a site
// on listen, with a real certificate pair.
func writeConfig(t *testing.T, issuer, listen, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := testcert.Write(dir, time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(extra, "[limits]") {
		// No load balancer drains a test's serve: it stops at once.
		extra += "\n[limits]\nshutdown_delay = \"0s\"\n"
	}
	toml := testconfig.Options{
		Listen:   listen,
		CertFile: cert, KeyFile: key,
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		ClientID:     "cora", ClientSecret: "the-client-secret-value",
		TokenAuth: "client_secret_post",
		Keys:      []string{session.GenerateKey()},
		Sites:     []testconfig.Site{{Name: "Administration", BaseURL: "https://127.0.0.1/Administration/", Upstream: "http://127.0.0.1:1/Administration/"}},
		Extra:     extra,
	}.TOML()
	path := filepath.Join(dir, "oidcgate.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// plainOP serves the test provider over plain HTTP on loopback, which the
// configuration allows for loopback hosts only.
func plainOP(t *testing.T) *fakeop.OP {
	t.Helper()
	op, err := fakeop.New(fakeop.Options{ClientID: "cora", ClientSecret: "the-client-secret-value", TokenAuthMethod: "client_secret_post",
		Users: []fakeop.User{{Name: "alice", Password: "pw", Claims: map[string]any{"email": "alice@example.com"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(op.Handler())
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL)
	return op
}

func TestCheckOnline(t *testing.T) {
	op := plainOP(t)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("client_id") != "" { // body method: this fake accepts Basic only
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"at-123456789","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tokens.Close)
	creds := fmt.Sprintf(`
[[credentials]]
name = "good"
client_id = "app"
client_secret = "cred-secret-1"
token_endpoint = %q
scopes = "api.read"
[[credentials]]
name = "refused"
client_id = "app"
client_secret = "cred-secret-2"
token_endpoint = %q
scopes = "api.read"
authentication_method = "body"
`, tokens.URL+"/token", tokens.URL+"/token")
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", creds)
	code, out, stderr := runCmd(t, "check", "-online", "-config", path)
	if code != 0 {
		t.Fatalf("check -online = %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"issuer:         " + op.Issuer(), "kid " + op.KeyID(), `credential "good": OK`, `warning: credential "refused"`, "invalid_client"} {
		if !strings.Contains(out, want) {
			t.Errorf("check -online output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"the-client-secret-value", "cred-secret-1", "cred-secret-2", "at-123456789"} {
		if strings.Contains(out+stderr, secret) {
			t.Errorf("check -online printed a secret %q", secret)
		}
	}

	down := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:0", "")
	if code, out, _ := runCmd(t, "check", "-online", "-config", down); code == 0 {
		t.Errorf("check -online with the provider down = 0:\n%s", out)
	}
}

func TestServeStartsAndStopsCleanly(t *testing.T) {
	op := plainOP(t)
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", path, "-log-format", "text"}, &bytes.Buffer{}, &stderr)
	}()

	addrRe := regexp.MustCompile(`listen=(127\.0\.0\.1:\d+)`)
	var addr string
	err := testkit.Until(5*time.Second, func() error {
		if m := addrRe.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			return nil
		}
		return errors.New("no listen line")
	})
	if err != nil {
		cancel()
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/Administration/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.ProtoMajor != 2 {
		t.Errorf("API call without a session = %d over HTTP/%d; want 401 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after a stop signal; want 0\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeRefusesAnInvalidFile(t *testing.T) {
	code, _, stderr := runCmd(t, "serve", "-config", "../../testdata/config/several-mistakes.toml")
	if code != 2 || !strings.Contains(stderr, "nothing was started") {
		t.Errorf("serve with a bad file = %d %q", code, stderr)
	}
}

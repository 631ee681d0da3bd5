package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
)

// GateSite is one [[sites]] entry.
type GateSite struct {
	Name, BaseURL, Upstream string
}

// GateRule is one [[authentication.claims]] entry.
type GateRule struct {
	ClaimType, OriginalIssuer, AuthenticationType string
}

// GateOptions is an oidcgate configuration, reduced to what the scenarios
// vary. TOML renders it in the operators' format, so that every scenario
// also proves a configuration file an operator could write.
type GateOptions struct {
	Listen      string // host:port of the public listener (see FreeAddr)
	AdminListen string // host:port; StartGate picks one when empty
	Cert        *Cert  // [tls]; its file also becomes oidcgate's SSL_CERT_FILE

	DiscoveryURL               string
	ClientID, ClientSecret     string
	TokenAuthMethod            string   // client_secret_basic | client_secret_post | private_key_jwt
	AssertionKeyFile           string   // private_key_jwt: client_assertion_key_file
	AssertionCertificateFile   string   // optional: client_assertion_certificate_file
	AuthorizationRequestMethod string   // GET | POST; empty: the key is left out (default POST)
	ResponseMode               string   // query | form_post; empty: left out (default query)
	Algorithms                 []string // empty: RS256 and ES256
	ForceReauthenticate        bool

	SessionKeys    []string // empty: one fresh key
	CookieName     string   // empty: left out (oidcgate's default); gates sharing a host in one browser need their own
	SSO            bool
	SignOutFromSTS bool
	Rules          []GateRule
	Sites          []GateSite
}

// RedirectURIs are the redirect URIs to register at the provider: one per
// site, <base_url>oidcServices/signinresponse.
func (o GateOptions) RedirectURIs() []string {
	var uris []string
	for _, s := range o.Sites {
		uris = append(uris, s.BaseURL+"oidcServices/signinresponse")
	}
	return uris
}

// SiteFor is a site named after the backend, at https://<listen>/<name>/,
// forwarding to <backend>/<name>/ (the IIS layout: one application per path).
func SiteFor(listen string, b *Backend) GateSite {
	return GateSite{
		Name:     b.Name,
		BaseURL:  "https://" + listen + "/" + b.Name + "/",
		Upstream: b.URL + "/" + b.Name + "/",
	}
}

// TOML renders the configuration file.
func (o GateOptions) TOML() string {
	algs := o.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256", "ES256"}
	}
	keys := o.SessionKeys
	if len(keys) == 0 {
		keys = []string{newSessionKey()}
	}
	var b strings.Builder
	kv := func(key string, value any) {
		switch v := value.(type) {
		case string:
			fmt.Fprintf(&b, "%s = %s\n", key, strconv.Quote(v))
		case bool:
			fmt.Fprintf(&b, "%s = %t\n", key, v)
		case []string:
			q := make([]string, len(v))
			for i, s := range v {
				q[i] = strconv.Quote(s)
			}
			fmt.Fprintf(&b, "%s = [%s]\n", key, strings.Join(q, ", "))
		}
	}
	kv("listen", o.Listen)
	if o.AdminListen != "" {
		kv("admin_listen", o.AdminListen)
	}
	b.WriteString("\n[tls]\n")
	if o.Cert != nil {
		kv("cert_file", o.Cert.CertFile)
		kv("key_file", o.Cert.KeyFile)
	}
	b.WriteString("\n[openid_connect]\n")
	kv("discovery_kind", "OpenIdDiscoveryDocument")
	kv("discovery_uri", o.DiscoveryURL)
	kv("client_id", o.ClientID)
	if o.ClientSecret != "" {
		kv("client_secret", o.ClientSecret)
	}
	kv("scopes", []string{"openid", "profile", "email"})
	kv("token_request_authorization_method", o.TokenAuthMethod)
	if o.AssertionKeyFile != "" {
		kv("client_assertion_key_file", o.AssertionKeyFile)
	}
	if o.AssertionCertificateFile != "" {
		kv("client_assertion_certificate_file", o.AssertionCertificateFile)
	}
	if o.AuthorizationRequestMethod != "" {
		kv("authorization_request_http_method", o.AuthorizationRequestMethod)
	}
	if o.ResponseMode != "" {
		kv("response_mode", o.ResponseMode)
	}
	kv("id_token_signing_alg_values", algs)
	kv("force_reauthenticate", o.ForceReauthenticate)

	b.WriteString("\n[session]\n")
	kv("keys", keys)
	if o.CookieName != "" {
		kv("cookie_name", o.CookieName)
	}
	kv("lifetime", "8h")
	kv("require_ssl", true)

	b.WriteString("\n[authentication]\n")
	kv("sso_enabled", o.SSO)
	kv("sign_out_from_sts", o.SignOutFromSTS)
	kv("login_url", "~/oidcServices/Signininitiation")
	kv("logout_url", "~/oidcServices/SignOutInitiation")
	kv("access_denied_url", "~/AccessDenied.aspx")
	for _, r := range o.Rules {
		b.WriteString("\n[[authentication.claims]]\n")
		kv("claim_type", r.ClaimType)
		if r.OriginalIssuer != "" {
			kv("original_issuer", r.OriginalIssuer)
		}
		kv("authentication_type", r.AuthenticationType)
	}
	for _, s := range o.Sites {
		b.WriteString("\n[[sites]]\n")
		kv("name", s.Name)
		kv("base_url", s.BaseURL)
		kv("upstream", s.Upstream)
	}
	return b.String()
}

// newSessionKey is what `oidcgate genkey` prints: base64 of 64 random bytes.
func newSessionKey() string {
	k := make([]byte, 64)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(k)
}

// FreeAddr is a loopback host:port that was free a moment ago. oidcgate's
// address must be known before the provider starts (its redirect URIs name
// it), so the port is chosen first.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("e2e: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Gate is a running `oidcgate serve`.
type Gate struct {
	Options  GateOptions
	AdminURL string // http://admin_listen

	mu  sync.Mutex
	log strings.Builder
}

// StartGate builds ./cmd/oidcgate, runs `oidcgate serve -config FILE` with
// o rendered as FILE and SSL_CERT_FILE naming o.Cert, waits until /readyz
// answers 200 (the provider's discovery and keys are loaded), and at the
// end of the test stops it with SIGTERM and checks that it exits 0.
func StartGate(t testing.TB, o GateOptions) *Gate {
	t.Helper()
	requireLong(t)
	if o.Cert == nil {
		t.Fatal("e2e: StartGate: GateOptions.Cert is required")
	}
	if o.AdminListen == "" {
		o.AdminListen = FreeAddr(t)
	}
	if len(o.SessionKeys) == 0 {
		o.SessionKeys = []string{newSessionKey()}
	}
	text := o.TOML()
	dir := t.TempDir()
	bin := filepath.Join(dir, "oidcgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/oidcgate")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("e2e: go build ./cmd/oidcgate: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "oidcgate.toml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatalf("e2e: %v", err)
	}

	g := &Gate{Options: o, AdminURL: "http://" + o.AdminListen}
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+o.Cert.CertFile)
	cmd.Stdout = gateLog{g}
	cmd.Stderr = gateLog{g}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start oidcgate: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	early := false // exited before it was ready: already reported
	t.Cleanup(func() {
		if early {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("oidcgate serve did not stop cleanly on SIGTERM: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("oidcgate serve still running 10s after SIGTERM")
		}
		if t.Failed() {
			t.Logf("oidcgate output:\n%s\nconfiguration:\n%s", g.Log(), text)
		}
	})

	if ended, err := g.waitReady(exited); err != nil {
		early = ended
		t.Fatalf("e2e: oidcgate serve %v\nconfiguration:\n%s", err, text)
	}
	return g
}

// waitReady polls /readyz until it answers 200 (nil), the process or Run
// ends first (ended), or 30 s pass.
func (g *Gate) waitReady(exited <-chan error) (ended bool, err error) {
	client := &http.Client{Timeout: 2 * time.Second}
	var exitErr error
	err = testkit.Until(30*time.Second, func() error {
		select {
		case exitErr = <-exited:
			ended = true
			return nil
		default:
		}
		resp, err := client.Get(g.AdminURL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	switch {
	case ended:
		return true, fmt.Errorf("exited before it was ready (%v):\n%s", exitErr, g.Log())
	case err != nil:
		return false, fmt.Errorf("not ready after 30s: %v\n%s", err, g.Log())
	}
	return false, nil
}

// Listener is a loopback listener on a free port, for RunGate: taking the
// port before the provider starts (its redirect URIs name it) leaves no
// window for another process to take it.
func Listener(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("e2e: listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// RunGate runs oidcgate in this process on ln, the way `oidcgate serve`
// does: o rendered as TOML and read back by config.Parse, served by
// proxy.Run. Outbound calls trust o.Cert, as SSL_CERT_FILE does for
// StartGate. It is much faster than StartGate (no build, no process), so
// scenarios use it except where the binary itself is the point. It waits
// until /readyz answers 200 and stops the proxy when the test ends.
func RunGate(t testing.TB, o GateOptions, ln net.Listener) *Gate {
	t.Helper()
	requireLong(t)
	if o.Cert == nil {
		t.Fatal("e2e: RunGate: GateOptions.Cert is required")
	}
	o.Listen = ln.Addr().String()
	adminLn := Listener(t)
	o.AdminListen = adminLn.Addr().String()
	text := o.TOML()
	cfg, err := config.Parse([]byte(text), "e2e-gate.toml")
	if err != nil {
		t.Fatalf("e2e: config.Parse: %v\nconfiguration:\n%s", err, text)
	}

	g := &Gate{Options: o, AdminURL: "http://" + o.AdminListen}
	logger := slog.New(slog.NewJSONHandler(gateLog{g}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan error, 1)
	go func() {
		exited <- proxy.Run(ctx, proxy.RunOptions{
			Options:       proxy.Options{Config: cfg, Logger: logger, OutboundClient: o.Cert.Client()},
			Listener:      ln,
			AdminListener: adminLn,
		})
	}()
	stopped := false
	t.Cleanup(func() {
		cancel()
		if !stopped {
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("proxy.Run after cancel = %v; want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("proxy.Run still running 10s after cancel")
			}
		}
		if t.Failed() {
			t.Logf("oidcgate (in process) output:\n%s\nconfiguration:\n%s", g.Log(), text)
		}
	})

	if ended, err := g.waitReady(exited); err != nil {
		stopped = ended
		t.Fatalf("e2e: proxy.Run %v\nconfiguration:\n%s", err, text)
	}
	return g
}

// Log is everything oidcgate wrote (its structured log lines).
func (g *Gate) Log() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.String()
}

type gateLog struct{ g *Gate }

func (w gateLog) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	return w.g.log.Write(p)
}

func TestGateOptionsTOMLIsAValidConfig(t *testing.T) {
	cert := NewCert(t)
	admin := &Backend{Name: "Administration", URL: "http://127.0.0.1:8080"}
	flow := &Backend{Name: "Flowtime", URL: "http://127.0.0.1:8080"}
	base := GateOptions{
		Listen:          "127.0.0.1:8443",
		AdminListen:     "127.0.0.1:9090",
		Cert:            cert,
		DiscoveryURL:    "https://localhost:8444/.well-known/openid-configuration",
		ClientID:        BasicClientID,
		ClientSecret:    BasicClientSecret,
		TokenAuthMethod: "client_secret_basic",
		Rules:           []GateRule{{ClaimType: "email", OriginalIssuer: "https://localhost:8444", AuthenticationType: "AzureAD"}},
		Sites:           []GateSite{SiteFor("127.0.0.1:8443", admin), SiteFor("127.0.0.1:8443", flow)},
	}
	tests := []struct {
		name string
		edit func(o *GateOptions)
	}{
		{name: "defaults", edit: func(o *GateOptions) {}},
		{name: "GET and form_post", edit: func(o *GateOptions) {
			o.AuthorizationRequestMethod, o.ResponseMode = "GET", "form_post"
		}},
		{name: "post client, sso, sign out from sts, reauthenticate", edit: func(o *GateOptions) {
			o.ClientID, o.ClientSecret, o.TokenAuthMethod = PostClientID, PostClientSecret, "client_secret_post"
			o.SSO, o.SignOutFromSTS, o.ForceReauthenticate = true, true, true
			o.CookieName = "gate-two"
			o.AuthorizationRequestMethod, o.ResponseMode = "POST", "query"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			text := o.TOML()
			if _, err := config.Parse([]byte(text), "e2e.toml"); err != nil {
				t.Errorf("config.Parse(%q) = %v; want nil", text, err)
			}
		})
	}
	want := []string{
		"https://127.0.0.1:8443/Administration/oidcServices/signinresponse",
		"https://127.0.0.1:8443/Flowtime/oidcServices/signinresponse",
	}
	if got := base.RedirectURIs(); !slices.Equal(got, want) {
		t.Errorf("RedirectURIs() = %q; want %q", got, want)
	}
}

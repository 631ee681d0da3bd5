package e2e

import (
	"github.com/oidcgate/oidcgate/internal/testkit"

	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The provider's users (fixed in testdata/e2e/op/server.js). alice has a upn
// claim and bob, a guest, has none: a claims rule on upn admits only alice.
const (
	AliceName     = "alice"
	AlicePassword = "alice-password"
	AliceEmail    = "alice@example.com"
	BobName       = "bob"
	BobPassword   = "bob-password"
	BobEmail      = "bob@elsewhere.example.org"
)

// The two clients most tests register: the provider accepts either secret
// method from either client, so tests assert what [OP.TokenRequests] saw.
const (
	BasicClientID     = "basic-client"
	BasicClientSecret = "basic-client-secret"
	PostClientID      = "post-client"
	PostClientSecret  = "post-client-secret"
)

// OPClient is one client registered at the provider.
type OPClient struct {
	ID                     string   `json:"client_id"`
	Secret                 string   `json:"client_secret,omitempty"`
	AuthMethod             string   `json:"token_endpoint_auth_method"` // client_secret_basic | client_secret_post | private_key_jwt
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	IDTokenAlg             string   `json:"id_token_signed_response_alg,omitempty"` // RS256 (default) | ES256

	JWKS       *jose.JSONWebKeySet `json:"jwks,omitempty"`        // private_key_jwt: the client's public keys
	GrantTypes []string            `json:"grant_types,omitempty"` // default authorization_code only

	// BackchannelLogoutURI receives a logout token when the user signs out
	// at the provider; with BackchannelLogoutSessionRequired the token (and
	// every ID token) carries the provider's sid.
	BackchannelLogoutURI             string `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired bool   `json:"backchannel_logout_session_required,omitempty"`
}

// BasicClient is registered for client_secret_basic; its ID tokens are RS256.
func BasicClient(redirectURIs, postLogoutRedirectURIs []string) OPClient {
	return OPClient{ID: BasicClientID, Secret: BasicClientSecret, AuthMethod: "client_secret_basic",
		RedirectURIs: redirectURIs, PostLogoutRedirectURIs: postLogoutRedirectURIs, IDTokenAlg: "RS256"}
}

// PostClient is registered for client_secret_post; its ID tokens are ES256.
func PostClient(redirectURIs, postLogoutRedirectURIs []string) OPClient {
	return OPClient{ID: PostClientID, Secret: PostClientSecret, AuthMethod: "client_secret_post",
		RedirectURIs: redirectURIs, PostLogoutRedirectURIs: postLogoutRedirectURIs, IDTokenAlg: "ES256"}
}

// OPOptions configures StartOP.
type OPOptions struct {
	// Host is the issuer's host name: "127.0.0.1" (default) or "localhost".
	// Use the other one for the relying party to make its callback cross-site.
	Host    string
	Clients []OPClient
	// ConformIDTokenClaims keeps email and profile claims out of the ID token
	// (userinfo only). By default the ID token carries them, as Entra ID does.
	ConformIDTokenClaims bool
	// Cert serves the provider; nil makes a fresh one (see OP.Cert).
	Cert *Cert
}

// OPEvent is one JSON line the provider printed.
type OPEvent struct {
	Event            string `json:"event"` // listening | token | login | end_session | backchannel
	Issuer           string `json:"issuer,omitempty"`
	ClientID         string `json:"client_id,omitempty"`
	AuthMethod       string `json:"auth_method,omitempty"`       // token: client_secret_basic | client_secret_post | private_key_jwt | client_secret_jwt | several joined by "+" | none
	RegisteredMethod string `json:"registered_method,omitempty"` // token: the client's registered method
	GrantType        string `json:"grant_type,omitempty"`
	Status           int    `json:"status,omitempty"`
	Username         string `json:"username,omitempty"` // login
	OK               bool   `json:"ok,omitempty"`       // login: the password was right; backchannel: the relying party answered 200
	Error            string `json:"error,omitempty"`    // backchannel: why it failed
}

// OP is a running oidc-provider.
type OP struct {
	Issuer string
	Cert   *Cert

	mu     sync.Mutex
	events []OPEvent
	log    bytes.Buffer // everything it wrote, stdout and stderr
}

// StartOP starts the provider on a free loopback port, waits until its
// discovery document answers, and stops it when the test ends (printing its
// output if the test failed).
func StartOP(t testing.TB, o OPOptions) *OP {
	t.Helper()
	node, dir := requireNode(t)
	if o.Cert == nil {
		o.Cert = NewCert(t)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	files := t.TempDir()
	jwksFile := filepath.Join(files, "jwks.json")
	if err := os.WriteFile(jwksFile, signingKeys(t), 0o600); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	cfg, err := json.Marshal(map[string]any{
		"host":                    o.Host,
		"port":                    0,
		"cert_file":               o.Cert.CertFile,
		"key_file":                o.Cert.KeyFile,
		"jwks_file":               jwksFile,
		"conform_id_token_claims": o.ConformIDTokenClaims,
		"clients":                 o.Clients,
	})
	if err != nil {
		t.Fatalf("e2e: provider config: %v", err)
	}
	cfgFile := filepath.Join(files, "op.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatalf("e2e: %v", err)
	}

	op := &OP{Cert: o.Cert}
	cmd := exec.Command(node, "--unhandled-rejections=strict", "server.js", cfgFile)
	cmd.Dir = dir
	// Back-channel logout tokens go from node to the relying party, which
	// serves the same test certificate.
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+o.Cert.CertFile)
	cmd.Stderr = lockedWriter{op}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start provider: %v", err)
	}
	listening := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		op.read(stdout, listening)
	}()
	exited := make(chan error, 1)
	go func() {
		<-readDone // Wait closes stdout: read it all first.
		exited <- cmd.Wait()
	}()

	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("oidc-provider output:\n%s", op.Log())
		}
	})

	select {
	case op.Issuer = <-listening:
	case err := <-exited:
		t.Fatalf("e2e: provider exited before listening (%v):\n%s", err, op.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("e2e: provider did not start within 30s:\n%s", op.Log())
	}
	op.waitDiscovery(t)
	return op
}

// signingKeys is a fresh private JWKS for the provider: one RS256 and one
// ES256 key. They are made here rather than by node, whose synchronous key
// generation was seen to hang now and then at start.
func signingKeys(t testing.TB) []byte {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("e2e: RSA key: %v", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("e2e: EC key: %v", err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey, KeyID: "rs256-key", Algorithm: "RS256", Use: "sig"},
		{Key: ecKey, KeyID: "es256-key", Algorithm: "ES256", Use: "sig"},
	}})
	if err != nil {
		t.Fatalf("e2e: JWKS: %v", err)
	}
	return b
}

// read collects the provider's stdout: JSON lines become events, anything
// else (the library's own notices) only goes to the log.
func (op *OP) read(r io.Reader, listening chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Bytes()
		op.mu.Lock()
		op.log.Write(line)
		op.log.WriteByte('\n')
		var ev OPEvent
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &ev) == nil && ev.Event != "" {
			op.events = append(op.events, ev)
		}
		op.mu.Unlock()
		if ev.Event == "listening" {
			listening <- ev.Issuer
		}
	}
}

func (op *OP) waitDiscovery(t testing.TB) {
	t.Helper()
	client := op.HTTPClient()
	err := testkit.Until(15*time.Second, func() error {
		resp, err := client.Get(op.DiscoveryURL())
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("e2e: provider discovery %s: %v\n%s", op.DiscoveryURL(), err, op.Log())
	}
}

// DiscoveryURL is the provider's openid-configuration document.
func (op *OP) DiscoveryURL() string {
	return op.Issuer + "/.well-known/openid-configuration"
}

// HTTPClient trusts the provider's certificate.
func (op *OP) HTTPClient() *http.Client { return op.Cert.Client() }

// Events returns a copy of every event so far, in order.
func (op *OP) Events() []OPEvent {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]OPEvent(nil), op.events...)
}

// TokenRequests returns the token endpoint requests so far, in order.
func (op *OP) TokenRequests() []OPEvent { return op.filter("token") }

// Logins returns the sign-in form submissions so far, in order.
func (op *OP) Logins() []OPEvent { return op.filter("login") }

// Backchannels returns the back-channel logouts sent so far.
func (op *OP) Backchannels() []OPEvent { return op.filter("backchannel") }

// EndSessions returns the completed sign-outs so far.
func (op *OP) EndSessions() []OPEvent { return op.filter("end_session") }

func (op *OP) filter(kind string) []OPEvent {
	var out []OPEvent
	for _, ev := range op.Events() {
		if ev.Event == kind {
			out = append(out, ev)
		}
	}
	return out
}

// Log is everything the provider wrote, for failure messages.
func (op *OP) Log() string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return strings.TrimSpace(op.log.String())
}

// lockedWriter appends the provider's stderr to its log.
type lockedWriter struct{ op *OP }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.op.mu.Lock()
	defer w.op.mu.Unlock()
	return w.op.log.Write(p)
}

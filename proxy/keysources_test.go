package proxy_test

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
)

// forcedRefreshInterval is the provider's default minimum time between two
// key fetches forced by unknown keys; the proxy keeps the default.
const forcedRefreshInterval = 10 * time.Second

// storeEntry is one [[openid_connect.identity_provider_certificates]] block.
type storeEntry struct {
	name, findType, findValue, location string
	valid                               bool
}

func (e storeEntry) toml() string {
	return fmt.Sprintf("[[openid_connect.identity_provider_certificates]]\nname = %q\ncertificate_find_type = %q\ncertificate_find_value = %q\ncertificate_location = %q\nvalid = %v\n",
		e.name, e.findType, e.findValue, e.location, e.valid)
}

// thumbprint is the hex SHA-1 of the certificate's DER, as Windows shows it.
func thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// windowsThumbprint writes a thumbprint as the Windows certificate dialog
// shows it: upper case, in pairs.
func windowsThumbprint(cert *x509.Certificate) string {
	h := strings.ToUpper(thumbprint(cert))
	var pairs []string
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, " ")
}

// writePEM saves the certificate in a fresh folder and returns the file.
func writePEM(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idp-signing.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// opCertificate is a Store configuration trusting the OP's current signing
// certificate, found by thumbprint in a PEM file.
func opCertificate(t *testing.T, valid bool) func(op *fakeoptest.OP) string {
	return func(op *fakeoptest.OP) string {
		cert := op.Certificates()[0]
		return storeEntry{"first", "FindByThumbprint", windowsThumbprint(cert), writePEM(t, cert), valid}.toml()
	}
}

func fixtureCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

// startProxy builds the proxy for s without serving it, for deployments
// that must fail or be inspected at start.
func startProxy(t *testing.T, s setup) (*proxy.Server, error) {
	t.Helper()
	if s.tokenAuth == "" {
		s.tokenAuth = "client_secret_basic"
	}
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	g := &gate{t: t, op: op, backend: newRecorder(t), logs: &testkit.SyncBuffer{}, url: "https://127.0.0.1:8443"}
	cfg, err := config.Parse([]byte(g.configTOML(s)), "test.toml")
	if err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return proxy.New(ctx, proxy.Options{Config: cfg, OutboundClient: op.Client()})
}

// assertIdentity checks that the backend's last request came from alice,
// signed in at issuer.
func (g *gate) assertIdentity(issuer string) {
	g.t.Helper()
	got := g.backend.last(g.t)
	want := map[string]string{
		"X-Forwarded-User":                "alice@example.com",
		"X-Forwarded-Authentication-Type": "TestOP",
		"X-Forwarded-Email":               "alice@example.com",
		"X-Forwarded-Issuer":              issuer,
	}
	for h, v := range want {
		if got.Header.Get(h) != v {
			g.t.Errorf("backend header %s = %q; want %q", h, got.Header.Get(h), v)
		}
	}
}

// keyFetches counts the fetches of the document that holds the keys of kind.
func keyFetches(op *fakeoptest.OP, kind string) int {
	s := op.Stats()
	if kind == "Federation" {
		return s.FederationFetches
	}
	return s.JWKSFetches
}

func TestKeySourcesSignIn(t *testing.T) {
	tests := []struct {
		name    string
		s       setup
		signing fakeop.SigningOptions
		// fetches of discovery, JWKS and metadata documents, at least 1 for true.
		discovery, jwks, federation bool
	}{
		{"OpenIdDiscoveryDocument", setup{}, fakeop.SigningOptions{}, true, true, false},
		{"JsonWebKeySet", setup{kind: "JsonWebKeySet"}, fakeop.SigningOptions{}, false, true, false},
		// Entra ID and AD FS name the key by x5t (and a kid equal to it).
		{"Federation", setup{kind: "Federation"}, fakeop.SigningOptions{KeyIDAndX5T: true}, false, false, true},
		{"Store by thumbprint", setup{kind: "Store", certs: opCertificate(t, false)}, fakeop.SigningOptions{UseX5T: true}, false, false, false},
		{"Store by subject name in a folder", setup{kind: "Store", certs: func(op *fakeoptest.OP) string {
			cert := op.Certificates()[0]
			path := writePEM(t, cert)
			return storeEntry{"by-subject", "FindBySubjectName", "signing key " + op.KeyID(), filepath.Dir(path), false}.toml()
		}}, fakeop.SigningOptions{UseX5T: true}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			if err := g.op.SetSigning(tt.signing); err != nil {
				t.Fatal(err)
			}
			g.signedIn(g.browser(), "/Administration/")
			g.assertIdentity(g.op.Issuer())
			s := g.op.Stats()
			for _, c := range []struct {
				doc  string
				n    int
				want bool
			}{{"discovery", s.DiscoveryFetches, tt.discovery}, {"JWKS", s.JWKSFetches, tt.jwks}, {"federation metadata", s.FederationFetches, tt.federation}} {
				if (c.n > 0) != c.want {
					t.Errorf("%s fetched %d time(s); want fetched: %v", c.doc, c.n, c.want)
				}
			}
			// Fetched or read from disk, the keys' arrival is one line.
			loaded := grep(g.logs.String(), `"msg":"provider loaded"`)
			if strings.Count(loaded, "\n") != 0 || !strings.Contains(loaded, `"issuer":"`+g.op.Issuer()+`"`) || !strings.Contains(loaded, `"keys":`) {
				t.Errorf("want one line saying the provider was loaded, with its issuer and keys; got:\n%s", loaded)
			}
		})
	}
}

func TestStoreKeyNaming(t *testing.T) {
	g := newGate(t, setup{kind: "Store", certs: opCertificate(t, false)})
	cert := g.op.Certificates()[0]
	tests := []struct {
		name    string
		signing fakeop.SigningOptions
	}{
		{"x5t only (AD FS)", fakeop.SigningOptions{UseX5T: true}},
		{"kid and x5t (Entra ID)", fakeop.SigningOptions{KeyIDAndX5T: true}},
		{"kid equal to the x5t", fakeop.SigningOptions{KeyID: fakeop.X5T(cert)}},
		{"neither kid nor x5t", fakeop.SigningOptions{OmitKeyID: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := g.op.SetSigning(tt.signing); err != nil {
				t.Fatal(err)
			}
			gt := *g
			gt.t = t
			gt.signedIn(gt.browser(), "/Administration/")
			gt.assertIdentity(g.op.Issuer())
		})
	}
	if w := g.server.Provider().Warnings(); len(w) == 0 || !strings.Contains(w[0], `"first"`) || !strings.Contains(w[0], "valid = false") {
		t.Errorf("Warnings() = %q; want one naming \"first\" and valid = false", w)
	}
}

func TestStoreRefusedAtStart(t *testing.T) {
	expired := "../testdata/provider/expired.pem"
	tests := []struct {
		name  string
		certs func(op *fakeoptest.OP) string
		words []string // all in proxy.New's error
	}{
		{"wrong thumbprint", func(op *fakeoptest.OP) string {
			return storeEntry{"first", "FindByThumbprint", "0aaf6ec6b0a8550a6e6e4c85eb4123888cbec941", writePEM(t, op.Certificates()[0]), false}.toml()
		}, []string{`certificate "first"`, `no certificate with thumbprint "0aaf6ec6b0a8550a6e6e4c85eb4123888cbec941"`}},
		{"no such subject", func(op *fakeoptest.OP) string {
			return storeEntry{"second", "FindBySubjectName", "CN=nobody", writePEM(t, op.Certificates()[0]), false}.toml()
		}, []string{`certificate "second"`, `no certificate whose subject contains "CN=nobody"`}},
		{"self-signed, valid = true", opCertificate(t, true), []string{`certificate "first"`, "valid = true", "unknown authority"}},
		{"expired, valid = true", func(*fakeoptest.OP) string {
			return storeEntry{"old", "FindByThumbprint", thumbprint(fixtureCert(t, expired)), expired, true}.toml()
		}, []string{`certificate "old"`, "valid = true", "expired on 2001-01-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := startProxy(t, setup{kind: "Store", certs: tt.certs})
			if err == nil {
				t.Fatalf("proxy.New(%s) = nil error; want a refusal", tt.name)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("proxy.New(%s) = %q; want it to contain %q", tt.name, err, w)
				}
			}
		})
	}
}

func TestStoreValidFalseAcceptsWithWarning(t *testing.T) {
	expired := "../testdata/provider/expired.pem"
	srv, err := startProxy(t, setup{kind: "Store", certs: func(*fakeoptest.OP) string {
		return storeEntry{"old", "FindByThumbprint", thumbprint(fixtureCert(t, expired)), expired, false}.toml()
	}})
	if err != nil {
		t.Fatalf("proxy.New(expired, valid = false) = %v; want accepted", err)
	}
	if err := srv.Ready(); err != nil {
		t.Errorf("Ready() = %v; want nil (the keys are local)", err)
	}
	if w := srv.Provider().Warnings(); len(w) != 1 || !strings.Contains(w[0], `"old"`) || !strings.Contains(w[0], "expired on 2001-01-01") {
		t.Errorf("Warnings() = %q; want one naming \"old\" and its expiry", w)
	}
}

// callbackResult is what one browser got back from its callback.
type callbackResult struct {
	status int
	body   string
	err    error
}

// callbacksTogether sends every browser's callback at the same moment.
func callbacksTogether(bs []*browser, cbs []*url.URL) []callbackResult {
	results := make([]callbackResult, len(bs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodGet, cbs[i].String(), nil)
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Accept", "text/html")
			<-start
			resp, err := bs[i].Client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results[i] = callbackResult{status: resp.StatusCode, body: string(body)}
		}()
	}
	close(start)
	wg.Wait()
	return results
}

func TestKeyRotationEachKind(t *testing.T) {
	for _, kind := range []string{"OpenIdDiscoveryDocument", "JsonWebKeySet", "Federation"} {
		t.Run(kind, func(t *testing.T) {
			g := newGate(t, setup{kind: kind})
			if err := g.op.SetSigning(fakeop.SigningOptions{KeyIDAndX5T: true}); err != nil {
				t.Fatal(err)
			}
			first := g.browser()
			g.signedIn(first, "/Administration/")
			before, beforeKeys := g.op.Stats(), keyFetches(g.op, kind)

			if _, err := g.op.RotateKey(false); err != nil {
				t.Fatal(err)
			}
			g.signedIn(g.browser(), "/Administration/")
			g.assertIdentity(g.op.Issuer())
			after := g.op.Stats()
			if extra := keyFetches(g.op, kind) - beforeKeys; extra != 1 {
				t.Errorf("sign-in with the rotated key caused %d key fetch(es); want exactly 1", extra)
			}
			if after.DiscoveryFetches != before.DiscoveryFetches {
				t.Errorf("rotation re-read the discovery document %d time(s); want 0", after.DiscoveryFetches-before.DiscoveryFetches)
			}
			t.Logf("%s: key document fetches before rotation %d, after the next sign-in %d", kind, beforeKeys, keyFetches(g.op, kind))

			// The session made with the old key is the proxy's own and lives on.
			if r := first.Do(http.MethodGet, g.url+"/Administration/", nil, nil); r.StatusCode != http.StatusOK {
				t.Errorf("session from before the rotation = %d; want 200", r.StatusCode)
			}
		})
	}
}

func TestKeyRotationConcurrentSignIns(t *testing.T) {
	const n = 50
	g := newGate(t, setup{authMethod: "GET"})
	g.signedIn(g.browser(), "/Administration/")
	if _, err := g.op.RotateKey(false); err != nil {
		t.Fatal(err)
	}
	bs := make([]*browser, n)
	cbs := make([]*url.URL, n)
	for i := range bs {
		bs[i] = g.browser()
		cbs[i] = g.startSignIn(bs[i])
	}
	before := g.op.Stats().JWKSFetches
	results := callbacksTogether(bs, cbs)
	extra := g.op.Stats().JWKSFetches - before
	t.Logf("%d concurrent sign-ins with a rotated key: %d JWKS fetch(es)", n, extra)
	if extra > 1 {
		t.Errorf("%d concurrent sign-ins with a rotated key caused %d JWKS fetches; want at most 1", n, extra)
	}
	for i, r := range results {
		if r.err != nil || r.status != http.StatusFound {
			t.Errorf("sign-in %d: callback = %d, %v; want 302\n%s", i, r.status, r.err, r.body)
			continue
		}
		if page := bs[i].Do(http.MethodGet, g.url+"/Administration/", nil, nil); page.StatusCode != http.StatusOK || g.backend.last(t).Header.Get("X-Forwarded-User") != "alice@example.com" {
			t.Errorf("sign-in %d: then GET /Administration/ = %d", i, page.StatusCode)
		}
	}
}

func TestKeyRotationUnknownKeyFlood(t *testing.T) {
	const sequential, concurrent = 20, 30
	g := newGate(t, setup{authMethod: "GET"})
	begin := time.Now()
	before := g.op.Stats().JWKSFetches

	for i := 0; i < sequential; i++ {
		if err := g.op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: "made-up-" + rand.Text()}); err != nil {
			t.Fatal(err)
		}
		b := g.browser()
		g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "id_token_unknown_key", "signature")
	}
	if err := g.op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: "made-up-" + rand.Text()}); err != nil {
		t.Fatal(err)
	}
	bs := make([]*browser, concurrent)
	cbs := make([]*url.URL, concurrent)
	for i := range bs {
		bs[i] = g.browser()
		cbs[i] = g.startSignIn(bs[i])
	}
	for i, r := range callbacksTogether(bs, cbs) {
		if r.err != nil || r.status != http.StatusUnauthorized || !strings.Contains(r.body, "signature") {
			t.Errorf("concurrent token %d with an unknown kid: callback = %d, %v; want 401 naming the signature\n%s", i, r.status, r.err, r.body)
		}
	}

	elapsed := time.Since(begin)
	extra := g.op.Stats().JWKSFetches - before
	ps := g.server.Provider().Stats()
	t.Logf("%d tokens with unknown kids in %v: %d JWKS fetch(es); provider: %d forced, %d rate limited",
		sequential+concurrent, elapsed.Round(time.Millisecond), extra, ps.ForcedFetches, ps.RateLimited)
	if bound := 1 + int(elapsed/forcedRefreshInterval); extra > bound || extra < 1 {
		t.Errorf("%d tokens with unknown kids in %v caused %d JWKS fetches; want 1..%d", sequential+concurrent, elapsed, extra, bound)
	}

	// The flood leaves genuine sign-ins alone.
	if err := g.op.SetSigning(fakeop.SigningOptions{}); err != nil {
		t.Fatal(err)
	}
	g.backendMark = len(g.backend.requests())
	g.signedIn(g.browser(), "/Administration/")
	g.assertIdentity(g.op.Issuer())
}

func TestAlgorithmAllowList(t *testing.T) {
	// HS512 needs a 64-byte client secret.
	const secret = "a client secret long enough to be an HS512 key: 0123456789abcdef"
	tests := []struct {
		alg    string // the OP signs with it
		algs   string // id_token_signing_alg_values
		accept bool
	}{
		{"RS256", `["RS256"]`, true},
		{"RS384", `["RS384"]`, true},
		{"RS512", `["RS512"]`, true},
		{"PS256", `["PS256"]`, true},
		{"PS384", `["PS384"]`, true},
		{"PS512", `["PS512"]`, true},
		{"ES256", `["ES256"]`, true},
		{"ES384", `["ES384"]`, true},
		{"ES512", `["ES512"]`, true},
		{"HS256", `["RS256", "HS256"]`, true},
		{"HS384", `["HS384"]`, true},
		{"HS512", `["HS512"]`, true},
		{"ES256", `["RS256"]`, false},
		{"RS256", `["ES256"]`, false},
		{"PS256", `["RS256"]`, false},
		{"RS384", `["RS256"]`, false},
		{"HS256", `["RS256"]`, false},
		{"HS256", `["RS256", "ES256", "PS256"]`, false},
		{"HS384", `["HS256"]`, false},
		{"EdDSA", `["RS256", "ES256"]`, false},
	}
	for _, tt := range tests {
		verdict := map[bool]string{true: "accepted", false: "refused"}[tt.accept]
		t.Run(fmt.Sprintf("%s with %s %s", tt.alg, tt.algs, verdict), func(t *testing.T) {
			t.Parallel()
			g := newGate(t, setup{algs: tt.algs, secret: secret, opOptions: fakeop.Options{Algorithm: tt.alg}})
			b := g.browser()
			if tt.accept {
				g.signedIn(b, "/Administration/")
				g.assertIdentity(g.op.Issuer())
				return
			}
			g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "id_token_algorithm", "signing algorithm")
		})
	}
}

func TestValidIssuerOverridesDiscovery(t *testing.T) {
	const other = "https://other.example"
	t.Run("the discovered issuer is refused", func(t *testing.T) {
		g := newGate(t, setup{validIssuer: other})
		b := g.browser()
		g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "id_token_issuer", "issuer")
	})
	t.Run("valid_issuer is accepted", func(t *testing.T) {
		g := newGate(t, setup{validIssuer: other})
		g.op.MutateClaims(func(c map[string]any) { c["iss"] = other })
		g.signedIn(g.browser(), "/Administration/")
		g.assertIdentity(other)
	})
}

func TestProviderOutageRecovers(t *testing.T) {
	tests := []struct {
		kind string
		fail func(op *fakeoptest.OP, status int)
	}{
		{"OpenIdDiscoveryDocument", (*fakeoptest.OP).FailJWKS},
		{"JsonWebKeySet", (*fakeoptest.OP).FailJWKS},
		{"Federation", (*fakeoptest.OP).FailFederation},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			g := newGate(t, setup{kind: tt.kind, noWait: true, beforeStart: func(op *fakeoptest.OP) {
				tt.fail(op, http.StatusInternalServerError)
				op.SetSigning(fakeop.SigningOptions{KeyIDAndX5T: true})
			}})
			err := testkit.Until(10*time.Second, func() error {
				if keyFetches(g.op, tt.kind) == 0 {
					return errors.New("the proxy never asked for the keys")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.server.Ready(); err == nil {
				t.Fatal("Ready() = nil while the keys fail; want an error")
			}

			b := g.browser()
			for _, target := range []string{"/Administration/oidcServices/signininitiation", "/Administration/"} {
				r := last(b.Visit(g.url + target))
				if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Body, "cannot be reached yet") {
					t.Errorf("GET %s while the keys fail = %d; want 503 saying the provider cannot be reached yet:\n%s", target, r.StatusCode, r.Body)
				}
				for _, leak := range []string{testClientSecret, "goroutine ", ".go:"} {
					if strings.Contains(r.Body, leak) {
						t.Errorf("outage page leaks %q", leak)
					}
				}
			}
			if !strings.Contains(g.logs.String(), `"reason":"provider_unavailable"`) || !strings.Contains(g.logs.String(), "provider fetch failed") {
				t.Errorf("no log line for the outage; logs:\n%s", g.logs.String())
			}
			if n := len(g.backend.requests()); n != 0 {
				t.Errorf("backend received %d request(s) during the outage", n)
			}

			tt.fail(g.op, 0)
			restored := time.Now()
			if err := testkit.Until(90*time.Second, g.server.Ready); err != nil {
				t.Fatalf("not ready 90s after the provider came back: %v", err)
			}
			t.Logf("%s: ready %v after the keys came back, %d key fetch(es) in all", tt.kind, time.Since(restored).Round(time.Millisecond), keyFetches(g.op, tt.kind))
			g.signedIn(b, "/Administration/")
			g.assertIdentity(g.op.Issuer())

			logs := g.logs.String()
			loaded := grep(logs, `"msg":"provider loaded"`)
			if strings.Count(loaded, "\n") != 0 || !strings.Contains(loaded, `"issuer":"`+g.op.Issuer()+`"`) || !strings.Contains(loaded, `"keys":1`) {
				t.Errorf("want one line saying the provider was loaded, with its issuer and 1 key; got:\n%s", loaded)
			}
			if strings.Contains(logs, "provider: provider:") {
				t.Errorf("an error names the provider twice:\n%s", grep(logs, "provider: provider:"))
			}
		})
	}
}

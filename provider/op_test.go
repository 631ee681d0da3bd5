package provider

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/internal/testcert"
)

// fakeOP serves, over TLS, what a provider publishes: a discovery
// document, a JWKS of the test's own keys and WS-Federation metadata from
// testdata. It signs nothing (the tests sign their tokens), counts requests
// per path, and fails in the ways a key fetch must survive: a 500, a
// truncated body, a hang, a port that refuses connections until start.
// internal/fakeop is the whole provider, for the sign-in flow; it publishes
// only keys it made itself and has none of these faults but the 500.
type fakeOP struct {
	srv     *httptest.Server
	URL     string
	client  *http.Client
	closing chan struct{}

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	metadata []byte
	mode     string // "": serve; "500", "garbage", "hang": fail every document
	hits     map[string]int
	token    http.HandlerFunc
	userinfo http.HandlerFunc
}

const (
	discoveryPath = "/.well-known/openid-configuration"
	keysPath      = "/keys"
	metadataPath  = "/federationmetadata/2007-06/federationmetadata.xml"
)

// newFakeOP starts a fake OP on a free local port.
func newFakeOP(t testing.TB) *fakeOP {
	op := newStoppedOP(t, reserveAddr(t))
	op.start(t)
	return op
}

// newStoppedOP makes a fake OP for addr without serving it: connections to
// addr are refused until start.
func newStoppedOP(t testing.TB, addr string) *fakeOP {
	serverTLS, client := testTLS(t)
	op := &fakeOP{
		URL:     "https://" + addr,
		client:  client,
		closing: make(chan struct{}),
		hits:    map[string]int{},
	}
	op.srv = httptest.NewUnstartedServer(http.HandlerFunc(op.serve))
	op.srv.TLS = serverTLS
	t.Cleanup(func() {
		close(op.closing)
		op.srv.Close()
	})
	return op
}

func (op *fakeOP) start(t testing.TB) {
	t.Helper()
	op.srv.Listener.Close()
	ln, err := net.Listen("tcp", op.URL[len("https://"):])
	if err != nil {
		t.Fatal(err)
	}
	op.srv.Listener = ln
	op.srv.StartTLS()
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.hits[r.URL.Path]++
	mode, keys, metadata, token, userinfo := op.mode, op.keys, op.metadata, op.token, op.userinfo
	op.mu.Unlock()

	switch r.URL.Path {
	case "/token":
		if token != nil {
			token(w, r)
			return
		}
	case "/userinfo":
		if userinfo != nil {
			userinfo(w, r)
			return
		}
	}
	switch mode {
	case "500":
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	case "garbage":
		w.Write([]byte(`{"keys": [`))
		return
	case "hang":
		select {
		case <-r.Context().Done():
		case <-op.closing:
		}
		return
	}
	switch r.URL.Path {
	case discoveryPath:
		writeJSON(w, map[string]any{
			"issuer":                                op.URL,
			"authorization_endpoint":                op.URL + "/authorize",
			"token_endpoint":                        op.URL + "/token",
			"userinfo_endpoint":                     op.URL + "/userinfo",
			"jwks_uri":                              op.URL + keysPath,
			"end_session_endpoint":                  op.URL + "/logout",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	case keysPath:
		writeJSON(w, jose.JSONWebKeySet{Keys: keys})
	case metadataPath:
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(metadata)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (op *fakeOP) setKeys(keys ...testKey) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.keys = nil
	for _, k := range keys {
		op.keys = append(op.keys, k.public())
	}
}

func (op *fakeOP) setMetadata(b []byte) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.metadata = b
}

func (op *fakeOP) setMode(mode string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.mode = mode
}

func (op *fakeOP) count(path string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.hits[path]
}

// options are what a test provider for this OP starts from: short retries
// and timeouts, so outage tests run in well under a second.
func (op *fakeOP) options(kind Kind) Options {
	o := Options{
		Kind:             kind,
		ClientID:         "client-1",
		ClientSecret:     "a client secret of at least sixty-four bytes, for HS256 to HS512!!",
		TokenAuth:        clientauth.SecretBasic,
		HTTPClient:       op.client,
		Timeout:          2 * time.Second,
		RetryMin:         10 * time.Millisecond,
		RetryMax:         50 * time.Millisecond,
		Issuer:           op.URL,
		AuthorizationURL: op.URL + "/authorize",
		TokenURL:         op.URL + "/token",
		UserInfoURL:      op.URL + "/userinfo",
	}
	switch kind {
	case Discovery:
		o.URL = op.URL + discoveryPath
		o.Issuer, o.AuthorizationURL, o.TokenURL, o.UserInfoURL = "", "", "", ""
	case JWKS:
		o.URL = op.URL + keysPath
	case Federation:
		o.URL = op.URL + metadataPath
	}
	return o
}

// reserveAddr returns a local address nothing listens on.
func reserveAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// testTLS makes a server certificate for 127.0.0.1 and a client that trusts
// it and nothing else.
func testTLS(t testing.TB) (*tls.Config, *http.Client) {
	t.Helper()
	cert, err := testcert.Server(time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cert.TLS()}}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool()}}
	t.Cleanup(transport.CloseIdleConnections)
	return server, &http.Client{Transport: transport}
}

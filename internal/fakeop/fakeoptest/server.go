package proxytest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// NewTLSServer starts the OP on an httptest TLS server, sets the issuer to
// the server's URL and closes the server when the test ends.
func NewTLSServer(t testing.TB, o Options) *OP {
	t.Helper()
	op, err := New(o)
	if err != nil {
		t.Fatalf("proxytest.New: %v", err)
	}
	srv := httptest.NewTLSServer(op.Handler())
	t.Cleanup(srv.Close)
	op.mu.Lock()
	op.server = srv
	op.mu.Unlock()
	op.SetIssuer(srv.URL)
	return op
}

// Server returns the httptest server NewTLSServer started (its Certificate
// is what a relying party must trust), or nil.
func (op *OP) Server() *httptest.Server {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.server
}

// Client returns a new *http.Client that trusts the OP's server; each call
// gives a client of its own (set Jar or CheckRedirect freely) over a shared
// transport. It is nil when the OP was not started by NewTLSServer.
func (op *OP) Client() *http.Client {
	srv := op.Server()
	if srv == nil {
		return nil
	}
	return &http.Client{Transport: srv.Client().Transport}
}

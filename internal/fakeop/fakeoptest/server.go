// Package fakeoptest starts the development OpenID provider of package
// fakeop on a TLS test server, for tests only.
package fakeoptest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
)

// OP is a fakeop.OP served by an httptest TLS server.
type OP struct {
	*fakeop.OP
	srv *httptest.Server
}

// NewTLSServer starts the OP on an httptest TLS server, sets the issuer to
// the server's URL and closes the server when the test ends.
func NewTLSServer(t testing.TB, o fakeop.Options) *OP {
	t.Helper()
	op, err := fakeop.New(o)
	if err != nil {
		t.Fatalf("fakeop.New: %v", err)
	}
	srv := httptest.NewTLSServer(op.Handler())
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL)
	return &OP{OP: op, srv: srv}
}

// Server returns the httptest server; its Certificate is what a relying
// party must trust.
func (op *OP) Server() *httptest.Server { return op.srv }

// Client returns a new *http.Client that trusts the OP's server; each call
// gives a client of its own (set Jar or CheckRedirect freely) over a shared
// transport.
func (op *OP) Client() *http.Client {
	return &http.Client{Transport: op.srv.Client().Transport}
}

// Wrap pairs an OP with a server the caller started and stops itself (a
// server that drops connections on purpose, say).
func Wrap(op *fakeop.OP, srv *httptest.Server) *OP { return &OP{OP: op, srv: srv} }

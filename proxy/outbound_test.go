package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The provider is called over HTTP/1.1 even when it offers HTTP/2, also
// after the default transport, which outboundTransport copies, has spoken
// HTTP/2 and so offers it in its TLS settings.
func TestOutboundTransportSpeaksHTTP1(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// The default transport does not trust the test certificate, but the
	// attempt sets it up for HTTP/2.
	if resp, err := http.DefaultClient.Get(srv.URL); err == nil {
		resp.Body.Close()
	}

	tr := outboundTransport()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = roots
	t.Cleanup(tr.CloseIdleConnections)
	for range 2 { // a new connection, then a kept-alive one
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			t.Fatalf("GET over the outbound transport: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "HTTP/1.1" {
			t.Errorf("the provider saw %q; want HTTP/1.1", body)
		}
	}
}

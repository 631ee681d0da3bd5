package proxy

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/oidcgate/oidcgate/store"
)

// adminHandler serves the operator's endpoints on admin_listen only:
// /healthz (the process answers), /readyz (users can sign in, and the
// store's state), /metrics, and POST /sessions/revoke.
func (s *Server) adminHandler(stopping *atomic.Bool, certs *certReloader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if stopping.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: shutting down\n"))
			return
		}
		if err := s.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		if certs != nil && certs.NotAfter().IsZero() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: no TLS certificate loaded\n"))
			return
		}
		// A store that is down keeps the replica ready with outage =
		// "open": one Redis blip must not drain every replica at once.
		state := storeState(s.store.Health())
		if s.storeRefuses() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: outage = \"closed\"\n" + state))
			return
		}
		w.Write([]byte("ready\n" + state))
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("POST /sessions/revoke", revokeHandler(s.store, s.issuer, func() { s.metrics.revoked(revokedByAdmin) }))
	return mux
}

// storeState is /readyz's line about the store.
func storeState(h store.Health) string {
	if h.Up {
		return "store: ok\n"
	}
	why := ""
	if h.Err != nil {
		why = " (" + h.Err.Error() + ")"
	}
	return "store: unreachable since " + h.Since.UTC().Format(time.RFC3339) + why + "\n"
}

// issuer is the provider's issuer, once known, for marks naming a user.
func (s *Server) issuer() string {
	ep, err := s.auth.provider.Endpoints()
	if err != nil {
		return ""
	}
	return ep.Issuer
}

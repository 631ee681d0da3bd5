package proxy

import (
	"net/http"
	"sync/atomic"
)

// adminHandler serves the operator's endpoints on admin_listen only:
// /healthz (the process answers), /readyz (users can sign in).
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
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

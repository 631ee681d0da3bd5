package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// shutdownGrace bounds how long in-flight requests may take to finish
// after a stop signal.
const shutdownGrace = 25 * time.Second

// RunOptions are Options plus the listeners; nil listeners are opened on
// the configured addresses.
type RunOptions struct {
	Options
	Listener      net.Listener
	AdminListener net.Listener
	// Started, if set, is called once both listeners accept connections.
	Started func(public, admin net.Addr)
	// CertificateCheck is the least time between two looks at whether
	// cert_file and key_file changed. Zero: one second.
	CertificateCheck time.Duration
}

// Run serves the proxy over TLS until ctx ends, then stops gracefully:
// /readyz turns 503 first, in-flight requests finish (bounded), and Run
// returns nil.
func Run(ctx context.Context, o RunOptions) error {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		o.Logger = log
	}
	certs, err := newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, o.CertificateCheck, func(err error) {
		if err != nil {
			log.Error("tls: certificate files changed but could not be loaded; still serving the previous certificate", "error", err.Error())
			return
		}
		log.Info("tls: certificate reloaded", "cert_file", cfg.TLS.CertFile)
	})
	if err != nil {
		return err
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s, err := New(srvCtx, o.Options)
	if err != nil {
		return err
	}
	for _, w := range s.Provider().Warnings() {
		log.Warn(w)
	}

	s.metrics.gauge("oidcgate_tls_certificate_expiry_timestamp_seconds", "When the TLS certificate in service expires (Unix time).",
		func() float64 { return float64(certs.NotAfter().Unix()) })

	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	l := cfg.Limits
	public := &http.Server{
		Handler:           s,
		TLSConfig:         serverTLSConfig(certs.GetCertificate),
		ReadHeaderTimeout: l.ReadHeaderTimeout.Duration,
		ReadTimeout:       l.ReadTimeout.Duration,
		WriteTimeout:      l.WriteTimeout.Duration,
		IdleTimeout:       l.IdleTimeout.Duration,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	var stopping atomic.Bool
	var admin *http.Server
	adminLn := o.AdminListener
	if adminLn == nil && cfg.AdminListen != "" {
		if adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			ln.Close()
			return fmt.Errorf("admin_listen: %w", err)
		}
	}
	if adminLn != nil {
		admin = &http.Server{Handler: s.adminHandler(&stopping, certs), ReadHeaderTimeout: 5 * time.Second}
		go admin.Serve(adminLn)
	}

	errc := make(chan error, 1)
	go func() { errc <- public.ServeTLS(ln, "", "") }()
	var adminAddr net.Addr
	if adminLn != nil {
		adminAddr = adminLn.Addr()
	}
	log.Info("oidcgate serving", "listen", ln.Addr().String(), "admin_listen", addrString(adminAddr), "sites", len(s.sites))
	if o.Started != nil {
		o.Started(ln.Addr(), adminAddr)
	}

	select {
	case err := <-errc:
		if admin != nil {
			admin.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("oidcgate stopping: finishing in-flight requests", "grace", shutdownGrace.String())
	stopping.Store(true)
	shutCtx, done := context.WithTimeout(context.Background(), shutdownGrace)
	defer done()
	err = public.Shutdown(shutCtx)
	if admin != nil {
		admin.Shutdown(shutCtx)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("oidcgate stopped")
	return nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

package proxy

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
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
	// Hangup delivers SIGHUP: the TLS files are looked at again at once,
	// and nothing else changes. Nil: no such signal.
	Hangup <-chan os.Signal
	// After waits out [limits] shutdown_delay. Nil: time.After.
	After func(time.Duration) <-chan time.Time
}

// Run serves the proxy until ctx ends, over TLS, or in plain HTTP when the
// configuration has no [tls] (a load balancer in front ends TLS). Then it
// stops gracefully: /readyz turns 503 at once, the listeners keep serving
// for shutdown_delay so that load balancers stop sending new requests,
// then they close, in-flight requests finish (bounded), and Run returns
// nil.
func Run(ctx context.Context, o RunOptions) error {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		o.Logger = log
	}
	var certs *certReloader
	if cfg.TLS.Enabled() {
		var err error
		certs, err = newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, o.CertificateCheck, func(cert *x509.Certificate, err error) {
			if err != nil {
				log.Error("tls: certificate files changed but could not be loaded; still serving the previous certificate", "error", err.Error())
				return
			}
			log.Info("tls: certificate reloaded", "cert_file", cfg.TLS.CertFile, "subject", cert.Subject.String(), "not_after", cert.NotAfter.UTC().Format(time.RFC3339))
		})
		if err != nil {
			return err
		}
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s, err := New(srvCtx, o.Options)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, w := range s.Provider().Warnings() {
		log.Warn(w)
	}

	if certs != nil {
		s.metrics.gauge("oidcgate_tls_certificate_expiry_timestamp_seconds", "When the TLS certificate in service expires (Unix time).",
			func() float64 { return float64(certs.NotAfter().Unix()) })
	}

	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	l := cfg.Limits
	public := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: l.ReadHeaderTimeout.Duration,
		ReadTimeout:       l.ReadTimeout.Duration,
		WriteTimeout:      l.WriteTimeout.Duration,
		IdleTimeout:       l.IdleTimeout.Duration,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if certs != nil {
		public.TLSConfig = serverTLSConfig(certs.GetCertificate)
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
	scheme := "https"
	if certs != nil {
		go func() { errc <- public.ServeTLS(ln, "", "") }()
	} else {
		scheme = "http"
		log.Warn("no [tls]: the public listener speaks plain HTTP; TLS must end at the load balancer in front", "listen", ln.Addr().String())
		go func() { errc <- public.Serve(ln) }()
	}
	var adminAddr net.Addr
	if adminLn != nil {
		adminAddr = adminLn.Addr()
	}
	log.Info("oidcgate serving", "listen", ln.Addr().String(), "scheme", scheme, "admin_listen", addrString(adminAddr), "sites", len(s.sites))
	if o.Started != nil {
		o.Started(ln.Addr(), adminAddr)
	}

	for stop := false; !stop; {
		select {
		case err := <-errc:
			if admin != nil {
				admin.Close()
			}
			return fmt.Errorf("serve: %w", err)
		case <-o.Hangup:
			hangup(log, certs)
		case <-ctx.Done():
			stop = true
		}
	}
	stopping.Store(true)
	if delay := l.ShutdownDelay.Duration; delay > 0 {
		log.Info("oidcgate stopping: /readyz answers 503; the listeners close after the shutdown delay", "shutdown_delay", delay.String())
		after := o.After
		if after == nil {
			after = time.After
		}
		<-after(delay)
	}
	log.Info("oidcgate stopping: listeners closed, finishing in-flight requests", "grace", shutdownGrace.String())
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

// hangup answers SIGHUP, which never stops oidcgate: the TLS files are
// looked at again at once (they are also looked at every second), and the
// configuration is not re-read.
func hangup(log *slog.Logger, certs *certReloader) {
	if certs == nil {
		log.Info("SIGHUP received: nothing to reload (no [tls]); restart to apply configuration changes")
		return
	}
	log.Info("SIGHUP received: looking at the TLS certificate files again; restart to apply configuration changes")
	certs.Look()
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

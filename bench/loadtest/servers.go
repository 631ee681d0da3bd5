package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/logbuffer"
	"github.com/oidcgate/oidcgate/proxy"
)

// Each server runs in a process of its own (this program started again
// with -role), so that the CPU time and memory of oidcgate can be read from
// /proc without the provider's, the backend's or the load generator's.

// backendBody is what the backend answers: a small page.
const backendBody = "<!doctype html><title>backend</title><h1>backend</h1><p>a small fixed page</p>\n"

// tenant is the Entra ID tenant the OP pretends to be; the issuer carries
// it, as Entra's does, so the session cookie is as long as it would be.
const tenant = fakeop.EntraTenant

const (
	clientID     = "oidcgate-bench"
	clientSecret = "bench-client-secret"
)

// entraUser has the claims of a typical Entra ID token; every ID token the
// OP signs is given a subject, name and addresses of its own (see runOP),
// so each sign-in is a different user.
var entraUser = fakeop.EntraIDUser()

// opStats is what the OP's /_bench/stats answers.
type opStats struct {
	DiscoveryFetches, JWKSFetches, TokenRequests int
}

// runRole runs one server until SIGTERM.
func runRole(role string, args []string) error {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	listen := fs.String("listen", "", "address")
	plain := fs.String("plain", "", "plain-HTTP address")
	certFile := fs.String("cert", "", "TLS certificate")
	keyFile := fs.String("key", "", "TLS key")
	upstream := fs.String("upstream", "", "upstream URL")
	cfgFile := fs.String("config", "", "oidcgate configuration")
	debug := fs.String("pprof", "", "net/http/pprof address")
	pool := fs.Bool("pool", false, "give the bare proxy a buffer pool")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch role {
	case "op":
		return runOP(ctx, *listen, *certFile, *keyFile)
	case "backend":
		return serve(ctx, *listen, "", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, backendBody)
		}))
	case "bare":
		if err := servePprof(*debug); err != nil {
			return err
		}
		return runBare(ctx, *listen, *plain, *certFile, *keyFile, *upstream, *pool)
	case "gate-plain":
		return runGatePlain(ctx, *plain, *cfgFile, *debug)
	}
	return fmt.Errorf("unknown role %q", role)
}

// serve runs h on addr (over TLS when certFile is set) until ctx ends.
func serve(ctx context.Context, addr, certFile, keyFile string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- srv.ListenAndServeTLS(certFile, keyFile)
		} else {
			errc <- srv.ListenAndServe()
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// runOP serves the in-process OpenID provider with the issuer
// https://ADDR/<tenant>/v2.0, and its counters at /_bench/stats.
func runOP(ctx context.Context, addr, certFile, keyFile string) error {
	op, err := fakeop.New(fakeop.Options{
		ClientID: clientID, ClientSecret: clientSecret,
		TokenAuthMethod: fakeop.ClientSecretBasic,
		Users:           []fakeop.User{entraUser},
	})
	if err != nil {
		return err
	}
	var n atomic.Int64
	op.MutateClaims(func(c map[string]any) {
		i := n.Add(1)
		c["sub"] = fmt.Sprintf("AAAAAAAAAAAAAAAAAAAAA%022d", i)
		c["oid"] = fmt.Sprintf("87d349ed-44d7-43e1-9a83-%012d", i)
		c["name"] = fmt.Sprintf("Bench User %d", i)
		c["email"] = fmt.Sprintf("user%06d@contoso.onmicrosoft.com", i)
		c["preferred_username"] = c["email"]
	})
	op.SetIssuer("https://" + addr + "/" + tenant + "/v2.0")
	mux := http.NewServeMux()
	mux.Handle("/", op.Handler())
	mux.HandleFunc("/_bench/stats", func(w http.ResponseWriter, r *http.Request) {
		s := op.Stats()
		json.NewEncoder(w).Encode(opStats{DiscoveryFetches: s.DiscoveryFetches, JWKSFetches: s.JWKSFetches, TokenRequests: s.TokenRequests})
	})
	return serve(ctx, addr, certFile, keyFile, mux)
}

// runBare is the floor: the standard library's reverse proxy, with the same
// upstream connection pool as oidcgate, over TLS on addr and over plain
// HTTP on plain. With pool it also reuses its copy buffers, as oidcgate
// does; without, it allocates 32 KB for each request.
func runBare(ctx context.Context, addr, plain, certFile, keyFile, upstream string, pool bool) error {
	up, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Host = ""
			pr.SetXForwarded()
		},
		Transport: transport,
	}
	if pool {
		rp.BufferPool = &bufferPool{}
	}
	errc := make(chan error, 2)
	go func() { errc <- serve(ctx, addr, certFile, keyFile, rp) }()
	go func() { errc <- serve(ctx, plain, "", "", rp) }()
	return errors.Join(<-errc, <-errc)
}

// bufferPool is the one oidcgate gives its reverse proxies.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// runGatePlain is oidcgate's handler behind a plain-HTTP server, to show
// the proxy's cost without TLS, with net/http/pprof on debug. It logs as
// `oidcgate serve` does: JSON lines to stderr.
func runGatePlain(ctx context.Context, addr, cfgFile, debug string) error {
	cfg, err := config.Load(cfgFile)
	if err != nil {
		return err
	}
	out := logbuffer.New(os.Stderr) // as `oidcgate serve` logs
	defer out.Close()
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := proxy.New(ctx, proxy.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	for s.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := servePprof(debug); err != nil {
		return err
	}
	l := cfg.Limits
	srv := &http.Server{
		Addr: addr, Handler: s,
		ReadHeaderTimeout: l.ReadHeaderTimeout.Duration,
		ReadTimeout:       l.ReadTimeout.Duration,
		WriteTimeout:      l.WriteTimeout.Duration,
		IdleTimeout:       l.IdleTimeout.Duration,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// servePprof serves net/http/pprof on addr, when there is one.
func servePprof(addr string) error {
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go http.Serve(ln, mux)
	return nil
}

// Package demo is `oidcgate demo`: in one process, a development OpenID
// provider, two demo sites (Administration and Flowtime) that show the
// identity headers they receive, and the real proxy in front of them,
// configured by a TOML file like any deployment and run by proxy.Run like
// `oidcgate serve`.
//
// Tests start it on free ports with Listen "127.0.0.1:0" and drive it over
// the addresses Start returns.
package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/session"
)

// DefaultListen is where the demo's proxy listens unless told otherwise.
const DefaultListen = "localhost:8443"

const (
	certLifetime = 90 * 24 * time.Hour
	readyTimeout = 20 * time.Second
	stopGrace    = 5 * time.Second // for the provider and the sites; the proxy has its own
)

// siteNames are the demo's sites; each page links to the next.
var siteNames = [...]string{"Administration", "Flowtime"}

// Options configure the demo. The zero value runs it on the default ports.
type Options struct {
	// Listen is the proxy's address, host:port; default DefaultListen.
	// Port 0 picks a free port.
	Listen string
	// ProviderListen is the development provider's address. Default: the
	// host of Listen and the port after it (8444), or a free port when
	// Listen's port is 0.
	ProviderListen string
	// WriteConfig, if set, names a file to write the configuration to,
	// with the TLS certificate and key next to it (NAME-cert.pem,
	// NAME-key.pem). Without it, they live in a temporary folder removed at
	// the end.
	WriteConfig string
	// Out receives the instructions for a person; nil prints nothing.
	Out io.Writer
	// Logger receives the servers' logs; nil discards them.
	Logger *slog.Logger
	// Version is reported in the proxy's metrics.
	Version string
	// ForceReauthenticate sets force_reauthenticate: the provider asks
	// for the password on every sign-in, even when it has a session.
	ForceReauthenticate bool
}

// Site is one demo site as the browser and the proxy see it.
type Site struct {
	Name     string
	URL      string // base_url: "https://localhost:8443/Administration/"
	Upstream string // the demo site's own address, plain HTTP on loopback
}

// Demo is a running demo. It stops when the context given to Start ends.
type Demo struct {
	URL      string // the proxy: "https://localhost:8443"
	Issuer   string // the development provider: "https://localhost:8444"
	AdminURL string // the proxy's /healthz, /readyz and /metrics
	Sites    []Site
	// CertFile is the self-signed certificate of the proxy and the
	// provider: what a client must trust.
	CertFile, KeyFile string
	Config            *config.Config
	// ConfigFile is where the configuration was written, or "".
	ConfigFile string
	// Provider is the development OpenID provider, for tests to inspect.
	Provider *fakeop.OP

	done chan struct{}
	err  error // set before done is closed
}

// Run starts the demo and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	d, err := Start(ctx, o)
	if err != nil {
		return err
	}
	return d.Wait()
}

// Wait blocks until the demo has stopped (its context ended, or the proxy
// failed) and returns the proxy's error, if any.
func (d *Demo) Wait() error {
	<-d.done
	return d.err
}

// Start starts everything, waits until the proxy is ready to sign users in,
// prints the instructions and returns. When ctx ends, the demo stops; Wait
// tells when it has.
func Start(ctx context.Context, o Options) (*Demo, error) {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opListen, err := providerListen(o.Listen, o.ProviderListen)
	if err != nil {
		return nil, err
	}
	ls, err := openListeners(o.Listen, opListen)
	if err != nil {
		return nil, err
	}
	d := &Demo{
		URL:      "https://" + net.JoinHostPort(publicHost(o.Listen), port(ls.proxy)),
		Issuer:   "https://" + net.JoinHostPort(publicHost(opListen), port(ls.provider)),
		AdminURL: "http://" + ls.admin.Addr().String(),
		done:     make(chan struct{}),
	}
	for i, name := range siteNames {
		d.Sites = append(d.Sites, Site{
			Name:     name,
			URL:      d.URL + "/" + name + "/",
			Upstream: "http://" + ls.sites[i].Addr().String() + "/" + name + "/",
		})
	}
	tmp, err := d.writeCert(o.WriteConfig, publicHost(o.Listen), publicHost(opListen))
	if err != nil {
		ls.close()
		return nil, err
	}
	secret, err := d.newProvider()
	if err == nil {
		err = d.configure(o, ls.proxy, secret)
	}
	var outbound *http.Client
	if err == nil {
		outbound, err = trusting(d.CertFile, d.Config.Limits.OutboundTimeout.Duration)
	}
	if err != nil {
		ls.close()
		os.RemoveAll(tmp)
		return nil, err
	}

	stop := d.run(ctx, o, ls, tmp, outbound)
	err = d.waitReady(ctx)
	if err == nil {
		err = printIntro(o.Out, introValues{URL: d.URL, Issuer: d.Issuer, AdminURL: d.AdminURL, Sites: d.Sites, Users: Users(), ConfigFile: d.ConfigFile})
	}
	if err != nil {
		stop()
		<-d.done
		return nil, err
	}
	return d, nil
}

// run serves the provider and the sites, and the proxy through proxy.Run
// as `oidcgate serve` does, until ctx ends or the proxy fails; then it
// stops them all, removes the temporary folder (if any) and closes d.done.
// The function it returns stops the demo.
func (d *Demo) run(ctx context.Context, o Options, ls *listeners, tmp string, outbound *http.Client) context.CancelFunc {
	var servers []*http.Server
	serve := func(h http.Handler, ln net.Listener, overTLS bool) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog(o.Logger)}
		servers = append(servers, srv)
		if overTLS {
			go srv.ServeTLS(ln, d.CertFile, d.KeyFile)
		} else {
			go srv.Serve(ln)
		}
	}
	serve(d.Provider.Handler(), ls.provider, true)
	for i, name := range siteNames {
		serve(backend{name: name, other: siteNames[(i+1)%len(siteNames)]}, ls.sites[i], false)
	}

	runCtx, stop := context.WithCancel(ctx)
	go func() {
		err := proxy.Run(runCtx, proxy.RunOptions{
			Options:       proxy.Options{Config: d.Config, Logger: o.Logger, OutboundClient: outbound, Version: o.Version},
			Listener:      ls.proxy,
			AdminListener: ls.admin,
		})
		if err != nil {
			d.err = fmt.Errorf("demo: proxy: %w", err)
		}
		stop() // whatever ended the proxy ends the rest
		// The proxy's connections to the provider are idle now; closing
		// them spares the provider's shutdown a wait for them.
		outbound.CloseIdleConnections()
		shutdown(servers)
		ls.close() // proxy.Run leaves them open when it fails early
		os.RemoveAll(tmp)
		close(d.done)
	}()
	return stop
}

// listeners are opened before anything else, so that the configuration
// names the ports really bound.
type listeners struct {
	proxy, provider, admin net.Listener
	sites                  []net.Listener
}

func openListeners(listen, opListen string) (*listeners, error) {
	ls := &listeners{}
	var err error
	open := func(what, addr, hint string) net.Listener {
		if err != nil {
			return nil
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err != nil {
			err = fmt.Errorf("demo: %s: %w%s", what, err, hint)
		}
		return ln
	}
	ls.proxy = open("proxy", listen, " (is another demo running? choose another address with -listen)")
	ls.provider = open("provider", opListen, " (choose another address with -provider-listen)")
	ls.admin = open("admin", "127.0.0.1:0", "")
	for _, name := range siteNames {
		ls.sites = append(ls.sites, open("site "+name, "127.0.0.1:0", ""))
	}
	if err != nil {
		ls.close()
		return nil, err
	}
	return ls, nil
}

func (ls *listeners) close() {
	for _, ln := range append([]net.Listener{ls.proxy, ls.provider, ls.admin}, ls.sites...) {
		if ln != nil {
			ln.Close()
		}
	}
}

// providerListen is the provider's address: as given, or the proxy's host
// with the next port.
func providerListen(listen, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("demo: listen %q: want host:port, such as %q", listen, DefaultListen)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("demo: listen %q: the port must be a number", listen)
	}
	if n == 0 || n == 65535 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1)), nil
}

// publicHost is the host a browser uses for a listen address: the host as
// given (a name stays a name, which the certificate covers), or localhost
// when it listens on every interface.
func publicHost(listen string) string {
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return "localhost"
	}
	return host
}

// port is the port a listener really got.
func port(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// writeCert makes the self-signed certificate for the proxy and the
// provider: next to the configuration file when one is written, else in a
// temporary folder, which it returns ("" when there is none).
func (d *Demo) writeCert(configFile string, names ...string) (tmp string, err error) {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range names {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	tmp, err = os.MkdirTemp("", "oidcgate-demo-")
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	d.CertFile, d.KeyFile, err = testcert.Write(tmp, certLifetime, hosts...)
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("demo: certificate: %w", err)
	}
	if configFile == "" {
		return tmp, nil
	}
	defer os.RemoveAll(tmp)
	stem, err := filepath.Abs(strings.TrimSuffix(configFile, filepath.Ext(configFile)))
	if err == nil {
		err = os.MkdirAll(filepath.Dir(stem), 0o700)
	}
	if err != nil {
		return "", fmt.Errorf("demo: write configuration: %w", err)
	}
	for _, f := range []struct {
		from *string
		to   string
		mode os.FileMode
	}{{&d.CertFile, stem + "-cert.pem", 0o644}, {&d.KeyFile, stem + "-key.pem", 0o600}} {
		data, err := os.ReadFile(*f.from)
		if err == nil {
			err = os.WriteFile(f.to, data, f.mode)
		}
		if err != nil {
			return "", fmt.Errorf("demo: certificate: %w", err)
		}
		*f.from = f.to
	}
	return "", nil
}

// configure writes the configuration as TOML and reads it back the way
// `oidcgate serve` does, so the demo runs only what a file can say.
func (d *Demo) configure(o Options, ln net.Listener, secret string) error {
	file := o.WriteConfig
	host, _, _ := net.SplitHostPort(o.Listen)
	data, err := configTOML(configValues{
		Force:      o.ForceReauthenticate,
		Listen:     net.JoinHostPort(host, port(ln)),
		CertFile:   d.CertFile,
		KeyFile:    d.KeyFile,
		Issuer:     d.Issuer,
		ClientID:   ClientID,
		Secret:     secret,
		SessionKey: session.GenerateKey(),
		AuthType:   AuthenticationType,
		Sites:      d.Sites,
	})
	if err != nil {
		return err
	}
	name := "demo configuration"
	if file != "" {
		name = file
	}
	if d.Config, err = config.Parse(data, name); err != nil {
		return fmt.Errorf("demo: the generated configuration is not valid: %w", err)
	}
	if file != "" {
		// It holds a cookie key and a client secret.
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return fmt.Errorf("demo: write configuration: %w", err)
		}
		d.ConfigFile = file
	}
	return nil
}

// trusting is an outbound client for the proxy that trusts the demo's
// certificate, as SSL_CERT_FILE would for `oidcgate serve`.
func trusting(certFile string, timeout time.Duration) (*http.Client, error) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("demo: no certificate in %s", certFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the provider is in this process
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, Timeout: timeout}, nil
}

// waitReady polls /readyz until the proxy has the provider's discovery
// document and keys, so that the first sign-in does not meet a 503.
func (d *Demo) waitReady(ctx context.Context) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		resp, err := c.Get(d.AdminURL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = strings.TrimSpace(string(body))
		} else {
			last = err.Error()
		}
		select {
		case <-d.done:
			if d.err != nil {
				return d.err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.New("demo: the proxy stopped before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("demo: the proxy was not ready after %s: %s", readyTimeout, last)
		case <-tick.C:
		}
	}
}

func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(ctx)
	}
}

// errorLog sends net/http's own complaints (a browser refusing the
// self-signed certificate, for one) to the log at debug level.
func errorLog(logger *slog.Logger) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
}

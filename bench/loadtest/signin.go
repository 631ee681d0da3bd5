package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/logbuffer"
	"github.com/oidcgate/oidcgate/proxy"
)

// cookieName is the session cookie of the benchmark's configuration
// (single sign-on: one cookie for every site; require_ssl, so __Host-).
const cookieName = "__Host-oidcgate"

// newBrowserTransport is one simulated browser's connections: HTTP/1.1 with
// keep-alive, trusting the benchmark's certificate.
func newBrowserTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
}

// signInResult is one complete sign-in.
type signInResult struct {
	Cookie    *http.Cookie // the session cookie
	SetCookie string       // the Set-Cookie header that carried it
}

// signIn is a browser with empty cookies opening a page of the site: it is
// sent to sign in, to the OP (which approves at once), back to the
// callback, and to the page, which must be the backend's.
func signIn(ctx context.Context, tr http.RoundTripper, page string) (signInResult, error) {
	var res signInResult
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := tr.RoundTrip(r)
			if err == nil {
				for _, sc := range resp.Header["Set-Cookie"] {
					if strings.HasPrefix(sc, cookieName+"=") {
						res.SetCookie = sc
					}
				}
			}
			return resp, err
		}),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return res, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return res, err
	}
	if resp.StatusCode != http.StatusOK || string(body) != backendBody {
		return res, fmt.Errorf("sign-in ended at %s with %s: %.300s", resp.Request.URL, resp.Status, body)
	}
	if res.SetCookie == "" {
		return res, errors.New("the page was served without a sign-in (no session cookie was set)")
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if ck.Name == cookieName {
			res.Cookie = ck
		}
	}
	if res.Cookie == nil {
		return res, errors.New("the browser kept no session cookie")
	}
	return res, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// signInLoad runs browsers in parallel, each signing in again and again
// with fresh cookies (a new user each time) over its own kept-alive
// connections, until d has passed or total sign-ins are done (total 0: no
// bound). It returns the sign-ins completed and the first error.
func signInLoad(ctx context.Context, roots *x509.CertPool, page string, browsers int, d time.Duration, total int) (int, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done, started atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	for range browsers {
		wg.Go(func() {
			tr := newBrowserTransport(roots)
			defer tr.CloseIdleConnections()
			for ctx.Err() == nil && (d == 0 || time.Now().Before(deadline)) {
				if total > 0 && started.Add(1) > int64(total) {
					return
				}
				if _, err := signIn(ctx, tr, page); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return int(done.Load()), time.Since(begin), firstErr
}

// signInProfile takes a CPU profile of oidcgate while 16 browsers sign in.
// `oidcgate serve` has no pprof, so the profiled server is a second one:
// serve's own composition (proxy.Run, JSON logs through the log buffer to a
// pipe) built into this program with net/http/pprof beside it, configured
// as the TLS oidcgate but on addresses of its own. It prints the run's row
// too, as a check that the profiled server costs what the binary does.
func (b *bench) signInProfile(ctx context.Context) error {
	gateURL, err := url.Parse(b.urls["oidcgate/tls"])
	if err != nil {
		return err
	}
	i := slices.Index(b.gate.cmd.Args, "-config")
	if i < 0 || i+1 >= len(b.gate.cmd.Args) {
		return errors.New("signin profile: oidcgate was started without -config")
	}
	text, err := os.ReadFile(b.gate.cmd.Args[i+1])
	if err != nil {
		return err
	}
	var addr [3]string // the listener, the admin listener, pprof
	for i := range addr {
		if addr[i], err = freeAddr(); err != nil {
			return err
		}
	}
	listen, admin, debug := addr[0], addr[1], addr[2]
	adminURL, _ := url.Parse(b.admin)
	cfg := strings.NewReplacer(gateURL.Host, listen, adminURL.Host, admin).Replace(string(text))
	cfgFile := filepath.Join(filepath.Dir(b.gate.cmd.Args[i+1]), "oidcgate-profiled.toml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(b.o.signInProfileDir, 0o755); err != nil {
		return err
	}
	parsed, err := config.Load(cfgFile)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The OP's certificate is the benchmark's, which the outbound calls trust.
	trust := []string{"SSL_CERT_FILE=" + parsed.TLS.CertFile}
	c, err := start("oidcgate-profiled", trust, exe, "-role", roleGateProfiled, "-config", cfgFile, "-pprof", debug)
	if err != nil {
		return err
	}
	defer c.stop()
	if err := c.waitHTTP("http://"+admin+"/readyz", http.StatusOK); err != nil {
		return err
	}
	page := "https://" + listen + gateURL.Path
	if _, _, err := signInLoad(ctx, b.roots, page, 16, time.Second, 0); err != nil { // warm up
		return fmt.Errorf("signin profile: %w\n%s", err, c.tail)
	}

	d := b.o.signInDuration.Truncate(time.Second)
	progress("sign-ins with 16 browsers for %s, profiling oidcgate", d)
	profile := make(chan error, 1)
	go func() {
		profile <- fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debug, int(d.Seconds())),
			filepath.Join(b.o.signInProfileDir, "oidcgate-signin-cpu.pprof"))
	}()
	// Everyone's CPU, since all of them share the machine's CPUs: the
	// sign-in rate is bounded by their sum.
	procs := []*child{c, b.op, b.backend}
	cpu0, err := cpuTimes(procs)
	if err != nil {
		return err
	}
	// The browsers too: they are this process.
	self, err := os.Create(filepath.Join(b.o.signInProfileDir, "browsers-signin-cpu.pprof"))
	if err != nil {
		return err
	}
	defer self.Close()
	if err := pprof.StartCPUProfile(self); err != nil {
		return err
	}
	n, took, err := signInLoad(ctx, b.roots, page, 16, d, 0)
	pprof.StopCPUProfile()
	cpu1, _ := cpuTimes(procs)
	if err != nil {
		return fmt.Errorf("signin profile: %w\n%s", err, c.tail)
	}
	if err := <-profile; err != nil {
		return err
	}
	per := func(i int) float64 { return float64(cpu1[i]-cpu0[i]) / float64(time.Millisecond) / float64(n) }
	fmt.Fprintf(b.out, "Profiled run (proxy.Run in the load test's binary, with net/http/pprof; the profiles of it and of the browsers are in %s): 16 browsers, %d sign-ins, %.0f/s; CPU per sign-in: oidcgate %.3f ms, OP %.3f ms, backend %.3f ms, browsers (this process) %.3f ms.\n\n",
		b.o.signInProfileDir, n, float64(n)/took.Seconds(), per(0), per(1), per(2), per(3))
	return nil
}

// cpuTimes are the CPU times so far of procs and, last, of this process.
func cpuTimes(procs []*child) ([]time.Duration, error) {
	var out []time.Duration
	for _, c := range procs {
		t, err := c.cpu()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil, err
	}
	return append(out, time.Duration(ru.Utime.Nano()+ru.Stime.Nano())), nil
}

// roleGateProfiled is the -role of the profiled oidcgate.
const roleGateProfiled = "gate-profiled"

// runGateProfiled is `oidcgate serve -config cfgFile` with net/http/pprof on debug.
func runGateProfiled(args []string) error {
	fs := flag.NewFlagSet(roleGateProfiled, flag.ContinueOnError)
	cfgFile := fs.String("config", "", "oidcgate configuration")
	debug := fs.String("pprof", "", "net/http/pprof address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		return err
	}
	out := logbuffer.New(os.Stderr)
	defer out.Close()
	if err := servePprof(*debug); err != nil {
		return err
	}
	h := slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}) // as serve logs
	return proxy.Run(ctx, proxy.RunOptions{Options: proxy.Options{Config: cfg, Logger: slog.New(h)}})
}

// fetchProfile saves what url answers (a pprof profile) in file.
func fetchProfile(url, file string) error {
	c := &http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	progress("CPU profile of the sign-ins saved in %s", file)
	return f.Close()
}

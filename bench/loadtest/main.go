// Command loadtest measures oidcgate against the floor, a bare
// httputil.ReverseProxy, on one machine in one run.
//
// It starts, each in a process of its own: the in-process OpenID provider
// of proxy/proxytest, a small backend, the bare proxy, oidcgate itself (the
// built binary, `oidcgate serve`) and oidcgate's handler behind a plain-HTTP
// server. It signs one browser in, then:
//
//   - sign-ins per second through the whole flow, one browser and 16 and 32
//     in parallel, with oidcgate's CPU time per sign-in read from /proc;
//   - oidcgate's resident memory after many distinct users have signed in,
//     and the revocation marks it holds;
//   - wrk against the bare proxy and oidcgate in turn (A B A B …) at several
//     connection counts, over TLS and over plain HTTP.
//
// Usage (bench/run.sh builds both programs):
//
//	loadtest -oidcgate PATH [-quick] [-duration 6s] [-rounds 3] [-conns 16,64,256]
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/session"
)

type options struct {
	oidcgate, wrk    string
	duration         time.Duration
	rounds, threads  int
	conns            []int
	signInDuration   time.Duration
	users            int
	profileDir       string
	signInProfileDir string
	skipWrk, skipMem bool
	skipSignIn       bool
	hold             bool
	barePool         bool
	minimalRequest   bool
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-role" {
		var err error
		if os.Args[2] == roleGateProfiled {
			err = runGateProfiled(os.Args[3:])
		} else {
			err = runRole(os.Args[2], os.Args[3:])
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest %s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		return
	}
	var o options
	quick := flag.Bool("quick", false, "a smoke run of about 30 s: one round of 3 s at 64 connections, 1,000 users")
	conns := flag.String("conns", "16,64,256", "wrk connection counts, comma-separated")
	flag.StringVar(&o.oidcgate, "oidcgate", "", "the oidcgate binary (required)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "the wrk binary")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "length of one wrk run (whole seconds)")
	flag.IntVar(&o.rounds, "rounds", 6, "pairs of bare and oidcgate runs per connection count and transport")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.DurationVar(&o.signInDuration, "signin-duration", 5*time.Second, "length of each sign-in throughput run")
	flag.IntVar(&o.users, "users", 10_000, "distinct users signed in before memory is read")
	flag.StringVar(&o.profileDir, "profile", "", "save a CPU profile of the plain-HTTP oidcgate under load (64 connections, first round) in this folder")
	flag.StringVar(&o.signInProfileDir, "signin-profile", "", "after the sign-in runs, save a CPU profile of oidcgate (serve's composition, with pprof) while 16 browsers sign in, in this folder")
	flag.BoolVar(&o.skipWrk, "skip-wrk", false, "skip the wrk runs")
	flag.BoolVar(&o.skipMem, "skip-memory", false, "skip the many-users memory run")
	flag.BoolVar(&o.skipSignIn, "skip-signin", false, "skip the sign-in throughput runs")
	flag.BoolVar(&o.hold, "hold", false, "after the first sign-in, print the servers' addresses, processes and the session cookie, and keep them running until interrupted (for strace, pprof, wrk by hand)")
	flag.BoolVar(&o.barePool, "bare-pool", true, "give the bare proxy a copy-buffer pool, as oidcgate has (false: the stock ReverseProxy, which allocates 32 KB per request)")
	flag.BoolVar(&o.minimalRequest, "minimal-request", false, "wrk sends only the Cookie header (instead of the headers Chrome sends with a page request)")
	flag.Parse()
	if *quick {
		o.duration, o.rounds, *conns, o.signInDuration, o.users = 3*time.Second, 1, "64", 2*time.Second, 1000
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "loadtest: -conns %q: want numbers such as 16,64,256\n", *conns)
			os.Exit(2)
		}
		o.conns = append(o.conns, n)
	}
	if o.oidcgate == "" || o.duration < time.Second {
		fmt.Fprintln(os.Stderr, "loadtest: -oidcgate PATH is required, and -duration at least 1s")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// bench is the running deployment.
type bench struct {
	o         options
	out       io.Writer
	roots     *x509.CertPool
	op        *child
	opURL     string // the issuer
	gate      *child // oidcgate serve, over TLS
	plain     *child // oidcgate's handler over plain HTTP
	backend   *child
	procs     map[string]*child // the process behind each of urls
	admin     string            // oidcgate's admin listener
	pprof     string            // the plain one's net/http/pprof
	barePprof string            // the bare proxy's
	urls      map[string]string
	cookie    string // "oidcgate=…" of a signed-in user
	http      *http.Client
	stopAll   func()
	targets   []target // the targets, as measured
}

// target is one of the goals the run checks.
type target struct {
	what, goal, got string
	met             bool
}

func (b *bench) check(what, goal, got string, met bool) {
	b.targets = append(b.targets, target{what, goal, got, met})
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}

func run(ctx context.Context, o options, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "oidcgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, err := startAll(ctx, o, out, tmp)
	if b != nil {
		defer b.stopAll()
	}
	if err != nil {
		return err
	}
	floor := "the bare proxy reuses its copy buffers (sync.Pool), as oidcgate does"
	if !o.barePool {
		floor = "the bare proxy is the stock ReverseProxy (a 32 KB copy buffer allocated per request)"
	}
	fmt.Fprintf(out, "# oidcgate benchmark\n\n%s, %d CPUs, %s; wrk -t%d; each server in a process of its own; %s.\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), o.threads, floor)
	if err := b.firstSignIn(ctx); err != nil {
		return err
	}
	if o.hold {
		return b.holdOpen(ctx)
	}
	if !o.skipSignIn {
		if err := b.signInThroughput(ctx); err != nil {
			return err
		}
	}
	if o.signInProfileDir != "" {
		if err := b.signInProfile(ctx); err != nil {
			return err
		}
	}
	if !o.skipMem {
		if err := b.memory(ctx); err != nil {
			return err
		}
	}
	if !o.skipWrk {
		if err := b.throughput(ctx); err != nil {
			return err
		}
	}
	return b.finalState()
}

// holdOpen prints what one needs to drive and inspect the running servers
// by hand, and waits for an interrupt.
func (b *bench) holdOpen(ctx context.Context) error {
	for _, target := range slices.Sorted(maps.Keys(b.urls)) {
		fmt.Fprintf(b.out, "%-15s %s  pid %d\n", target, b.urls[target], b.procs[target].cmd.Process.Pid)
	}
	fmt.Fprintf(b.out, "backend pid %d, OP pid %d, pprof: oidcgate-plain %s/debug/pprof/, bare %s/debug/pprof/\n", b.backend.cmd.Process.Pid, b.op.cmd.Process.Pid, b.pprof, b.barePprof)
	fmt.Fprintf(b.out, "header: Cookie: %s\n", b.cookie)
	progress("holding the servers open; interrupt to stop")
	<-ctx.Done()
	return nil
}

// startAll starts every server and waits until each answers.
func startAll(ctx context.Context, o options, out io.Writer, tmp string) (*bench, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	certFile, keyFile, err := testcert.Write(tmp, 24*time.Hour, "127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	addr := map[string]string{}
	for _, name := range []string{"op", "backend", "bare", "bare-plain", "bare-pprof", "gate", "admin", "gate-plain", "pprof"} {
		if addr[name], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	b := &bench{
		o: o, out: out, roots: roots,
		opURL:     "https://" + addr["op"] + "/" + tenant + "/v2.0",
		admin:     "http://" + addr["admin"],
		pprof:     "http://" + addr["pprof"],
		barePprof: "http://" + addr["bare-pprof"],
		urls: map[string]string{
			"bare/tls":       "https://" + addr["bare"] + "/app/",
			"oidcgate/tls":   "https://" + addr["gate"] + "/app/",
			"bare/plain":     "http://" + addr["bare-plain"] + "/app/",
			"oidcgate/plain": "http://" + addr["gate-plain"] + "/app/",
		},
		http: &http.Client{Timeout: 10 * time.Second, Transport: newBrowserTransport(roots)},
	}
	var children []*child
	b.stopAll = func() {
		for _, c := range slices.Backward(children) {
			c.stop()
		}
	}
	launch := func(name string, env []string, path string, args ...string) (*child, error) {
		c, err := start(name, env, path, args...)
		if err == nil {
			children = append(children, c)
		}
		return c, err
	}
	trustEnv := []string{"SSL_CERT_FILE=" + certFile} // the proxies' outbound calls to the OP

	progress("starting the OP, the backend and the bare proxy")
	if b.op, err = launch("op", nil, self, "-role", "op", "-listen", addr["op"], "-cert", certFile, "-key", keyFile); err != nil {
		return b, err
	}
	backend, err := launch("backend", nil, self, "-role", "backend", "-listen", addr["backend"])
	if err != nil {
		return b, err
	}
	b.backend = backend
	bare, err := launch("bare", nil, self, "-role", "bare", "-listen", addr["bare"], "-plain", addr["bare-plain"],
		"-cert", certFile, "-key", keyFile, "-upstream", "http://"+addr["backend"]+"/app/", "-pool="+strconv.FormatBool(o.barePool), "-pprof", addr["bare-pprof"])
	if err != nil {
		return b, err
	}
	for _, w := range []struct {
		c   *child
		url string
	}{{b.op, b.opURL + "/.well-known/openid-configuration"}, {backend, "http://" + addr["backend"] + "/app/"},
		{bare, b.urls["bare/tls"]}, {bare, b.urls["bare/plain"]}} {
		if err := w.c.waitHTTP(w.url, http.StatusOK); err != nil {
			return b, err
		}
	}

	progress("starting oidcgate")
	key := session.GenerateKey()
	gateCfg := filepath.Join(tmp, "oidcgate.toml")
	plainCfg := filepath.Join(tmp, "oidcgate-plain.toml")
	for _, f := range []struct{ file, listen, admin string }{
		{gateCfg, addr["gate"], addr["admin"]},
		{plainCfg, addr["gate-plain"], ""},
	} {
		toml := configTOML(f.listen, f.admin, certFile, keyFile, b.opURL, key, "http://"+addr["backend"]+"/app/")
		if err := os.WriteFile(f.file, []byte(toml), 0o600); err != nil {
			return b, err
		}
	}
	if b.gate, err = launch("oidcgate", trustEnv, o.oidcgate, "serve", "-config", gateCfg); err != nil {
		return b, err
	}
	if b.plain, err = launch("oidcgate-plain", trustEnv, self, "-role", "gate-plain", "-plain", addr["gate-plain"], "-config", plainCfg, "-pprof", addr["pprof"]); err != nil {
		return b, err
	}
	b.procs = map[string]*child{"bare/tls": bare, "bare/plain": bare, "oidcgate/tls": b.gate, "oidcgate/plain": b.plain}
	if err := b.gate.waitHTTP(b.admin+"/readyz", http.StatusOK); err != nil {
		return b, err
	}
	// Without a session the plain one answers 401; any answer means ready.
	if err := b.plain.waitHTTP(b.urls["oidcgate/plain"], 0); err != nil {
		return b, err
	}
	return b, nil
}

// configTOML is oidcgate's configuration: one site in front of the
// backend, sessions for every site (single sign-on), and the usual Entra
// ID rule: the user is the preferred_username claim.
func configTOML(listen, admin, certFile, keyFile, issuer, key, upstream string) string {
	return testconfig.Options{
		Listen: listen, AdminListen: admin,
		CertFile: certFile, KeyFile: keyFile,
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		ClientID:     clientID, ClientSecret: clientSecret,
		AuthorizationMethod: "GET",
		Keys:                []string{key},
		ClaimType:           "preferred_username",
		AuthenticationType:  "EntraID",
		Sites:               []testconfig.Site{{Name: "app", BaseURL: "https://" + listen + "/app/", Upstream: upstream}},
	}.TOML()
}

// firstSignIn signs one browser in, keeps its cookie for wrk, and reports
// the cookie's size.
func (b *bench) firstSignIn(ctx context.Context) error {
	tr := newBrowserTransport(b.roots)
	defer tr.CloseIdleConnections()
	res, err := signIn(ctx, tr, b.urls["oidcgate/tls"])
	if err != nil {
		return fmt.Errorf("first sign-in: %w\noidcgate's last log lines:\n%s", err, b.gate.tail)
	}
	b.cookie = res.Cookie.Name + "=" + res.Cookie.Value
	// The same cookie must open the plain-HTTP oidcgate (same keys).
	for _, name := range []string{"oidcgate/plain", "oidcgate/tls"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.urls[name], nil)
		req.Header.Set("Cookie", b.cookie)
		resp, err := b.http.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != backendBody {
			return fmt.Errorf("%s with the session cookie answered %s: %.200s", name, resp.Status, body)
		}
	}
	b.check("session cookie", "≤ 800 bytes", fmt.Sprintf("%d bytes (Set-Cookie header)", len(res.SetCookie)), len(res.SetCookie) <= 800)
	fmt.Fprintf(b.out, "## Session cookie\n\nEntra ID-like claims (name, email, preferred_username, oid, tid, 5 groups; issuer https://HOST/<tenant>/v2.0):\n"+
		"Set-Cookie header %d bytes, cookie value %d bytes, Cookie request header pair %d bytes (target ≤ 800).\n\n",
		len(res.SetCookie), len(res.Cookie.Value), len(b.cookie))
	return nil
}

// opStats reads the OP's counters.
func (b *bench) opStats() (opStats, error) {
	var s opStats
	u, _ := strings.CutSuffix(b.opURL, "/"+tenant+"/v2.0")
	resp, err := b.http.Get(u + "/_bench/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// signInThroughput measures complete sign-ins per second and oidcgate's
// CPU time for each.
func (b *bench) signInThroughput(ctx context.Context) error {
	fmt.Fprintf(b.out, "## Sign-in throughput\n\nFull flow per sign-in: page → sign-in initiation → OP authorize → callback (code exchange, ID token check) → page from the backend; a new cookie jar (a new user) each time, each browser on its own kept-alive connections. oidcgate's CPU is its process's user+system time from /proc (the OP, the browsers and the backend run in other processes).\n\n")
	fmt.Fprintf(b.out, "| browsers | sign-ins | sign-ins/s | oidcgate CPU per sign-in | OP key fetches | oidcgate provider fetches |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, browsers := range []int{1, 16, 32} {
		progress("sign-ins with %d browser(s) for %s", browsers, b.o.signInDuration)
		if err := b.signInRow(ctx, browsers, b.o.signInDuration, 0); err != nil {
			return err
		}
	}
	fmt.Fprintln(b.out)
	return nil
}

func (b *bench) signInRow(ctx context.Context, browsers int, d time.Duration, total int) error {
	st0, err := b.opStats()
	if err != nil {
		return err
	}
	f0, err := metric(b.http, b.admin+"/metrics", "oidcgate_provider_fetches_total")
	if err != nil {
		return err
	}
	cpu0, err := b.gate.cpu()
	if err != nil {
		return err
	}
	n, took, err := signInLoad(ctx, b.roots, b.urls["oidcgate/tls"], browsers, d, total)
	if err != nil {
		return fmt.Errorf("sign-ins with %d browsers: %w\noidcgate's last log lines:\n%s", browsers, err, b.gate.tail)
	}
	cpu1, _ := b.gate.cpu()
	st1, err := b.opStats()
	if err != nil {
		return err
	}
	f1, err := metric(b.http, b.admin+"/metrics", "oidcgate_provider_fetches_total")
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("no sign-in completed")
	}
	rate := float64(n) / took.Seconds()
	cpu := float64(cpu1-cpu0) / float64(time.Millisecond) / float64(n)
	keys := st1.JWKSFetches - st0.JWKSFetches
	fmt.Fprintf(b.out, "| %d | %d | %.0f | %.3f ms | %d | %.0f |\n", browsers, n, rate, cpu, keys, f1-f0)
	if browsers == 16 && total == 0 {
		b.check("sign-ins/s, 16 browsers", "≥ 500", fmt.Sprintf("%.0f", rate), rate >= 500)
		b.check("oidcgate CPU per sign-in (16 browsers)", "≤ 1 ms", fmt.Sprintf("%.3f ms", cpu), cpu <= 1)
	}
	b.check(fmt.Sprintf("key fetches during %d sign-ins (%d browsers)", n, browsers), "0", fmt.Sprintf("%d at the OP, %.0f by oidcgate", keys, f1-f0), keys == 0 && f1 == f0)
	return nil
}

// memory signs many distinct users in, then reads oidcgate's resident
// memory and the revocation marks it holds.
func (b *bench) memory(ctx context.Context) error {
	progress("signing %d users in with 16 browsers", b.o.users)
	fmt.Fprintf(b.out, "## Memory after %d distinct users\n\n", b.o.users)
	fmt.Fprintf(b.out, "| browsers | sign-ins | sign-ins/s | oidcgate CPU per sign-in | OP key fetches | oidcgate provider fetches |\n|---:|---:|---:|---:|---:|---:|\n")
	if err := b.signInRow(ctx, 16, 0, b.o.users); err != nil {
		return err
	}
	rss, err := b.memoryLine("after the sign-ins")
	if err == nil {
		b.check(fmt.Sprintf("resident memory after %d users", b.o.users), "≤ 64 MB", fmt.Sprintf("%.1f MB", float64(rss)/1e6), rss <= 64e6)
	}
	return err
}

func (b *bench) memoryLine(when string) (int64, error) {
	rss, peak, err := b.gate.rss()
	if err != nil {
		return 0, err
	}
	marks, err := metric(b.http, b.admin+"/metrics", "oidcgate_store_marks")
	if err != nil {
		return 0, err
	}
	heap, err := metric(b.http, b.admin+"/metrics", "go_memstats_heap_inuse_bytes")
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(b.out, "\noidcgate %s: resident memory %.1f MB (peak %.1f MB, target ≤ 64 MB), Go heap in use %.1f MB; %.0f revocation marks held.\n\n",
		when, float64(rss)/1e6, float64(peak)/1e6, heap/1e6, marks)
	return rss, nil
}

func (b *bench) finalState() error {
	fmt.Fprintf(b.out, "## At the end of the run\n")
	if _, err := b.memoryLine("at the end"); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "## Targets\n\n| what | target | measured | met |\n|---|---|---|---|\n")
	for _, t := range b.targets {
		met := "yes"
		if !t.met {
			met = "**no**"
		}
		fmt.Fprintf(b.out, "| %s | %s | %s | %s |\n", t.what, t.goal, t.got, met)
	}
	return nil
}

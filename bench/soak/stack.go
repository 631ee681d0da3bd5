package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/session"
)

// publicHost is the replicas' base_url host: what a load balancer in front
// of them would answer on. Browsers (signIn) reach it through a dialer that
// picks a replica; wrk talks to each replica's own port, which base_url
// allows by naming no port.
const publicHost = "127.0.0.1"

const clientID = "oidcgate-soak"

type stack struct {
	dir      string
	op       *fakeop.OP
	opSrv    *httptest.Server
	secret   string
	backend  *http.Server
	upstream string
	roots    *x509.CertPool
	certFile string
	keyFile  string
	oldKey   string
	newKey   string
	a, b     *replica
	// logged counts the replicas' log records at warning level or above.
	logged  atomic.Int64
	verbose bool
	// backendConns lets measure close the backend's connections that are
	// idle or were never used (a transport dials ahead; the server would
	// close those only after 5 s).
	backendConns connStates
	// checker sends requests with a user's cookie straight to a replica.
	checker *http.Client
	mu      sync.Mutex
}

func startStack(ctx context.Context, o options) (*stack, error) {
	dir, err := os.MkdirTemp("", "oidcgate-soak-")
	if err != nil {
		return nil, err
	}
	st := &stack{dir: dir, secret: rand.Text(), oldKey: session.GenerateKey(), newKey: session.GenerateKey(), verbose: o.verbose}
	if st.certFile, st.keyFile, err = testcert.Write(dir, 24*time.Hour, publicHost, "localhost"); err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(st.certFile)
	if err != nil {
		return nil, err
	}

	// The provider: one account per user who will ever sign in.
	var users []fakeop.User
	for i := 0; i < o.users+2*o.signIns; i++ {
		users = append(users, fakeop.User{
			Name: userName(i), Password: password(i),
			Claims: map[string]any{"sub": fmt.Sprintf("sub-%04d", i), "email": userName(i) + "@example.com", "preferred_username": userName(i)},
		})
	}
	st.op, err = fakeop.New(fakeop.Options{
		ClientID: clientID, ClientSecret: st.secret, TokenAuthMethod: fakeop.ClientSecretBasic,
		Users: users, Interactive: true,
	})
	if err != nil {
		return nil, err
	}
	st.opSrv = httptest.NewTLSServer(st.op.Handler())
	st.op.SetIssuer(st.opSrv.URL)
	st.roots = x509.NewCertPool()
	st.roots.AddCert(st.opSrv.Certificate())
	if !st.roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("cannot read the test certificate")
	}
	st.checker = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: st.roots}}}

	// The backend: a request without an identity is an error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	st.upstream = "http://" + ln.Addr().String() + "/administration/"
	st.backend = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-Forwarded-User")
		if user == "" {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok "+user+"\n")
	}), ReadHeaderTimeout: 10 * time.Second, ConnState: st.backendConns.track}
	go st.backend.Serve(ln)

	// Both replicas accept both keys; the old one signs, until b's restart.
	if st.a, err = st.startReplica(ctx, "a", nil, nil, []string{st.oldKey, st.newKey}); err != nil {
		return nil, err
	}
	if st.b, err = st.startReplica(ctx, "b", nil, nil, []string{st.oldKey, st.newKey}); err != nil {
		return nil, err
	}
	for _, r := range []*replica{st.a, st.b} {
		if err := r.waitReady(ctx); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func userName(i int) string { return fmt.Sprintf("user%04d", i) }
func password(i int) string { return fmt.Sprintf("password-%04d", i) }

func (st *stack) close() {
	for _, r := range []*replica{st.a, st.b} {
		if r != nil {
			r.stop()
		}
	}
	if st.backend != nil {
		st.backend.Close()
	}
	if st.opSrv != nil {
		st.opSrv.Close()
	}
	os.RemoveAll(st.dir)
}

// replica is one proxy.Run, on a listening socket that outlives it.
type replica struct {
	name   string
	public string // https://127.0.0.1:port
	admin  string // http://127.0.0.1:port
	ln     *handover
	adminL *handover
	cancel context.CancelFunc
	done   chan error
}

func (st *stack) startReplica(ctx context.Context, name string, ln, adminLn net.Listener, keys []string) (*replica, error) {
	var err error
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	if adminLn == nil {
		if adminLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	r := &replica{
		name:   name,
		public: "https://" + ln.Addr().String(),
		admin:  "http://" + adminLn.Addr().String(),
		ln:     newHandover(ln),
		adminL: newHandover(adminLn),
		done:   make(chan error, 1),
	}
	cfg, err := config.Parse([]byte(st.configTOML(ln.Addr().String(), adminLn.Addr().String(), keys)), "soak-"+name+".toml")
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if st.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(&countingHandler{
		Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}),
		count:   &st.logged,
	}).With("replica", name)
	started := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	go func() {
		r.done <- proxy.Run(runCtx, proxy.RunOptions{
			Options: proxy.Options{
				Config:         cfg,
				Logger:         logger,
				OutboundClient: &http.Client{Transport: st.opSrv.Client().Transport},
				Version:        "soak",
			},
			Listener:      r.ln,
			AdminListener: r.adminL,
			Started:       func(net.Addr, net.Addr) { close(started) },
		})
	}()
	select {
	case <-started:
		return r, nil
	case err := <-r.done:
		cancel()
		return nil, fmt.Errorf("replica %s: %w", name, err)
	case <-time.After(10 * time.Second):
		cancel()
		return nil, fmt.Errorf("replica %s did not start", name)
	}
}

func (st *stack) configTOML(listen, admin string, keys []string) string {
	return testconfig.Options{
		Listen: listen, AdminListen: admin,
		CertFile: st.certFile, KeyFile: st.keyFile,
		DiscoveryURL: st.op.Endpoints().Discovery,
		ClientID:     clientID, ClientSecret: st.secret,
		AuthorizationMethod: "GET",
		Keys:                keys,
		AuthenticationType:  "Soak",
		Sites:               []testconfig.Site{{Name: "Administration", BaseURL: "https://" + publicHost + "/Administration/", Upstream: st.upstream}},
		// wrk does not watch /readyz: a stopping replica has nobody to
		// drain, and its restart is measured without the wait.
		Extra: "[limits]\nshutdown_delay = \"0s\"\n",
	}.TOML()
}

// stop ends the replica gracefully and waits for it.
func (r *replica) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("replica %s did not stop", r.name)
	}
}

// restart stops the replica and starts a new one with keys on the same
// sockets: connections arriving meanwhile wait in the listen queue.
func (st *stack) restart(ctx context.Context, r *replica, keys []string) (*replica, error) {
	if err := r.stop(); err != nil {
		return nil, err
	}
	return st.startReplica(ctx, r.name, r.ln.Listener, r.adminL.Listener, keys)
}

func (r *replica) waitReady(ctx context.Context) error {
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(r.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s not ready after 15s", r.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// handover is a listener whose Close only stops this server's Accept: the
// socket stays open for the next instance, as with socket activation.
type handover struct {
	net.Listener
	closed chan struct{}
	once   sync.Once
}

func newHandover(ln net.Listener) *handover {
	ln.(*net.TCPListener).SetDeadline(time.Time{})
	return &handover{Listener: ln, closed: make(chan struct{})}
}

func (h *handover) Accept() (net.Conn, error) {
	for {
		select {
		case <-h.closed:
			return nil, net.ErrClosed
		default:
		}
		// A short deadline lets Accept notice Close without closing the socket.
		h.Listener.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
		c, err := h.Listener.Accept()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		// A connection accepted just as Close came is still served: the
		// server is shutting down and answers it with Connection: close.
		return c, err
	}
}

func (h *handover) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

// countingHandler counts records at warning level or above.
type countingHandler struct {
	slog.Handler
	count *atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.count.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(attrs), count: h.count}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), count: h.count}
}

// events runs the provider's key rotation and replica b's restart while
// wrk runs, with sign-ins after each; it reports what happened when done.
func (st *stack) events(ctx context.Context, o options, fail func(string, ...any)) <-chan eventLog {
	out := make(chan eventLog, 1)
	go func() {
		var ev eventLog
		defer func() { out <- ev }()
		begin := time.Now()
		wait := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		if !wait(o.duration / 4) {
			return
		}
		kid, err := st.op.RotateKey(false)
		if err != nil {
			fail("key rotation: %v", err)
			return
		}
		progress("provider rotated its signing key (kid %s); %d new sign-ins", kid, o.signIns)
		start := time.Now()
		users, err := st.signInMany(ctx, o.users, o.signIns, []*replica{st.a, st.b})
		ev.afterRotation = time.Since(start)
		if err != nil {
			fail("sign-in after the key rotation: %v", err)
		}
		ev.rotationSignIns = len(users)

		if !wait(time.Until(begin.Add(o.duration / 2))) {
			return
		}
		progress("restarting replica b with a new first cookie key")
		start = time.Now()
		nb, err := st.restart(ctx, st.b, []string{st.newKey, st.oldKey})
		if err != nil {
			fail("restart of replica b: %v", err)
			return
		}
		st.mu.Lock()
		st.b = nb
		st.mu.Unlock()
		if err := nb.waitReady(ctx); err != nil {
			fail("%v", err)
			return
		}
		ev.restart = time.Since(start)
		progress("replica b back after %v; %d new sign-ins through it", ev.restart.Round(time.Millisecond), o.signIns)
		users, err = st.signInMany(ctx, o.users+o.signIns, o.signIns, []*replica{nb})
		if err != nil {
			fail("sign-in after the restart: %v", err)
		}
		ev.restartSignIns = len(users)
		for _, u := range users {
			for _, r := range []*replica{st.a, nb} {
				if err := st.check(ctx, u, r); err != nil {
					fail("a cookie made with the new key, at replica %s: %v", r.name, err)
				} else {
					ev.newKeyChecks++
				}
			}
		}
	}()
	return out
}

type eventLog struct {
	rotationSignIns int
	afterRotation   time.Duration
	restart         time.Duration
	restartSignIns  int
	newKeyChecks    int
}

// connStates remembers each connection's last state.
type connStates struct {
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func (c *connStates) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[net.Conn]http.ConnState{}
	}
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(c.conns, conn)
	default:
		c.conns[conn] = state
	}
}

// closeIdle closes every connection not serving a request.
func (c *connStates) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, state := range c.conns {
		if state == http.StateNew || state == http.StateIdle {
			conn.Close()
		}
	}
}

package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/redistest"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/session"
	"github.com/redis/go-redis/v9"
)

// startRunAs is startRun for one replica behind a load balancer at public
// ("": its own address): its client reaches public at this replica. log
// nil writes to r.logs.
func startRunAs(t *testing.T, op *fakeoptest.OP, backendURL, extraTOML, public string, log *slog.Logger) *running {
	t.Helper()
	var own string
	r := startRunWith(t, op, backendURL, extraTOML, func(o *testconfig.Options) {
		own = o.Listen
		if public != "" {
			o.Sites[0].BaseURL = public + "/Administration/"
		}
	}, func(o *proxy.RunOptions) {
		if log != nil {
			o.Logger = log
		}
	})
	if public == "" {
		return r
	}
	r.public = public
	publicHost := strings.TrimPrefix(public, "https://")
	var dialer net.Dialer
	r.client.Transport = &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test's own self-signed certificate
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == publicHost {
				addr = own
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return r
}

// cluster is oidcgate replicas behind one public address (the first
// replica's), sharing a store, as behind a load balancer: each replica's
// client and browsers reach the public address at that replica.
type cluster struct {
	t         *testing.T
	op        *fakeoptest.OP
	backend   *recorder
	redis     *redistest.Server // nil with kind = "memory"
	storeTOML string
	public    string
	replicas  []*running
}

func newCluster(t *testing.T, n int, kind, moreStore string) *cluster {
	t.Helper()
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	c := &cluster{t: t, op: op, backend: newRecorder(t)}
	switch kind {
	case "redis":
		c.redis = redistest.Start(t, redistest.Options{})
		c.storeTOML = fmt.Sprintf("[store]\nkind = \"redis\"\nurl = %q\n%s", c.redis.URL, moreStore)
	default:
		c.storeTOML = "[store]\nkind = \"memory\"\n" + moreStore
	}
	for range n {
		c.add()
	}
	return c
}

// add starts one more replica and waits until it is ready.
func (c *cluster) add() *running {
	c.t.Helper()
	r := c.start(nil)
	waitRunReady(c.t, r)
	return r
}

func (c *cluster) start(log *slog.Logger) *running {
	c.t.Helper()
	r := startRunAs(c.t, c.op, c.backend.URL, c.storeTOML, c.public, log)
	if c.public == "" {
		c.public = r.public
	}
	c.replicas = append(c.replicas, r)
	return r
}

// browser is a browser whose requests to the public address reach r.
func (c *cluster) browser(r *running) *browser { return testkit.NewBrowser(c.t, r.client.Transport) }

// signIn signs a new browser in through r and returns its session
// cookies as a Cookie header, ready to be copied.
func (c *cluster) signIn(r *running) (*browser, string) {
	c.t.Helper()
	b := c.browser(r)
	g := &gate{t: c.t, op: c.op, url: c.public, logs: r.logs, backend: c.backend}
	g.signedIn(b, "/Administration/")
	var pairs []string
	for _, ck := range b.Jar.Cookies(mustURL(c.public + "/Administration/")) {
		if strings.HasPrefix(ck.Name, sessionCookie) && !strings.HasPrefix(ck.Name, loginCookiePrefix) {
			pairs = append(pairs, ck.Name+"="+ck.Value)
		}
	}
	if len(pairs) == 0 {
		c.t.Fatal("no session cookie after sign-in")
	}
	return b, strings.Join(pairs, "; ")
}

// api sends an API call with cookie to r; it returns the status and
// whether the backend received the request.
func (c *cluster) api(r *running, cookie string) (int, bool) {
	c.t.Helper()
	before := len(c.backend.requests())
	req, _ := http.NewRequest(http.MethodGet, c.public+"/Administration/api/me", nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		c.t.Fatalf("API call: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, len(c.backend.requests()) > before
}

// refusedWithin waits until r refuses cookie, and asserts nothing was
// forwarded then.
func (c *cluster) refusedWithin(r *running, cookie string, d time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	err := testkit.Until(d, func() error {
		code, forwarded := c.api(r, cookie)
		if code == http.StatusUnauthorized && !forwarded {
			return nil
		}
		return fmt.Errorf("API call with the copied cookie = %d, forwarded %v", code, forwarded)
	})
	if err != nil {
		c.t.Fatalf("replica %s: %v", r.admin, err)
	}
	return time.Since(start)
}

func (c *cluster) served(r *running, cookie string) {
	c.t.Helper()
	if code, forwarded := c.api(r, cookie); code != http.StatusOK || !forwarded {
		c.t.Fatalf("replica %s: API call with a live session = %d, forwarded %v; want 200", r.admin, code, forwarded)
	}
}

func signOut(t *testing.T, c *cluster, b *browser) {
	t.Helper()
	p := b.Do(http.MethodGet, c.public+"/Administration/oidcServices/signoutinitiation", nil, nil)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "signed out") {
		t.Fatalf("sign-out = %d:\n%s", p.StatusCode, p.Body)
	}
}

// metricValue reads one series (name with its labels, as exposed) from
// r's /metrics.
func metricValue(t *testing.T, r *running, series string) float64 {
	t.Helper()
	_, body := r.get(t, r.admin+"/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// TestSignOutEndsCopiedCookie: after sign-out, a copy of the session
// cookie taken before is refused at the replica that signed out and at
// every other one, and nothing more is forwarded with it.
func TestSignOutEndsCopiedCookie(t *testing.T) {
	for _, tt := range []struct {
		kind     string
		replicas int
	}{{"memory", 1}, {"redis", 3}} {
		t.Run(tt.kind, func(t *testing.T) {
			c := newCluster(t, tt.replicas, tt.kind, "")
			first := c.replicas[0]
			b, copied := c.signIn(first)
			for _, r := range c.replicas {
				c.served(r, copied)
			}
			signOut(t, c, b)
			// At the replica that signed out, at once.
			if code, forwarded := c.api(first, copied); code != http.StatusUnauthorized || forwarded {
				t.Errorf("copied cookie at the same replica after sign-out = %d, forwarded %v; want 401", code, forwarded)
			}
			// A browser with the copy is sent to sign in, not served.
			thief := c.browser(first)
			thief.Jar.SetCookies(mustURL(c.public+"/"), parseCookies(copied))
			p := thief.Do(http.MethodGet, c.public+"/Administration/page", nil, nil)
			if p.StatusCode != http.StatusFound || !strings.Contains(p.Header.Get("Location"), "ignininitiation") {
				t.Errorf("navigation with the copied cookie = %d to %q; want a redirect to sign-in", p.StatusCode, p.Header.Get("Location"))
			}
			for _, r := range c.replicas[1:] {
				d := c.refusedWithin(r, copied, 2*time.Second)
				t.Logf("refused at another replica after %v", d)
			}
			// Signing out again and again with the copy writes no more marks.
			for range 20 {
				req, _ := http.NewRequest(http.MethodGet, c.public+"/Administration/oidcServices/signoutinitiation", nil)
				req.Header.Set("Cookie", copied)
				resp, err := first.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if n := metricValue(t, first, `oidcgate_revocations_total{source="signout"}`); n != 1 {
				t.Errorf("oidcgate_revocations_total{source=\"signout\"} = %v after one sign-out and 20 with its copy; want 1", n)
			}
			if n := metricValue(t, first, "oidcgate_store_marks"); n != 1 {
				t.Errorf("oidcgate_store_marks = %v; want 1", n)
			}
			// The user signs in again: a new session, served everywhere.
			_, again := c.signIn(first)
			for _, r := range c.replicas {
				c.served(r, again)
			}
		})
	}
}

func parseCookies(header string) []*http.Cookie {
	cs, _ := http.ParseCookie(header)
	return cs
}

// TestNoStoreRoundTripPerRequest: authenticated requests send no command
// to the store; only its follower's steady reads (one every half second
// at most while idle) show in the count.
func TestNoStoreRoundTripPerRequest(t *testing.T) {
	c := newCluster(t, 1, "redis", "")
	r := c.replicas[0]
	_, cookie := c.signIn(r)
	const n = 300
	before := metricValue(t, r, "oidcgate_store_commands_total")
	start := time.Now()
	for range n {
		c.served(r, cookie)
	}
	elapsed := time.Since(start)
	sent := metricValue(t, r, "oidcgate_store_commands_total") - before
	// The follower blocks up to 500 ms per read and checks the store
	// after each: allow it a few commands per second of the run.
	allowed := 4 * (1 + elapsed.Seconds()/0.5)
	t.Logf("%d authenticated requests in %v: %v store commands (the follower's)", n, elapsed, sent)
	if sent > allowed {
		t.Errorf("%d authenticated requests sent %v store commands; want only the follower's (≤ %.0f)", n, sent, allowed)
	}
}

// TestReplayedCallbackAtAnotherReplica: a callback replayed at another
// replica, with the login cookie, is refused by oidcgate itself, even by a
// provider that would redeem the code twice.
func TestReplayedCallbackAtAnotherReplica(t *testing.T) {
	c := newCluster(t, 2, "redis", "")
	c.op.AllowCodeReuse(true)
	first, other := c.replicas[0], c.replicas[1]
	g := &gate{t: t, op: c.op, url: c.public, logs: first.logs, backend: c.backend}
	b := c.browser(first)
	cb := g.startSignIn(b)
	saved := b.Jar.Cookies(cb)
	if p := last(b.Follow(b.Do(http.MethodGet, cb.String(), nil, nil))); p.StatusCode != http.StatusOK {
		t.Fatalf("first callback = %d", p.StatusCode)
	}
	attacker := c.browser(other)
	attacker.Jar.SetCookies(cb, saved)
	tokens := c.op.Stats().TokenRequests
	p := attacker.Do(http.MethodGet, cb.String(), nil, nil)
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "already used") {
		t.Errorf("replayed callback at another replica = %d; want 400 saying it was already used\n%s", p.StatusCode, p.Body)
	}
	for _, ck := range p.Cookies() {
		if ck.Name == sessionCookie && ck.MaxAge >= 0 {
			t.Errorf("replayed callback set a session cookie")
		}
	}
	if n := c.op.Stats().TokenRequests; n != tokens {
		t.Errorf("the replay reached the token endpoint (%d requests, had %d)", n, tokens)
	}
	if !strings.Contains(other.logs.String(), `"reason":"state_replayed"`) {
		t.Errorf("no state_replayed refusal logged at the other replica:\n%s", other.logs.String())
	}
}

// TestMarksOutliveTheStore: Redis restarted empty keeps no marks, but the
// replicas do and write them back; a replica started afterwards loads
// them before it is ready.
func TestMarksOutliveTheStore(t *testing.T) {
	c := newCluster(t, 2, "redis", "")
	first, second := c.replicas[0], c.replicas[1]
	b, ended := c.signIn(first)
	_, kept := c.signIn(second)
	signOut(t, c, b)
	c.refusedWithin(second, ended, 2*time.Second)

	c.redis.Restart() // empty
	for _, r := range c.replicas {
		if code, forwarded := c.api(r, ended); code != http.StatusUnauthorized || forwarded {
			t.Errorf("after Redis restarted empty: ended session = %d, forwarded %v; want 401", code, forwarded)
		}
		c.served(r, kept)
	}
	// A replica that starts now learns the mark from Redis, where the
	// others wrote it back: it must be refused from the first request.
	var late *running
	err := testkit.Until(5*time.Second, func() error {
		if late == nil {
			late = c.add()
		}
		if code, _ := c.api(late, ended); code != http.StatusUnauthorized {
			return fmt.Errorf("ended session at a replica started after Redis restarted = %d", code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.served(late, kept)
	if n := metricValue(t, late, "oidcgate_store_marks"); n != 1 {
		t.Errorf("oidcgate_store_marks at the late replica = %v; want 1", n)
	}
}

// TestReplicaStartedAfterRevocation: a replica that starts after a
// revocation refuses the ended session from its first request: /readyz
// turns 200 only once the marks are loaded.
func TestReplicaStartedAfterRevocation(t *testing.T) {
	c := newCluster(t, 1, "redis", "")
	b, ended := c.signIn(c.replicas[0])
	_, kept := c.signIn(c.replicas[0])
	signOut(t, c, b)
	late := c.add()
	if code, forwarded := c.api(late, ended); code != http.StatusUnauthorized || forwarded {
		t.Errorf("ended session at a replica started later = %d, forwarded %v; want 401", code, forwarded)
	}
	c.served(late, kept)
}

// TestStoreOutageOpen: with outage = "open", a replica whose store is down
// stays ready and keeps serving; sign-out still ends the session here at
// once, and everywhere once Redis is back. One warning per outage, one
// line when it is back.
func TestStoreOutageOpen(t *testing.T) {
	c := newCluster(t, 2, "redis", `outage = "open"`+"\n")
	first, second := c.replicas[0], c.replicas[1]
	b, ended := c.signIn(first)
	_, kept := c.signIn(first)

	c.redis.Stop()
	err := testkit.Until(5*time.Second, func() error {
		if up := metricValue(t, first, "oidcgate_store_up"); up != 0 {
			return fmt.Errorf("oidcgate_store_up = %v", up)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code, body := first.get(t, first.admin+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, "store: unreachable since ") {
		t.Errorf("/readyz with the store down, outage open = %d %q; want 200 naming the store unreachable", code, body)
	}
	c.served(first, kept)
	c.served(second, ended)
	signOut(t, c, b)
	if code, forwarded := c.api(first, ended); code != http.StatusUnauthorized || forwarded {
		t.Errorf("signed-out session at the same replica during the outage = %d, forwarded %v; want 401", code, forwarded)
	}
	// A new sign-in works, its state checked on this replica only.
	c.signIn(first)

	c.redis.Restart()
	c.refusedWithin(second, ended, 5*time.Second)
	c.served(second, kept)
	code, body = first.get(t, first.admin+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, "store: ok") {
		t.Errorf("/readyz after the store came back = %d %q", code, body)
	}
	logs := first.logs.String()
	if n := strings.Count(logs, "store: unreachable"); n != 1 {
		t.Errorf("%d warnings for one outage; want 1:\n%s", n, grep(logs, "store:"))
	}
	if n := strings.Count(logs, "store: reachable again"); n != 1 {
		t.Errorf("%d lines saying the store is back; want 1:\n%s", n, grep(logs, "store:"))
	}
}

// TestStoreOutageClosed: with outage = "closed", a replica refuses
// forwarded requests with 503 once the store has been down for
// outage_grace, and /readyz says so; its own pages still answer.
func TestStoreOutageClosed(t *testing.T) {
	c := newCluster(t, 1, "redis", "outage = \"closed\"\noutage_grace = \"1s\"\n")
	r := c.replicas[0]
	_, cookie := c.signIn(r)
	c.redis.Stop()
	err := testkit.Until(10*time.Second, func() error {
		if code, forwarded := c.api(r, cookie); code != http.StatusServiceUnavailable || forwarded {
			return fmt.Errorf("API call with the store down past outage_grace = %d, forwarded %v", code, forwarded)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := r.get(t, r.admin+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store: unreachable since") {
		t.Errorf("/readyz in a closed outage = %d %q; want 503 naming the store", code, body)
	}
	if code, _ := r.get(t, c.public+"/Administration/oidcServices/signininitiation"); code != http.StatusFound {
		t.Errorf("sign-in initiation in a closed outage = %d; want 302 (oidcgate's own pages answer)", code)
	}
	c.redis.Restart()
	err = testkit.Until(10*time.Second, func() error {
		if code, _ := c.api(r, cookie); code != http.StatusOK {
			return fmt.Errorf("API call after the store came back = %d", code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdminRevoke: POST /sessions/revoke on one replica's admin listener
// ends the user's current sessions on every replica; a later sign-in of
// the same user works.
func TestAdminRevoke(t *testing.T) {
	for _, tt := range []struct {
		kind     string
		replicas int
	}{{"memory", 1}, {"redis", 2}} {
		t.Run(tt.kind, func(t *testing.T) {
			c := newCluster(t, tt.replicas, tt.kind, "")
			admin := c.replicas[len(c.replicas)-1]
			_, cookie := c.signIn(c.replicas[0])
			resp, err := admin.client.PostForm(admin.admin+"/sessions/revoke", url.Values{"subject": {"user-1234"}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"marks":1`) {
				t.Fatalf("POST /sessions/revoke = %d %s; want 200 with one mark", resp.StatusCode, body)
			}
			for _, r := range c.replicas {
				c.refusedWithin(r, cookie, 2*time.Second)
			}
			if n := metricValue(t, admin, `oidcgate_revocations_total{source="admin"}`); n != 1 {
				t.Errorf("oidcgate_revocations_total{source=\"admin\"} = %v; want 1", n)
			}
			// Not on the public listener.
			pub, err := admin.client.PostForm(c.public+"/sessions/revoke", url.Values{"all": {"true"}})
			if err != nil {
				t.Fatal(err)
			}
			pub.Body.Close()
			if pub.StatusCode == http.StatusOK {
				t.Error("POST /sessions/revoke answered 200 on the public listener")
			}
			_, again := c.signIn(c.replicas[0])
			for _, r := range c.replicas {
				c.served(r, again)
			}
		})
	}
}

// TestSignInAbuseLoop: a client looping sign-in initiation and a callback
// without a code (with its login cookie) a few thousand times leaves no
// reservation behind and stops nobody else's sign-in.
func TestSignInAbuseLoop(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, 0, kind, "")
			r := c.start(slog.New(slog.DiscardHandler))
			waitRunReady(t, r)
			abuser := c.browser(r)
			pair := func() {
				p := abuser.Do(http.MethodGet, c.public+"/Administration/oidcServices/signininitiation", nil, nil)
				if p.StatusCode != http.StatusFound {
					t.Fatalf("initiation = %d", p.StatusCode)
				}
				to, err := url.Parse(p.Header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				cb := c.public + "/Administration/oidcServices/signinresponse?state=" + url.QueryEscape(to.Query().Get("state"))
				if p := abuser.Do(http.MethodGet, cb, nil, nil); p.StatusCode != http.StatusBadRequest {
					t.Fatalf("callback without a code = %d; want 400", p.StatusCode)
				}
			}
			for range 50 {
				pair() // warm up
			}
			before := heapAfterGC()
			const loops = 3000
			start := time.Now()
			for range loops {
				pair()
			}
			t.Logf("%d abusive pairs in %v", loops, time.Since(start))
			after := heapAfterGC()
			t.Logf("heap after GC: %d bytes before, %d after", before, after)
			if after > before+128<<10 { // 3,000 kept states take about 200 KB
				t.Errorf("heap grew from %d to %d bytes over %d failed callbacks; a failed callback must leave nothing behind", before, after, loops)
			}
			if c.redis != nil {
				rc := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(c.redis.URL, "redis://")})
				defer rc.Close()
				keys, err := rc.Keys(context.Background(), "oidcgate:reserved:*").Result()
				if err != nil {
					t.Fatal(err)
				}
				if len(keys) != 0 {
					t.Errorf("%d reservations left in Redis after failed callbacks; want 0", len(keys))
				}
			}
			// Someone else signs in, at once.
			c.signIn(r)
		})
	}
}

// TestSignInSessionIdentity: a session carries its own random id, its issue
// time, and the ID token's sid when there is one, with iss and sub; two
// sign-ins of the same user get different ids.
func TestSignInSessionIdentity(t *testing.T) {
	c := newCluster(t, 1, "memory", "")
	k, err := session.ParseKey(testKey1)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := session.NewCodec([][]byte{k})
	if err != nil {
		t.Fatal(err)
	}
	sessions := session.NewStore(session.StoreOptions{Name: sessionCookie, Lifetime: time.Hour, Secure: true, Codec: codec})
	decode := func(cookie string) *session.Session {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, c.public+"/Administration/", nil)
		r.Header.Set("Cookie", cookie)
		s, err := sessions.Load(r)
		if err != nil {
			t.Fatalf("session cookie: %v", err)
		}
		return s
	}
	before := time.Now().Add(-time.Second)
	_, plain := c.signIn(c.replicas[0])
	c.op.MutateClaims(func(cl map[string]any) { cl["sid"] = "op-session-42" })
	_, withSID := c.signIn(c.replicas[0])
	a, b := decode(plain), decode(withSID)
	if a.SID != "" || b.SID != "op-session-42" {
		t.Errorf("sid = %q without one in the ID token, %q with op-session-42", a.SID, b.SID)
	}
	if a.ID == b.ID || a.ID == ([session.IDSize]byte{}) {
		t.Errorf("session ids %x and %x; want two different random ids", a.ID, b.ID)
	}
	if a.IssuedAt.Before(before) || a.IssuedAt.After(time.Now()) {
		t.Errorf("issued at %v; want the time of sign-in", a.IssuedAt)
	}
	if b.Issuer != c.op.Issuer() || b.Subject != "user-1234" {
		t.Errorf("iss %q, sub %q; want the ID token's", b.Issuer, b.Subject)
	}
	if n := len(withSID); n > 800 {
		t.Errorf("session cookie of %d bytes; want well under 800", n)
	}
}

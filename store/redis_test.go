package store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// replica is a Redis store as one oidcgate replica has it, with channels
// fed by its hooks.
type replica struct {
	*Redis
	learned chan time.Duration
	changed chan Health
}

func newReplica(t testing.TB, srv *redistest.Server, o RedisOptions) *replica {
	t.Helper()
	r := &replica{learned: make(chan time.Duration, 1024), changed: make(chan Health, 16)}
	o.URL = srv.URL
	if o.Lifetime == 0 {
		o.Lifetime = 8 * time.Hour
	}
	if o.CookieKeys == nil {
		o.CookieKeys = [][]byte{key(1)}
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "test:"
	}
	o.Hooks = Hooks{
		Error: func(op string, err error) { t.Logf("store error: %s: %v", op, err) },
		Learned: func(d time.Duration) {
			select {
			case r.learned <- d:
			default:
			}
		},
		Changed: func(h Health) {
			select {
			case r.changed <- h:
			default:
			}
		},
	}
	s, err := NewRedis(o)
	if err != nil {
		t.Fatal(err)
	}
	r.Redis = s
	t.Cleanup(func() { s.Close() })
	return r
}

// start starts following and waits until the marks are loaded.
func (r *replica) start(t testing.TB) {
	t.Helper()
	r.Start()
	waitReady(t, r)
}

func waitReady(t testing.TB, s Store) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store not ready after 5s: %v", s.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLearned waits for the next mark r learns from Redis, at most a
// second: the promise made to operators.
func (r *replica) waitLearned(t testing.TB) time.Duration {
	t.Helper()
	select {
	case d := <-r.learned:
		return d
	case <-time.After(time.Second):
		t.Fatal("no mark reached the other replica within a second")
		return 0
	}
}

func (r *replica) waitHealth(t testing.TB, up bool) Health {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case h := <-r.changed:
			if h.Up == up {
				return h
			}
		case <-timeout:
			t.Fatalf("store did not turn up=%v within 5s", up)
		}
	}
}

func TestRedisMarksReachOtherReplicas(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := newReplica(t, srv, RedisOptions{}), newReplica(t, srv, RedisOptions{})
	a.start(t)
	b.start(t)
	ctx := context.Background()
	sess := alice(time.Now().Add(-time.Minute))
	for _, m := range []Mark{SessionMark(sess.ID), ProviderMark(sess.Issuer, sess.SID), SubjectMark(sess.Issuer, sess.Subject), AllMark()} {
		t.Run(m.Kind.String(), func(t *testing.T) {
			c := newReplica(t, srv, RedisOptions{KeyPrefix: "other-" + string(rune(m.Kind)) + ":"})
			c.start(t)
			if err := c.Revoke(ctx, m); err != nil {
				t.Fatal(err)
			}
			if !c.Revoked(sess) {
				t.Errorf("the writing replica: Revoked = false; want true at once")
			}
			d := newReplica(t, srv, RedisOptions{KeyPrefix: "other-" + string(rune(m.Kind)) + ":"})
			d.start(t)
			if !d.Revoked(sess) {
				t.Errorf("a replica started later: Revoked = false; want true")
			}
		})
	}
	if err := a.Revoke(ctx, SessionMark(sess.ID)); err != nil {
		t.Fatal(err)
	}
	delay := b.waitLearned(t)
	if !b.Revoked(sess) {
		t.Errorf("Revoked at the other replica = false after it learned the mark")
	}
	t.Logf("propagation: %s", delay)
	later := alice(time.Now().Add(time.Second))
	later.ID = []byte("a later session!")
	if b.Revoked(later) {
		t.Errorf("a session issued after the mark is revoked")
	}
}

func TestRedisStartedAfterRevocationLoadsBeforeReady(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	w := newReplica(t, srv, RedisOptions{})
	ctx := context.Background()
	// Many marks, over several pages, and the one that matters last.
	for i := range 2*pageSize + 10 {
		if err := w.Revoke(ctx, SessionMark([]byte{byte(i), byte(i >> 8), byte(i >> 16)})); err != nil {
			t.Fatal(err)
		}
	}
	sess := alice(time.Now().Add(-time.Minute))
	if err := w.Revoke(ctx, SubjectMark(sess.Issuer, sess.Subject)); err != nil {
		t.Fatal(err)
	}
	r := newReplica(t, srv, RedisOptions{})
	if r.Ready() == nil {
		t.Fatal("Ready() = nil before Start; want an error")
	}
	r.Start()
	waitReady(t, r)
	if !r.Revoked(sess) {
		t.Errorf("Revoked = false once ready; want the mark written before start")
	}
	if n := r.Marks(); n != 2*pageSize+11 {
		t.Errorf("Marks() = %d; want %d", n, 2*pageSize+11)
	}
}

// TestRedisRestartedEmpty: when Redis comes back without its data,
// replicas keep their marks, write them back, and a replica started
// afterwards learns them.
func TestRedisRestartedEmpty(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := newReplica(t, srv, RedisOptions{}), newReplica(t, srv, RedisOptions{})
	a.start(t)
	b.start(t)
	a.waitHealth(t, true)
	ctx := context.Background()
	sess := alice(time.Now().Add(-time.Minute))
	if err := a.Revoke(ctx, ProviderMark(sess.Issuer, sess.SID)); err != nil {
		t.Fatal(err)
	}
	b.waitLearned(t)

	srv.Stop()
	down := a.waitHealth(t, false)
	if down.Err == nil || a.Health().Up {
		t.Errorf("Health while Redis is down = %+v; want down with a reason", a.Health())
	}
	// A mark made during the outage applies here at once and reaches
	// Redis when it is back.
	during := alice(time.Now().Add(-time.Second))
	during.ID, during.SID, during.Subject = []byte("during the outage"), "", "bob"
	if err := b.Revoke(ctx, SessionMark(during.ID)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Revoke while Redis is down = %v; want ErrUnavailable", err)
	}
	if !b.Revoked(during) {
		t.Errorf("a mark made during the outage does not apply on its replica")
	}
	start := time.Now()
	if err := a.Reserve(ctx, "state during outage", time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Reserve while Redis is down = %v; want ErrUnavailable (reserved here only)", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Reserve while Redis is known to be down took %s; want no wait for a connection", d)
	}
	if err := a.Reserve(ctx, "state during outage", time.Minute); !errors.Is(err, ErrTaken) {
		t.Errorf("Reserve again on the same replica while Redis is down = %v; want ErrTaken", err)
	}

	srv.Restart() // empty
	a.waitHealth(t, true)
	b.waitHealth(t, true)
	for _, r := range []*replica{a, b} {
		if !r.Revoked(sess) {
			t.Errorf("a replica forgot a mark because Redis restarted empty")
		}
	}
	c := newReplica(t, srv, RedisOptions{})
	c.start(t)
	if !c.Revoked(sess) {
		t.Errorf("a replica started after Redis restarted empty does not know the mark the others wrote back")
	}
	if !c.Revoked(during) {
		t.Errorf("the mark made during the outage did not reach Redis when it came back")
	}
	deadline := time.Now().Add(time.Second)
	for !a.Revoked(during) {
		if time.Now().After(deadline) {
			t.Fatal("the mark made during the outage did not reach the other replica within a second of Redis coming back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRedisReservations(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := newReplica(t, srv, RedisOptions{}), newReplica(t, srv, RedisOptions{})
	ctx := context.Background()

	t.Run("one of many wins", func(t *testing.T) {
		var wins, taken atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				switch err := s.Reserve(ctx, "state-race", time.Minute); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrTaken):
					taken.Add(1)
				default:
					t.Errorf("Reserve = %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || taken.Load() != 19 {
			t.Errorf("%d wins, %d taken; want 1 and 19", wins.Load(), taken.Load())
		}
	})
	t.Run("released can be reserved again, at another replica", func(t *testing.T) {
		if err := a.Reserve(ctx, "state-released", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.Reserve(ctx, "state-released", time.Minute); !errors.Is(err, ErrTaken) {
			t.Fatalf("Reserve at b = %v; want ErrTaken", err)
		}
		before, held := len(redisKeys(t, srv, "test:reserved:*")), a.local.len()
		a.Release(ctx, "state-released")
		if n := len(redisKeys(t, srv, "test:reserved:*")); n != before-1 {
			t.Errorf("%d reservation keys in Redis after a release; want %d: a failed callback must leave nothing", n, before-1)
		}
		if n := a.local.len(); n != held-1 {
			t.Errorf("%d reservations held at the replica after a release; want %d", n, held-1)
		}
		if err := b.Reserve(ctx, "state-released", time.Minute); err != nil {
			t.Fatalf("Reserve at b after a released it = %v; want nil", err)
		}
	})
	t.Run("expire", func(t *testing.T) {
		if err := a.Reserve(ctx, "state-ttl", 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		keys := redisKeys(t, srv, "test:reserved:*")
		if len(keys) == 0 {
			t.Fatal("no reservation keys in Redis")
		}
		for _, k := range keys {
			ttl := rawClient(t, srv).PTTL(ctx, k).Val()
			if ttl <= 0 || ttl > time.Minute {
				t.Errorf("PTTL(%s) = %s; want a positive TTL of at most a minute", k, ttl)
			}
		}
	})
}

// TestRedisHoldsNoIdentities scans every key and value the store wrote
// for the ids, sids, subjects and states it was given, in any encoding.
func TestRedisHoldsNoIdentities(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newReplica(t, srv, RedisOptions{})
	s.start(t)
	ctx := context.Background()
	sess := alice(time.Now())
	secrets := []string{string(sess.ID), sess.SID, sess.Subject, "state-Zq8vM3", "jti-77f1c2"}
	for _, m := range []Mark{SessionMark(sess.ID), ProviderMark(sess.Issuer, sess.SID), SubjectMark(sess.Issuer, sess.Subject), AllMark()} {
		if err := s.Revoke(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range secrets[3:] {
		if err := s.Reserve(ctx, k, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c := rawClient(t, srv)
	var dump strings.Builder
	for _, k := range redisKeys(t, srv, "*") {
		dump.WriteString(k + "\n")
		switch c.Type(ctx, k).Val() {
		case "string":
			dump.WriteString(c.Get(ctx, k).Val() + "\n")
		case "stream":
			for _, m := range c.XRange(ctx, k, "-", "+").Val() {
				for f, v := range m.Values {
					dump.WriteString(f + "=" + v.(string) + "\n")
				}
			}
		default:
			t.Errorf("key %s of unexpected type %s", k, c.Type(ctx, k).Val())
		}
	}
	all := dump.String()
	if !strings.Contains(all, "test:marks") {
		t.Fatalf("the dump holds no marks:\n%q", all)
	}
	for _, sec := range secrets {
		for _, form := range []string{sec, hex.EncodeToString([]byte(sec)), base64.RawURLEncoding.EncodeToString([]byte(sec)), base64.StdEncoding.EncodeToString([]byte(sec))} {
			if strings.Contains(all, form) {
				t.Errorf("Redis holds %q (as %q)", sec, form)
			}
		}
	}
}

func TestRedisURLs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		srv  redistest.Options
		opts func(srv *redistest.Server) RedisOptions
		ok   bool
	}{
		{"redis://", redistest.Options{}, func(*redistest.Server) RedisOptions { return RedisOptions{} }, true},
		{"unix://", redistest.Options{Unix: true}, func(*redistest.Server) RedisOptions { return RedisOptions{} }, true},
		{"rediss:// with the server's CA", redistest.Options{TLS: true}, func(s *redistest.Server) RedisOptions { return RedisOptions{TLSConfig: s.TLSConfig()} }, true},
		{"rediss:// with the system's roots", redistest.Options{TLS: true}, func(*redistest.Server) RedisOptions { return RedisOptions{} }, false},
		{"password", redistest.Options{Password: "s3cret-pw"}, func(*redistest.Server) RedisOptions { return RedisOptions{Password: "s3cret-pw"} }, true},
		{"wrong password", redistest.Options{Password: "s3cret-pw"}, func(*redistest.Server) RedisOptions { return RedisOptions{Password: "guess"} }, false},
		{"no password", redistest.Options{Password: "s3cret-pw"}, func(*redistest.Server) RedisOptions { return RedisOptions{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, tt.srv)
			s := newReplica(t, srv, tt.opts(srv))
			v, err := s.Version(ctx)
			if (err == nil) != tt.ok {
				t.Fatalf("Version() = %q, %v; want success %v", v, err, tt.ok)
			}
			if !tt.ok {
				if strings.Contains(err.Error(), "s3cret-pw") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err := s.Reserve(ctx, "state", time.Minute); err != nil {
				t.Errorf("Reserve = %v", err)
			}
			t.Logf("%s: Redis %s", srv.URL, v)
		})
	}
}

func TestPasswordFromURLOrOption(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "pw-in-url"})
	s, err := NewRedis(RedisOptions{
		Options: Options{CookieKeys: [][]byte{key(1)}, Lifetime: time.Hour},
		URL:     strings.Replace(srv.URL, "redis://", "redis://:pw-in-url@", 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Version(context.Background()); err != nil {
		t.Errorf("password in the URL: %v", err)
	}
	ro, err := clientOptions(RedisOptions{URL: "redis://:from-url@h:1/0", Password: "from-file"})
	if err != nil || ro.Password != "from-file" {
		t.Errorf("clientOptions with Password = %+v, %v; want the given password to win", ro, err)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"redis://localhost:6379/0", ""},
		{"rediss://oidcgate@redis.internal:6380/0", ""},
		{"unix:///run/redis/redis.sock?db=2", ""},
		{"redis://:hunter2@localhost:6379/0", ""},
		{"http://localhost:6379", "scheme must be redis, rediss or unix"},
		{"redis://", "needs a host"},
		{"unix://", "needs a socket path"},
		{"redis://:hunter2@localhost:6379/notadb", "xxxxx@localhost"},
		{"localhost:6379", "scheme must be"},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckURL(%q) = %v; want error containing %q", tt.url, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckURL(%q) = %v: shows the password", tt.url, err)
		}
	}
	ro, err := clientOptions(RedisOptions{URL: "rediss://redis.internal:6380/0"})
	if err != nil || ro.TLSConfig == nil || ro.TLSConfig.ServerName != "redis.internal" || ro.TLSConfig.MinVersion < 0x0303 {
		t.Errorf("rediss:// TLS config = %+v, %v; want TLS 1.2+ checking redis.internal", ro.TLSConfig, err)
	}
}

func rawClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func redisKeys(t testing.TB, srv *redistest.Server, pattern string) []string {
	t.Helper()
	keys, err := rawClient(t, srv).Keys(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// cutter is a TCP relay between one replica and Redis that a test can
// cut and restore, leaving Redis and the other replicas untouched.
type cutter struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	c := &cutter{t: t, target: target}
	c.restore()
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) restore() {
	addr := c.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// cut closes the listener and every relayed connection.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
	}
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestRedisReplicaCatchesUpAfterDisconnect: marks written while a replica
// was cut off from Redis reach it when it reconnects, read from the last
// entry it had seen.
func TestRedisReplicaCatchesUpAfterDisconnect(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a := newReplica(t, srv, RedisOptions{})
	a.start(t)
	relay := newCutter(t, strings.TrimPrefix(srv.URL, "redis://"))
	b := newReplica(t, &redistest.Server{URL: "redis://" + relay.addr}, RedisOptions{})
	b.start(t)
	b.waitHealth(t, true)

	relay.cut()
	b.waitHealth(t, false)
	ctx := context.Background()
	var missed []Identity
	for i := range 3 {
		id := alice(time.Now().Add(-time.Minute))
		id.ID = []byte{'m', 'i', 's', 's', 'e', 'd', byte(i)}
		if err := a.Revoke(ctx, SessionMark(id.ID)); err != nil {
			t.Fatal(err)
		}
		missed = append(missed, id)
	}
	if b.Revoked(missed[0]) {
		t.Fatal("a replica cut off from Redis learned a mark")
	}
	relay.restore()
	b.waitHealth(t, true)
	for _, id := range missed {
		deadline := time.Now().Add(time.Second)
		for !b.Revoked(id) {
			if time.Now().After(deadline) {
				t.Fatalf("mark %q written while the replica was cut off did not reach it within a second of reconnecting", id.ID)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestRedisBackFromAnOlderSnapshot: Redis restarts from a snapshot that
// has the epoch but not the latest marks; the replicas that know them
// write them back, so a replica started afterwards learns them.
func TestRedisBackFromAnOlderSnapshot(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a := newReplica(t, srv, RedisOptions{})
	a.start(t)
	a.waitHealth(t, true)
	ctx := context.Background()
	sess := alice(time.Now().Add(-time.Minute))
	if err := a.Revoke(ctx, SubjectMark(sess.Issuer, sess.Subject)); err != nil {
		t.Fatal(err)
	}
	c := rawClient(t, srv)
	// The snapshot lost the stream; every client is cut off, as by a
	// restart.
	if err := c.Del(ctx, "test:marks").Err(); err != nil {
		t.Fatal(err)
	}
	c.ClientKillByFilter(ctx, "TYPE", "normal")
	a.waitHealth(t, false)
	a.waitHealth(t, true)
	late := newReplica(t, srv, RedisOptions{})
	deadline := time.Now().Add(2 * time.Second)
	for {
		if rawClient(t, srv).XLen(ctx, "test:marks").Val() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not write its marks back to a Redis that lost them")
		}
		time.Sleep(5 * time.Millisecond)
	}
	late.start(t)
	if !late.Revoked(sess) {
		t.Errorf("a replica started after Redis lost the latest marks does not know them")
	}
}

func TestStreamIDLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1-0", "2-0", true},
		{"2-0", "1-0", false},
		{"5-1", "5-2", true},
		{"5-2", "5-2", false},
		{"10-0", "9-9", false},
		{"1700000000000-0", "1700000000001-0", true},
	}
	for _, tt := range tests {
		if got := streamIDLess(tt.a, tt.b); got != tt.want {
			t.Errorf("streamIDLess(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

package credentials

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sourceFor returns a Source for a credential the endpoint accepts.
func sourceFor(t *testing.T, e *tokenEndpoint, o SourceOptions) (*tokenEndpoint, *Source) {
	t.Helper()
	e.method, e.clientID, e.secret = Basic, "app", testSecret
	ep, srv := newTokenEndpoint(t, e)
	c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: srv.URL, Scopes: "api"}
	return ep, NewSourceWithOptions(c, srv.Client(), o)
}

func mustToken(t *testing.T, s *Source) string {
	t.Helper()
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	return tok
}

// eventually polls cond for up to 5 seconds: background renewals finish on
// their own goroutine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestSourceConcurrentCallersShareOneRequest(t *testing.T) {
	hold := make(chan struct{})
	ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 3600, hold: hold}, SourceOptions{})

	const n = 200
	var started, done sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			tokens[i], errs[i] = s.Token(context.Background())
		}()
	}
	started.Wait()
	eventually(t, "the token request", func() bool { return ep.Count() == 1 })
	time.Sleep(20 * time.Millisecond) // let the stragglers join the request
	close(hold)
	done.Wait()

	for i := range n {
		if errs[i] != nil || tokens[i] != "access-token-1" {
			t.Fatalf("caller %d: Token() = %q, %v; want %q, nil", i, tokens[i], errs[i], "access-token-1")
		}
	}
	if got := mustToken(t, s); got != "access-token-1" {
		t.Errorf("Token() after the burst = %q; want the cached %q", got, "access-token-1")
	}
	if c := ep.Count(); c != 1 {
		t.Errorf("%d concurrent Token calls made %d token requests; want 1", n, c)
	}
}

func TestSourceRenewsBeforeExpiry(t *testing.T) {
	// A 2 s token: renewal starts after 1 s, and it is handed out until
	// 1.5 s.
	t.Run("renewal in the background", func(t *testing.T) {
		clock := newClock()
		ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 2}, SourceOptions{Now: clock.Now})
		if got := mustToken(t, s); got != "access-token-1" {
			t.Fatalf("first Token() = %q", got)
		}
		clock.Advance(900 * time.Millisecond)
		if got := mustToken(t, s); got != "access-token-1" || ep.Count() != 1 {
			t.Fatalf("Token() at 0.9 s = %q after %d requests; want the cached token, 1 request", got, ep.Count())
		}
		clock.Advance(200 * time.Millisecond)
		if got := mustToken(t, s); got != "access-token-1" {
			t.Errorf("Token() at 1.1 s = %q; want the still valid %q while renewing", got, "access-token-1")
		}
		eventually(t, "the renewed token", func() bool { return mustToken(t, s) == "access-token-2" })
		if c := ep.Count(); c != 2 {
			t.Errorf("token requests = %d; want 2", c)
		}
	})
	t.Run("never hands out a token about to expire", func(t *testing.T) {
		clock := newClock()
		ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 2}, SourceOptions{Now: clock.Now})
		mustToken(t, s)
		clock.Advance(1600 * time.Millisecond)
		if got := mustToken(t, s); got != "access-token-2" || ep.Count() != 2 {
			t.Errorf("Token() at 1.6 s = %q after %d requests; want a new token, 2 requests", got, ep.Count())
		}
	})
	t.Run("default lifetime without expires_in", func(t *testing.T) {
		clock := newClock()
		ep, s := sourceFor(t, &tokenEndpoint{}, SourceOptions{Now: clock.Now, DefaultLifetime: time.Minute})
		mustToken(t, s)
		clock.Advance(29 * time.Second)
		if got := mustToken(t, s); got != "access-token-1" {
			t.Errorf("Token() at 29 s = %q; want the cached token", got)
		}
		clock.Advance(32 * time.Second)
		if got := mustToken(t, s); got != "access-token-2" || ep.Count() != 2 {
			t.Errorf("Token() at 61 s = %q after %d requests; want a new token, 2 requests", got, ep.Count())
		}
	})
}

func TestSourceBacksOffAfterFailure(t *testing.T) {
	clock := newClock()
	ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 3600}, SourceOptions{Now: clock.Now})
	ep.SetFail(func(w http.ResponseWriter, r *http.Request) {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try later")
	})

	_, first := s.Token(context.Background())
	var se *ServerError
	if !errors.As(first, &se) || se.Status != http.StatusServiceUnavailable {
		t.Fatalf("Token() error = %v; want a 503 *ServerError", first)
	}
	for i := range 50 {
		if _, err := s.Token(context.Background()); err == nil || err.Error() != first.Error() {
			t.Fatalf("call %d in the backoff window: error = %v; want %v", i, err, first)
		}
	}
	if c := ep.Count(); c != 1 {
		t.Fatalf("a failure and 50 immediate calls made %d token requests; want 1", c)
	}

	// The window doubles: 1 s, then 2 s.
	clock.Advance(time.Second)
	if _, err := s.Token(context.Background()); err == nil || ep.Count() != 2 {
		t.Fatalf("Token() after 1 s = %v after %d requests; want the error from a second request", err, ep.Count())
	}
	clock.Advance(time.Second)
	if _, err := s.Token(context.Background()); err == nil || ep.Count() != 2 {
		t.Fatalf("Token() 1 s into a 2 s window: %v after %d requests; want the last error, 2 requests", err, ep.Count())
	}

	// Recovery once the window has passed.
	ep.SetFail(nil)
	clock.Advance(time.Second)
	if got := mustToken(t, s); got != "access-token-1" || ep.Count() != 3 {
		t.Errorf("Token() after recovery = %q after %d requests; want %q, 3 requests", got, ep.Count(), "access-token-1")
	}
	if got := mustToken(t, s); got != "access-token-1" || ep.Count() != 3 {
		t.Errorf("Token() after recovery again = %q after %d requests; want the cached token", got, ep.Count())
	}
	if s.backoff != 0 {
		t.Errorf("backoff after success = %v; want 0", s.backoff)
	}
}

func TestSourceBackoffDoublesToOneMinute(t *testing.T) {
	clock := newClock()
	ep, s := sourceFor(t, &tokenEndpoint{}, SourceOptions{Now: clock.Now})
	ep.SetFail(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i, w := range want {
		if _, err := s.Token(context.Background()); err == nil {
			t.Fatalf("Token() #%d succeeded; want an error", i)
		}
		if s.backoff != w*time.Second {
			t.Errorf("backoff after failure %d = %v; want %v", i+1, s.backoff, w*time.Second)
		}
		clock.Advance(s.backoff)
	}
	if c := ep.Count(); c != len(want) {
		t.Errorf("token requests = %d; want %d", c, len(want))
	}
}

func TestSourceKeepsValidTokenWhenRenewalFails(t *testing.T) {
	// A 100 s token: renewal from 50 s, handed out until 90 s.
	clock := newClock()
	ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 100}, SourceOptions{Now: clock.Now})
	mustToken(t, s)
	ep.SetFail(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })

	clock.Advance(60 * time.Second)
	if got := mustToken(t, s); got != "access-token-1" {
		t.Fatalf("Token() at 60 s = %q; want the current token", got)
	}
	eventually(t, "the failed renewal", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err != nil
	})
	if got := mustToken(t, s); got != "access-token-1" {
		t.Errorf("Token() after a failed renewal = %q; want the still valid token", got)
	}
	clock.Advance(31 * time.Second)
	if _, err := s.Token(context.Background()); err == nil {
		t.Errorf("Token() at 91 s with the endpoint down = nil error; want the failure")
	}
}

func TestSourceCallerGivingUpDoesNotCancelTheRequest(t *testing.T) {
	hold := make(chan struct{})
	ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 3600, hold: hold}, SourceOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := s.Token(ctx)
		result <- err
	}()
	eventually(t, "the token request", func() bool { return ep.Count() == 1 })
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("Token(cancelled ctx) error = %v; want context.Canceled", err)
	}

	second := make(chan string, 1)
	go func() {
		tok, _ := s.Token(context.Background())
		second <- tok
	}()
	close(hold)
	if got := <-second; got != "access-token-1" {
		t.Errorf("second caller got %q; want %q", got, "access-token-1")
	}
	if c := ep.Count(); c != 1 {
		t.Errorf("token requests = %d; want 1", c)
	}
}

func TestSourceOnFetch(t *testing.T) {
	clock := newClock()
	type call struct {
		name string
		ok   bool
	}
	var mu sync.Mutex
	var calls []call
	ep, s := sourceFor(t, &tokenEndpoint{expiresIn: 3600}, SourceOptions{Now: clock.Now, OnFetch: func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{name, err == nil})
	}})
	mustToken(t, s)
	mustToken(t, s)
	clock.Advance(2 * time.Hour)
	ep.SetFail(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	s.Token(context.Background())

	want := []call{{"mail", true}, {"mail", false}}
	eventually(t, "OnFetch calls", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("OnFetch call %d = %+v; want %+v", i, calls[i], want[i])
		}
	}
}

func TestSourceIncompleteCredential(t *testing.T) {
	s := NewSource(Credential{Name: "empty"}, nil)
	if tok, err := s.Token(context.Background()); err == nil || tok != "" {
		t.Errorf("Token() for an empty credential = %q, %v; want an error", tok, err)
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		lifetime, renew, use time.Duration
	}{
		{2 * time.Second, time.Second, 1500 * time.Millisecond},
		{5 * time.Minute, 4 * time.Minute, 5*time.Minute - 10*time.Second},
		{time.Hour, 54 * time.Minute, time.Hour - 10*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.lifetime.String(), func(t *testing.T) {
			renew, use := schedule(tt.lifetime)
			if renew != tt.renew || use != tt.use {
				t.Errorf("schedule(%v) = %v, %v; want %v, %v", tt.lifetime, renew, use, tt.renew, tt.use)
			}
		})
	}
}

package credentials

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// SourceOptions tunes a Source. The zero value is ready to use.
type SourceOptions struct {
	// OnFetch, if set, is called after every token request (not after
	// cache hits) with the credential's name and the request's error, nil
	// on success. It runs on the fetching goroutine: keep it quick.
	OnFetch func(name string, err error)
	// DefaultLifetime is how long a token is used when the token response
	// has no expires_in (RFC 6749 makes it optional). Default 5 minutes:
	// short enough that a token the server expires sooner fails only
	// briefly, long enough not to load the token endpoint.
	DefaultLifetime time.Duration
	// FetchTimeout bounds one token request. It applies whoever waits for
	// the request, since the request is shared. Default 30 seconds.
	FetchTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Backoff after a failed token request: callers get the failure at once
// instead of sending one request each to a server that is down or refusing.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// Source hands out access tokens for one credential.
//
// A token is cached and renewed shortly before it expires: once less than
// a tenth of its lifetime (at least a minute, at most half of it) remains,
// the next call starts a renewal in the background and still gets the
// current token, which is handed out until 10 seconds (at most a quarter of
// its lifetime) before it expires. Callers only wait when there is no
// usable token; concurrent callers then share one request, which a caller
// that gives up does not cancel. After a failed request, calls within the
// backoff window (1 s, doubling up to 1 min) return that failure at once,
// or the current token while it is still usable.
//
// This is more than golang.org/x/oauth2's clientcredentials TokenSource
// does, and on purpose: that one renews a token only in its last 10
// seconds, with the callers waiting on the token endpoint, and retries a
// failing endpoint on every call. Renewing ahead keeps requests off the
// token endpoint's latency, and the backoff keeps a broken endpoint from
// being sent one request per proxied request.
type Source struct {
	cred   Credential
	client *http.Client
	bad    error // the credential can never work

	onFetch         func(name string, err error)
	defaultLifetime time.Duration
	fetchTimeout    time.Duration
	now             func() time.Time

	mu       sync.Mutex
	token    string
	renewAt  time.Time // start renewing from here on
	useUntil time.Time // hand the token out before this only
	err      error     // last failure, while in backoff
	retryAt  time.Time // no request before this after a failure
	backoff  time.Duration
	fetching bool // a token request is under way

	flights singleflight.Group // the token request under way, shared by its callers
}

// NewSource returns a Source for c that sends its token requests with
// client (nil: a client with DefaultTimeout). It makes no request until the
// first Token call.
func NewSource(c Credential, client *http.Client) *Source {
	return NewSourceWithOptions(c, client, SourceOptions{})
}

// NewSourceWithOptions is NewSource tuned by o.
func NewSourceWithOptions(c Credential, client *http.Client, o SourceOptions) *Source {
	s := &Source{
		cred:            c,
		client:          client,
		onFetch:         o.OnFetch,
		defaultLifetime: o.DefaultLifetime,
		fetchTimeout:    o.FetchTimeout,
		now:             o.Now,
	}
	if err := c.check(); err != nil {
		s.bad = err
	}
	if s.defaultLifetime <= 0 {
		s.defaultLifetime = 5 * time.Minute
	}
	if s.fetchTimeout <= 0 {
		s.fetchTimeout = 30 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Token returns a usable access token, requesting one if needed. ctx only
// bounds this caller's wait. Errors are those of Validate, which the caller
// may prefix with the credential's name.
func (s *Source) Token(ctx context.Context) (string, error) {
	if s.bad != nil {
		return "", s.bad
	}
	s.mu.Lock()
	now := s.now()
	token := s.token
	usable := token != "" && now.Before(s.useUntil)
	if usable && now.Before(s.renewAt) {
		s.mu.Unlock()
		return token, nil
	}
	// No request runs while in backoff: retryAt only moves when one ends.
	if s.err != nil && now.Before(s.retryAt) {
		err := s.err
		s.mu.Unlock()
		if usable {
			return token, nil
		}
		return "", err
	}
	if usable && s.fetching {
		s.mu.Unlock()
		return token, nil // the renewal is under way
	}
	s.mu.Unlock()
	ch := s.flights.DoChan("token", s.fetch)
	if usable {
		return token, nil // the renewal goes on in the background
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for a token from %s: %w", displayURL(s.cred.TokenEndpoint), context.Cause(ctx))
	}
}

// fetch runs one token request for every caller waiting on it. Its context
// is detached from the callers': the request serves them all.
func (s *Source) fetch() (any, error) {
	s.mu.Lock()
	s.fetching = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.fetchTimeout)
	tok, lifetime, err := fetch(ctx, s.cred, s.client)
	cancel()
	if err == nil && lifetime < 0 {
		err = fmt.Errorf("token endpoint %s issued a token that expired %v ago",
			displayURL(s.cred.TokenEndpoint), -lifetime)
	}
	if err == nil && lifetime == 0 {
		lifetime = s.defaultLifetime
	}

	now := s.now()
	s.mu.Lock()
	s.fetching = false
	if err != nil {
		s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
		s.retryAt = now.Add(s.backoff)
		s.err = err
	} else {
		renew, use := schedule(lifetime)
		s.token, s.renewAt, s.useUntil = tok.AccessToken, now.Add(renew), now.Add(use)
		s.err, s.backoff = nil, 0
	}
	s.mu.Unlock()

	if s.onFetch != nil {
		s.onFetch(s.cred.Name, err)
	}
	if err != nil {
		return nil, err
	}
	return tok.AccessToken, nil
}

// schedule returns, for a token of the given lifetime, when after its
// arrival to start renewing it and until when to hand it out. Renewing
// early leaves time to retry a failed renewal while the token still works;
// stopping a little before expiry covers clock skew and the time the
// request takes to reach the service that checks the token.
func schedule(lifetime time.Duration) (renew, use time.Duration) {
	margin := min(max(lifetime/10, time.Minute), lifetime/2)
	skew := min(10*time.Second, lifetime/4)
	return lifetime - margin, lifetime - skew
}

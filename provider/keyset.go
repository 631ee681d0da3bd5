package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keySet is the provider's oidc.KeySet: the keys last fetched, refreshed on
// a schedule by the provider's loop and, when a token names a key it does not
// know, once more on demand, as OpenID Connect Core 10.1.1 suggests for
// rotation. Forced refreshes are shared by concurrent callers and rate
// limited, so a flood of tokens with made-up key ids costs the provider at
// most one fetch per minForced.
type keySet struct {
	fetch     func(context.Context) ([]key, error) // nil: the keys never change (Store)
	algs      []jose.SignatureAlgorithm            // the allow-list, enforced again here
	secret    []byte                               // HMAC key; nil unless an HS algorithm is allowed
	minForced time.Duration
	source    string          // where the keys come from, in the operator's words, for errors
	ctx       context.Context // bounds fetches, which outlive the request that asked for one
	stats     *counters

	mu         sync.Mutex
	keys       []key
	gen        uint64 // counts successful loads
	loaded     bool
	lastErr    error
	lastForced time.Time
	started    uint64 // counts fetches started
	keptFrom   uint64 // the fetch whose keys are kept (by started)

	flights singleflight.Group // one fetch of each kind at a time, shared by its callers
}

var (
	errRateLimited = errors.New("forced key refresh skipped: one ran moments ago")
	errLocalKeys   = errors.New("the keys are configured locally and cannot be refreshed")
)

// snapshot returns the current keys and the generation they belong to.
func (s *keySet) snapshot() ([]key, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys, s.gen, s.loaded
}

func (s *keySet) status() (loaded bool, n int, lastErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded, len(s.keys), s.lastErr
}

func (s *keySet) set(keys []key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.loaded, s.lastErr = keys, true, nil
	s.gen++
}

// refresh fetches the keys, or joins a fetch already under way. A forced
// refresh (a token named an unknown key) that saw generation seen returns at
// once if the keys changed since, and is refused if another forced refresh
// started less than minForced ago.
func (s *keySet) refresh(ctx context.Context, forced bool, seen uint64) error {
	if s.fetch == nil {
		return errLocalKeys
	}
	if _, gen, _ := s.snapshot(); forced && gen != seen {
		return nil
	}
	// The fetch is shared with every caller of the same kind that comes
	// while it runs, and bounded by s.ctx, not by the request that started
	// it. Forced and scheduled fetches are shared apart: a scheduled
	// refresh must not get a forced one's refusal.
	key := "scheduled"
	if forced {
		key = "forced"
	}
	ch := s.flights.DoChan(key, func() (any, error) { return nil, s.load(forced) })
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load fetches and keeps the keys; a forced load first checks the rate
// limit.
func (s *keySet) load(forced bool) error {
	if forced {
		s.mu.Lock()
		if !s.lastForced.IsZero() && time.Since(s.lastForced) < s.minForced {
			s.mu.Unlock()
			s.stats.rateLimited.Add(1)
			return errRateLimited
		}
		s.lastForced = time.Now()
		s.mu.Unlock()
		s.stats.forced.Add(1)
	}
	s.mu.Lock()
	s.started++
	n := s.started
	s.mu.Unlock()
	keys, err := s.fetch(s.ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return err
	}
	// A forced and a scheduled fetch may overlap: the keys of one that
	// started earlier never replace those of one that started later.
	if n < s.keptFrom {
		return nil
	}
	s.keys, s.loaded, s.lastErr, s.keptFrom = keys, true, nil, n
	s.gen++
	return nil
}

// VerifySignature implements oidc.KeySet. go-oidc flattens the error it
// returns into a string, so the reason also goes to the outcome the
// context may carry (see Verify).
func (s *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, reason, err := s.verify(ctx, raw)
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.reason, o.err, o.payload = reason, err, payload
	}
	return payload, err
}

func (s *keySet) verify(ctx context.Context, raw string) ([]byte, Reason, error) {
	h, err := parseHeader(raw)
	if err != nil {
		return nil, ReasonMalformed, err
	}
	jws, err := jose.ParseSignedCompact(raw, s.algs)
	if err != nil {
		return nil, ReasonMalformed, err
	}
	if isHMAC(h.Alg) {
		if s.secret == nil {
			return nil, ReasonAlgorithm, fmt.Errorf("%s is not allowed", h.Alg)
		}
		payload, err := jws.Verify(s.secret)
		if err != nil {
			return nil, ReasonSignature, fmt.Errorf("%s with the client secret: %w", h.Alg, err)
		}
		return payload, "", nil
	}

	keys, gen, loaded := s.snapshot()
	if !loaded {
		return nil, ReasonKeysUnavailable, errors.New("no signing keys loaded yet")
	}
	cands := h.candidates(keys)
	payload, err := tryKeys(jws, h.Alg, cands)
	if err == nil {
		return payload, "", nil
	} else if h.named() && len(cands) > 0 {
		return nil, ReasonSignature, err
	}

	if s.fetch == nil {
		// Local keys (Store): there is nothing to fetch, and a key none of
		// them holds will not appear; the token is refused like any other
		// whose key is unknown.
		if h.named() {
			return nil, ReasonUnknownKey, fmt.Errorf("no key with kid %q or x5t %q among the %d keys from %s", h.Kid, h.X5t, len(keys), s.source)
		}
		return nil, ReasonSignature, fmt.Errorf("no key from %s verifies it: %w", s.source, err)
	}
	refreshErr := s.refresh(ctx, true, gen)
	keys, _, _ = s.snapshot()
	cands = h.candidates(keys)
	payload, err = tryKeys(jws, h.Alg, cands)
	switch {
	case err == nil:
		return payload, "", nil
	case h.named() && len(cands) == 0:
		err = fmt.Errorf("no key with kid %q or x5t %q among the %d keys from %s", h.Kid, h.X5t, len(keys), s.source)
		if refreshErr != nil && !errors.Is(refreshErr, errRateLimited) && !errors.Is(refreshErr, errLocalKeys) {
			// The key may well exist: the provider could not be asked.
			return nil, ReasonKeysUnavailable, fmt.Errorf("%w (%w)", err, refreshErr)
		}
		if refreshErr != nil {
			err = fmt.Errorf("%w (%w)", err, refreshErr)
		}
		return nil, ReasonUnknownKey, err
	}
	return nil, ReasonSignature, err
}

// tryKeys verifies jws with each key in turn. A key whose JWK names an
// algorithm is only used for that algorithm (RFC 7517 section 4.4).
func tryKeys(jws *jose.JSONWebSignature, alg string, keys []key) ([]byte, error) {
	err := errors.New("no key to try")
	for _, k := range keys {
		if k.jwk.Algorithm != "" && k.jwk.Algorithm != alg {
			err = fmt.Errorf("key %q is for %s, not %s", k.jwk.KeyID, k.jwk.Algorithm, alg)
			continue
		}
		var payload []byte
		if payload, err = jws.Verify(&k.jwk); err == nil {
			return payload, nil
		}
	}
	return nil, err
}

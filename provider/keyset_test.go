package provider

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// rotated starts a provider on key A, checks a token, then has the OP switch
// to key B; it returns the provider, key B and the key fetches so far.
func rotated(t *testing.T, o func(*fakeOP) Options) (*fakeOP, *Provider, testKey) {
	t.Helper()
	op := newFakeOP(t)
	a, b := newKey(t, "RS256", "key-a"), newKey(t, "RS256", "key-b")
	op.setKeys(a)
	p := newProvider(t, o(op))
	waitReady(t, p)
	if _, err := p.Verify(context.Background(), a.sign(t, goodClaims(op.URL), nil), testNonce); err != nil {
		t.Fatalf("Verify(key A) = %v; want nil", err)
	}
	op.setKeys(b)
	return op, p, b
}

func TestRotation(t *testing.T) {
	op, p, b := rotated(t, func(op *fakeOP) Options { return op.options(JWKS) })
	before := op.count(keysPath)

	if _, err := p.Verify(context.Background(), b.sign(t, goodClaims(op.URL), nil), testNonce); err != nil {
		t.Fatalf("Verify(key B after rotation) = %v; want nil", err)
	}
	if got := op.count(keysPath) - before; got != 1 {
		t.Errorf("key fetches for the rotation = %d; want 1", got)
	}
	if _, err := p.Verify(context.Background(), b.sign(t, goodClaims(op.URL), nil), testNonce); err != nil {
		t.Fatalf("Verify(key B again) = %v; want nil", err)
	}
	if got := op.count(keysPath) - before; got != 1 {
		t.Errorf("key fetches after a second token with key B = %d; want still 1", got)
	}
	if s := p.Stats(); s.ForcedFetches != 1 || s.Keys != 1 {
		t.Errorf("Stats() = %+v; want 1 forced fetch and 1 key", s)
	}
	t.Logf("rotation: %d key fetch(es) at start, %d extra for the new key", before, op.count(keysPath)-before)
}

func TestRotationConcurrent(t *testing.T) {
	op, p, b := rotated(t, func(op *fakeOP) Options { return op.options(JWKS) })
	before := op.count(keysPath)

	const n = 50
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		raw := b.sign(t, goodClaims(op.URL), nil)
		wg.Go(func() {
			_, err := p.Verify(context.Background(), raw, testNonce)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify(key B, concurrently) = %v; want nil", err)
		}
	}
	fetches := op.count(keysPath) - before
	if fetches > 1 {
		t.Errorf("key fetches for %d concurrent tokens with a new key = %d; want at most 1", n, fetches)
	}
	t.Logf("rotation, %d concurrent sign-ins: %d key fetch(es)", n, fetches)
}

// Tokens naming made-up keys must not make us hammer the provider.
func TestUnknownKidFlood(t *testing.T) {
	t.Run("burst", func(t *testing.T) {
		op, p, _ := rotated(t, func(op *fakeOP) Options { return op.options(JWKS) })
		forger := newKey(t, "RS256", "")
		before := op.count(keysPath)

		const n = 100
		var wg sync.WaitGroup
		for i := range n {
			raw := forger.withKid(fmt.Sprintf("kid-%d-%d", i, rand.Int64())).sign(t, goodClaims(op.URL), nil)
			wg.Go(func() {
				if _, err := p.Verify(context.Background(), raw, testNonce); reason(err) != ReasonUnknownKey {
					t.Errorf("Verify(unknown kid) = %v; want reason %q", err, ReasonUnknownKey)
				}
			})
		}
		wg.Wait()
		fetches := op.count(keysPath) - before
		if fetches > 1 {
			t.Errorf("key fetches for %d tokens with unknown kids within the 10s interval = %d; want at most 1", n, fetches)
		}
		t.Logf("flood, %d concurrent tokens with unknown kids, ForcedRefreshMinInterval 10s: %d key fetch(es); stats %+v", n, fetches, p.Stats())
	})

	t.Run("spread", func(t *testing.T) {
		const interval = 100 * time.Millisecond
		op, p, _ := rotated(t, func(op *fakeOP) Options {
			o := op.options(JWKS)
			o.ForcedRefreshMinInterval = interval
			return o
		})
		forger := newKey(t, "RS256", "")
		before := op.count(keysPath)

		const n = 100
		start := time.Now()
		for i := range n {
			raw := forger.withKid(fmt.Sprintf("kid-%d", i)).sign(t, goodClaims(op.URL), nil)
			if _, err := p.Verify(context.Background(), raw, testNonce); reason(err) != ReasonUnknownKey {
				t.Errorf("Verify(unknown kid) = %v; want reason %q", err, ReasonUnknownKey)
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		fetches := op.count(keysPath) - before
		bound := int(elapsed/interval) + 1
		if fetches > bound {
			t.Errorf("key fetches for %d tokens over %v = %d; want at most %d (one per %v)", n, elapsed.Round(time.Millisecond), fetches, bound, interval)
		}
		t.Logf("flood, %d tokens with unknown kids over %v, ForcedRefreshMinInterval %v: %d key fetch(es) (bound %d); stats %+v",
			n, elapsed.Round(time.Millisecond), interval, fetches, bound, p.Stats())
	})
}

func TestKeySelection(t *testing.T) {
	op := newFakeOP(t)
	op.setMetadata(readFile(t, fixtures+"federationmetadata.xml"))
	fed2 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed2.key")
	a, b, c := newKey(t, "RS256", "a"), newKey(t, "RS256", "b"), newKey(t, "ES256", "c")
	op.setKeys(a, b, c)

	jwks := newProvider(t, op.options(JWKS))
	fed := newProvider(t, op.options(Federation))
	waitReady(t, jwks)
	waitReady(t, fed)
	jwksES := op.options(JWKS)
	jwksES.Algorithms = []string{"RS256", "ES256"}
	jwksWithES := newProvider(t, jwksES)
	waitReady(t, jwksWithES)

	tests := []struct {
		name  string
		p     *Provider
		token string
		want  Reason
	}{
		{"kid", jwks, b.sign(t, goodClaims(op.URL), nil), ""},
		{"no kid or x5t: every key is tried", jwks, b.withKid("").sign(t, goodClaims(op.URL), nil), ""},
		{"no kid or x5t, ES256: every key is tried", jwksWithES, c.withKid("").sign(t, goodClaims(op.URL), nil), ""},
		{"kid of another key", jwks, b.withKid("a").sign(t, goodClaims(op.URL), nil), ReasonSignature},
		{"x5t only", fed, fed2.withKid("").sign(t, goodClaims(op.URL), map[string]any{"x5t": fed2.kid}), ""},
		{"kid only (Entra: kid is the x5t)", fed, fed2.sign(t, goodClaims(op.URL), nil), ""},
		{"unknown x5t", fed, fed2.withKid("").sign(t, goodClaims(op.URL), map[string]any{"x5t": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"}), ReasonUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Verify(context.Background(), tt.token, testNonce)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify(%s) = %v; want reason %q", tt.name, err, tt.want)
			}
		})
	}
}

// A scheduled fetch that started before a forced one and answers after it
// must not put the older keys back.
func TestOverlappingFetchesKeepTheNewerKeys(t *testing.T) {
	old, fresh := []key{{jwk: jose.JSONWebKey{KeyID: "old"}}}, []key{{jwk: jose.JSONWebKey{KeyID: "new"}}}
	scheduledStarted, releaseScheduled := make(chan struct{}), make(chan struct{})
	s := &keySet{ctx: context.Background(), stats: &counters{}, minForced: time.Minute}
	s.fetch = func(ctx context.Context) ([]key, error) {
		s.mu.Lock()
		first := s.started == 1
		s.mu.Unlock()
		if first {
			close(scheduledStarted)
			<-releaseScheduled
			return old, nil
		}
		return fresh, nil
	}
	scheduled := make(chan error, 1)
	go func() { scheduled <- s.refresh(context.Background(), false, 0) }()
	<-scheduledStarted
	if err := s.refresh(context.Background(), true, 0); err != nil {
		t.Fatalf("forced refresh = %v; want nil", err)
	}
	close(releaseScheduled)
	if err := <-scheduled; err != nil {
		t.Fatalf("scheduled refresh = %v; want nil", err)
	}
	keys, _, _ := s.snapshot()
	if len(keys) != 1 || keys[0].jwk.KeyID != "new" {
		t.Errorf("keys after both fetches = %v; want only the forced fetch's key %q", keys, "new")
	}
}

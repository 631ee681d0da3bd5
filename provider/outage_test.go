package provider

import (
	"fmt"
	"github.com/oidcgate/oidcgate/internal/testkit"

	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFailures waits until the background loop has failed n times.
func waitFailures(t *testing.T, p *Provider, n int64) {
	t.Helper()
	err := testkit.Until(5*time.Second, func() error {
		if s := p.Stats(); s.FetchErrors < n {
			return fmt.Errorf("Stats() = %+v after 5s; want %d fetch errors", s, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOutage(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		mode string
		want string // in Ready's error
	}{
		{"key endpoint 500", JWKS, "500", "500 Internal Server Error"},
		{"key endpoint garbage JSON", JWKS, "garbage", "not a JSON Web Key Set"},
		{"key endpoint never answers", JWKS, "hang", "deadline exceeded"},
		{"discovery 500", Discovery, "500", "discovery document"},
		{"discovery never answers", Discovery, "hang", "deadline exceeded"},
		{"metadata 500", Federation, "500", "500 Internal Server Error"},
		{"metadata garbage", Federation, "garbage", "not XML metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			key := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed1.key")
			op.setKeys(key)
			op.setMetadata(readFile(t, fixtures+"federationmetadata.xml"))
			op.setMode(tt.mode)
			o := op.options(tt.kind)
			o.Timeout = 200 * time.Millisecond

			start := time.Now()
			p := newProvider(t, o)
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("New() took %v; it must not wait for the network", d)
			}
			if _, err := p.Endpoints(); (err == nil) != (tt.kind != Discovery) {
				t.Errorf("Endpoints() = %v while the OP is down; want an error only for discovery", err)
			}
			waitFailures(t, p, 2)
			err := p.Ready()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), o.URL) {
				t.Errorf("Ready() = %v; want an error naming %s and containing %q", err, o.URL, tt.want)
			}

			raw := key.sign(t, goodClaims(op.URL), nil)
			start = time.Now()
			_, err = p.Verify(context.Background(), raw, testNonce)
			if reason(err) != ReasonKeysUnavailable {
				t.Errorf("Verify() while the OP is down = %v; want reason %q", err, ReasonKeysUnavailable)
			}
			if d := time.Since(start); d > o.Timeout+time.Second {
				t.Errorf("Verify() while the OP is down took %v; want at most about the %v timeout", d, o.Timeout)
			}

			op.setMode("")
			waitReady(t, p)
			if _, err := p.Verify(context.Background(), raw, testNonce); err != nil {
				t.Errorf("Verify() after the OP came back = %v; want nil", err)
			}
		})
	}
}

// The proxy starts while nothing listens at the provider's address, and
// serves sign-ins once it appears, without a restart.
func TestOutageProviderStartsLater(t *testing.T) {
	op := newStoppedOP(t, reserveAddr(t))
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	var mu sync.Mutex
	var sources []string
	o := op.options(Discovery)
	o.OnFetch = func(source string, err error) {
		mu.Lock()
		defer mu.Unlock()
		sources = append(sources, source)
	}
	p := newProvider(t, o)

	waitFailures(t, p, 3)
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready() with the OP down = %v; want a connection refused error", err)
	}
	raw := key.sign(t, goodClaims(op.URL), nil)
	if _, err := p.Verify(context.Background(), raw, testNonce); reason(err) != ReasonKeysUnavailable {
		t.Errorf("Verify() with the OP down = %v; want reason %q", err, ReasonKeysUnavailable)
	}

	op.start(t)
	waitReady(t, p)
	if _, err := p.Verify(context.Background(), raw, testNonce); err != nil {
		t.Errorf("Verify() after the OP started = %v; want nil", err)
	}
	e, err := p.Endpoints()
	if err != nil || e.Token != op.URL+"/token" || e.Keys != op.URL+keysPath {
		t.Errorf("Endpoints() = %+v, %v; want the discovered ones", e, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(sources); n < 2 || sources[n-2] != "discovery" || sources[n-1] != "jwks" || slices.Contains(sources[:n-2], "jwks") {
		t.Errorf("OnFetch sources = %q; want discovery failures, then discovery and jwks", sources)
	}
}

// A scheduled refresh that fails keeps the keys already loaded.
func TestRefreshFailureKeepsKeys(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	o := op.options(JWKS)
	o.RefreshInterval = 20 * time.Millisecond
	p := newProvider(t, o)
	waitReady(t, p)

	op.setMode("500")
	waitFailures(t, p, 2)
	if err := p.Ready(); err != nil {
		t.Errorf("Ready() after a failed refresh = %v; want nil (the old keys stay)", err)
	}
	if _, err := p.Verify(context.Background(), key.sign(t, goodClaims(op.URL), nil), testNonce); err != nil {
		t.Errorf("Verify() after a failed refresh = %v; want nil", err)
	}
}

func TestScheduledRefresh(t *testing.T) {
	op := newFakeOP(t)
	op.setKeys(newKey(t, "ES256", "ec-1"))
	o := op.options(JWKS)
	o.RefreshInterval = 20 * time.Millisecond
	p := newProvider(t, o)
	err := testkit.Until(5*time.Second, func() error {
		if s := p.Stats(); s.Fetches < 4 {
			return fmt.Errorf("Stats() after 5s = %+v; want a refresh every %v", s, o.RefreshInterval)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.ForcedFetches != 0 || op.count(keysPath) < 4 {
		t.Errorf("Stats() = %+v; want scheduled fetches only", s)
	}
}

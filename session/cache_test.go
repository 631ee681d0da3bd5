package session

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestStoreCacheServesTheDecodedSession(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	j := jar{}
	want := typicalSession(clk.Now().Add(time.Hour))
	save(t, s, j, want)
	for i := range 3 {
		got, err := s.Load(j.request())
		if err != nil || !sameSession(got, want) {
			t.Fatalf("Load #%d = %+v, %v; want %+v", i+1, got, err, want)
		}
		// A caller changing its session must not change what others get.
		got.User = "mallory@example.com"
	}
	if n := s.cache.len(); n != 1 {
		t.Errorf("cache holds %d sessions after three loads of one cookie; want 1", n)
	}
}

func TestStoreCacheRespectsSessionExpiry(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	j := jar{}
	save(t, s, j, typicalSession(clk.Now().Add(time.Hour)))
	if _, err := s.Load(j.request()); err != nil {
		t.Fatalf("Load = %v; want a session", err)
	}
	for _, tt := range []struct {
		name    string
		advance time.Duration
		wantErr error
	}{
		{"a second before expiry", time.Hour - time.Second, nil},
		{"at expiry", time.Hour, ErrSessionExpired},
		{"after expiry", 2 * time.Hour, ErrSessionExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk.t = clk.t.Add(tt.advance)
			defer func() { clk.t = clk.t.Add(-tt.advance) }()
			got, err := s.Load(j.request())
			if !errors.Is(err, tt.wantErr) || (err != nil) != (got == nil) {
				t.Fatalf("Load %s after caching = %+v, %v; want %v", tt.name, got, err, tt.wantErr)
			}
		})
	}
}

func TestCacheRespectsValueAgeBound(t *testing.T) {
	// securecookie refuses a value once wall time passes its timestamp
	// plus the age bound; the cache must refuse it from the same second.
	plain, err := appendSession(nil, typicalSession(time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := decodeSession(plain)
	if err != nil {
		t.Fatal(err)
	}
	const maxAge = 100
	stamp := time.Now().Unix()
	value := encodeAt(testKey("k1"), "oidcgate", plain, stamp)
	var c decoded
	c.put(value, sess, maxAge)
	now := time.Now()
	for _, tt := range []struct {
		name string
		wall int64
		want bool
	}{
		{"fresh", stamp, true},
		{"last second of the bound", stamp + maxAge, true},
		{"past the bound", stamp + maxAge + 1, false},
		{"fresh again, once dropped", stamp, false},
	} {
		if _, ok := c.get(value, now, time.Unix(tt.wall, 0)); ok != tt.want {
			t.Errorf("get(%s) = %v; want %v", tt.name, ok, tt.want)
		}
	}
}

func TestStoreCacheIsBounded(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	for i := range cacheSize + 50 {
		j := jar{}
		sess := typicalSession(clk.Now().Add(time.Hour))
		sess.Subject = fmt.Sprint(i)
		save(t, s, j, sess)
		got, err := s.Load(j.request())
		if err != nil || got.Subject != sess.Subject {
			t.Fatalf("Load(session %d) = %+v, %v", i, got, err)
		}
	}
	if n := s.cache.len(); n != cacheSize {
		t.Errorf("cache holds %d sessions after %d distinct cookies; want the cap, %d", n, cacheSize+50, cacheSize)
	}
}

func TestStoreCacheBoundsItsMemory(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	// Sessions that keep their ID token make cookies of several kilobytes.
	const n = 2500
	for i := range n {
		j := jar{}
		sess := typicalSession(clk.Now().Add(time.Hour))
		sess.Subject = fmt.Sprint(i)
		sess.IDToken = idToken(2400)
		save(t, s, j, sess)
		if _, err := s.Load(j.request()); err != nil {
			t.Fatalf("Load(session %d) = %v", i, err)
		}
	}
	sum := 0
	for v := range s.cache.m {
		sum += entryCost(v)
	}
	switch {
	case sum != s.cache.bytes:
		t.Errorf("cache counts %d bytes; its entries cost %d", s.cache.bytes, sum)
	case sum > cacheBytes:
		t.Errorf("cache holds %d bytes after %d large sessions; want at most %d", sum, n, cacheBytes)
	case len(s.cache.m) == 0 || len(s.cache.m) == n:
		t.Errorf("cache holds %d of %d large sessions; want some, within its byte bound", len(s.cache.m), n)
	}
}

func TestStoreCacheNeverServesAChangedValue(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	good := jar{}
	save(t, s, good, typicalSession(clk.Now().Add(time.Hour)))
	if _, err := s.Load(good.request()); err != nil {
		t.Fatalf("Load(good) = %v", err)
	}
	value := good["oidcgate"]
	set := func(v string, i int, c byte) string { return v[:i] + string(c) + v[i+1:] }
	tests := []struct{ name, value string }{
		{"first character changed", set(value, 0, value[0]^1)},
		{"timestamp changed", set(value, 5, value[5]^1)},
		{"middle character changed", set(value, len(value)/2, value[len(value)/2]^1)},
		{"last character changed", set(value, len(value)-1, value[len(value)-1]^1)},
		{"truncated", value[:len(value)-4]},
		{"extended", value + "AAAA"},
		{"prefix of the value", value[:32]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Load(jar{"oidcgate": tt.value}.request())
			if got != nil || !errors.Is(err, ErrSessionInvalid) {
				t.Fatalf("Load(%s) = %+v, %v; want nil, %v", tt.name, got, err, ErrSessionInvalid)
			}
		})
	}
	if n := s.cache.len(); n != 1 {
		t.Errorf("cache holds %d sessions; want only the good one", n)
	}
	// A store of another name with the same keys has a cache of its own and
	// still refuses the value.
	other := NewStore(StoreOptions{Name: "other", Lifetime: lifetime, Codec: testCodec(t, "k1"), Now: clk.Now})
	if got, err := other.Load(jar{"other": value}.request()); got != nil || !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("Load(value under another name) = %+v, %v; want nil, %v", got, err, ErrSessionInvalid)
	}
}

func TestValueTimestamp(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  int64
		ok    bool
	}{
		{"securecookie value", encodeAt(testKey("k1"), "oidcgate", []byte{1, 2, 3}, 1763876543), 1763876543, true},
		{"short", "MTc2", 0, false},
		{"not base64", "!!!!!!!!!!!!!!!!!!!!", 0, false},
		{"no separator", "MTc2Mzg3NjU0MzEyMzQ1Njc4OTA=", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := valueTimestamp(tt.value)
			if got != tt.want || ok != tt.ok {
				t.Errorf("valueTimestamp(%q) = %d, %v; want %d, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

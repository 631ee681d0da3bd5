package store

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func key(b byte) []byte {
	k := make([]byte, 64)
	for i := range k {
		k[i] = b
	}
	return k
}

func newMemory(t testing.TB, clk *clock, keys ...[]byte) *Memory {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{key(1)}
	}
	s, err := NewMemory(Options{CookieKeys: keys, Lifetime: 8 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// alice is a session of a user signed in at Entra ID.
func alice(issued time.Time) Identity {
	return Identity{
		ID:       []byte("0123456789abcdef"),
		IssuedAt: issued,
		Issuer:   "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
		SID:      "004d7e2a-5e9c-8f3b-41a6-7c2d0b9e8f15",
		Subject:  "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
	}
}

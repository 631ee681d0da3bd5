package session

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestReplayGuard(t *testing.T) {
	clk := newClock()
	g := NewReplayGuard(3)
	g.Now = clk.Now
	in := func(d time.Duration) time.Time { return clk.Now().Add(d) }

	steps := []struct {
		name    string
		advance time.Duration
		state   string
		until   time.Duration // from now, after advance
		wantErr error
		wantLen int
	}{
		{"first use", 0, "a", time.Minute, nil, 1},
		{"replay", 0, "a", time.Minute, ErrReplayed, 1},
		{"replay later, still remembered", 59 * time.Second, "a", time.Minute, ErrReplayed, 1},
		{"other states", 0, "b", 10 * time.Minute, nil, 2},
		{"third", 0, "c", 10 * time.Minute, nil, 3},
		{"full: fails closed", 0, "d", 10 * time.Minute, ErrReplayGuardFull, 3},
		{"full: a replay is still a replay", 0, "b", 10 * time.Minute, ErrReplayed, 3},
		{"a expired: its slot is reused", 2 * time.Second, "d", 10 * time.Minute, nil, 3},
		{"a, forgotten, but the guard is full", 0, "a", time.Minute, ErrReplayGuardFull, 3},
		{"until already passed", 0, "e", -time.Second, ErrLoginExpired, 3},
		{"all expired", time.Hour, "f", time.Minute, nil, 1},
		{"old states forgotten", 0, "b", time.Minute, nil, 2},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		err := g.Use(s.state, in(s.until))
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: Use(%q) = %v; want %v", s.name, s.state, err, s.wantErr)
		}
		if got := g.Len(); got != s.wantLen {
			t.Errorf("%s: Len() = %d; want %d", s.name, got, s.wantLen)
		}
	}
}

func TestReplayGuardSweepsLazily(t *testing.T) {
	clk := newClock()
	g := NewReplayGuard(1 << 20)
	g.Now = clk.Now
	for i := range 1000 {
		if err := g.Use(fmt.Sprint("old-", i), clk.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Use(old-%d) = %v", i, err)
		}
	}
	clk.Advance(2 * time.Minute)
	// Growth past the last sweep's mark (twice the live size) sweeps.
	for i := range 1100 {
		if err := g.Use(fmt.Sprint("new-", i), clk.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Use(new-%d) = %v", i, err)
		}
	}
	if got := g.Len(); got >= 2000 {
		t.Errorf("Len() = %d after 1000 expired and 1100 live states; want expired ones swept", got)
	}
}

func TestReplayGuardZeroCapFailsClosed(t *testing.T) {
	g := NewReplayGuard(0)
	if err := g.Use("a", time.Now().Add(time.Minute)); !errors.Is(err, ErrReplayGuardFull) {
		t.Errorf("NewReplayGuard(0).Use(%q) = %v; want %v", "a", err, ErrReplayGuardFull)
	}
}

func TestReplayGuardConcurrent(t *testing.T) {
	g := NewReplayGuard(1000)
	until := time.Now().Add(time.Minute)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for range 50 {
		wg.Go(func() {
			if err := g.Use("same", until); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, ErrReplayed) {
				t.Errorf("Use(%q) = %v; want nil or %v", "same", err, ErrReplayed)
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d concurrent Use(%q) succeeded; want exactly 1", ok, "same")
	}
}

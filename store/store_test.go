package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/redistest"
)

// TestStores holds both implementations to the same promises.
func TestStores(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return newMemory(t, newClock()) }},
		{"redis", func(t *testing.T) Store {
			r := newReplica(t, redistest.Start(t, redistest.Options{}), RedisOptions{})
			r.start(t)
			return r
		}},
	}
	for _, impl := range stores {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.open(t)
			ctx := context.Background()
			if err := s.Ready(); err != nil {
				t.Fatalf("Ready() = %v", err)
			}
			if h := s.Health(); !h.Up || h.Err != nil {
				t.Errorf("Health() = %+v; want up", h)
			}
			// The memory store's clock stands still in 2026; marks are
			// dated by it, so sessions are dated relative to it too.
			var issued time.Time
			if m, ok := s.(*Memory); ok {
				issued = m.o.now().Add(-time.Minute)
			} else {
				issued = time.Now().Add(-time.Minute)
			}
			a := alice(issued)
			if s.Revoked(a) {
				t.Fatal("Revoked before any mark")
			}
			if err := s.Revoke(ctx, SessionMark(a.ID)); err != nil {
				t.Fatal(err)
			}
			if !s.Revoked(a) {
				t.Error("Revoked = false after a mark for its id")
			}
			if n := s.Marks(); n != 1 {
				t.Errorf("Marks() = %d; want 1", n)
			}
			if err := s.Reserve(ctx, "k", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.Reserve(ctx, "k", time.Minute); !errors.Is(err, ErrTaken) {
				t.Errorf("second Reserve = %v; want ErrTaken", err)
			}
			s.Release(ctx, "k")
			if err := s.Reserve(ctx, "k", time.Minute); err != nil {
				t.Errorf("Reserve after Release = %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		})
	}
}

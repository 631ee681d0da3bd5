package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRevoked(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		mark    func(Identity) Mark
		session func(Identity) Identity // the session asked about
		issued  time.Duration           // when it was issued, relative to the mark
		later   time.Duration           // how long after the mark it is asked
		want    bool
	}{
		{"its own id", func(a Identity) Mark { return SessionMark(a.ID) }, same, -time.Minute, 0, true},
		{"its own id, issued in the mark's millisecond", func(a Identity) Mark { return SessionMark(a.ID) }, same, 0, 0, true},
		{"another id", func(a Identity) Mark { return SessionMark([]byte("another session")) }, same, -time.Minute, 0, false},
		{"provider session", func(a Identity) Mark { return ProviderMark(a.Issuer, a.SID) }, same, -time.Hour, 0, true},
		{"provider session at another issuer", func(a Identity) Mark { return ProviderMark("https://other.example", a.SID) }, same, -time.Hour, 0, false},
		{"provider session of a session without sid", func(a Identity) Mark { return ProviderMark(a.Issuer, a.SID) }, noSID, -time.Hour, 0, false},
		{"another provider session", func(a Identity) Mark { return ProviderMark(a.Issuer, "other") }, same, -time.Hour, 0, false},
		{"subject", func(a Identity) Mark { return SubjectMark(a.Issuer, a.Subject) }, same, -time.Hour, 0, true},
		{"subject, signed in again after the mark", func(a Identity) Mark { return SubjectMark(a.Issuer, a.Subject) }, same, time.Millisecond, time.Second, false},
		{"subject at another issuer", func(a Identity) Mark { return SubjectMark("https://other.example", a.Subject) }, same, -time.Hour, 0, false},
		{"subject and issuer do not run into each other", func(a Identity) Mark { return SubjectMark(a.Issuer+"A", a.Subject[1:]) }, same, -time.Hour, 0, false},
		{"all", func(Identity) Mark { return AllMark() }, same, -time.Hour, 0, true},
		{"all, signed in after", func(Identity) Mark { return AllMark() }, same, time.Millisecond, 0, false},
		{"mark expired after the lifetime", func(a Identity) Mark { return SubjectMark(a.Issuer, a.Subject) }, same, -time.Minute, 8 * time.Hour, false},
		{"mark just before it expires", func(a Identity) Mark { return SubjectMark(a.Issuer, a.Subject) }, same, -time.Minute, 8*time.Hour - time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := newMemory(t, clk)
			a := alice(clk.Now().Add(tt.issued))
			if err := s.Revoke(ctx, tt.mark(alice(clk.Now()))); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tt.later)
			if got := s.Revoked(tt.session(a)); got != tt.want {
				t.Errorf("Revoked(%s) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}

func same(a Identity) Identity  { return a }
func noSID(a Identity) Identity { a.SID = ""; return a }

func TestRevokeRefusesIncompleteMarks(t *testing.T) {
	s := newMemory(t, newClock())
	for _, m := range []Mark{
		SessionMark(nil),
		ProviderMark("", "sid"),
		ProviderMark("https://op", ""),
		SubjectMark("https://op", ""),
		SubjectMark("", "sub"),
		{Kind: 'z'},
	} {
		if err := s.Revoke(context.Background(), m); err == nil {
			t.Errorf("Revoke(%+v) = nil; want an error", m)
		}
	}
	if n := s.Marks(); n != 0 {
		t.Errorf("Marks() = %d after refused marks; want 0", n)
	}
}

// TestMarksAcrossKeyRotation: a replica with the new cookie key first and
// one with only the old key find each other's marks, and so do replicas
// before and after the old key is removed.
func TestMarksAcrossKeyRotation(t *testing.T) {
	clk := newClock()
	old, both, fresh := [][]byte{key(1)}, [][]byte{key(2), key(1)}, [][]byte{key(2)}
	tests := []struct {
		name          string
		writer, asker [][]byte
		want          bool
	}{
		{"old key writes, rotated reads", old, both, true},
		{"rotated writes, old key reads", both, old, true},
		{"rotated writes, new key reads", both, fresh, true},
		{"new key writes, rotated reads", fresh, both, true},
		{"unrelated keys", old, fresh, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := newMarkSet(tt.writer)
			if err != nil {
				t.Fatal(err)
			}
			r, err := newMarkSet(tt.asker)
			if err != nil {
				t.Fatal(err)
			}
			a := alice(clk.Now().Add(-time.Minute))
			e, err := w.makeEntry(SubjectMark(a.Issuer, a.Subject), time.Hour, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			r.add(e)
			if got := r.revoked(a, clk.Now()); got != tt.want {
				t.Errorf("revoked = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestMarksSweptAfterLifetime(t *testing.T) {
	clk := newClock()
	s := newMemory(t, clk)
	for i := range 10 {
		s.Revoke(context.Background(), SessionMark([]byte{byte(i)}))
	}
	s.Revoke(context.Background(), AllMark())
	if n := s.Marks(); n != 11 {
		t.Fatalf("Marks() = %d; want 11", n)
	}
	clk.Advance(8 * time.Hour)
	s.Revoke(context.Background(), SessionMark([]byte("last")))
	if n := s.Marks(); n != 1 {
		t.Errorf("Marks() = %d after the lifetime; want 1 (the expired ones swept)", n)
	}
}

func TestMemoryReservations(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newMemory(t, clk)
	if err := s.Reserve(ctx, "state-1", time.Minute); err != nil {
		t.Fatalf("Reserve(state-1) = %v; want nil", err)
	}
	if err := s.Reserve(ctx, "state-1", time.Minute); !errors.Is(err, ErrTaken) {
		t.Fatalf("Reserve(state-1) again = %v; want ErrTaken", err)
	}
	if err := s.Reserve(ctx, "state-2", time.Minute); err != nil {
		t.Fatalf("Reserve(state-2) = %v; want nil", err)
	}
	s.Release(ctx, "state-1")
	if err := s.Reserve(ctx, "state-1", time.Minute); err != nil {
		t.Fatalf("Reserve(state-1) after Release = %v; want nil", err)
	}
	clk.Advance(time.Minute)
	if err := s.Reserve(ctx, "state-2", time.Minute); err != nil {
		t.Fatalf("Reserve(state-2) after it expired = %v; want nil", err)
	}
}

// TestReservationsHaveNoCap: reservations that expire leave nothing
// behind, and no number of them refuses a new one.
func TestReservationsHaveNoCap(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newMemory(t, clk)
	for i := range 300_000 {
		if err := s.Reserve(ctx, "attempt-"+string(rune(i)), time.Second); err != nil && !errors.Is(err, ErrTaken) {
			t.Fatalf("Reserve #%d = %v", i, err)
		}
		if i%1000 == 999 {
			clk.Advance(time.Second)
		}
	}
	if n := s.res.len(); n > 4000 {
		t.Errorf("%d reservations held after they expired; want at most a few thousand", n)
	}
	if err := s.Reserve(ctx, "real sign-in", time.Minute); err != nil {
		t.Errorf("Reserve after 300,000 attempts = %v; want nil", err)
	}
}

func TestOutageRefuses(t *testing.T) {
	now := newClock().Now()
	down := Health{Up: false, Since: now.Add(-time.Minute)}
	tests := []struct {
		name string
		o    Outage
		h    Health
		want bool
	}{
		{"open, down", Outage{}, down, false},
		{"closed, up", Outage{Closed: true, Grace: 0}, Health{Up: true, Since: now.Add(-time.Hour)}, false},
		{"closed, down within the grace", Outage{Closed: true, Grace: 2 * time.Minute}, down, false},
		{"closed, down past the grace", Outage{Closed: true, Grace: 30 * time.Second}, down, true},
		{"closed, no grace", Outage{Closed: true}, Health{Since: now}, true},
	}
	for _, tt := range tests {
		if got := tt.o.Refuses(tt.h, now); got != tt.want {
			t.Errorf("%s: Refuses = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestDigestCache: the digests remembered for a session id serve only the
// identity they were computed from, and a full cache still answers right.
func TestDigestCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := newMemory(t, clk)
	a := alice(clk.Now().Add(-time.Minute))
	if err := s.Revoke(ctx, SubjectMark(a.Issuer, "bob")); err != nil {
		t.Fatal(err)
	}
	if s.Revoked(a) {
		t.Fatal("alice revoked by bob's mark")
	}
	bob := a
	bob.Subject = "bob"
	if !s.Revoked(bob) {
		t.Error("an identity with alice's session id but bob's subject is answered from alice's cached digests")
	}
	for i := range sumCacheSize + 100 {
		other := alice(a.IssuedAt)
		other.ID = []byte(fmt.Sprintf("session-%09d", i))[:16]
		if s.Revoked(other) {
			t.Fatalf("session %d revoked", i)
		}
	}
	if n := len(s.marks.sums.m); n > sumCacheSize {
		t.Errorf("%d cached sessions; want at most %d", n, sumCacheSize)
	}
	if !s.Revoked(bob) {
		t.Error("bob not revoked after the cache filled up")
	}
}

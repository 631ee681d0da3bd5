package store

import (
	"context"
	"errors"
	"time"
)

// Options configure a store. The zero value fails closed: New refuses it.
type Options struct {
	// CookieKeys are the [session] keys; the marks' hash key is derived
	// from each of them.
	CookieKeys [][]byte
	// Lifetime is the longest a session lasts: how long a mark is kept.
	Lifetime time.Duration
	Hooks    Hooks
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) check() error {
	if o.Lifetime < time.Second {
		return errors.New("store: lifetime is too short")
	}
	return nil
}

// Memory keeps marks and reservations in this process only: enough for
// one replica, and nothing to install.
type Memory struct {
	o     Options
	marks *markSet
	res   reservations
	since time.Time
}

// NewMemory returns a store for this process only.
func NewMemory(o Options) (*Memory, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	marks, err := newMarkSet(o.CookieKeys)
	if err != nil {
		return nil, err
	}
	return &Memory{o: o, marks: marks, since: o.now()}, nil
}

// Revoke applies m at once; it fails only for a malformed mark.
func (s *Memory) Revoke(_ context.Context, m Mark) error {
	now := s.o.now()
	e, err := s.marks.makeEntry(m, s.o.Lifetime, now)
	if err != nil {
		return err
	}
	s.marks.add(e)
	s.marks.sweepSometimes(now)
	return nil
}

func (s *Memory) Revoked(id Identity) bool { return s.marks.revoked(id, s.o.now()) }

func (s *Memory) Reserve(_ context.Context, key string, ttl time.Duration) error {
	now := s.o.now().UnixMilli()
	if !s.res.reserve(reservationID(key), now, now+ttlMillis(ttl)) {
		return ErrTaken
	}
	return nil
}

func (s *Memory) Release(_ context.Context, key string) { s.res.release(reservationID(key)) }

func (s *Memory) Ready() error   { return nil }
func (s *Memory) Health() Health { return Health{Up: true, Since: s.since} }
func (s *Memory) Marks() int     { return s.marks.len() }
func (s *Memory) Close() error   { return nil }

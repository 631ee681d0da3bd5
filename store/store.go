// Package store keeps the state the replicas share: revocation marks that
// end sessions before they expire, and single-use reservations (login
// states, logout tokens' jti). Memory keeps them in this process; Redis
// shares them between replicas.
//
// The store holds keyed hashes and times only: never a token, a claim, a
// session id, a sid or a subject in clear.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is what the proxy needs of the shared state. Revoked is answered
// from memory, with no round trip to a shared store.
type Store interface {
	// Revoke records m: it applies here at once, and reaches the other
	// replicas within a second. An error wrapping ErrUnavailable means m
	// applies here but has not reached the shared store yet; it is sent
	// when the store is back.
	Revoke(ctx context.Context, m Mark) error
	// Revoked reports whether a mark covers the session id.
	Revoked(id Identity) bool
	// Reserve takes key for ttl, once across replicas. It returns
	// ErrTaken when key is reserved already, and an error wrapping
	// ErrUnavailable when the shared store could not be asked: key is
	// then reserved on this replica only. A login state is reserved
	// while its code is exchanged and released if the exchange fails;
	// after a sign-in that succeeded it is simply kept, until ttl.
	Reserve(ctx context.Context, key string, ttl time.Duration) error
	// Release gives up a reservation, so that key may be reserved again.
	Release(ctx context.Context, key string)
	// Ready returns nil once every current mark is loaded.
	Ready() error
	// Health says whether the shared store is reachable, and since when.
	Health() Health
	// Marks returns how many marks are held here.
	Marks() int
	// Close stops following the shared store.
	Close() error
}

// Errors of Reserve and Revoke; callers branch on them with errors.Is.
var (
	ErrTaken       = errors.New("store: already reserved")
	ErrUnavailable = errors.New("store: shared store unreachable")
)

// Identity is what a session says about itself, for Revoked.
type Identity struct {
	ID                   []byte // the session's random id
	IssuedAt             time.Time
	Issuer, SID, Subject string // SID may be empty
}

// Health is the shared store's reachability: Up, and Since when.
type Health struct {
	Up    bool
	Since time.Time
	Err   error // why it is down; nil when up
}

// Hooks let the caller count and log what the store does. Every field is
// optional; hooks run on the store's goroutines and must not block.
type Hooks struct {
	// Changed is called when the shared store goes down or comes back,
	// once per change.
	Changed func(Health)
	// Learned is called for each mark that reached this replica from the
	// shared store, with the time since it was written.
	Learned func(delay time.Duration)
	// Error is called when an operation on the shared store fails; op is
	// one of "revoke", "reserve", "release", "follow".
	Error func(op string, err error)
}

// Outage is what a replica does while the shared store is down: with
// Closed, it refuses users once the store has been down for Grace.
type Outage struct {
	Closed bool
	Grace  time.Duration
}

// Refuses reports whether, under o, a replica whose store has health h
// refuses users at now.
func (o Outage) Refuses(h Health, now time.Time) bool {
	return o.Closed && !h.Up && now.Sub(h.Since) >= o.Grace
}

package session

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Errors ReplayGuard.Use returns.
var (
	ErrReplayed        = errors.New("session: login state already used")
	ErrReplayGuardFull = errors.New("session: too many login states in flight; refusing new ones")
)

// minSweep is the map size below which expired entries are not worth a sweep.
const minSweep = 64

// ReplayGuard remembers login states that were used, until they expire, so a
// state is accepted once per replica whatever the browser's cookies say. It
// keeps a 16-byte hash of each state rather than the state itself. Expired
// entries are swept lazily, whenever the map has doubled since the last
// sweep or reached its cap, so no goroutine is needed. It is safe for
// concurrent use.
type ReplayGuard struct {
	// Now returns the current time; nil means time.Now. Set it before use.
	Now func() time.Time

	mu       sync.Mutex
	max      int
	used     map[[16]byte]int64 // hash of state → expiry, unix milliseconds
	earliest int64              // no entry expires before this
	sweepAt  int                // sweep when the map reaches this size
}

// NewReplayGuard returns a guard that remembers at most max states; beyond
// that Use fails closed.
func NewReplayGuard(max int) *ReplayGuard {
	return &ReplayGuard{
		max:      max,
		used:     make(map[[16]byte]int64),
		earliest: math.MaxInt64,
		sweepAt:  minSweep,
	}
}

// Use records state as used until until. It returns ErrReplayed if state was
// used before and has not yet expired, and ErrReplayGuardFull when max
// states are remembered and none has expired. A state whose until has
// already passed is refused with ErrLoginExpired.
func (g *ReplayGuard) Use(state string, until time.Time) error {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	sum := sha256.Sum256([]byte(state))
	key := [16]byte(sum[:16])
	// Milliseconds, unlike nanoseconds, cannot overflow for any until.
	t := now().UnixMilli()
	exp := until.UnixMilli()

	g.mu.Lock()
	defer g.mu.Unlock()
	if prev, ok := g.used[key]; ok {
		if t < prev {
			return ErrReplayed
		}
		delete(g.used, key)
	}
	if exp <= t {
		return fmt.Errorf("%w: it was valid until %s", ErrLoginExpired, until.UTC().Format(time.RFC3339))
	}
	if len(g.used) >= g.sweepAt || len(g.used) >= g.max {
		g.sweep(t)
		g.sweepAt = max(2*len(g.used), minSweep)
	}
	if len(g.used) >= g.max {
		return ErrReplayGuardFull
	}
	g.used[key] = exp
	g.earliest = min(g.earliest, exp)
	return nil
}

// sweep deletes the entries expired at t. It returns at once when none can
// have expired, so a full guard under load does not walk the map per call.
func (g *ReplayGuard) sweep(t int64) {
	if t < g.earliest {
		return
	}
	earliest := int64(math.MaxInt64)
	for k, exp := range g.used {
		if exp <= t {
			delete(g.used, k)
		} else {
			earliest = min(earliest, exp)
		}
	}
	g.earliest = earliest
}

// Len returns how many states the guard remembers, expired ones not yet
// swept included.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.used)
}

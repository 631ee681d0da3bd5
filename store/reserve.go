package store

import (
	"crypto/sha256"
	"sync"
	"time"
)

// reservationID stands for a reservation's key: a login state or a
// logout token's jti is random and names no one, but is still kept only
// as a hash. No key is needed: the hash needs to be the same on every
// replica whatever its cookie keys.
func reservationID(key string) [sha256.Size]byte {
	return sha256.Sum256([]byte("oidcgate reservation\x00" + key))
}

// reservations are single-use keys held until they expire, in this
// process. There is no cap: an entry exists only while a callback is
// being checked, or after a sign-in that succeeded (which costs the
// client a real sign-in at the provider), so nobody can fill it for
// others. Expired entries are swept whenever the map has doubled since
// the last sweep.
type reservations struct {
	mu      sync.Mutex
	m       map[[sha256.Size]byte]int64 // expiry, unix milliseconds
	sweepAt int
}

const minSweep = 64

// reserve takes id until exp (ms) unless it is held at now (ms).
func (r *reservations) reserve(id [sha256.Size]byte, now, exp int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[[sha256.Size]byte]int64)
	}
	if until, ok := r.m[id]; ok && now < until {
		return false
	}
	if len(r.m) >= max(r.sweepAt, minSweep) {
		for k, until := range r.m {
			if until <= now {
				delete(r.m, k)
			}
		}
		r.sweepAt = 2 * len(r.m)
	}
	r.m[id] = exp
	return true
}

func (r *reservations) release(id [sha256.Size]byte) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

func (r *reservations) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// ttlMillis is ttl in milliseconds, at least one.
func ttlMillis(ttl time.Duration) int64 { return max(ttl.Milliseconds(), 1) }

package fakeop

import (
	"container/heap"
	"time"
)

// What the OP remembers for a while: each map entry has an expiry in the
// OP's queue, so a sweep looks only at what has expired. Every sign-in
// leaves a code (a minute) and an access token (an hour) behind; walking
// every map on each request made the OP slower the longer it ran (a load
// test's tens of thousands of sign-ins spent more time sweeping than
// signing).
type (
	remembered int
	expiry     struct {
		at   time.Time
		what remembered
		key  string
	}
	expiries []expiry // a min-heap by at
)

const (
	rememberedCode remembered = iota
	rememberedAccessToken
	rememberedPending
	rememberedSession
)

func (q expiries) Len() int           { return len(q) }
func (q expiries) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q expiries) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiries) Push(x any)        { *q = append(*q, x.(expiry)) }
func (q *expiries) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// rememberLocked queues the expiry of an entry just added to one of the maps.
func (op *OP) rememberLocked(what remembered, key string, at time.Time) {
	heap.Push(&op.expiries, expiry{at: at, what: what, key: key})
}

// sweepLocked forgets what has expired at now, so a long-running demo stays
// small. An entry is forgotten exactly when !now.Before(its expiry), as a
// walk over the maps would; entries removed earlier (a pending request
// that was signed in) leave their queue item behind until its time.
func (op *OP) sweepLocked(now time.Time) {
	for len(op.expiries) > 0 && !now.Before(op.expiries[0].at) {
		e := heap.Pop(&op.expiries).(expiry)
		switch e.what {
		case rememberedCode:
			if c, ok := op.codes[e.key]; ok && !now.Before(c.expires) {
				delete(op.codes, e.key)
			}
		case rememberedAccessToken:
			if t, ok := op.accessTokens[e.key]; ok && !now.Before(t.expires) {
				delete(op.accessTokens, e.key)
			}
		case rememberedPending:
			if p, ok := op.pending[e.key]; ok && !now.Before(p.expires) {
				delete(op.pending, e.key)
			}
		case rememberedSession:
			if s, ok := op.sessions[e.key]; ok && !now.Before(s.expires) {
				delete(op.sessions, e.key)
			}
		}
	}
}

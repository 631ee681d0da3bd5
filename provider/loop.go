package provider

import (
	"math/rand/v2"
	"time"
)

// loop fetches until the first success, backing off exponentially from
// RetryMin to RetryMax, then refreshes every RefreshInterval, backing off
// again after a failed refresh; the keys already loaded stay in use meanwhile.
// It ends with the context given to New.
func (p *Provider) loop() {
	delay := p.o.RetryMin
	for {
		wait := p.o.RefreshInterval
		err := p.keys.refresh(p.ctx, false, 0)
		if err != nil {
			wait = jitter(delay)
			delay = min(2*delay, p.o.RetryMax)
		} else {
			delay = p.o.RetryMin
		}
		if p.o.OnRefresh != nil && p.ctx.Err() == nil {
			p.o.OnRefresh(p.refreshed(err))
		}
		t := time.NewTimer(wait)
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Refreshed is what a background fetch of the endpoints and keys led to.
type Refreshed struct {
	Err    error
	Issuer string // "" while the endpoints are unknown
	Keys   int    // signing keys in use now (the previous ones after a failure)
}

func (p *Provider) refreshed(err error) Refreshed {
	r := Refreshed{Err: err, Keys: p.Stats().Keys}
	if e, eerr := p.Endpoints(); eerr == nil {
		r.Issuer = e.Issuer
	}
	return r
}

// jitter spreads retries over [d/2, d], so that replicas that lost the
// provider together do not return to it together.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(half+1)
}

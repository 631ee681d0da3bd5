package provider

import "sync/atomic"

// Stats count the provider's fetches, for metrics and for tests.
type Stats struct {
	Fetches       int64 // documents fetched (discovery, JWKS, metadata), in the background or forced
	FetchErrors   int64 // of which failed
	ForcedFetches int64 // key refreshes started because a token named an unknown key
	RateLimited   int64 // forced refreshes refused by ForcedRefreshMinInterval
	Keys          int   // signing keys loaded now
}

type counters struct {
	fetches, fetchErrors, forced, rateLimited atomic.Int64
}

// Stats returns the counters so far.
func (p *Provider) Stats() Stats {
	_, n, _ := p.keys.status()
	return Stats{
		Fetches:       p.stats.fetches.Load(),
		FetchErrors:   p.stats.fetchErrors.Load(),
		ForcedFetches: p.stats.forced.Load(),
		RateLimited:   p.stats.rateLimited.Load(),
		Keys:          n,
	}
}

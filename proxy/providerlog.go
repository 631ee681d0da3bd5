package proxy

import (
	"log/slog"
	"sync"
	"time"

	"github.com/oidcgate/oidcgate/provider"
)

// providerLog tells the operator, in one line each, when the provider's
// endpoints and keys are first loaded and when they load again after
// failed fetches; each failed fetch has its own warning (OnFetch).
type providerLog struct {
	log *slog.Logger

	mu      sync.Mutex
	loaded  bool
	failing time.Time // when the current run of failures began; zero: none
}

func (pl *providerLog) refreshed(r provider.Refreshed) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if r.Err != nil {
		if pl.failing.IsZero() {
			pl.failing = time.Now()
		}
		return
	}
	switch {
	case !pl.loaded:
		pl.log.Info("provider loaded", "issuer", r.Issuer, "keys", r.Keys)
	case !pl.failing.IsZero():
		pl.log.Info("provider recovered", "issuer", r.Issuer, "keys", r.Keys,
			"failing_for", time.Since(pl.failing).Round(time.Millisecond).String())
	}
	pl.loaded, pl.failing = true, time.Time{}
}

package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

// ErrNoCookieKeys: marks for a user or a session are hashed under the
// cookie keys, so a process with a random key of its own cannot write
// marks that other replicas understand.
var ErrNoCookieKeys = errors.New("[session] keys (or cookie_encryption_key) are not set: each process makes a random key, and its marks name sessions only it can read")

// StoreOptions maps [store] and [session] to the store's options. keysSet
// is false when no cookie key is configured and the marks' hash key is
// random.
func StoreOptions(cfg *config.Config, hooks store.Hooks) (o store.RedisOptions, keysSet bool, err error) {
	keys, generated, err := cookieKeys(cfg.Session)
	if err != nil {
		return store.RedisOptions{}, false, err
	}
	st := cfg.Store
	return store.RedisOptions{
		Options: store.Options{
			CookieKeys: keys,
			Lifetime:   cfg.Session.Lifetime.Duration,
			Hooks:      hooks,
		},
		URL:       st.URL,
		Password:  st.Password,
		KeyPrefix: st.KeyPrefix,
	}, !generated, nil
}

// OpenStore returns the store [store] configures; a Redis store is
// already loading its marks and following new ones (see Ready).
func OpenStore(cfg *config.Config, hooks store.Hooks) (store.Store, error) {
	o, _, err := StoreOptions(cfg, hooks)
	if err != nil {
		return nil, err
	}
	if cfg.Store.Kind != config.StoreRedis {
		return store.NewMemory(o.Options)
	}
	s, err := store.NewRedis(o)
	if err != nil {
		return nil, err
	}
	s.Start()
	return s, nil
}

// StoreOutage maps [store] outage and outage_grace.
func StoreOutage(cfg *config.Config) store.Outage {
	return store.Outage{Closed: cfg.Store.Outage == config.OutageClosed, Grace: cfg.Store.OutageGrace.Duration}
}

// sessionIdentity is what the store needs to know of a session to tell
// whether a mark covers it.
func sessionIdentity(s *session.Session) store.Identity {
	return store.Identity{ID: s.ID[:], IssuedAt: s.IssuedAt, Issuer: s.Issuer, SID: s.SID, Subject: s.Subject}
}

// storeWatch counts what the store does and logs its outages: one warning
// when the shared store cannot be reached, one line when it is back.
type storeWatch struct {
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	warned bool // this outage has had its warning
}

func (w *storeWatch) hooks() store.Hooks {
	return store.Hooks{
		Changed: w.changed,
		Learned: func(d time.Duration) { w.metrics.propagation.Observe(d.Seconds()) },
		Error:   w.failed,
	}
}

func (w *storeWatch) changed(h store.Health) {
	if !h.Up {
		w.warn(h.Err)
		return
	}
	w.mu.Lock()
	was := w.warned
	w.warned = false
	w.mu.Unlock()
	if was {
		w.log.Info("store: reachable again; marks written meanwhile are sent to it")
	}
}

func (w *storeWatch) failed(op string, err error) {
	w.metrics.storeErrors.WithLabelValues(op).Inc()
	if op == "follow" {
		// The store may be down from the start, before any change.
		w.warn(err)
		return
	}
	w.log.Debug("store: operation failed", "op", op, "error", err.Error())
}

func (w *storeWatch) warn(err error) {
	w.mu.Lock()
	was := w.warned
	w.warned = true
	w.mu.Unlock()
	if was {
		return
	}
	msg := "unknown"
	if err != nil {
		msg = err.Error()
	}
	w.log.Warn("store: unreachable; serving with the revocations this replica knows, and checking login states here only", "error", msg)
}

// openStore opens the configured store with metrics and outage logging,
// or takes given (Options.Store) as it is.
func (s *Server) openStore(cfg *config.Config, given store.Store) error {
	st := given
	if st == nil {
		w := &storeWatch{log: s.log, metrics: s.metrics}
		var err error
		if st, err = OpenStore(cfg, w.hooks()); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	s.store = st
	s.outage = StoreOutage(cfg)
	m := s.metrics
	m.gauge("oidcgate_store_up", "1 while the shared store can be reached (always 1 with kind = \"memory\").", func() float64 {
		if st.Health().Up {
			return 1
		}
		return 0
	})
	m.gauge("oidcgate_store_marks", "Revocation marks held in this replica's memory.", func() float64 { return float64(st.Marks()) })
	m.counter("oidcgate_store_commands_total", "Commands sent to the shared store (0 with kind = \"memory\"); authenticated requests send none.", func() float64 {
		if c, ok := st.(interface{ Commands() uint64 }); ok {
			return float64(c.Commands())
		}
		return 0
	})
	return nil
}

// storeRefuses reports whether users are refused now because the store
// has been down longer than outage = "closed" allows.
func (s *Server) storeRefuses() bool {
	return s.outage.Closed && s.outage.Refuses(s.store.Health(), time.Now())
}

// Close stops following the shared store. The server must not serve
// after it.
func (s *Server) Close() error { return s.store.Close() }

package proxy

import (
	"errors"

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

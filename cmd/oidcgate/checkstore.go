package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/store"
)

// checkStore connects to the [store] Redis and reports its version; with
// kind = "memory" there is nothing to reach. It returns false when the
// store cannot be used.
func checkStore(ctx context.Context, cfg *config.Config, stdout io.Writer) bool {
	if cfg.Store.Kind != config.StoreRedis {
		fmt.Fprintf(stdout, "store: %s (this process only)\n", cfg.Store.Kind)
		return true
	}
	where := "(url)"
	if u, err := url.Parse(cfg.Store.URL); err == nil {
		where = u.Redacted()
	}
	o, keysSet, err := proxy.StoreOptions(cfg, store.Hooks{})
	if err == nil && !keysSet {
		fmt.Fprintf(stdout, "warning: store: %v\n", proxy.ErrNoCookieKeys)
	}
	store.LogRedisClientTo(slog.New(slog.DiscardHandler)) // its messages are in the error
	var s *store.Redis
	if err == nil {
		s, err = store.NewRedis(o)
	}
	if err != nil {
		fmt.Fprintf(stdout, "store: %v\n", err)
		return false
	}
	defer s.Close()
	v, err := s.Version(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "store: redis at %s: %v\n", where, err)
		return false
	}
	fmt.Fprintf(stdout, "store: redis %s at %s, key prefix %q\n", v, where, cfg.Store.KeyPrefix)
	return true
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/store"
)

const sessionsUsage = `usage: oidcgate sessions revoke [-config FILE] (-subject SUB [-issuer ISS] | -all)

Ends, on every replica, every session of one user (or every session) that
exists now; later sign-ins are not affected. The mark is written to the
Redis of [store] kind = "redis", and every replica learns it within a
second. -issuer defaults to the provider's issuer. Prints how many marks
it wrote.
`

// sessionsCmd exits 0 when the mark was written, 1 when the store could
// not be reached, and 2 for a usage or configuration problem (including
// a store that is not shared).
func sessionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprint(stderr, sessionsUsage)
		return 2
	}
	fs := flag.NewFlagSet("sessions revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, sessionsUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	path := fs.String("config", defaultConfig, "configuration `file` (TOML)")
	subject := fs.String("subject", "", "end the sessions of the user with this `sub` claim")
	issuer := fs.String("issuer", "", "the user's `issuer` (default: the provider's)")
	all := fs.Bool("all", false, "end every session")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this `duration`")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *all == (*subject != "") || *all && *issuer != "" {
		fs.Usage()
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "oidcgate sessions revoke: "+format+"\n", a...)
		return code
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(2, "%s has problems:\n%s", *path, indent(err))
	}
	if cfg.Store.Kind != config.StoreRedis {
		return fail(2, `[store] kind = %q keeps marks inside each running oidcgate, which this command cannot reach: use the admin listener's POST /sessions/revoke on each replica, or share a store with kind = "redis"`, cfg.Store.Kind)
	}
	o, keysSet, err := proxy.StoreOptions(cfg, store.Hooks{})
	if err != nil {
		return fail(2, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	m := store.AllMark()
	what := "every session"
	if !*all {
		if !keysSet {
			return fail(2, "%v", proxy.ErrNoCookieKeys)
		}
		iss := *issuer
		if iss == "" {
			if iss, err = providerIssuer(ctx, cfg); err != nil {
				return fail(1, "find the provider's issuer (or give -issuer): %v", err)
			}
		}
		m = store.SubjectMark(iss, *subject)
		what = fmt.Sprintf("every session of subject %q at %s", *subject, iss)
	}
	// What the Redis client would print by itself is in the error.
	store.LogRedisClientTo(slog.New(slog.DiscardHandler))
	s, err := store.NewRedis(o)
	if err != nil {
		return fail(2, "%v", err)
	}
	defer s.Close()
	if err := s.Revoke(ctx, m); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "1 mark written: %s issued until %s ends on every replica\n", what, time.Now().UTC().Format(time.RFC3339))
	return 0
}

// providerIssuer is [openid_connect] valid_issuer, or else the issuer of
// the provider's discovery document.
func providerIssuer(ctx context.Context, cfg *config.Config) (string, error) {
	if iss := cfg.OpenIDConnect.ValidIssuer; iss != "" {
		return iss, nil
	}
	client := &http.Client{Timeout: cfg.Limits.OutboundTimeout.Duration}
	po, err := proxy.ProviderOptions(cfg, client, nil)
	if err != nil {
		return "", err
	}
	p, err := provider.New(ctx, po)
	if err != nil {
		return "", err
	}
	rep, err := p.Inspect(ctx)
	if err != nil {
		return "", err
	}
	return rep.Endpoints.Issuer, nil
}

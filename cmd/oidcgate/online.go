package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/credentials"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/proxy"
)

// checkOnline fetches what the configured discovery kind needs and reports
// the issuer, endpoints and keys; then it requests a token for every
// credential. A credential that fails is a warning only: credentials may be
// configured before the authorization server accepts them.
func checkOnline(ctx context.Context, cfg *config.Config, stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := proxy.OutboundClient(cfg.Limits.OutboundTimeout.Duration, cfg.OpenIDConnect.RootCAs)

	po, err := proxy.ProviderOptions(cfg, client, nil)
	if err != nil {
		fmt.Fprintf(stdout, "provider: %v\n", err)
		return 1
	}
	p, err := provider.New(ctx, po)
	if err != nil {
		fmt.Fprintln(stdout, err) // provider errors name themselves
		return 1
	}
	rep, err := p.Inspect(ctx)
	if err != nil {
		fmt.Fprintln(stdout, err) // provider errors name themselves
		return 1
	}
	e := rep.Endpoints
	fmt.Fprintf(stdout, "provider (%s):\n  issuer:         %s\n  authorization:  %s\n  token:          %s\n  userinfo:       %s\n  end session:    %s\n",
		rep.Kind, e.Issuer, e.Authorization, e.Token, orNone(e.UserInfo), orNone(e.EndSession))
	fmt.Fprintf(stdout, "  algorithms:     %s\n  keys:           %d\n", strings.Join(rep.Algorithms, ", "), len(rep.Keys))
	for _, k := range rep.Keys {
		fmt.Fprintf(stdout, "    - kid %s  %s", orNone(k.KeyID), k.KeyType)
		if k.Algorithm != "" {
			fmt.Fprintf(stdout, "  alg %s", k.Algorithm)
		}
		if k.Thumbprint != "" {
			fmt.Fprintf(stdout, "  thumbprint %s  %q expires %s", k.Thumbprint, k.Subject, k.NotAfter.UTC().Format(time.DateOnly))
		}
		fmt.Fprintln(stdout)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}

	for i, cc := range cfg.Credentials {
		c, err := proxy.CredentialFromConfig(i, cc, nil)
		if err == nil {
			var res credentials.Result
			if res, err = credentials.Validate(ctx, c, proxy.OutboundClient(cfg.Limits.OutboundTimeout.Duration, cc.RootCAs)); err == nil {
				fmt.Fprintf(stdout, "credential %q: OK — %s\n", cc.Name, describe(res, c.Scopes))
				continue
			}
		}
		fmt.Fprintf(stdout, "warning: credential %q: %v\n", cc.Name, err)
	}
	if !checkStore(ctx, cfg, stdout) {
		return 1
	}
	fmt.Fprintln(stdout, "online check passed")
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

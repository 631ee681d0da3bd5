package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/clientauth"
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
	describeClientKey(stdout, "openid_connect", po.AssertionKey)

	for i, cc := range cfg.Credentials {
		c, err := proxy.CredentialFromConfig(i, cc, nil)
		if err == nil {
			describeClientKey(stdout, fmt.Sprintf("credential %q", cc.Name), c.Key)
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

// describeClientKey says what the provider must hold to accept the
// private_key_jwt assertions signed by f, and warns of a certificate that
// expires within a month. Nothing of the private key is printed.
func describeClientKey(w io.Writer, who string, f *clientauth.KeyFile) {
	if f == nil {
		return
	}
	k := f.Key()
	fmt.Fprintf(w, "%s: private_key_jwt, %s; the provider must hold this client's public key:\n", who, k.Algorithm())
	if c := k.Certificate(); c != nil {
		fmt.Fprintf(w, "    certificate thumbprint %s (x5t %s), %q, expires %s\n", k.Thumbprint(), k.X5T(), c.Subject.String(), c.NotAfter.UTC().Format(time.DateOnly))
		if left := time.Until(c.NotAfter); left < 30*24*time.Hour {
			defer fmt.Fprintf(w, "warning: %s: the client assertion certificate expires in %d day(s): make a new pair (oidcgate gencert), register its certificate, then replace the files\n", who, int(left.Hours()/24))
		}
	}
	fmt.Fprintf(w, "    kid %s (RFC 7638 thumbprint of the public key)\n", k.KeyID())
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

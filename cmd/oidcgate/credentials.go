package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/credentials"
	"github.com/oidcgate/oidcgate/proxy"
)

const credentialsUsage = `usage: oidcgate credentials validate [-config FILE] [-timeout DURATION] NAME

Requests one token for the [[credentials]] entry called NAME and reports
the token type, lifetime and granted scopes, or what went wrong. The
client secret and the token are never printed.
`

// credentialsCmd exits 0 when the token endpoint issued a token, 1 when it
// refused or could not be reached, and 2 for a usage or configuration
// problem.
func credentialsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprint(stderr, credentialsUsage)
		return 2
	}
	fs := flag.NewFlagSet("credentials validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, credentialsUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	path := fs.String("config", defaultConfig, "configuration `file` (TOML)")
	timeout := fs.Duration("timeout", 15*time.Second, "give up on the token endpoint after this `duration`")
	// Flags may come before or after NAME.
	var names []string
	for rest := args[1:]; ; rest = rest[1:] {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		names = append(names, rest[0])
	}
	if len(names) != 1 {
		fs.Usage()
		return 2
	}
	name := names[0]

	cfg, err := config.Load(*path)
	if err != nil {
		// Load joins every problem, one per line.
		if lines := strings.Split(err.Error(), "\n"); len(lines) > 1 {
			fmt.Fprintf(stderr, "oidcgate credentials validate: %s has problems:\n  %s\n", *path, strings.Join(lines, "\n  "))
		} else {
			fmt.Fprintf(stderr, "oidcgate credentials validate: %v\n", err)
		}
		return 2
	}
	i := slices.IndexFunc(cfg.Credentials, func(cc config.Credential) bool { return cc.Name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "oidcgate credentials validate: %s has no credential named %q; %s\n", *path, name, configuredNames(cfg))
		return 2
	}
	c, err := proxy.CredentialFromConfig(i, cfg.Credentials[i], nil)
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate credentials validate: credential %q: %v\n", name, err)
		return 2
	}

	// The system roots plus SSL_CERT_FILE, SSL_CERT_DIR and the entry's
	// ca_file; HTTPS_PROXY is honoured.
	client := proxy.OutboundClient(*timeout, cfg.Credentials[i].RootCAs)
	res, err := credentials.Validate(ctx, c, client)
	if err != nil {
		fmt.Fprintf(stderr, "credential %q: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "credential %q: OK — %s\n", name, describe(res, c.Scopes))
	return 0
}

func configuredNames(cfg *config.Config) string {
	if len(cfg.Credentials) == 0 {
		return "it has no [[credentials]]"
	}
	quoted := make([]string, len(cfg.Credentials))
	for i, cr := range cfg.Credentials {
		quoted[i] = fmt.Sprintf("%q", cr.Name)
	}
	return "configured: " + strings.Join(quoted, ", ")
}

// describe says what the token endpoint granted, spelling out what it left
// unsaid rather than printing empty values.
func describe(res credentials.Result, requested string) string {
	parts := []string{"token_type not stated"}
	if res.TokenType != "" {
		parts[0] = "token_type " + res.TokenType
	}
	switch {
	case res.ExpiresIn > 0:
		parts = append(parts, "expires in "+res.ExpiresIn.String())
	case res.ExpiresIn < 0:
		parts = append(parts, "already expired")
	default:
		parts = append(parts, "lifetime not stated")
	}
	switch {
	case res.Scope != "":
		parts = append(parts, fmt.Sprintf("scopes %q", res.Scope))
	case requested != "":
		// RFC 6749 §5.1: an omitted scope is the scope requested.
		parts = append(parts, fmt.Sprintf("scopes %q (as requested)", requested))
	default:
		parts = append(parts, "no scopes")
	}
	return strings.Join(parts, ", ")
}

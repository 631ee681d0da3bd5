package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/oidcgate/oidcgate/config"
)

func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfig, "configuration `file` (TOML)")
	online := fs.Bool("online", false, "also fetch the provider's discovery document, keys or metadata and request a token for every credential")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err == nil {
		// What serve would die of at start, reported the same way.
		_, err = cfg.CheckTLS()
	}
	if err != nil {
		fmt.Fprintf(stdout, "%s: %d problem(s):\n%s\n", *path, countErrors(err), indent(err))
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid (%d site(s), discovery %s)\n", *path, len(cfg.Sites), cfg.OpenIDConnect.DiscoveryKind)
	if !cfg.TLS.Enabled() {
		fmt.Fprintf(stdout, "warning: no [tls]: %s speaks plain HTTP, so TLS must end at the load balancer in front (cookies stay Secure: base_url is https)\n", cfg.Listen)
	}
	printRegistration(stdout, cfg)
	if !*online {
		return 0
	}
	return checkOnline(ctx, cfg, stdout)
}

// indent prints every joined error on a line of its own.
func indent(err error) string {
	var b strings.Builder
	for i, line := range errorLines(err) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  - ")
		b.WriteString(line)
	}
	return b.String()
}

func countErrors(err error) int { return len(errorLines(err)) }

func errorLines(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var lines []string
		for _, e := range joined.Unwrap() {
			lines = append(lines, errorLines(e)...)
		}
		return lines
	}
	return strings.Split(err.Error(), "\n")
}

// printRegistration lists, per site, the URIs to register at the
// provider; any site's logout URIs end the sessions of all.
func printRegistration(w io.Writer, cfg *config.Config) {
	fmt.Fprintln(w, "register at the provider:")
	for _, s := range cfg.Sites {
		base := s.BaseURL().String()
		fmt.Fprintf(w, "  %s:\n", s.Name)
		fmt.Fprintf(w, "    redirect URI:                %soidcServices/signinresponse\n", base)
		if cfg.Authentication.SignOutFromSTS {
			fmt.Fprintf(w, "    post-logout redirect URI:    %s\n", base)
		} else {
			fmt.Fprintf(w, "    post-logout redirect URI:    %s (used only with sign_out_from_sts = true)\n", base)
		}
		fmt.Fprintf(w, "    back-channel logout URI:     %soidcServices/backchannellogout\n", base)
		fmt.Fprintf(w, "    front-channel logout URL:    %soidcServices/frontchannellogout\n", base)
	}
}

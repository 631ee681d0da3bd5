package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/oidcgate/oidcgate/internal/demo"
)

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", demo.DefaultListen, "the proxy's `address`, host:port")
	opListen := fs.String("provider-listen", "", "the development provider's `address` (default: the proxy's host and next port)")
	writeConfig := fs.String("write-config", "", "write the demo's configuration to `FILE`, with its certificate and key next to it, and exit")
	force := fs.Bool("force-reauthenticate", false, "ask for the password on every sign-in, even with a provider session (force_reauthenticate)")
	logOpts := addLogFlags(fs)
	// A person reads the demo's log, not a collector.
	fs.Set("log-format", "text")
	fs.Lookup("log-format").DefValue = "text"
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oidcgate demo: unexpected arguments %q\n", fs.Args())
		return 2
	}
	log, err := logOpts.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "oidcgate demo:", err)
		return 2
	}
	o := demo.Options{
		Listen:              *listen,
		ProviderListen:      *opListen,
		WriteConfig:         *writeConfig,
		ForceReauthenticate: *force,
		Out:                 stdout,
		Logger:              log,
		Version:             buildVersion(),
	}
	if *writeConfig != "" {
		return writeDemoConfig(ctx, o, stdout, stderr)
	}
	err = demo.Run(ctx, o)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled) && ctx.Err() != nil: // stopped while starting
		return 0
	default:
		fmt.Fprintln(stderr, "oidcgate", err)
		return 1
	}
}

// writeDemoConfig writes the configuration of a demo that is started (so
// the file is known to work) and stopped at once.
func writeDemoConfig(ctx context.Context, o demo.Options, stdout, stderr io.Writer) int {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	o.Out, o.Logger = io.Discard, nil
	d, err := demo.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "oidcgate", err)
		return 1
	}
	stop()
	d.Wait()
	fmt.Fprintf(stdout, `Wrote %s, with its TLS certificate and key beside it (%s, %s).
It names the demo's development provider (%s) and a client secret made for
this run only: replace [openid_connect] with your provider's values, the sites'
upstreams with your Administration and Flowtime servers, and the certificate
with yours, then run: oidcgate check -config %s
`, o.WriteConfig, d.CertFile, d.KeyFile, d.Issuer, o.WriteConfig)
	return 0
}

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
	writeConfig := fs.String("write-config", "", "also write the demo's configuration to `FILE`, with its certificate and key next to it")
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
	err = demo.Run(ctx, demo.Options{
		Listen:              *listen,
		ProviderListen:      *opListen,
		WriteConfig:         *writeConfig,
		ForceReauthenticate: *force,
		Out:                 stdout,
		Logger:              log,
		Version:             version,
	})
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

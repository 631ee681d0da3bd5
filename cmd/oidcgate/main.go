// Command oidcgate is a TLS-terminating reverse proxy that signs browser users
// in with OpenID Connect before they reach the sites behind it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it parses its own flags from args and returns
// the process exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

var commands = map[string]command{}

const usage = `usage: oidcgate <command> [flags]

commands:
  serve -config FILE                      run the proxy
  check -config FILE [-online]            validate a configuration file
  credentials validate -config FILE NAME  request a token for credential NAME
  genkey                                  print a new random cookie key
  demo                                    try oidcgate on this machine
  version                                 print version information
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "oidcgate: unknown command %q\n\n%s", name, usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

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

// defaultConfig is where every command that reads the configuration looks
// for it without -config: where the systemd unit and the container put it.
const defaultConfig = "/etc/oidcgate/config.toml"

const usage = `usage: oidcgate <command> [flags]

commands:
  serve [-config FILE]                    run the proxy
  check [-config FILE] [-online]          validate a configuration file
  credentials validate [-config FILE] NAME  request a token for credential NAME
  sessions revoke [-config FILE] (-subject SUB [-issuer ISS] | -all)
                                          end sessions on every replica
  genkey                                  print a new random cookie key
  gencert -out DIR [-subject DN] [-days N] [-ec]
                                          make a key pair for private_key_jwt
  demo                                    try oidcgate on this machine
  version                                 print version information
  healthcheck [-url URL]                  probe an admin endpoint (for container health checks)
  import-webconfig FILE                   print the configuration equivalent to a site's web.config

-config defaults to /etc/oidcgate/config.toml.
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
	// Each subcommand lives in its own file, parses its own flags and
	// returns the process exit code.
	var cmd func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	switch name {
	case "serve":
		cmd = serveCmd
	case "check":
		cmd = checkCmd
	case "credentials":
		cmd = credentialsCmd
	case "sessions":
		cmd = sessionsCmd
	case "genkey":
		cmd = genkeyCmd
	case "gencert":
		cmd = gencertCmd
	case "demo":
		cmd = demoCmd
	case "version":
		cmd = versionCmd
	case "healthcheck":
		cmd = healthcheckCmd
	case "import-webconfig":
		cmd = importWebconfigCmd
	default:
		fmt.Fprintf(stderr, "oidcgate: unknown command %q\n\n%s", name, usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

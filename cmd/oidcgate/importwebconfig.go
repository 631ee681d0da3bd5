package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/oidcgate/oidcgate/webconfig"
)

// importWebconfigCmd prints the oidcgate configuration equivalent to a
// Cora SeQuence site's web.config; warnings go to stderr.
func importWebconfigCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import-webconfig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: oidcgate import-webconfig FILE > config.toml")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "oidcgate import-webconfig:", err)
		return 1
	}
	res, err := webconfig.Convert(data, path)
	if err != nil {
		fmt.Fprintln(stderr, "oidcgate import-webconfig:", err)
		if errors.Is(err, webconfig.ErrNoOpenIDConnect) {
			fmt.Fprintln(stderr, "  (the Administration or Flowtime site's web.config holds it under <sequence.engine><identity>)")
		}
		return 1
	}
	fmt.Fprint(stdout, res.TOML)
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return 0
}

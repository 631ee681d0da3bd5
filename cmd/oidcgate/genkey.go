package main

import (
	"context"
	"fmt"
	"io"

	"github.com/oidcgate/oidcgate/session"
)

func genkeyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: oidcgate genkey")
		return 2
	}
	fmt.Fprintln(stdout, session.GenerateKey())
	return 0
}

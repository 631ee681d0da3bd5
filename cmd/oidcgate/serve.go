package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/logbuffer"
	"github.com/oidcgate/oidcgate/proxy"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfig, "configuration `file` (TOML)")
	logOpts := addLogFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logOut := logbuffer.New(stderr)
	defer logOut.Close()
	log, err := logOpts.logger(logOut)
	if err != nil {
		fmt.Fprintln(stderr, "oidcgate serve:", err)
		return 2
	}
	cfg, err := config.Load(*path)
	if err == nil {
		_, err = cfg.CheckTLS()
	}
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate serve: %s is not valid; nothing was started:\n%s\n", *path, indent(err))
		return 2
	}
	if err := proxy.Run(ctx, proxy.RunOptions{Options: proxy.Options{Config: cfg, Logger: log, Version: buildVersion()}}); err != nil {
		log.Error("oidcgate stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/logbuffer"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/store"
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
	// SIGHUP, which would end the process by default (a closed terminal, or
	// a reload by habit), only makes oidcgate look at its TLS files again.
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	defer signal.Stop(hangup)
	store.LogRedisClientTo(log)
	if err := proxy.Run(ctx, proxy.RunOptions{Options: proxy.Options{Config: cfg, Logger: log, Version: buildVersion()}, Hangup: hangup}); err != nil {
		log.Error("oidcgate stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commitStamp are stamped at build time:
// -ldflags "-X main.version=v1.2.3 -X main.commitStamp=abc123".
var (
	version     = "dev"
	commitStamp = ""
)

func versionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "oidcgate %s (%s, commit %s)\n", version, runtime.Version(), commit())
	return 0
}

// commit is the VCS revision the Go toolchain recorded in the binary.
func commit() string {
	if commitStamp != "" {
		return commitStamp
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

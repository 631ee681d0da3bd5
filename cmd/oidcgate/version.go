package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commitStamp are stamped at build time:
// -ldflags "-X main.version=v1.2.3 -X main.commitStamp=abc123" (the
// Dockerfile does). Read them through buildVersion and commit, which fall
// back on what the Go toolchain recorded.
var (
	version     = "dev"
	commitStamp = ""
)

func versionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "oidcgate %s (%s, commit %s)\n", buildVersion(), runtime.Version(), commit())
	return 0
}

// buildVersion is the stamped version or, in a binary built by
// `go install github.com/oidcgate/oidcgate/cmd/oidcgate@v1.2.3`, the
// module version the toolchain recorded; "dev" otherwise. `version` and
// the oidcgate_build_info metric both report it.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
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

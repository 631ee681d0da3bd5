// Package e2e runs oidcgate's end-to-end tests against a real, independent
// OpenID provider (panva's oidc-provider, run by node from testdata/e2e/op)
// with a real browser (Debian's chromium, driven headless by chromedp).
//
// Without node, the provider's node_modules or chromium the tests skip and
// say what to install; with CI=true a missing tool fails the test instead,
// so that CI can never pass by skipping. -short skips them too.
//
// Run them with:
//
//	(cd testdata/e2e/op && npm ci)
//	apt-get install -y chromium
//	go test ./e2e/ -v
//
// Screenshots of the pages users see land in e2e/screenshots/.
package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// opDir is the provider's folder, relative to this package.
const opDir = "../testdata/e2e/op"

// inCI reports whether missing tools must fail rather than skip.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// missing stops the test for lack of a tool: a skip on a developer's
// machine, a failure in CI.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("e2e (CI=true, so no skipping): "+format, args...)
	}
	t.Skipf("e2e: "+format, args...)
}

// requireLong skips the suite under -short: it starts node and a browser.
func requireLong(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short (starts node and chromium)")
	}
}

// requireNode returns the node binary and the provider's absolute folder.
func requireNode(t testing.TB) (node, dir string) {
	t.Helper()
	requireLong(t)
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found in PATH: install Node.js 20.19 or later (apt-get install -y nodejs), then run `npm ci` in testdata/e2e/op")
	}
	dir, err = filepath.Abs(opDir)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run `npm ci` in testdata/e2e/op (%v)", err)
	}
	return node, dir
}

// requireChromium returns the chromium binary.
func requireChromium(t testing.TB) string {
	t.Helper()
	requireLong(t)
	// Debian's real binary first: its /usr/bin wrapper script adds flags of its own.
	paths := []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("e2e: %v", err)
		}
	}
	missing(t, "chromium not found at %v: install it with `apt-get install -y chromium`", paths)
	return ""
}

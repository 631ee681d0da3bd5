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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	skips.note(fmt.Sprintf(format, args...))
	t.Skipf("e2e: "+format, args...)
}

// skips remembers why tests were skipped, for the one line TestMain
// prints at the end.
var skips skipNotes

type skipNotes struct {
	mu      sync.Mutex
	reasons []string
}

func (s *skipNotes) note(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.reasons, reason) {
		s.reasons = append(s.reasons, reason)
	}
}

// TestMain says, in one line that `go test ./...` shows without -v, that
// the browser suite was skipped and how to run it: go test keeps a passing
// package's output to itself, so the line goes to the terminal when there
// is one (and to stderr, seen with -v or on failure, when there is not).
func TestMain(m *testing.M) {
	code := m.Run()
	skips.mu.Lock()
	reasons := skips.reasons
	skips.mu.Unlock()
	if len(reasons) > 0 {
		line := fmt.Sprintf("e2e: the browser suite was skipped (%s); to run it: (cd testdata/e2e/op && npm ci) && apt-get install -y chromium && go test ./e2e/\n", strings.Join(reasons, "; "))
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil && !testing.Verbose() {
			fmt.Fprint(tty, line)
			tty.Close()
		} else {
			fmt.Fprint(os.Stderr, line)
		}
	}
	os.Exit(code)
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

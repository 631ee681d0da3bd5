package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ScreenshotDir is where Screenshot writes, relative to this package.
const ScreenshotDir = "screenshots"

// actionTimeout bounds each browser step, so a page that never shows what a
// test waits for fails the test with a screenshot instead of hanging it.
const actionTimeout = 20 * time.Second

// Browser is one tab of a headless chromium. Its methods fail the test they
// were made for, with the page's address and text, and save a screenshot
// named after the test (failed-….png).
type Browser struct {
	t    testing.TB
	ctx  context.Context
	navs *navigations
}

// Navigation is one document request the tab sent: every page load, form
// submission and redirect, in order.
type Navigation struct {
	Method, URL string
}

type navigations struct {
	mu   sync.Mutex
	list []Navigation
}

// record keeps the tab's document requests. It runs in chromedp's event
// loop, so it only appends.
func (n *navigations) record(ev any) {
	if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeDocument && e.Request != nil {
		n.mu.Lock()
		n.list = append(n.list, Navigation{Method: e.Request.Method, URL: e.Request.URL})
		n.mu.Unlock()
	}
}

// open starts the tab and the recording of its navigations.
func open(t testing.TB, ctx context.Context, what string) *Browser {
	t.Helper()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("e2e: %s: %v", what, err)
	}
	b := &Browser{t: t, ctx: ctx, navs: &navigations{}}
	if err := chromedp.Listen(ctx, b.navs.record); err != nil {
		t.Fatalf("e2e: %s: listen: %v", what, err)
	}
	return b
}

// NewBrowser starts chromium with a fresh profile, and stops it when the
// test ends.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	exe := requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Every server here uses a self-signed certificate.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("no-proxy-server", true),
		// Nothing but loopback resolves: a page that reaches out fails at once
		// instead of waiting for a network the tests must not need.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1100, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser stops before t.TempDir
	// removes its profile.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser; it must not carry a timeout, which
	// would end the whole browser.
	return open(t, ctx, "start chromium "+exe)
}

// NewTab opens another tab of the same browser (same cookies), for test t.
func (b *Browser) NewTab(t testing.TB) *Browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	return open(t, ctx, "open tab")
}

// Navigations returns the tab's document requests so far, in order.
func (b *Browser) Navigations() []Navigation {
	b.navs.mu.Lock()
	defer b.navs.mu.Unlock()
	return slices.Clone(b.navs.list)
}

// Context is the tab's chromedp context, for steps the helpers lack. Derive
// timeouts from it with context.WithTimeout.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs chromedp actions in this tab, failing the test on error.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// Navigate opens url and waits for its load event. Pages reached later by
// script (auto-submitted forms) need a WaitVisible after it.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Do("navigate to "+url, chromedp.Navigate(url))
}

// WaitVisible waits until the CSS selector matches a visible element.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	b.Do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// WaitGone waits until no element matches the CSS selector.
func (b *Browser) WaitGone(selector string) {
	b.t.Helper()
	b.Do("wait for "+selector+" to go", chromedp.WaitNotPresent(chromedp.CSS(selector)))
}

// Click clicks the first visible element the CSS selector matches.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.Do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// SignIn fills the provider's sign-in form (#username, #password) and clicks
// #signin. It waits for the form first, not for what follows: the caller
// knows which page should come next.
func (b *Browser) SignIn(username, password string) {
	b.t.Helper()
	b.Do("sign in as "+username,
		chromedp.WaitVisible(chromedp.CSS("#username")),
		// login_hint may have filled the name in; type over it, as a person would.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(document.querySelector("#username").value = "", true)`)(ctx, t)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin")),
	)
}

// Text is the visible text of the first element the CSS selector matches,
// waiting for it to be visible.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible))
	if err != nil {
		b.fail("read "+selector, err)
	}
	return strings.TrimSpace(s)
}

// PageText is the visible text of the whole page.
func (b *Browser) PageText() string {
	b.t.Helper()
	s, err := b.pageText()
	if err != nil {
		b.fail("read the page", err)
	}
	return s
}

// WaitText waits until the page's visible text contains s, and returns it.
// It polls from Go rather than with chromedp.Poll, whose script fails when
// the page it runs in navigates away (a click that submits a form, a
// redirect chain still under way): here that only means "not yet".
func (b *Browser) WaitText(s string) string {
	b.t.Helper()
	expr := fmt.Sprintf("!!document.body && document.body.innerText.includes(%q)", s)
	deadline := time.Now().Add(actionTimeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && found {
			return b.PageText()
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not found after %s", actionTimeout)
			}
			b.fail(fmt.Sprintf("wait for text %q", s), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Status is the HTTP status of the page the tab shows (after redirects).
func (b *Browser) Status() int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0]?.responseStatus ?? 0`))
	if err != nil {
		b.fail("read the status", err)
	}
	return n
}

// URL is the address of the page the tab shows.
func (b *Browser) URL() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fail("read the location", err)
	}
	return u
}

// Screenshot saves the whole page as ScreenshotDir/<name>.png and returns
// the file's path. Names should say what the page is ("op-sign-in").
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	path, err := b.screenshot(name)
	if err != nil {
		b.t.Fatalf("e2e: screenshot %s: %v", name, err)
	}
	return path
}

func (b *Browser) screenshot(name string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(ScreenshotDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(ScreenshotDir, fileName(name)+".png")
	return path, os.WriteFile(path, png, 0o644)
}

func (b *Browser) pageText() (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// fail ends the test with what the browser shows, which is most of what one
// needs to understand a browser test's failure.
func (b *Browser) fail(what string, err error) {
	b.t.Helper()
	var url, text, shot string
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if u, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		url = u
	}
	if s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
		text = s
	}
	if p, err := b.screenshot("failed-" + b.t.Name()); err == nil {
		shot = p
	}
	b.t.Fatalf("e2e: %s: %v\npage %s (screenshot %s):\n%s", what, err, url, shot, text)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

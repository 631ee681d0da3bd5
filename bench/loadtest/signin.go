package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cookieName is the session cookie of the benchmark's configuration
// (single sign-on: one cookie for every site).
const cookieName = "oidcgate"

// newBrowserTransport is one simulated browser's connections: HTTP/1.1 with
// keep-alive, trusting the benchmark's certificate.
func newBrowserTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
}

// signInResult is one complete sign-in.
type signInResult struct {
	Cookie    *http.Cookie // the session cookie
	SetCookie string       // the Set-Cookie header that carried it
}

// signIn is a browser with empty cookies opening a page of the site: it is
// sent to sign in, to the OP (which approves at once), back to the
// callback, and to the page, which must be the backend's.
func signIn(ctx context.Context, tr http.RoundTripper, page string) (signInResult, error) {
	var res signInResult
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := tr.RoundTrip(r)
			if err == nil {
				for _, sc := range resp.Header["Set-Cookie"] {
					if strings.HasPrefix(sc, cookieName+"=") {
						res.SetCookie = sc
					}
				}
			}
			return resp, err
		}),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return res, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return res, err
	}
	if resp.StatusCode != http.StatusOK || string(body) != backendBody {
		return res, fmt.Errorf("sign-in ended at %s with %s: %.300s", resp.Request.URL, resp.Status, body)
	}
	if res.SetCookie == "" {
		return res, errors.New("the page was served without a sign-in (no session cookie was set)")
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if ck.Name == cookieName {
			res.Cookie = ck
		}
	}
	if res.Cookie == nil {
		return res, errors.New("the browser kept no session cookie")
	}
	return res, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// signInLoad runs browsers in parallel, each signing in again and again
// with fresh cookies (a new user each time) over its own kept-alive
// connections, until d has passed or total sign-ins are done (total 0: no
// bound). It returns the sign-ins completed and the first error.
func signInLoad(ctx context.Context, roots *x509.CertPool, page string, browsers int, d time.Duration, total int) (int, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done, started atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	for range browsers {
		wg.Go(func() {
			tr := newBrowserTransport(roots)
			defer tr.CloseIdleConnections()
			for ctx.Err() == nil && (d == 0 || time.Now().Before(deadline)) {
				if total > 0 && started.Add(1) > int64(total) {
					return
				}
				if _, err := signIn(ctx, tr, page); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return int(done.Load()), time.Since(begin), firstErr
}

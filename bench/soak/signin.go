package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// user is a signed-in user: the Cookie header that carries its session.
type user struct {
	index  int
	email  string
	cookie string
	via    *replica
}

// browser is a new browser whose requests for the public host go to r, the
// way a load balancer would send them.
func (st *stack) browser(r *replica) (*http.Client, *http.Transport) {
	addr := strings.TrimPrefix(r.public, "https://")
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: st.roots},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if a == publicHost+":443" {
				a = addr
			}
			return dialer.DialContext(ctx, network, a)
		},
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: tr, Jar: jar, Timeout: 20 * time.Second}, tr
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	requestID  = regexp.MustCompile(`name="request" value="([^"]*)"`)
)

// signIn signs user i in through r, as a person at a browser does: the
// site's page, the provider's sign-in form, and back.
func (st *stack) signIn(ctx context.Context, i int, r *replica) (user, error) {
	c, tr := st.browser(r)
	defer tr.CloseIdleConnections()
	page := "https://" + publicHost + "/Administration/soak?user=" + userName(i)

	form, err := get(ctx, c, page)
	if err != nil {
		return user{}, err
	}
	action, id := formAction.FindStringSubmatch(form), requestID.FindStringSubmatch(form)
	if action == nil || id == nil {
		return user{}, fmt.Errorf("%s: no sign-in form at the provider:\n%.400s", userName(i), form)
	}
	body := url.Values{"request": {html.UnescapeString(id[1])}, "username": {userName(i)}, "password": {password(i)}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, html.UnescapeString(action[1]), strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	landed, err := send(c, req)
	if err != nil {
		return user{}, err
	}
	email := userName(i) + "@example.com"
	if landed != "ok "+email+"\n" {
		return user{}, fmt.Errorf("%s: after sign-in the page says %.200q", userName(i), landed)
	}
	u := user{index: i, email: email, via: r}
	var cookies []string
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "https", Host: publicHost, Path: "/Administration/"}) {
		if ck.Name == "__Host-oidcgate" || strings.HasPrefix(ck.Name, "__Host-oidcgate_") {
			cookies = append(cookies, ck.Name+"="+ck.Value)
		}
	}
	if len(cookies) == 0 {
		return user{}, fmt.Errorf("%s: no session cookie after sign-in", userName(i))
	}
	u.cookie = strings.Join(cookies, "; ")
	return u, nil
}

func get(ctx context.Context, c *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/html")
	return send(c, req)
}

// send follows redirects and returns the final page, which must be a 200.
func send(c *http.Client, req *http.Request) (string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", req.Method, resp.Request.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s ended at %s with %d: %.300s", req.Method, req.URL, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b), nil
}

// signInMany signs users first … first+n-1 in, eight at a time, user k
// through via[k % len(via)]. It returns those who got in and the first
// error.
func (st *stack) signInMany(ctx context.Context, first, n int, via []*replica) ([]user, error) {
	users := make([]user, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				users[k], errs[k] = st.signIn(ctx, first+k, via[k%len(via)])
			}
		}()
	}
	for k := 0; k < n; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
	var ok []user
	var firstErr error
	for k := range users {
		if errs[k] != nil {
			if firstErr == nil {
				firstErr = errs[k]
			}
			continue
		}
		ok = append(ok, users[k])
	}
	return ok, firstErr
}

// check: u's cookie gets u through replica r.
func (st *stack) check(ctx context.Context, u user, r *replica) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.public+"/Administration/soak", nil)
	req.Header.Set("Cookie", u.cookie)
	resp, err := st.checker.Do(req)
	if err != nil {
		return fmt.Errorf("%s at replica %s: %w", u.email, r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "ok "+u.email+"\n" {
		return fmt.Errorf("%s's cookie at replica %s: %d %.200q", u.email, r.name, resp.StatusCode, b)
	}
	return nil
}

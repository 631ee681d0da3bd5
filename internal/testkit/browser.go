package testkit

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is an HTTP client acting as a browser with scripts: it keeps
// cookies, asks for HTML, and can follow redirects and submit the
// auto-posting forms of the sign-in flow. Each step can also be taken by
// hand (Do, Submit), to look at it.
type Browser struct {
	TB     testing.TB
	Client *http.Client // follows no redirect by itself
	Jar    http.CookieJar
}

// NewBrowser is a Browser sending its requests through transport.
func NewBrowser(tb testing.TB, transport http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{TB: tb, Jar: jar, Client: &http.Client{
		Transport: transport,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Page is a response with its body read.
type Page struct {
	*http.Response
	Body string
}

// Do sends one request, with form as its body when not nil, and follows
// nothing.
func (b *Browser) Do(method, target string, form url.Values, header http.Header) *Page {
	b.TB.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.TB.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.TB.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return &Page{Response: resp, Body: string(data)}
}

// Visit loads target and follows redirects and auto-submitted forms until
// a page that is neither; it returns every hop's page, the last one last.
func (b *Browser) Visit(target string) []*Page {
	b.TB.Helper()
	return b.Follow(b.Do(http.MethodGet, target, nil, nil))
}

// Follow goes on from p as Visit does.
func (b *Browser) Follow(p *Page) []*Page {
	b.TB.Helper()
	return b.follow(p, true)
}

// Redirects follows redirects from p, but submits no form, and returns
// the page it stops at.
func (b *Browser) Redirects(p *Page) *Page {
	b.TB.Helper()
	hops := b.follow(p, false)
	return hops[len(hops)-1]
}

func (b *Browser) follow(p *Page, autoPost bool) []*Page {
	b.TB.Helper()
	hops := []*Page{p}
	for range 20 {
		switch {
		case p.StatusCode >= 300 && p.StatusCode < 400:
			next, err := p.Request.URL.Parse(p.Header.Get("Location"))
			if err != nil {
				b.TB.Fatalf("bad Location %q: %v", p.Header.Get("Location"), err)
			}
			p = b.Do(http.MethodGet, next.String(), nil, nil)
		case autoPost && p.StatusCode == http.StatusOK && AutoSubmits(p.Body):
			action, form := ParseForm(b.TB, p)
			p = b.Do(http.MethodPost, action, form, nil)
		default:
			return hops
		}
		hops = append(hops, p)
	}
	b.TB.Fatal("too many redirects")
	return nil
}

// Submit posts p's first form with its fields, those in more replacing
// them, and follows nothing.
func (b *Browser) Submit(p *Page, more url.Values) *Page {
	b.TB.Helper()
	action, form := ParseForm(b.TB, p)
	for k, v := range more {
		form[k] = v
	}
	return b.Do(http.MethodPost, action, form, nil)
}

var (
	formRe   = regexp.MustCompile(`(?is)<form[^>]*action="([^"]*)"`)
	inputRe  = regexp.MustCompile(`(?is)<input[^>]*>`)
	nameRe   = regexp.MustCompile(`(?is)\bname="([^"]*)"`)
	valueRe  = regexp.MustCompile(`(?is)\bvalue="([^"]*)"`)
	submitRe = regexp.MustCompile(`(?is)<script[^>]*>[^<]*\.submit\(\)`)
)

// AutoSubmits reports whether a page is a form its script submits at once.
func AutoSubmits(body string) bool { return submitRe.MatchString(body) && formRe.MatchString(body) }

// ParseForm reads the first form's action and named inputs from a page.
func ParseForm(tb testing.TB, p *Page) (string, url.Values) {
	tb.Helper()
	m := formRe.FindStringSubmatch(p.Body)
	if m == nil {
		tb.Fatalf("no form on %s (status %d):\n%s", p.Request.URL, p.StatusCode, p.Body)
	}
	action, err := p.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		tb.Fatal(err)
	}
	form := url.Values{}
	for _, in := range inputRe.FindAllString(p.Body, -1) {
		n := nameRe.FindStringSubmatch(in)
		if n == nil {
			continue
		}
		v := ""
		if m := valueRe.FindStringSubmatch(in); m != nil {
			v = html.UnescapeString(m[1])
		}
		form.Add(html.UnescapeString(n[1]), v)
	}
	return action.String(), form
}

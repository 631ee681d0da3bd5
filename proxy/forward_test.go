package proxy_test

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
)

func TestClientIdentityHeadersNeverReachTheBackend(t *testing.T) {
	g := newGate(t, setup{})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	forged := http.Header{
		"X-Forwarded-User":                {"admin@example.com"},
		"x-forwarded-user":                {"admin2"},
		"X_FORWARDED_USER":                {"admin3"},
		"X-Forwarded-Authentication-Type": {"Windows"},
		"X_Forwarded_Email":               {"boss@example.com"},
		"X-Forwarded-Preferred-Username":  {"boss"},
		"X-Forwarded-Issuer":              {"https://evil.example"},
		"X-Forwarded-For":                 {"10.9.9.9"},
		"X-Forwarded-Host":                {"evil.example"},
		"X-Forwarded-Proto":               {"http"},
		"Cookie":                          {"theme=dark; oidcgate_login_0123456789abcdef=forged; lang=en"},
	}
	r := b.Do(http.MethodGet, g.url+"/Administration/page", nil, forged)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("signed-in request = %d", r.StatusCode)
	}
	got := g.backend.last(t)
	for name, vals := range got.Header {
		n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if !strings.HasPrefix(n, "x-forwarded-") {
			continue
		}
		for _, v := range vals {
			for _, f := range []string{"admin", "Windows", "boss", "evil.example", "10.9.9.9"} {
				if strings.Contains(v, f) {
					t.Errorf("backend received forged %s: %q", name, v)
				}
			}
		}
	}
	if got.Header.Get("X-Forwarded-User") != "alice@example.com" || got.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("backend identity = %q proto %q", got.Header.Get("X-Forwarded-User"), got.Header.Get("X-Forwarded-Proto"))
	}
	cookie := strings.Join(got.Header.Values("Cookie"), "; ")
	if strings.Contains(cookie, "oidcgate") || !strings.Contains(cookie, "theme=dark") || !strings.Contains(cookie, "lang=en") {
		t.Errorf("backend Cookie = %q; want the site's cookies and none of oidcgate's", cookie)
	}
}

func TestReturnURLStaysOnTheSite(t *testing.T) {
	f, err := os.Open("../testdata/returnurl-attacks.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var attacks []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			attacks = append(attacks, line)
		}
	}
	g := newGate(t, setup{authMethod: "GET"})
	for _, attack := range attacks {
		t.Run(attack, func(t *testing.T) {
			b := g.browser()
			r := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signininitiation?ReturnUrl="+url.QueryEscape(attack), nil, nil)
			hops := b.Follow(r)
			final := hops[len(hops)-1]
			if final.StatusCode != http.StatusOK {
				t.Fatalf("sign-in with ReturnUrl %q ended at %d", attack, final.StatusCode)
			}
			// The hop before the backend page is oidcgate's redirect to the ReturnUrl.
			loc := hops[len(hops)-2].Header.Get("Location")
			u, err := url.Parse(loc)
			if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/Administration/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, `\`) {
				t.Errorf("ReturnUrl %q led to Location %q; want a path under /Administration/", attack, loc)
			}
			if final.Request.URL.Host != strings.TrimPrefix(g.url, "https://") {
				t.Errorf("ReturnUrl %q left the site for %s", attack, final.Request.URL)
			}
		})
	}
}

func TestClaimsFromUserInfo(t *testing.T) {
	s := setup{opOptions: fakeop.Options{UserInfoOnly: []string{"email", "preferred_username"}}}
	t.Run("userinfo fills the claims", func(t *testing.T) {
		g := newGate(t, s)
		b := g.browser()
		g.signedIn(b, "/Administration/")
		got := g.backend.last(t)
		if got.Header.Get("X-Forwarded-User") != "alice@example.com" || got.Header.Get("X-Forwarded-Preferred-Username") != "alice" {
			t.Errorf("identity from userinfo = %q / %q", got.Header.Get("X-Forwarded-User"), got.Header.Get("X-Forwarded-Preferred-Username"))
		}
	})
	t.Run("userinfo about another subject is refused", func(t *testing.T) {
		g := newGate(t, s)
		g.op.SetUserInfoSub("someone-else")
		b := g.browser()
		g.assertRefused(b, last(b.Visit(g.url+"/Administration/")), "userinfo_subject", "another user")
	})
}

func TestNoMatchingClaimsRuleIsAccessDenied(t *testing.T) {
	g := newGate(t, setup{rules: "[[authentication.claims]]\nclaim_type = \"upn\"\nauthentication_type = \"AzureAD\"\n" +
		"[[authentication.claims]]\nclaim_type = \"email\"\noriginal_issuer = \"https://other-issuer.example\"\nauthentication_type = \"Other\"\n"})
	b := g.browser()
	r := last(b.Visit(g.url + "/Administration/"))
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "Access denied") {
		t.Fatalf("no matching rule = %d:\n%s", r.StatusCode, r.Body)
	}
	if r.Request.URL.Path != "/Administration/AccessDenied.aspx" {
		t.Errorf("access denied shown at %s; want /Administration/AccessDenied.aspx", r.Request.URL.Path)
	}
	if n := len(g.backend.requests()); n != 0 {
		t.Errorf("backend received %d request(s)", n)
	}
}

func TestFirstMatchingRuleWins(t *testing.T) {
	g := newGate(t, setup{rules: "[[authentication.claims]]\nclaim_type = \"upn\"\nauthentication_type = \"AzureAD\"\n" +
		"[[authentication.claims]]\nclaim_type = \"preferred_username\"\nauthentication_type = \"Names\"\n" +
		"[[authentication.claims]]\nclaim_type = \"email\"\nauthentication_type = \"Mail\"\n"})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	got := g.backend.last(t)
	if got.Header.Get("X-Forwarded-User") != "alice" || got.Header.Get("X-Forwarded-Authentication-Type") != "Names" {
		t.Errorf("identity = %q / %q; want alice / Names", got.Header.Get("X-Forwarded-User"), got.Header.Get("X-Forwarded-Authentication-Type"))
	}
}

func TestSignOut(t *testing.T) {
	t.Run("here only", func(t *testing.T) {
		g := newGate(t, setup{})
		b := g.browser()
		g.signedIn(b, "/Administration/")
		r := b.Do(http.MethodGet, g.url+"/Administration/oidcServices/SignOutInitiation", nil, nil)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "signed out") {
			t.Fatalf("sign-out = %d:\n%s", r.StatusCode, r.Body)
		}
		api := b.Do(http.MethodGet, g.url+"/Flowtime/api", nil, http.Header{"Accept": {"application/json"}})
		if api.StatusCode != http.StatusUnauthorized {
			t.Errorf("after sign-out an API call = %d; want 401", api.StatusCode)
		}
	})
	t.Run("at the provider too", func(t *testing.T) {
		g := newGate(t, setup{signOutSTS: true})
		b := g.browser()
		g.signedIn(b, "/Administration/")
		r := b.Do(http.MethodPost, g.url+"/Administration/oidcservices/signoutinitiation", url.Values{}, nil)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("sign-out = %d; want 302 to the provider", r.StatusCode)
		}
		loc, _ := url.Parse(r.Header.Get("Location"))
		if !strings.HasPrefix(loc.String(), g.op.Issuer()) || loc.Query().Get("id_token_hint") == "" || loc.Query().Get("post_logout_redirect_uri") != g.url+"/Administration/" {
			t.Errorf("end-session redirect = %s", loc)
		}
		back := b.Do(http.MethodGet, loc.String(), nil, nil)
		if got := back.Header.Get("Location"); !strings.HasPrefix(got, g.url+"/Administration/") {
			t.Errorf("the provider's sign-out sends the browser to %q; want back at the site", got)
		}
		api := b.Do(http.MethodGet, g.url+"/Administration/api", nil, http.Header{"Accept": {"application/json"}})
		if api.StatusCode != http.StatusUnauthorized {
			t.Errorf("after sign-out an API call = %d; want 401", api.StatusCode)
		}
	})
}

func TestRoutingIsCaseInsensitiveAndBarePrefixRedirects(t *testing.T) {
	g := newGate(t, setup{})
	b := g.browser()
	g.signedIn(b, "/Administration/")
	r := b.Do(http.MethodGet, g.url+"/ADMINISTRATION/Default.aspx", nil, nil)
	if r.StatusCode != http.StatusOK || g.backend.last(t).URL.Path != "/administration/Default.aspx" {
		t.Errorf("upper-case path = %d %s", r.StatusCode, g.backend.last(t).URL.Path)
	}
	r = b.Do(http.MethodGet, g.url+"/Administration", nil, nil)
	if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/Administration/" {
		t.Errorf("bare prefix = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.Do(http.MethodGet, g.url+"/Other/", nil, nil)
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown site = %d; want 404", r.StatusCode)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

package claims

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestStripIdentity(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		extra []string
		kept  []string
	}{
		{
			name: "canonical",
			keys: []string{"X-Forwarded-User", "X-Forwarded-Authentication-Type", "X-Forwarded-Email",
				"X-Forwarded-Preferred-Username", "X-Forwarded-Issuer", "X-Forwarded-For",
				"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"},
		},
		{
			name: "lowercase",
			keys: []string{"x-forwarded-user", "x-forwarded-authentication-type", "x-forwarded-email",
				"x-forwarded-preferred-username", "x-forwarded-issuer", "x-forwarded-for",
				"x-forwarded-host", "x-forwarded-proto", "forwarded"},
		},
		{
			name: "uppercase",
			keys: []string{"X-FORWARDED-USER", "X-FORWARDED-AUTHENTICATION-TYPE", "X-FORWARDED-EMAIL",
				"X-FORWARDED-PREFERRED-USERNAME", "X-FORWARDED-ISSUER", "X-FORWARDED-FOR",
				"X-FORWARDED-HOST", "X-FORWARDED-PROTO", "FORWARDED"},
		},
		{
			name: "underscores",
			keys: []string{"x_forwarded_user", "X_FORWARDED_AUTHENTICATION_TYPE", "X_forwarded_email",
				"x_forwarded_preferred_username", "X_Forwarded_Issuer", "x_forwarded_for",
				"X_FORWARDED_HOST", "x_forwarded_proto"},
		},
		{
			name: "mixed",
			keys: []string{"x-Forwarded_USER", "X_forwarded-Authentication_type", "x_FORWARDED-email",
				"X-Forwarded_Preferred-Username", "x-forwarded_issuer", "X_Forwarded-For"},
		},
		{
			name:  "extra names in any spelling",
			keys:  []string{"Authorization", "x_api_key", "X-API-KEY", "X-Forwarded-User"},
			extra: []string{"authorization", "X-Api-Key"},
		},
		{
			name: "unrelated headers kept",
			keys: []string{"X-Forwarded-User", "Accept", "Cookie", "X-Forwarded", "X-Forwarded-",
				"X-Forwarded-Users", "X-Forwarded-Port", "Forwarded-For", "X-Real-Ip", "Authorization", "User"},
			kept: []string{"Accept", "Cookie", "X-Forwarded", "X-Forwarded-", "X-Forwarded-Users",
				"X-Forwarded-Port", "Forwarded-For", "X-Real-Ip", "Authorization", "User"},
		},
		{
			name: "empty header",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, k := range tt.keys {
				h[k] = []string{"v"}
			}
			StripIdentity(h, tt.extra...)
			got := keys(h)
			want := slices.Sorted(slices.Values(tt.kept))
			if !slices.Equal(got, want) {
				t.Errorf("StripIdentity(%q, %q) left %q; want %q", tt.keys, tt.extra, got, want)
			}
		})
	}
}

func keys(h http.Header) []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestStripIdentityNoAlloc(t *testing.T) {
	h := browserHeader()
	if n := testing.AllocsPerRun(100, func() { StripIdentity(h, "Authorization") }); n != 0 {
		t.Errorf("StripIdentity allocates %v times with nothing to remove; want 0", n)
	}
}

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		old  http.Header
		want http.Header
	}{
		{
			name: "all fields",
			id: Identity{User: "alice", AuthenticationType: "AzureAD", Email: "a@example.com",
				PreferredUsername: "al", Issuer: issA, Subject: "s"},
			want: http.Header{
				HeaderUser: {"alice"}, HeaderAuthType: {"AzureAD"}, HeaderIssuer: {issA},
				HeaderEmail: {"a@example.com"}, HeaderPreferredUsername: {"al"},
			},
		},
		{
			name: "optional fields removed when empty",
			id:   Identity{User: "alice", AuthenticationType: "AzureAD", Issuer: issA},
			old: http.Header{HeaderEmail: {"stale@example.com"}, HeaderPreferredUsername: {"stale"},
				HeaderUser: {"mallory", "second"}, "Accept": {"*/*"}},
			want: http.Header{HeaderUser: {"alice"}, HeaderAuthType: {"AzureAD"}, HeaderIssuer: {issA},
				"Accept": {"*/*"}},
		},
		{
			name: "required fields set even when empty",
			id:   Identity{User: "alice"},
			want: http.Header{HeaderUser: {"alice"}, HeaderAuthType: {""}, HeaderIssuer: {""}},
		},
		{
			name: "control characters dropped",
			id: Identity{User: "ali\r\nX-Forwarded-User: admin", AuthenticationType: "A\x00D",
				Email: "a\t@example.com\x7f", PreferredUsername: "\x1bal", Issuer: issA + "\n"},
			want: http.Header{
				HeaderUser: {"aliX-Forwarded-User: admin"}, HeaderAuthType: {"AD"}, HeaderIssuer: {issA},
				HeaderEmail: {"a@example.com"}, HeaderPreferredUsername: {"al"},
			},
		},
		{
			name: "non-ASCII kept",
			id:   Identity{User: "Jörg Ærø", AuthenticationType: "A", Issuer: issA},
			want: http.Header{HeaderUser: {"Jörg Ærø"}, HeaderAuthType: {"A"}, HeaderIssuer: {issA}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.old.Clone()
			if h == nil {
				h = http.Header{}
			}
			tt.id.SetHeaders(h)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("%+v.SetHeaders(%v) = %v; want %v", tt.id, tt.old, h, tt.want)
			}
		})
	}
}

func TestSetHeadersValuesIndependent(t *testing.T) {
	h := http.Header{}
	Identity{User: "u", AuthenticationType: "a", Issuer: "i", Email: "e", PreferredUsername: "p"}.SetHeaders(h)
	h.Add(HeaderUser, "extra")
	if got := h.Get(HeaderAuthType); got != "a" {
		t.Errorf("after Add(%q), Get(%q) = %q; want %q", HeaderUser, HeaderAuthType, got, "a")
	}
}

func ownCookie(name string) bool {
	return name == "oidcgate" || strings.HasPrefix(name, "oidcgate_")
}

func TestStripCookies(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // nil: no Cookie header
		want  []string // nil: no Cookie header
	}{
		{"no header", nil, nil},
		{"none ours untouched", []string{"a=1;b=2", "c=3"}, []string{"a=1;b=2", "c=3"}},
		{"ours in the middle", []string{"a=1; oidcgate=xyz; b=2"}, []string{"a=1; b=2"}},
		{"only ours removes the header", []string{"oidcgate=x; oidcgate_1=y", "oidcgate_login_abc=z"}, nil},
		{"multiple lines joined in order", []string{"a=1", "oidcgate=x", "b=2; c=3", "oidcgate_1=y"}, []string{"a=1; b=2; c=3"}},
		{"values with = kept byte for byte", []string{`t=YWJj==; oidcgate=s; q="x=y; z"; e==`}, []string{`t=YWJj==; q="x=y; z"; e==`}},
		{"whitespace variations", []string{" a=1 ;\toidcgate=x\t; \tb = 2 ;;  ; oidcgate =y;c=3 "}, []string{"a=1; b = 2; c=3"}},
		{"name with spaces around =", []string{"oidcgate  =x; a=1"}, []string{"a=1"}},
		{"piece without =", []string{"oidcgate; flag; a=1"}, []string{"flag; a=1"}},
		{"similar names kept", []string{"oidcgate=x; oidcgatex=1; xoidcgate=2; OIDCGATE=3"}, []string{"oidcgatex=1; xoidcgate=2; OIDCGATE=3"}},
		{"empty value of ours", []string{"oidcgate=; a="}, []string{"a="}},
		{"empty lines with ours", []string{"", "oidcgate=x", ";"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Accept": {"*/*"}}
			if tt.lines != nil {
				h["Cookie"] = slices.Clone(tt.lines)
			}
			StripCookies(h, ownCookie)
			got, ok := h["Cookie"]
			if !slices.Equal(got, tt.want) || ok != (tt.want != nil) {
				t.Errorf("StripCookies(%q) = %q (present %v); want %q", tt.lines, got, ok, tt.want)
			}
			if h.Get("Accept") != "*/*" {
				t.Errorf("StripCookies(%q) touched another header: %v", tt.lines, h)
			}
		})
	}
}

func TestStripCookiesNoAlloc(t *testing.T) {
	h := browserHeader()
	if n := testing.AllocsPerRun(100, func() { StripCookies(h, ownCookie) }); n != 0 {
		t.Errorf("StripCookies allocates %v times with no cookie of ours; want 0", n)
	}
}

// With the cookies kept side by side, as browsers send them, the line left
// is a piece of the one received: only the new header value is allocated.
func TestStripCookiesCopiesNoCookieText(t *testing.T) {
	for _, line := range []string{
		"a=1; b=2; oidcgate=" + strings.Repeat("A", 600),
		"oidcgate=" + strings.Repeat("A", 600) + "; a=1; b=2",
		"oidcgate_1=x; a=1; b=2; oidcgate=y",
	} {
		h := http.Header{}
		if n := testing.AllocsPerRun(100, func() { h["Cookie"] = []string{line}; StripCookies(h, ownCookie) }); n > 2 {
			t.Errorf("StripCookies(%.30q…) allocates %v times; want at most 2 (the test's line slice and the result's)", line, n)
		}
		if got := h["Cookie"]; len(got) != 1 || got[0] != "a=1; b=2" {
			t.Errorf("StripCookies(%.30q…) = %q; want [a=1; b=2]", line, got)
		}
	}
}

// pieces splits Cookie lines into their non-empty pieces without surrounding
// whitespace.
func pieces(lines []string) []string {
	var out []string
	for _, line := range lines {
		for p := range strings.SplitSeq(line, ";") {
			if p = strings.Trim(p, " \t"); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func nameOf(piece string) string {
	name, _, _ := strings.Cut(piece, "=")
	return strings.Trim(name, " \t")
}

func FuzzStripCookies(f *testing.F) {
	f.Add("a=1; oidcgate=x; b=2", "")
	f.Add("oidcgate=x", "oidcgate_1=y")
	f.Add(`q="x=y; z"; oidcgate_login_1=a==; e==`, "c=3")
	f.Add(" \toidcgate =x\t;;", ";a")
	f.Add("", "")
	f.Add("oidcgate", "=oidcgate; ==")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		checkStripCookies(t, []string{line1, line2})
		checkStripCookies(t, []string{line1}) // one line: the path that copies nothing
	})
}

// checkStripCookies checks StripCookies against its definition: the
// pieces not ours, trimmed, in order, joined with "; " into one line.
func checkStripCookies(t *testing.T, in []string) {
	t.Helper()
	h := http.Header{"Cookie": slices.Clone(in)}
	StripCookies(h, ownCookie)
	out, present := h["Cookie"]

	var kept []string
	hadOwn := false
	for _, p := range pieces(in) {
		if ownCookie(nameOf(p)) {
			hadOwn = true
		} else {
			kept = append(kept, p)
		}
	}
	if !hadOwn {
		if !slices.Equal(out, in) {
			t.Fatalf("StripCookies(%q) = %q; want it untouched", in, out)
		}
		return
	}
	if len(kept) == 0 {
		if present {
			t.Fatalf("StripCookies(%q) = %q; want no Cookie header", in, out)
		}
		return
	}
	if len(out) != 1 {
		t.Fatalf("StripCookies(%q) = %q; want one line", in, out)
	}
	got := pieces(out)
	for _, p := range got {
		if ownCookie(nameOf(p)) {
			t.Fatalf("StripCookies(%q) = %q; still has own cookie %q", in, out, p)
		}
	}
	if !slices.Equal(got, kept) {
		t.Fatalf("StripCookies(%q) kept %q; want %q, in input order", in, got, kept)
	}
	if want := strings.Join(kept, "; "); out[0] != want {
		t.Fatalf("StripCookies(%q) = %q; want %q", in, out[0], want)
	}
}

// browserHeader is what a typical browser navigation carries.
func browserHeader() http.Header {
	return http.Header{
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Encoding":           {"gzip, deflate, br"},
		"Accept-Language":           {"en-US,en;q=0.5"},
		"Cookie":                    {"ASP.NET_SessionId=abc123def456; _ga=GA1.2.3456789.1234567890; theme=dark"},
		"Referer":                   {"https://cora.example.com/Flowtime/"},
		"Sec-Fetch-Dest":            {"document"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"same-origin"},
		"Upgrade-Insecure-Requests": {"1"},
		"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	}
}

func BenchmarkStripIdentity(b *testing.B) {
	b.Run("nothing to remove", func(b *testing.B) {
		h := browserHeader()
		b.ReportAllocs()
		for b.Loop() {
			StripIdentity(h, "Authorization")
		}
	})
	b.Run("spoofed", func(b *testing.B) {
		h := browserHeader()
		v := []string{"admin"}
		b.ReportAllocs()
		for b.Loop() {
			h["X-Forwarded-User"] = v
			h["x_forwarded_email"] = v
			StripIdentity(h, "Authorization")
		}
	})
}

func BenchmarkSetHeaders(b *testing.B) {
	id := Identity{User: "alice@example.com", AuthenticationType: "AzureAD", Email: "alice@example.com",
		PreferredUsername: "alice", Issuer: issA, Subject: "s"}
	h := browserHeader()
	b.ReportAllocs()
	for b.Loop() {
		id.SetHeaders(h)
	}
}

func BenchmarkStripCookies(b *testing.B) {
	b.Run("none ours", func(b *testing.B) {
		h := browserHeader()
		b.ReportAllocs()
		for b.Loop() {
			StripCookies(h, ownCookie)
		}
	})
	b.Run("session last", func(b *testing.B) {
		h := browserHeader()
		lines := []string{"ASP.NET_SessionId=abc123def456; _ga=GA1.2.3456789.1234567890; theme=dark; oidcgate=" + strings.Repeat("A", 600)}
		b.ReportAllocs()
		for b.Loop() {
			h["Cookie"] = lines
			StripCookies(h, ownCookie)
		}
	})
	b.Run("session in the middle", func(b *testing.B) {
		h := browserHeader()
		line := "ASP.NET_SessionId=abc123def456; oidcgate=" + strings.Repeat("A", 600) + "; _ga=GA1.2.3456789.1234567890; theme=dark"
		lines := []string{line}
		b.ReportAllocs()
		for b.Loop() {
			h["Cookie"] = lines
			StripCookies(h, ownCookie)
		}
	})
}

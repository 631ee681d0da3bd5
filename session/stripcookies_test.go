package session

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

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
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Language": {"en-US,en;q=0.5"},
		"Cookie":          {"ASP.NET_SessionId=abc123def456; _ga=GA1.2.3456789.1234567890; theme=dark"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
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

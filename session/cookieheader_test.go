package session

import (
	"net/http"
	"strings"
	"testing"
)

// cookieValue must find what http.Request.Cookie finds: a session the
// proxy and the standard library read differently would be a session the
// proxy's own tests never saw.
func TestCookieValueAgreesWithRequestCookie(t *testing.T) {
	for _, lines := range [][]string{
		nil,
		{""},
		{"oidcgate=abc"},
		{"a=1; oidcgate=abc; b=2"},
		{"  oidcgate  =abc  "},
		{"oidcgate= abc"},
		{`oidcgate="abc"`},
		{`oidcgate="abc`},
		{`oidcgate=""`},
		{"oidcgate="},
		{"oidcgate"},
		{"oidcgate=a\\b; oidcgate=second"},
		{"oidcgate=a\"b", "oidcgate=from-the-second-line"},
		{"x=1", "oidcgate=v2"},
		{"oidcgate=a b,c"},
		{"oidcgate=caf\xc3\xa9; oidcgate=plain"},
		{"oidcgate_1=chunk; oidcgate=main"},
		{"Oidcgate=wrong-case"},
		{";;; ; oidcgate=x;;"},
		{"oidcgate=x\ty"},
		{"\toidcgate=tab\t"},
		{"oidcgate=a=b=c"},
	} {
		checkAgainstRequestCookie(t, lines, "oidcgate")
	}
}

func checkAgainstRequestCookie(t *testing.T, lines []string, name string) {
	t.Helper()
	r := &http.Request{Header: http.Header{"Cookie": lines}}
	want, err := r.Cookie(name)
	got, ok := cookieValue(lines, name)
	switch {
	case err != nil && ok:
		t.Errorf("cookieValue(%q, %q) = %q; Request.Cookie finds none", lines, name, got)
	case err == nil && (!ok || got != want.Value):
		t.Errorf("cookieValue(%q, %q) = %q, %v; Request.Cookie finds %q", lines, name, got, ok, want.Value)
	}
}

func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; oidcgate=abc; b=2", "x=y")
	f.Add(`oidcgate="abc"`, "")
	f.Add("oidcgate=a\\b; oidcgate=second", "oidcgate=third")
	f.Add(" oidcgate = v ", "oidcgate=\x00")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		// Request.Cookie gives up beyond 3,000 cookies; cookieValue does
		// not (see its comment).
		if strings.Count(line1+line2, ";") > 2000 {
			return
		}
		checkAgainstRequestCookie(t, lines, "oidcgate")
		checkAgainstRequestCookie(t, lines, "oidcgate_1")
	})
}

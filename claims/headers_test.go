package claims

import (
	"net/http"
	"reflect"
	"slices"
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
				"X-Forwarded-Users", "Forwarded-For", "X-Real-Ip", "Authorization", "User", "X-Original", "X-Auth-Request",
				"X-Ms-Client", "Original-Url", "Remote-Users"},
			kept: []string{"Accept", "Cookie", "X-Forwarded", "X-Forwarded-", "X-Forwarded-Users",
				"Forwarded-For", "X-Real-Ip", "Authorization", "User", "X-Original", "X-Auth-Request",
				"X-Ms-Client", "Original-Url", "Remote-Users"},
		},
		{
			name: "headers other proxies set and frameworks trust",
			keys: []string{"X-Original-URL", "x_rewrite_url", "Remote-User", "REMOTE_USER", "X-Remote-User",
				"X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-NAME", "x-ms-client-principal-id", "X_MS_CLIENT_PRINCIPAL_IDP",
				"X-Auth-Request-User", "X-Auth-Request-Email", "x_auth_request_groups", "X-Forwarded-Groups",
				"X-Forwarded-Username", "X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Ssl"},
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

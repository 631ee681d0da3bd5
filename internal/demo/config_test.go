package demo

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/oidcgate/oidcgate/config"
)

func TestWriteConfigLoadsAndRuns(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "oidcgate.toml")
	d := startDemo(t, Options{WriteConfig: file})

	if d.ConfigFile != file {
		t.Errorf("ConfigFile = %q; want %q", d.ConfigFile, file)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("config.Load(%q) = %v; want the written file to load", file, err)
	}
	dir := filepath.Dir(file)
	for _, f := range []struct{ name, got, want string }{
		{"cert_file", cfg.TLS.CertFile, filepath.Join(dir, "oidcgate-cert.pem")},
		{"key_file", cfg.TLS.KeyFile, filepath.Join(dir, "oidcgate-key.pem")},
	} {
		if f.got != f.want {
			t.Errorf("tls.%s = %q; want %q", f.name, f.got, f.want)
		}
		if _, err := os.Stat(f.got); err != nil {
			t.Errorf("tls.%s: %v", f.name, err)
		}
	}
	for _, f := range []string{file, cfg.TLS.KeyFile} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; want it private (it holds secrets)", f, fi.Mode().Perm())
		}
	}

	a := cfg.Authentication
	switch {
	case !a.SSOEnabled:
		t.Error("sso_enabled = false; want true")
	case !a.SignOutFromSTS:
		t.Error("sign_out_from_sts = false; want true")
	case len(a.Claims) != 1 || a.Claims[0].ClaimType != "upn" || a.Claims[0].OriginalIssuer != d.Issuer || a.Claims[0].AuthenticationType != "Demo":
		t.Errorf("claims = %+v; want one upn rule for %s", a.Claims, d.Issuer)
	case cfg.OpenIDConnect.AuthorizationRequestHTTPMethod != config.MethodPost:
		t.Errorf("authorization_request_http_method = %q; want POST", cfg.OpenIDConnect.AuthorizationRequestHTTPMethod)
	case len(cfg.Session.Keys) != 1:
		t.Errorf("session keys: %d; want 1", len(cfg.Session.Keys))
	case len(cfg.Sites) != 2 || cfg.Sites[0].RawBaseURL != d.Sites[0].URL || cfg.Sites[1].RawBaseURL != d.Sites[1].URL:
		t.Errorf("sites = %+v; want %+v", cfg.Sites, d.Sites)
	}

	data, _ := os.ReadFile(file)
	for _, want := range []string{"CHANGE", "oidcgate genkey", "${OIDCGATE_CLIENT_SECRET}", "oidcgate check"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("written configuration does not mention %q", want)
		}
	}

	// The demo runs from the file it wrote.
	b := newBrowser(t, d)
	p := b.signIn(d, d.Sites[0].URL, "alice", "alice-password")
	if p.StatusCode != http.StatusOK || header(p, "X-Forwarded-User") != "alice@example.com" {
		t.Errorf("sign-in with the written configuration: %d at %s:\n%s", p.StatusCode, p.Request.URL, p.Body)
	}
}

func TestTOMLString(t *testing.T) {
	tests := []struct{ name, in string }{
		{"plain", "https://localhost:8443/Administration/"},
		{"windows path", `C:\Users\Zoë\oidcgate-cert.pem`},
		{"quotes", `say "hi"`},
		{"controls", "tab\tnewline\nbell\x07del\x7f"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct{ V string }
			if _, err := toml.Decode("v = "+tomlString(tt.in), &got); err != nil {
				t.Fatalf("toml.Decode(v = %s) = %v", tomlString(tt.in), err)
			}
			if got.V != tt.in {
				t.Errorf("tomlString(%q) decodes to %q; want it back", tt.in, got.V)
			}
		})
	}
}

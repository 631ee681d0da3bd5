package config

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

// wants returns the "# want: …" lines at the top of a testdata file: the
// substrings its error must contain.
func wants(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		w, ok := strings.CutPrefix(sc.Text(), "# want: ")
		if !ok {
			break
		}
		ws = append(ws, w)
	}
	return ws
}

func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("../testdata/config/*.toml")
	if err != nil || len(files) < 30 {
		t.Fatalf("testdata: %d files, %v", len(files), err)
	}
	// Relative paths in the files (client_secret_file) are relative to the
	// module root, like the names in the want lines.
	t.Chdir("..")
	for _, path := range files {
		path := strings.TrimPrefix(path, "../")
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".toml"), func(t *testing.T) {
			ws := wants(t, path)
			cfg, err := Load(path)
			if strings.HasPrefix(name, "valid-") {
				if err != nil {
					t.Fatalf("Load(%q) = %v; want no error", path, err)
				}
				if err := cfg.Validate(); err != nil {
					t.Fatalf("Load(%q).Validate() = %v; want nil", path, err)
				}
				return
			}
			if len(ws) == 0 {
				t.Fatalf("%s has no # want: line", path)
			}
			if err == nil {
				t.Fatalf("Load(%q) = nil error; want %q", path, ws)
			}
			if cfg != nil {
				t.Errorf("Load(%q) returned a Config with its error", path)
			}
			for _, w := range ws {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) = %v\nwant it to contain %q", path, err, w)
				}
			}
			// One problem, one message: nothing reported twice, nothing
			// reported that the file does not expect.
			if n := len(problems(err)); n != len(ws) {
				t.Errorf("Load(%q) reported %d problems:\n%v\nwant %d", path, n, err, len(ws))
			}
		})
	}
}

// problems splits a joined error.
func problems(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

func TestSeveralMistakesAtOnce(t *testing.T) {
	t.Chdir("..")
	const path = "testdata/config/several-mistakes.toml"
	_, err := Load(path)
	errs := problems(err)
	if want := len(wants(t, path)); len(errs) != want {
		t.Errorf("Load(%q) reported %d problems; want %d:\n%v", path, len(errs), want, err)
	}
	for _, e := range errs {
		var fe *Error
		if !errors.As(e, &fe) || fe.Key == "" {
			t.Errorf("problem %q: want an *Error with a key", e)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("../testdata/config/valid-minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	o, s, a, l := cfg.OpenIDConnect, cfg.Session, cfg.Authentication, cfg.Limits
	checks := []struct {
		name      string
		got, want any
	}{
		{"discovery_kind (case ignored)", o.DiscoveryKind, DiscoveryDocument},
		{"token method (case ignored)", o.TokenRequestAuthorizationMethod, ClientSecretPost},
		{"authorization_request_http_method", o.AuthorizationRequestHTTPMethod, MethodPost},
		{"response_mode", o.ResponseMode, ResponseModeQuery},
		{"scopes", strings.Join(o.Scopes, " "), "openid"},
		{"id_token_signing_alg_values", strings.Join(o.IDTokenSigningAlgValues, " "), "RS256"},
		{"lifetime", s.Lifetime.Duration, 8 * time.Hour},
		{"cookie_name", s.CookieName, "oidcgate"},
		{"require_ssl", s.RequireSSL, true},
		{"sso_enabled", a.SSOEnabled, true},
		{"sign_out_from_sts", a.SignOutFromSTS, false},
		{"login_url", a.LoginURL, "~/oidcServices/Signininitiation"},
		{"logout_url", a.LogoutURL, "~/oidcServices/SignOutInitiation"},
		{"access_denied_url", a.AccessDeniedURL, "~/AccessDenied.aspx"},
		{"read_header_timeout", l.ReadHeaderTimeout.Duration, 10 * time.Second},
		{"read_timeout", l.ReadTimeout.Duration, 60 * time.Second},
		{"write_timeout", l.WriteTimeout.Duration, 120 * time.Second},
		{"idle_timeout", l.IdleTimeout.Duration, 120 * time.Second},
		{"max_header_bytes", l.MaxHeaderBytes, 65536},
		{"max_callback_body_bytes", l.MaxCallbackBodyBytes, int64(65536)},
		{"upstream_dial_timeout", l.UpstreamDialTimeout.Duration, 10 * time.Second},
		{"upstream_response_header_timeout", l.UpstreamResponseHeaderTimeout.Duration, 60 * time.Second},
		{"outbound_timeout", l.OutboundTimeout.Duration, 10 * time.Second},
		{"shutdown_delay", l.ShutdownDelay.Duration, 5 * time.Second},
		{"clock_skew", o.ClockSkew.Duration, 5 * time.Minute},
		{"ca_file", o.RootCAs == nil, true},
		{"tls", cfg.TLS.Enabled(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}

	cfg, err = Load("../testdata/config/valid-federation.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sites[1].Inject[0].Header; got != "X-Mail-Token" {
		t.Errorf("inject header = %q; want X-Mail-Token", got)
	}
	if got := cfg.Credentials[0].AuthenticationMethod; got != CredentialBody {
		t.Errorf("authentication_method = %q; want body", got)
	}
	cfg, err = Load("../testdata/config/valid-store.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.OpenIDConnect.IdentityProviderCertificates[1].FindType; got != FindBySubjectName {
		t.Errorf("certificate_find_type = %q; want FindBySubjectName", got)
	}
	if got := cfg.Limits.ReadHeaderTimeout.Duration; got != 5*time.Second {
		t.Errorf("read_header_timeout = %v; want 5s", got)
	}
}

// minimal is a valid configuration that tests add to.
const minimal = `
listen = ":8443"
[tls]
cert_file = "a.crt"
key_file = "a.key"
[openid_connect]
discovery_kind = "OpenIdDiscoveryDocument"
discovery_uri = "https://op.example.com/.well-known/openid-configuration"
client_id = "cora"
token_request_authorization_method = "client_secret_basic"
[[authentication.claims]]
claim_type = "email"
authentication_type = "AzureAD"
[[sites]]
name = "Administration"
base_url = "https://cora.example.com/Administration/"
upstream = "http://10.0.0.5:8080/Administration/"
`

func TestEnvExpansion(t *testing.T) {
	t.Setenv("OIDCGATE_T_SECRET", "from-the-environment")
	t.Setenv("OIDCGATE_T_KIND", "jsonwebkeyset")
	t.Setenv("OIDCGATE_T_LIFETIME", "90m")
	t.Setenv("OIDCGATE_T_SCOPE", "profile")
	src := strings.Replace(minimal, `discovery_kind = "OpenIdDiscoveryDocument"`, `discovery_kind = "${OIDCGATE_T_KIND}"
client_secret = "${OIDCGATE_T_SECRET}"
scopes = ["${OIDCGATE_T_SCOPE}", "email"]
valid_issuer = "https://op.example.com/${OIDCGATE_T_SECRET}"
authority = "https://op.example.com/authorize"
token_endpoint = "https://op.example.com/token"
logout_endpoint = "https://op.example.com/${OIDCGATE_T_SCOPE}/logout?x=$1"
force_reauthenticate = true`, 1) + `
[session]
lifetime = "${OIDCGATE_T_LIFETIME}"
cookie_name = "oidcgate-${OIDCGATE_T_SCOPE}-${OIDCGATE_T_KIND}"
`
	cfg, err := Parse([]byte(src), "env.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OpenIDConnect
	checks := []struct {
		name      string
		got, want any
	}{
		{"client_secret", o.ClientSecret, "from-the-environment"},
		{"discovery_kind", o.DiscoveryKind, DiscoveryJWKS},
		{"scopes", strings.Join(o.AllScopes(), " "), "openid profile email"},
		{"logout_endpoint (inside a value, a lone $ kept)", o.LogoutEndpoint, "https://op.example.com/profile/logout?x=$1"},
		{"lifetime", cfg.Session.Lifetime.Duration, 90 * time.Minute},
		{"valid_issuer (inside a value)", o.ValidIssuer, "https://op.example.com/from-the-environment"},
		{"cookie_name (two in one value)", cfg.Session.CookieName, "oidcgate-profile-jsonwebkeyset"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	t.Setenv("OIDCGATE_T_LIFETIME", "a while")
	t.Setenv("OIDCGATE_T_EMPTY", "")
	tests := []struct {
		name, add, want string
	}{
		{"unset", "[session]\nlifetime = \"${OIDCGATE_T_SURELY_UNSET}\"\n",
			"env.toml: session.lifetime: environment variable OIDCGATE_T_SURELY_UNSET is not set"},
		{"not a duration", "[session]\nlifetime = \"${OIDCGATE_T_LIFETIME}\"\n",
			`env.toml: session.lifetime: not a duration ("a while")`},
		{"in an array", "[[sites.inject]]\ncredential = \"${OIDCGATE_T_SURELY_UNSET}\"\n",
			"env.toml: sites[0].inject[0].credential: environment variable OIDCGATE_T_SURELY_UNSET is not set"},
		{"set but empty", "[session]\ncookie_name = \"${OIDCGATE_T_EMPTY}\"\n",
			"env.toml: session.cookie_name: environment variable OIDCGATE_T_EMPTY is set but empty"},
		{"inside a value, unset", "[session]\ncookie_name = \"gate-${OIDCGATE_T_SURELY_UNSET}\"\n",
			"env.toml: session.cookie_name: environment variable OIDCGATE_T_SURELY_UNSET is not set"},
		{"secret file inside a value", "[[credentials]]\nname = \"m\"\nclient_id = \"c\"\nclient_secret_file = \"${OIDCGATE_T_SURELY_UNSET}/m\"\ntoken_endpoint = \"https://op.example.com/token\"\nscopes = \"s\"\n",
			"credentials[0].client_secret_file: environment variable OIDCGATE_T_SURELY_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(minimal, `client_id = "cora"`, `client_id = "cora"`+"\nclient_secret = \"x\"", 1) + tt.add
			_, err := Parse([]byte(src), "env.toml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v; want %q", tt.add, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "required") {
				t.Errorf("Parse(%q) = %v; want no second complaint about the same key", tt.add, err)
			}
		})
	}
}

func TestClientSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oidc := write("oidc", "oidc-secret-from-file\r\n")
	mail := write("mail", "mail-secret-from-file\n")
	empty := write("empty", "\n")
	t.Setenv("OIDCGATE_T_SECRET_FILE", oidc)

	cred := func(secretLine string) string {
		return "[[credentials]]\nname = \"mail\"\nclient_id = \"m\"\n" + secretLine +
			"\ntoken_endpoint = \"https://login.example.com/token\"\nscopes = \"https://outlook.office365.com/.default\"\n"
	}
	tests := []struct {
		name, oidcLine, credLine string
		want                     string // substring of the error; "" for success
	}{
		{"both from files", `client_secret_file = "${OIDCGATE_T_SECRET_FILE}"`, `client_secret_file = "` + mail + `"`, ""},
		{"missing file", `client_secret_file = "` + filepath.Join(dir, "nope") + `"`, `client_secret = "m"`,
			"openid_connect.client_secret_file: " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty file", `client_secret_file = "` + empty + `"`, `client_secret = "m"`, "openid_connect.client_secret_file: " + empty + ": empty"},
		{"a folder", `client_secret_file = "` + dir + `"`, `client_secret = "m"`, "not a regular file"},
		{"credential both", `client_secret = "x"`, `client_secret = "m"` + "\nclient_secret_file = \"" + mail + `"`,
			"credentials[0] (mail).client_secret: set client_secret or client_secret_file, not both"},
		{"credential neither", `client_secret = "x"`, ``, "credentials[0] (mail).client_secret: required (or client_secret_file)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(minimal, `client_id = "cora"`, `client_id = "cora"`+"\n"+tt.oidcLine, 1) + cred(tt.credLine)
			cfg, err := Parse([]byte(src), "secrets.toml")
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Parse() = %v; want %q", err, tt.want)
				}
				if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
					t.Errorf("Parse() = %v; want one problem, got %d", err, n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.OpenIDConnect.ClientSecret; got != "oidc-secret-from-file" {
				t.Errorf("openid_connect secret = %q; want oidc-secret-from-file", got)
			}
			if got := cfg.Credentials[0].ClientSecret; got != "mail-secret-from-file" {
				t.Errorf("credential secret = %q; want mail-secret-from-file", got)
			}
		})
	}
}

// TestSecretsNeverShown breaks every rule near a secret and checks that no
// message and no log line repeats one.
func TestSecretsNeverShown(t *testing.T) {
	const (
		secret = "Sup3rS3cretClientValue"
		key    = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=" // base64, but 26 bytes
		legacy = "SecretLegacyKeyOf31Characters00"
	)
	t.Setenv("OIDCGATE_T_SECRET", secret)
	src := strings.Replace(minimal, `client_id = "cora"`, `client_id = "cora"
client_secret = "${OIDCGATE_T_SECRET}"
client_secret_file = "/run/secrets/`+secret+`-not-here"`, 1) + `
[session]
keys = ["` + key + `"]
cookie_encryption_key = "` + legacy + `"
cookie_encryption_initialization_vector = "` + legacy + `!"
[[credentials]]
name = "mail"
client_secret = "` + secret + `"
client_secret_file = "/x"
token_endpoint = "http://login.example.com/?secret=` + secret + `"
`
	_, err := Parse([]byte(src), "secrets.toml")
	if err == nil {
		t.Fatal("Parse() = nil error; want several")
	}
	for _, s := range []string{secret, key, legacy} {
		if strings.Contains(err.Error(), s) && !strings.Contains(err.Error(), "/run/secrets/"+s) {
			t.Errorf("Parse() = %v\nrepeats the secret %q", err, s)
		}
	}

	cfg, err := Parse([]byte(strings.Replace(minimal, `client_id = "cora"`, `client_id = "cora"
client_secret = "`+secret+`"`, 1)+"[session]\nkeys = [\"1hlJQ7kiwQU5PBVI+41tp1zFVE6CJfabStVd0BXMu5V1GW3MnOst+5I+NvQDdTJwgMEtAxZ8ryLORFC19dQrQw==\"]\n"+`
[[credentials]]
name = "mail"
client_id = "m"
client_secret = "`+secret+`"
token_endpoint = "https://login.example.com/token"
scopes = "s"
`), "ok.toml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("config", "config", cfg)
		log.Info("parts", "oidc", cfg.OpenIDConnect, "session", cfg.Session, "credential", cfg.Credentials[0])
	}
	for _, s := range []string{secret, "1hlJQ7kiwQU5PBVI"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log output repeats the secret %q:\n%s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Errorf("log output = %s; want REDACTED in place of the secrets", buf.String())
	}
}

func TestValidateIsPure(t *testing.T) {
	cfg, err := Load("../testdata/config/valid-discovery.toml")
	if err != nil {
		t.Fatal(err)
	}
	before := *cfg
	cfg.Sites[0].RawUpstream = "not a url"
	cfg.OpenIDConnect.IDTokenSigningAlgValues = nil
	err = cfg.Validate()
	for _, want := range []string{
		"valid-discovery.toml: sites[0].upstream: must be an absolute http(s) URL",
		"openid_connect.id_token_signing_alg_values: must list at least one algorithm",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want %q", err, want)
		}
	}
	if cfg.Session.CookieName != before.Session.CookieName || cfg.OpenIDConnect.IDTokenSigningAlgValues != nil {
		t.Error("Validate changed the Config")
	}

	// A Config built in code has no file and no lines.
	var empty Config
	err = empty.Validate()
	if err == nil || !strings.Contains(err.Error(), "\nlisten: required") && !strings.HasPrefix(err.Error(), "listen: required") {
		t.Errorf("Config{}.Validate() = %v; want it to start with listen: required", err)
	}
}

func TestSiteAccessors(t *testing.T) {
	s := Site{Name: "Administration", RawBaseURL: "https://cora.example.com/Administration/", RawUpstream: "http://10.0.0.5:8080/Administration/"}
	tests := []struct {
		in, want string
	}{
		{"~/oidcServices/Signininitiation", "/Administration/oidcServices/Signininitiation"},
		{"~/AccessDenied.aspx", "/Administration/AccessDenied.aspx"},
		{"/AccessDenied.aspx", "/AccessDenied.aspx"},
	}
	for _, tt := range tests {
		if got := s.Resolve(tt.in); got != tt.want {
			t.Errorf("Resolve(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := s.BaseURL(); got == nil || got.Host != "cora.example.com" {
		t.Errorf("BaseURL() = %v; want host cora.example.com", got)
	}
	if got := s.Upstream(); got == nil || got.String() != s.RawUpstream {
		t.Errorf("Upstream() = %v; want %s", got, s.RawUpstream)
	}
	if got := (Site{RawBaseURL: "::"}).BaseURL(); got != nil {
		t.Errorf("BaseURL() of a bad URL = %v; want nil", got)
	}
}

func TestAllScopes(t *testing.T) {
	tests := []struct {
		scopes []string
		want   string
	}{
		{nil, "openid"},
		{[]string{"profile", "email"}, "openid profile email"},
		{[]string{"email", "openid", "email"}, "openid email"},
	}
	for _, tt := range tests {
		if got := strings.Join(OpenIDConnect{Scopes: tt.scopes}.AllScopes(), " "); got != tt.want {
			t.Errorf("AllScopes(%q) = %q; want %q", tt.scopes, got, tt.want)
		}
	}
}

// A value of the wrong type is reported at its key path, array index
// included; toml itself says only which dotted name it was decoding.
func TestTypeMismatch(t *testing.T) {
	valid, err := os.ReadFile("../testdata/config/valid-minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, add, want string
	}{
		{"string for an array", "[openid_connect]\nid_token_signing_alg_values = \"RS256\"\n", "openid_connect.id_token_signing_alg_values: is a string; want an array"},
		{"integer for scopes", "[openid_connect]\nscopes = 1\n", "openid_connect.scopes: is an integer; want a string or an array of strings"},
		{"integer among scopes", "[openid_connect]\nscopes = [\"openid\", 2]\n", "openid_connect.scopes[1]: is an integer; want a string"},
		{"integer for a string in the second site", "[[sites]]\nname = \"b\"\nbase_url = \"https://b.example.com/\"\nupstream = 8080\n", "sites[1].upstream: is an integer; want a string"},
		{"string for an integer", "[limits]\nmax_header_bytes = \"1 MB\"\n", "limits.max_header_bytes: is a string; want an integer"},
		{"table for a duration", "[session.lifetime]\nhours = 8\n", "session.lifetime: is a table; want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(valid) + "\n" + tt.add
			if key, ok := strings.CutPrefix(tt.add, "[openid_connect]\n"); ok {
				src = strings.Replace(string(valid), "[openid_connect]\n", "[openid_connect]\n"+key, 1)
			}
			_, err := Parse([]byte(src), "t.toml")
			if err == nil || !strings.Contains(err.Error(), "t.toml: "+tt.want) {
				t.Errorf("Parse(%s) = %v; want %q", tt.name, err, "t.toml: "+tt.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	known := []string{"client_id", "client_secret", "client_secret_file", "scopes", "discovery_uri"}
	tests := []struct{ in, want string }{
		{"client_secrte", "client_secret"},
		{"clientSecretFile", "client_secret_file"},
		{"ClientId", "client_id"},
		{"scope", "scopes"},
		{"discovery", "discovery_uri"},
		{"listen", ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, known); got != tt.want {
			t.Errorf("closest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestExample loads config.example.toml with the variables its header
// documents, and checks that it documents every variable it uses.
func TestExample(t *testing.T) {
	const path = "../config.example.toml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(data), "\n\n")
	var values strings.Builder // the file without its comment lines
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			values.WriteString(line + "\n")
		}
	}
	used := regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(values.String(), -1)
	if len(used) == 0 {
		t.Errorf("%s reads no secret from the environment", path)
	}
	for _, m := range used {
		if !strings.Contains(header, m[1]) {
			t.Errorf("%s uses ${%s} but its header does not document it", path, m[1])
		}
	}
	env := map[string]string{
		"OIDCGATE_CLIENT_SECRET":       "example-client-secret",
		"OIDCGATE_COOKIE_KEY":          "1hlJQ7kiwQU5PBVI+41tp1zFVE6CJfabStVd0BXMu5V1GW3MnOst+5I+NvQDdTJwgMEtAxZ8ryLORFC19dQrQw==",
		"OIDCGATE_COOKIE_KEY_PREVIOUS": "CTq4fWXUhenGyPcm4c1jGDggFdbQoKura7djePOCfvqSBP92PWOQko6K-qw8znpPBFNesvkVxaFppI9pdPeo3A",
		"OIDCGATE_MAIL_CLIENT_SECRET":  "example-mail-secret",
	}
	for _, m := range used {
		if _, ok := env[m[1]]; !ok {
			t.Errorf("%s uses ${%s}; the test does not set it", path, m[1])
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%q) = %v", path, err)
	}
	names := []string{}
	for _, s := range cfg.Sites {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"Administration", "Flowtime"}) {
		t.Errorf("sites = %q; want Administration, Flowtime", names)
	}
	if cr, ok := cfg.Credential("mail"); !ok || cr.ClientSecret != "example-mail-secret" || cr.AuthenticationMethod != CredentialBody {
		t.Errorf("Credential(mail) = %+v, %v; want the body credential with the secret from the environment", cr, ok)
	}
	if len(cfg.Sites[1].Inject) != 1 {
		t.Errorf("Flowtime inject = %v; want one", cfg.Sites[1].Inject)
	}
}

// withSecret is minimal with a client secret.
var withSecret = strings.Replace(minimal, `client_id = "cora"`, `client_id = "cora"`+"\nclient_secret = \"x\"", 1)

func TestStoreSettings(t *testing.T) {
	cfg, err := Parse([]byte(withSecret), "minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Store{Kind: StoreMemory, KeyPrefix: "oidcgate:", Outage: OutageOpen, OutageGrace: Duration{Duration: 30 * time.Second}}
	if cfg.Store != want {
		t.Errorf("default [store] = %+v; want %+v", cfg.Store, want)
	}

	t.Chdir("..")
	cfg, err = Load("testdata/config/valid-redis-store.toml")
	if err != nil {
		t.Fatal(err)
	}
	want = Store{Kind: StoreRedis, URL: "rediss://oidcgate@redis.internal:6380/0", PasswordFile: "testdata/config/redis-password",
		Password: "redis-pw-for-tests", KeyPrefix: "cora-prod:", Outage: OutageClosed, OutageGrace: Duration{Duration: time.Minute}}
	if cfg.Store != want {
		t.Errorf("[store] = %+v; want %+v", cfg.Store, want)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	if strings.Contains(buf.String(), "redis-pw-for-tests") || !strings.Contains(buf.String(), `"password":"REDACTED"`) {
		t.Errorf("logged config = %s; want the store password REDACTED", buf.String())
	}
}

func TestStorePasswordInURLNeverShown(t *testing.T) {
	t.Setenv("OIDCGATE_T_REDIS", "redis://:Hunter2Secret@redis.internal:6379/x")
	_, err := Parse([]byte(withSecret+"[store]\nkind = \"redis\"\nurl = \"${OIDCGATE_T_REDIS}\"\n"), "store.toml")
	if err == nil || !strings.Contains(err.Error(), "database number") || strings.Contains(err.Error(), "Hunter2Secret") {
		t.Errorf("Parse() = %v; want the bad database named, the password not shown", err)
	}
	t.Setenv("OIDCGATE_T_REDIS", "redis://:Hunter2Secret@redis.internal:6379/0")
	cfg, err := Parse([]byte(withSecret+"[store]\nkind = \"redis\"\nurl = \"${OIDCGATE_T_REDIS}\"\n"), "store.toml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", cfg)
	if strings.Contains(buf.String(), "Hunter2Secret") {
		t.Errorf("logged config repeats the password in the URL: %s", buf.String())
	}
}

// TestOperatorKeys covers what an operator behind a load balancer writes:
// no [tls], trusted proxies, a private CA, scopes as a string in both
// places, clock_skew and shutdown_delay.
func TestOperatorKeys(t *testing.T) {
	dir := t.TempDir()
	certFile, _, err := testcert.Write(dir, time.Hour, "op.internal")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(minimal, "[tls]\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\n", "", 1)
	src = `trusted_proxies = ["10.0.0.0/8", "192.0.2.10", "2001:db8::/32"]` + src
	src = strings.Replace(src, `client_id = "cora"`, `client_id = "cora"
client_secret = "x"
scopes = "openid  profile email"
clock_skew = "30s"
ca_file = "`+certFile+`"`, 1) + `
[limits]
shutdown_delay = "0s"
[[credentials]]
name = "mail"
client_id = "m"
client_secret = "y"
token_endpoint = "https://op.example.com/token"
scopes = ["https://outlook.office365.com/.default", "offline_access"]
ca_file = "` + certFile + `"
`
	cfg, err := Parse([]byte(src), "lb.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OpenIDConnect
	var prefixes []string
	for _, p := range cfg.TrustedProxyPrefixes() {
		prefixes = append(prefixes, p.String())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"tls", cfg.TLS.Enabled(), false},
		{"trusted_proxies", strings.Join(prefixes, " "), "10.0.0.0/8 192.0.2.10/32 2001:db8::/32"},
		{"scopes (a string)", strings.Join(o.AllScopes(), " "), "openid profile email"},
		{"credential scopes (a list)", cfg.Credentials[0].Scopes.String(), "https://outlook.office365.com/.default offline_access"},
		{"clock_skew", o.ClockSkew.Duration, 30 * time.Second},
		{"shutdown_delay", cfg.Limits.ShutdownDelay.Duration, time.Duration(0)},
		{"ca_file read", o.RootCAs != nil, true},
		{"credential ca_file read", cfg.Credentials[0].RootCAs != nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestOperatorKeyErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, top, oidc, add, want string
	}{
		{"trusted proxy not an address", `trusted_proxies = ["10.0.0.0/33", "lb.internal"]`, "", "",
			`trusted_proxies[0]: "10.0.0.0/33" is not an IP address or CIDR prefix`},
		{"clock skew too large", "", `clock_skew = "2h"`, "",
			"openid_connect.clock_skew: 2h0m0s is more than an hour"},
		{"clock skew not a duration", "", `clock_skew = "5 minutes"`, "",
			`openid_connect.clock_skew: not a duration ("5 minutes")`},
		{"negative shutdown delay", "", "", "[limits]\nshutdown_delay = \"-1s\"\n",
			"limits.shutdown_delay: must not be negative"},
		{"ca_file missing", "", `ca_file = "` + filepath.Join(dir, "nope.pem") + `"`, "",
			"openid_connect.ca_file: stat " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"ca_file without certificates", "", `ca_file = "` + notPEM + `"`, "",
			"openid_connect.ca_file: " + notPEM + ": no PEM certificate"},
		{"key without cert", "", "", "[tls]\nkey_file = \"a.key\"\n", "tls.cert_file: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(minimal, "[tls]\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\n", "", 1)
			src = tt.top + "\n" + strings.Replace(src, `client_id = "cora"`, "client_id = \"cora\"\nclient_secret = \"x\"\n"+tt.oidc, 1) + tt.add
			_, err := Parse([]byte(src), "ops.toml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v; want %q", err, tt.want)
			}
		})
	}
}

package webconfig

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/oidcgate/oidcgate/config"
)

func convertFile(t *testing.T, name string) Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(data, name)
	if err != nil {
		t.Fatalf("Convert(%s) = %v", name, err)
	}
	return res
}

// TestConvert checks what each shape of web.config turns into: the lines
// that must be there, the warnings, and the secrets that must not be.
func TestConvert(t *testing.T) {
	tests := []struct {
		file     string
		lines    []string // each a whole line of the output
		warnings []string // each a substring of some warning
		secrets  []string // values of the web.config that must not appear
		todos    int
	}{
		{
			file: "administration-discovery.config",
			lines: []string{
				`discovery_kind = "OpenIdDiscoveryDocument"`,
				`discovery_uri = "https://login.microsoftonline.com/7f0e2c9a-1111-4222-8333-944455556666/v2.0/.well-known/openid-configuration"`,
				`client_id = "0c1d2e3f-aaaa-4bbb-8ccc-123456789abc"`,
				`client_secret = "${OIDCGATE_CLIENT_SECRET}"  # the web.config's clientSecret: set OIDCGATE_CLIENT_SECRET in the environment`,
				`token_request_authorization_method = "client_secret_post"`,
				`scopes = ["openid", "profile", "email"]  # not in the web.config; profile and email carry the claims most rules name`,
				`authorization_request_http_method = "POST"`,
				`keys = ["${OIDCGATE_COOKIE_KEY}"]  # make one with ` + "`oidcgate genkey`" + `; every replica needs the same`,
				`require_ssl = true  # <cookieHandler requireSsl>`,
				`sign_out_from_sts = true`,
				`claim_type = "upn"  # the web.config's http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn, as the ID token names it`,
				`original_issuer = "https://login.microsoftonline.com/7f0e2c9a-1111-4222-8333-944455556666/v2.0"`,
				`authentication_type = "Guests"`,
				`name = "Administration"`,
				`base_url = "https://cora.example.com/Administration/"`,
			},
			warnings: []string{"3 value(s) marked TODO"},
			secrets:  []string{"Adm1n-Secr3t~value.from.entra"},
			todos:    3,
		},
		{
			file: "flowtime-jwks-legacy-keys.config",
			lines: []string{
				`discovery_kind = "JsonWebKeySet"`,
				`discovery_uri = "https://example.okta.com/oauth2/default/v1/keys"`,
				`client_id = "0oa1b2c3d4E5f6G7h8i9"`,
				`token_request_authorization_method = "client_secret_basic"`,
				`id_token_signing_alg_values = ["RS256", "ES256"]`,
				`authorization_request_http_method = "GET"`,
				`force_reauthenticate = false`,
				`valid_issuer = "https://example.okta.com/oauth2/default"`,
				`authority = "https://example.okta.com/oauth2/default/v1/authorize"`,
				`token_endpoint = "https://example.okta.com/oauth2/default/v1/token"`,
				`logout_endpoint = "https://example.okta.com/oauth2/default/v1/logout"`,
				`# not carried over: <openIdConnect responseType="code">: oidcgate has no such setting`,
				`cookie_encryption_key = "${OIDCGATE_COOKIE_ENCRYPTION_KEY}"  # the web.config's cookieEncryptionKey: set OIDCGATE_COOKIE_ENCRYPTION_KEY in the environment`,
				`cookie_encryption_initialization_vector = "${OIDCGATE_COOKIE_ENCRYPTION_IV}"  # the web.config's cookieEncryptionInitializationVector: set OIDCGATE_COOKIE_ENCRYPTION_IV in the environment`,
				`sso_enabled = false`,
				`claim_type = "preferred_username"`,
				`authentication_type = "Okta"`,
				`name = "Flowtime"`,
				`base_url = "https://cora.example.com/Flowtime/"`,
			},
			warnings: []string{"flowtime-jwks-legacy-keys.config:7: <openIdConnect> attribute responseType is not carried over"},
			secrets:  []string{"okta-flowtime-secret-0123456789", "Abcdefghij0123456789KLMNOPqrst", "Zyxwvutsrq9876543210ABCDEfghij"},
			todos:    3,
		},
		{
			file: "flowtime-federation.config",
			lines: []string{
				`discovery_kind = "Federation"`,
				`discovery_uri = "https://adfs.example.com/FederationMetadata/2007-06/FederationMetadata.xml"`,
				`force_reauthenticate = true`,
				`valid_issuer = "https://adfs.example.com/adfs"`,
				`claim_type = "upn"`,
				`authentication_type = "ADFS"`,
				`name = "Flowtime"`,
			},
			secrets: []string{"adfs-Flowtime-Secret"},
			todos:   3,
		},
		{
			file: "administration-store.config",
			lines: []string{
				`discovery_kind = "Store"`,
				`name = "firstCertificate"`,
				`certificate_find_value = "0aaf6ec6b0a8550a6e6e4c85eb4123888cbec941"`,
				`name = "secondCertificate"`,
				`name = "fourthCertificate"`,
				`certificate_find_type = "FindBySubjectName"`,
				`certificate_find_value = "ADFS Signing - adfs.example.com"`,
				`certificate_location = ""  # TODO: the web.config says "CurrentUser" (a Windows certificate store): export the certificate as PEM into a file or folder on this machine and name it here`,
				`valid = true  # true: only certificates in their validity period whose chain verifies`,
				`claim_type = "email"  # the web.config's http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress, as the ID token names it`,
			},
			warnings: []string{"administration-store.config:20: <add> attribute storeName is not carried over"},
			secrets:  []string{"yourClientSecret"},
			todos:    6, // TLS pair, upstream, three certificate locations
		},
		{
			file: "bare-openidconnect.config",
			lines: []string{
				`token_request_authorization_method = ""  # TODO: the web.config does not say: "client_secret_basic" (HTTP Basic) or "client_secret_post" (form body), as registered at the provider`,
				`claim_type = ""  # TODO: the claim that names the user: email, upn, preferred_username, sub, …`,
				`base_url = ""  # TODO: the site's public address, such as https://cora.example.com/Administration/`,
			},
			warnings: []string{"no <claims> element", "no <audienceUris> entry"},
			secrets:  []string{`"kc"`},
			todos:    8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := convertFile(t, tt.file)
			lines := strings.Split(res.TOML, "\n")
			for _, want := range tt.lines {
				if !contains(lines, want) {
					t.Errorf("output has no line %q:\n%s", want, res.TOML)
				}
			}
			for _, want := range tt.warnings {
				if !strings.Contains(strings.Join(res.Warnings, "\n"), want) {
					t.Errorf("warnings %q; want one containing %q", res.Warnings, want)
				}
			}
			for _, s := range tt.secrets {
				if strings.Contains(res.TOML, s) || strings.Contains(strings.Join(res.Warnings, "\n"), s) {
					t.Errorf("the secret %q was copied into the output", s)
				}
			}
			if res.TODOs != tt.todos || strings.Count(res.TOML, "# TODO") != tt.todos {
				t.Errorf("TODOs = %d (%d in the text); want %d", res.TODOs, strings.Count(res.TOML, "# TODO"), tt.todos)
			}
			if strings.Contains(res.TOML, "thirdCertificate") || strings.Contains(res.TOML, "retired") {
				t.Error("a certificate that <remove> or <clear/> took out was carried over")
			}
		})
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// fills answers each TODO the way an operator would.
var fills = map[string]string{
	"cert_file":                          "/etc/oidcgate/tls/server.crt",
	"key_file":                           "/etc/oidcgate/tls/server.key",
	"upstream":                           "http://10.0.0.5:8080/Site/",
	"certificate_location":               "/etc/oidcgate/idp-certs",
	"token_request_authorization_method": "client_secret_basic",
	"claim_type":                         "email",
	"authentication_type":                "AzureAD",
	"name":                               "Administration",
	"base_url":                           "https://cora.example.com/Administration/",
}

var todoLine = regexp.MustCompile(`(?m)^(\w+) = ""  # TODO: .*$`)

// TestFilledOutputPassesCheck fills in every TODO, sets the variables the
// output names, and runs oidcgate's own configuration validation on it.
func TestFilledOutputPassesCheck(t *testing.T) {
	t.Setenv(EnvClientSecret, "from-the-environment")
	t.Setenv(EnvCookieKey, "1hlJQ7kiwQU5PBVI+41tp1zFVE6CJfabStVd0BXMu5V1GW3MnOst+5I+NvQDdTJwgMEtAxZ8ryLORFC19dQrQw==")
	t.Setenv(EnvLegacyKey, "Abcdefghij0123456789KLMNOPqrst")
	t.Setenv(EnvLegacyIV, "Zyxwvutsrq9876543210ABCDEfghij")
	files, _ := filepath.Glob("testdata/*.config")
	for _, path := range files {
		name := filepath.Base(path)
		if name == "forms-only.config" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			res := convertFile(t, name)
			if _, err := config.Parse([]byte(res.TOML), name); err == nil {
				t.Errorf("config.Parse accepted the output before its TODOs were filled in")
			}
			filled := todoLine.ReplaceAllStringFunc(res.TOML, func(line string) string {
				key := todoLine.FindStringSubmatch(line)[1]
				v, ok := fills[key]
				if !ok {
					t.Errorf("no answer for the TODO %q", line)
				}
				return key + ` = "` + v + `"`
			})
			if _, err := config.Parse([]byte(filled), name); err != nil {
				t.Errorf("config.Parse(filled output) = %v\n%s", err, filled)
			}
		})
	}
}

func TestNoOpenIDConnect(t *testing.T) {
	data, err := os.ReadFile("testdata/forms-only.config")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(data, "forms-only.config"); !errors.Is(err, ErrNoOpenIDConnect) {
		t.Errorf("Convert(forms-only.config) = %v; want ErrNoOpenIDConnect", err)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not XML", "client_id = 1", "no XML element found"},
		{"unclosed", "<configuration><openIdConnect clientId='a'>", "not well-formed XML"},
		{"UTF-16", "\xff\xfe<\x00c\x00", "UTF-16"},
		{"other encoding", `<?xml version="1.0" encoding="windows-1252"?><configuration/>`, `encoding "windows-1252"`},
		{"too deep", strings.Repeat("<a>", maxDepth+2), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert([]byte(tt.data), "web.config")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Convert(%q) = %v; want %q", tt.data, err, tt.want)
			}
		})
	}
}

// TestHostileValues: quotes, backslashes and newlines in attribute values
// stay inside their TOML strings and comments, and a byte order mark is
// accepted.
func TestHostileValues(t *testing.T) {
	src := "\xef\xbb\xbf" + `<configuration><openIdConnect discoveryKind="OpenIdDiscoveryDocument"
		discoveryUri="https://op.example.com/&quot;&#10;listen = &quot;:1&quot;"
		clientId="a\b${X}" clientSecret="x" mystery="line one&#10;[tls]" apiKey="do-not-print" /></configuration>`
	res, err := Convert([]byte(src), "web.config")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if _, err := toml.Decode(res.TOML, &v); err != nil {
		t.Fatalf("output is not TOML: %v\n%s", err, res.TOML)
	}
	if got := v["listen"]; got != ":8443" {
		t.Errorf("listen = %v; an attribute value escaped its string", got)
	}
	oidc := v["openid_connect"].(map[string]any)
	if got := oidc["discovery_uri"]; got != "https://op.example.com/\"\nlisten = \":1\"" {
		t.Errorf("discovery_uri = %q", got)
	}
	if got := oidc["client_id"]; got != `a\b${X}` {
		t.Errorf("client_id = %q", got)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), `client_id holds "${"`) {
		t.Errorf("warnings %q; want one about the ${ in client_id", res.Warnings)
	}
	if strings.Contains(res.TOML, "do-not-print") {
		t.Error("an unknown attribute named like a key was copied")
	}
	if !strings.Contains(res.TOML, `# not carried over: <openIdConnect mystery="line one\u000A[tls]">`) {
		t.Errorf("unknown attribute not kept as a one-line comment:\n%s", res.TOML)
	}
}

// Package testconfig writes oidcgate configuration files for tests, the
// benchmarks and the soak test: one TOML text with the documented keys, so
// every harness starts oidcgate the way an operator's file does.
package testconfig

import (
	"fmt"
	"strings"
)

// Site is one [[sites]] entry.
type Site struct {
	Name, BaseURL, Upstream string
}

// Options are the values a harness chooses; empty optional ones are left
// out of the file, so oidcgate's defaults apply.
type Options struct {
	Listen, AdminListen string
	TrustedProxies      []string
	CertFile, KeyFile   string // both empty: no [tls], plain HTTP

	DiscoveryURL           string // an OpenID discovery document
	ClientID, ClientSecret string
	TokenAuth              string // default "client_secret_basic"
	// AssertionKeyFile and AssertionCertificateFile: private_key_jwt's pair.
	AssertionKeyFile, AssertionCertificateFile string
	AuthorizationMethod                        string // "GET" or "POST"; default: oidcgate's (POST)

	Keys     []string // [session] keys
	Lifetime string   // default "8h"

	ClaimType          string // default "email"
	AuthenticationType string // default "Test"

	Sites []Site
	// Extra is appended as it is: more tables, [limits], [[credentials]].
	Extra string
}

// TOML is the configuration file's text.
func (o Options) TOML() string {
	var b strings.Builder
	line := func(key, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s = %q\n", key, value)
		}
	}
	line("listen", o.Listen)
	line("admin_listen", o.AdminListen)
	if len(o.TrustedProxies) > 0 {
		fmt.Fprintf(&b, "trusted_proxies = [%s]\n", quoteAll(o.TrustedProxies))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		b.WriteString("\n[tls]\n")
		line("cert_file", o.CertFile)
		line("key_file", o.KeyFile)
	}
	b.WriteString("\n[openid_connect]\ndiscovery_kind = \"OpenIdDiscoveryDocument\"\n")
	line("discovery_uri", o.DiscoveryURL)
	line("client_id", o.ClientID)
	line("client_secret", o.ClientSecret)
	line("token_request_authorization_method", or(o.TokenAuth, "client_secret_basic"))
	line("client_assertion_key_file", o.AssertionKeyFile)
	line("client_assertion_certificate_file", o.AssertionCertificateFile)
	line("authorization_request_http_method", o.AuthorizationMethod)
	b.WriteString("\n[session]\n")
	if len(o.Keys) > 0 {
		fmt.Fprintf(&b, "keys = [%s]\n", quoteAll(o.Keys))
	}
	line("lifetime", or(o.Lifetime, "8h"))
	b.WriteString("\n[authentication]\n[[authentication.claims]]\n")
	line("claim_type", or(o.ClaimType, "email"))
	line("authentication_type", or(o.AuthenticationType, "Test"))
	for _, s := range o.Sites {
		b.WriteString("\n[[sites]]\n")
		line("name", s.Name)
		line("base_url", s.BaseURL)
		line("upstream", s.Upstream)
	}
	if o.Extra != "" {
		b.WriteString("\n" + o.Extra)
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func quoteAll(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(quoted, ", ")
}

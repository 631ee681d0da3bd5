package demo

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// configValues fill the configuration template.
type configValues struct {
	Listen            string
	CertFile, KeyFile string
	Issuer            string
	ClientID, Secret  string
	SessionKey        string
	AuthType          string
	Force             bool
	Sites             []Site
}

// configText is the demo's configuration, written as an operator would
// write one, so that the file -write-config leaves behind explains itself.
// Values go through the toml function, which quotes them.
var configText = template.Must(template.New("config").Funcs(template.FuncMap{"toml": tomlString}).Parse(
	`# oidcgate configuration written by "oidcgate demo".
#
# As it stands it runs the demo: the OpenID provider and the sites'
# upstreams below exist only while "oidcgate demo" runs. To start a real
# deployment from it, change the lines marked CHANGE, then check it with
#   oidcgate check -config THIS_FILE -online
# config.example.toml explains every key. This file holds secrets (a cookie
# key, a client secret): keep it private, or read them from the environment.

# The public HTTPS listener. CHANGE: ":8443" listens on every interface.
listen = {{toml .Listen}}

# Optional: /healthz, /readyz and /metrics on a listener of their own.
# admin_listen = "127.0.0.1:9090"

[tls]
# A self-signed certificate made by the demo. CHANGE: your certificate chain
# and key (PEM); oidcgate reloads them when the files change.
cert_file = {{toml .CertFile}}
key_file  = {{toml .KeyFile}}

[openid_connect]
# CHANGE: your provider's discovery document, the client id it gave you,
# and the secret from the environment or a file, for example
#   client_secret = "${OIDCGATE_CLIENT_SECRET}"
#   client_secret_file = "/run/secrets/oidc-client-secret"
discovery_kind = "OpenIdDiscoveryDocument"
discovery_uri  = {{toml (print .Issuer "/.well-known/openid-configuration")}}
client_id      = {{toml .ClientID}}
client_secret  = {{toml .Secret}}
scopes         = ["openid", "profile", "email"]
token_request_authorization_method = "client_secret_basic"
# POST: the browser carries the authorization request in an auto-submitted
# form; "GET" sends it as a redirect.
authorization_request_http_method = "POST"
id_token_signing_alg_values = ["RS256"]
# true: the provider asks for the password on every sign-in (prompt=login),
# even when it still has a session.
force_reauthenticate = {{.Force}}

[session]
# Cookie keys: the first makes new cookies, every one listed is accepted.
# CHANGE: make your own with "oidcgate genkey", give every replica the same
# ones, and keep them out of this file, for example
#   keys = ["${OIDCGATE_COOKIE_KEY}"]
keys        = [{{toml .SessionKey}}]
lifetime    = "8h"
require_ssl = true

[authentication]
# One sign-in serves every site.
sso_enabled       = true
# Signing out of a site also ends the session at the provider, so the next
# visit asks for the password again.
sign_out_from_sts = true

# Who gets in: the first rule that matches wins; nobody else does.
# At the demo's provider only accounts of the organisation carry a "upn"
# claim, so alice gets in and bob, a partner account, sees "Access denied".
# CHANGE: the claim that names users at your provider (email,
# preferred_username, upn, sub, ...), its issuer, and the authentication
# type your sites expect (for example "AzureAD").
[[authentication.claims]]
claim_type          = "upn"
original_issuer     = {{toml .Issuer}}
authentication_type = {{toml .AuthType}}
{{range .Sites}}
# CHANGE: the address users open, and where the site really runs. Register
# {{.URL}}oidcServices/signinresponse
# at the provider as a redirect URI, and base_url as a post-logout one.
[[sites]]
name     = {{toml .Name}}
base_url = {{toml .URL}}
upstream = {{toml .Upstream}}
{{end}}
[limits]
# One replica and no load balancer to drain: stop at once. CHANGE: behind a
# load balancer, leave this out (5s), or make it longer than the load
# balancer takes to notice /readyz answering 503.
shutdown_delay = "0s"
`))

func configTOML(v configValues) ([]byte, error) {
	var b bytes.Buffer
	if err := configText.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("demo: configuration template: %w", err)
	}
	return b.Bytes(), nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

package config

import (
	"log/slog"
	"net/url"
)

// The LogValue methods let a Config be logged whole: secrets print as
// REDACTED, and cookie keys only as a count.

func redacted(secret string) slog.Value {
	if secret == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("REDACTED")
}

func (c *Config) LogValue() slog.Value {
	sites := make([]slog.Attr, 0, len(c.Sites))
	for _, s := range c.Sites {
		sites = append(sites, slog.Group(s.Name, "base_url", s.RawBaseURL, "upstream", s.RawUpstream))
	}
	creds := make([]slog.Attr, 0, len(c.Credentials))
	for _, cr := range c.Credentials {
		creds = append(creds, slog.Any(cr.Name, cr))
	}
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("admin_listen", c.AdminListen),
		slog.Group("tls", "cert_file", c.TLS.CertFile, "key_file", c.TLS.KeyFile),
		slog.Any("openid_connect", c.OpenIDConnect),
		slog.Any("session", c.Session),
		slog.Any("store", c.Store),
		slog.Attr{Key: "sites", Value: slog.GroupValue(sites...)},
		slog.Attr{Key: "credentials", Value: slog.GroupValue(creds...)},
	)
}

func (o OpenIDConnect) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("discovery_kind", string(o.DiscoveryKind)),
		slog.String("discovery_uri", o.DiscoveryURI),
		slog.String("client_id", o.ClientID),
		slog.Attr{Key: "client_secret", Value: redacted(o.ClientSecret)},
		slog.String("client_secret_file", o.ClientSecretFile),
		slog.Any("scopes", o.AllScopes()),
		slog.String("token_request_authorization_method", string(o.TokenRequestAuthorizationMethod)),
		slog.String("client_assertion_key_file", o.ClientAssertionKeyFile),
		slog.String("client_assertion_certificate_file", o.ClientAssertionCertificateFile),
		slog.String("client_assertion_alg", o.ClientAssertionAlg),
		slog.String("authorization_request_http_method", string(o.AuthorizationRequestHTTPMethod)),
		slog.String("response_mode", string(o.ResponseMode)),
		slog.Any("id_token_signing_alg_values", o.IDTokenSigningAlgValues),
		slog.String("valid_issuer", o.ValidIssuer),
		slog.String("authority", o.Authority),
		slog.String("token_endpoint", o.TokenEndpoint),
		slog.String("logout_endpoint", o.LogoutEndpoint),
		slog.Int("identity_provider_certificates", len(o.IdentityProviderCertificates)),
	)
}

func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("keys", len(s.Keys)),
		slog.Bool("legacy_key", s.CookieEncryptionKey != ""),
		slog.String("lifetime", s.Lifetime.String()),
		slog.String("cookie_name", s.CookieName),
		slog.Bool("require_ssl", s.RequireSSL),
	)
}

func (s Store) LogValue() slog.Value {
	u := s.URL
	if p, err := url.Parse(s.URL); err == nil {
		u = p.Redacted()
	} else if s.URL != "" {
		u = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("kind", string(s.Kind)),
		slog.String("url", u),
		slog.String("password_file", s.PasswordFile),
		slog.Attr{Key: "password", Value: redacted(s.Password)},
		slog.String("key_prefix", s.KeyPrefix),
		slog.String("outage", string(s.Outage)),
		slog.String("outage_grace", s.OutageGrace.String()),
	)
}

func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("client_id", c.ClientID),
		slog.Attr{Key: "client_secret", Value: redacted(c.ClientSecret)},
		slog.String("client_secret_file", c.ClientSecretFile),
		slog.String("token_endpoint", c.TokenEndpoint),
		slog.String("scopes", c.Scopes.String()),
		slog.String("authentication_method", string(c.AuthenticationMethod)),
		slog.String("client_assertion_key_file", c.ClientAssertionKeyFile),
		slog.String("client_assertion_certificate_file", c.ClientAssertionCertificateFile),
		slog.String("client_assertion_alg", c.ClientAssertionAlg),
	)
}

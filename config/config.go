// Package config reads oidcgate's TOML configuration file.
//
// Load decodes the file, expands ${ENV} references, reads *_file secrets,
// fills defaults and validates the result, reporting every problem at once,
// each with its key path and, where known, its line. Only this package knows
// TOML; the rest of oidcgate takes the values it holds.
package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole file.
type Config struct {
	Listen         string         `toml:"listen"`          // public listener, host:port: HTTPS, or plain HTTP without [tls]
	AdminListen    string         `toml:"admin_listen"`    // optional: health and metrics
	TrustedProxies []string       `toml:"trusted_proxies"` // optional: addresses or CIDR prefixes; see TrustedProxyPrefixes
	TLS            TLS            `toml:"tls"`
	OpenIDConnect  OpenIDConnect  `toml:"openid_connect"`
	Session        Session        `toml:"session"`
	Store          Store          `toml:"store"`
	Authentication Authentication `toml:"authentication"`
	Sites          []Site         `toml:"sites"`
	Credentials    []Credential   `toml:"credentials"`
	Limits         Limits         `toml:"limits"`
	// StripHeaders are removed from every forwarded request, besides the
	// identity headers and the headers other frameworks trust.
	StripHeaders []string `toml:"strip_headers"`

	file string // the name given to Parse, for messages
}

// TLS names the public listener's certificate and key (PEM files). It is
// optional: without it (see Enabled) the public listener speaks plain HTTP
// and TLS must end at a load balancer in front.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Enabled reports whether the public listener terminates TLS itself.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// OpenIDConnect describes the OpenID provider and this client at it.
type OpenIDConnect struct {
	DiscoveryKind                   DiscoveryKind   `toml:"discovery_kind"`
	DiscoveryURI                    string          `toml:"discovery_uri"`
	ClientID                        string          `toml:"client_id"`
	ClientSecret                    string          `toml:"client_secret"`      // after Load, also when read from ClientSecretFile
	ClientSecretFile                string          `toml:"client_secret_file"` // optional alternative to ClientSecret
	Scopes                          Scopes          `toml:"scopes"`             // see AllScopes
	TokenRequestAuthorizationMethod TokenAuthMethod `toml:"token_request_authorization_method"`
	ClientAssertionKeyFile          string          `toml:"client_assertion_key_file"`         // private_key_jwt: PEM private key, RSA or EC P-256
	ClientAssertionCertificateFile  string          `toml:"client_assertion_certificate_file"` // optional: its certificate, for the x5t header
	ClientAssertionAlg              string          `toml:"client_assertion_alg"`              // optional: RS256 | PS256 | ES256
	AuthorizationRequestHTTPMethod  HTTPMethod      `toml:"authorization_request_http_method"`
	ResponseMode                    ResponseMode    `toml:"response_mode"`
	IDTokenSigningAlgValues         []string        `toml:"id_token_signing_alg_values"`
	ForceReauthenticate             bool            `toml:"force_reauthenticate"`
	ValidIssuer                     string          `toml:"valid_issuer"`
	Authority                       string          `toml:"authority"` // the authorization endpoint
	TokenEndpoint                   string          `toml:"token_endpoint"`
	LogoutEndpoint                  string          `toml:"logout_endpoint"`
	IdentityProviderCertificates    []Certificate   `toml:"identity_provider_certificates"`
	CAFile                          string          `toml:"ca_file"`    // optional: more CAs to trust for the provider's TLS
	ClockSkew                       Duration        `toml:"clock_skew"` // leeway for exp, iat and nbf (default 5m)

	// RootCAs is the system's roots plus ca_file's certificates, read by
	// Load; nil without ca_file (the system's roots).
	RootCAs *x509.CertPool `toml:"-"`
}

// Certificate locates one of the provider's signing certificates (Store).
type Certificate struct {
	Name      string   `toml:"name"`
	FindType  FindType `toml:"certificate_find_type"`
	FindValue string   `toml:"certificate_find_value"`
	Location  string   `toml:"certificate_location"` // a PEM file or a folder of PEM/DER files
	Valid     bool     `toml:"valid"`                // true: refuse a certificate whose chain does not verify or that has expired
}

// Session configures the session cookie.
type Session struct {
	Keys                                 []string `toml:"keys"` // base64 of 64 bytes each; the first signs, all are accepted
	CookieEncryptionKey                  string   `toml:"cookie_encryption_key"`
	CookieEncryptionInitializationVector string   `toml:"cookie_encryption_initialization_vector"`
	Lifetime                             Duration `toml:"lifetime"`
	CookieName                           string   `toml:"cookie_name"`
	RequireSSL                           bool     `toml:"require_ssl"`
}

// Store is [store]: the state the replicas share (revocation marks,
// single-use login states).
type Store struct {
	Kind         StoreKind `toml:"kind"`
	URL          string    `toml:"url"`           // kind = "redis": redis://, rediss:// or unix://
	PasswordFile string    `toml:"password_file"` // optional
	// Password is read from PasswordFile by Load; a password may also be
	// in URL.
	Password    string     `toml:"-"`
	KeyPrefix   string     `toml:"key_prefix"`
	Outage      OutageMode `toml:"outage"`
	OutageGrace Duration   `toml:"outage_grace"`
}

// Authentication says who may sign in and where the sign-in pages live.
type Authentication struct {
	SSOEnabled      bool        `toml:"sso_enabled"`
	SignOutFromSTS  bool        `toml:"sign_out_from_sts"`
	LoginURL        string      `toml:"login_url"` // "~/…" is relative to each site's base path; see Site.Resolve
	LogoutURL       string      `toml:"logout_url"`
	AccessDeniedURL string      `toml:"access_denied_url"`
	Claims          []ClaimRule `toml:"claims"`
}

// ClaimRule maps a verified token to a user: the first rule that matches wins.
type ClaimRule struct {
	ClaimType          string `toml:"claim_type"`
	OriginalIssuer     string `toml:"original_issuer"` // optional
	AuthenticationType string `toml:"authentication_type"`
}

// Site is one web site behind the proxy.
type Site struct {
	Name        string   `toml:"name"`
	RawBaseURL  string   `toml:"base_url"` // see BaseURL
	RawUpstream string   `toml:"upstream"` // see Upstream
	Inject      []Inject `toml:"inject"`
}

// Inject attaches a credential's access token to requests sent upstream.
type Inject struct {
	Credential string `toml:"credential"` // a Credential's Name
	Header     string `toml:"header"`     // receives "Bearer <access token>"
}

// Credential is an OAuth 2.0 client-credentials client.
type Credential struct {
	Name                 string           `toml:"name"`
	ClientID             string           `toml:"client_id"`
	ClientSecret         string           `toml:"client_secret"`
	ClientSecretFile     string           `toml:"client_secret_file"`
	TokenEndpoint        string           `toml:"token_endpoint"`
	Scopes               Scopes           `toml:"scopes"` // a list, or one space-delimited string
	AuthenticationMethod CredentialMethod `toml:"authentication_method"`
	CAFile               string           `toml:"ca_file"` // optional: more CAs to trust for the token endpoint's TLS
	// As under [openid_connect], for private_key_jwt.
	ClientAssertionKeyFile         string `toml:"client_assertion_key_file"`
	ClientAssertionCertificateFile string `toml:"client_assertion_certificate_file"`
	ClientAssertionAlg             string `toml:"client_assertion_alg"`

	RootCAs *x509.CertPool `toml:"-"` // as OpenIDConnect.RootCAs
}

// Limits bound what clients, upstreams and outbound calls may cost.
type Limits struct {
	ReadHeaderTimeout             Duration `toml:"read_header_timeout"`
	ReadTimeout                   Duration `toml:"read_timeout"`
	WriteTimeout                  Duration `toml:"write_timeout"`
	IdleTimeout                   Duration `toml:"idle_timeout"`
	MaxHeaderBytes                int      `toml:"max_header_bytes"`
	MaxCallbackBodyBytes          int64    `toml:"max_callback_body_bytes"`
	UpstreamDialTimeout           Duration `toml:"upstream_dial_timeout"`
	UpstreamResponseHeaderTimeout Duration `toml:"upstream_response_header_timeout"`
	OutboundTimeout               Duration `toml:"outbound_timeout"` // discovery, keys, token and userinfo calls
	// ShutdownDelay is how long, after SIGTERM, /readyz answers 503 while
	// the listeners keep serving, so a load balancer drains the replica.
	ShutdownDelay Duration `toml:"shutdown_delay"`
}

// Load reads the file at path; see Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a configuration, expands ${ENV} references, reads the
// client_secret_file secrets, fills defaults and validates. name is used in
// messages. The error joins every problem found; the Config is nil then.
func Parse(data []byte, name string) (*Config, error) {
	c := &Config{file: name}
	// Booleans whose default is true cannot be told apart from false after
	// decoding, so they are set before.
	c.Session.RequireSSL = true
	c.Authentication.SSOEnabled = true

	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, decodeError(name, data, err)
	}
	// The same file as plain maps and slices, to name a key's array
	// element ("sites[1].upstrem"): toml's key names leave it out.
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, decodeError(name, data, err)
	}
	loadErrs, meant := c.unknownKeys(md.Undecoded(), raw)
	loadErrs = append(loadErrs, c.expandEnv(os.LookupEnv)...)
	loadErrs = append(loadErrs, c.readSecretFiles()...)
	loadErrs = append(loadErrs, c.readCAFiles()...)
	loadErrs = append(loadErrs, c.checkClientKeys(time.Now())...)
	c.setDefaults(md)

	// A key that could not be loaded is not validated as well: "required"
	// after "environment variable X is not set", or after "client_secrte:
	// unknown key (did you mean client_secret?)", says nothing new.
	failed := map[string]bool{}
	for _, k := range meant {
		failed[normalizeKey(k)] = true
	}
	for _, e := range loadErrs {
		if fe, ok := e.(*Error); ok {
			failed[normalizeKey(fe.Key)] = true
		}
	}
	errs := loadErrs
	for _, e := range c.problems() {
		if !failed[normalizeKey(e.Key)] {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// setDefaults fills what the file left out. Keys the file sets, even to a
// zero value, are left for Validate to judge.
func (c *Config) setDefaults(md toml.MetaData) {
	defined := func(key ...string) bool { return md.IsDefined(key...) }

	o := &c.OpenIDConnect
	if o.AuthorizationRequestHTTPMethod == "" {
		o.AuthorizationRequestHTTPMethod = MethodPost
	}
	if o.ResponseMode == "" {
		o.ResponseMode = ResponseModeQuery
	}
	if len(o.Scopes) == 0 {
		o.Scopes = Scopes{"openid"}
	}
	if !defined("openid_connect", "clock_skew") {
		o.ClockSkew = Duration{Duration: 5 * time.Minute}
	}
	if !defined("openid_connect", "id_token_signing_alg_values") {
		o.IDTokenSigningAlgValues = []string{"RS256"}
	}

	s := &c.Session
	if !defined("session", "lifetime") {
		s.Lifetime = Duration{Duration: 8 * time.Hour}
	}
	if !defined("session", "cookie_name") {
		s.CookieName = "oidcgate"
	}

	st := &c.Store
	if st.Kind == "" {
		st.Kind = StoreMemory
	}
	if !defined("store", "key_prefix") {
		st.KeyPrefix = "oidcgate:"
	}
	if st.Outage == "" {
		st.Outage = OutageOpen
	}
	if !defined("store", "outage_grace") {
		st.OutageGrace = Duration{Duration: 30 * time.Second}
	}

	a := &c.Authentication
	if !defined("authentication", "login_url") {
		a.LoginURL = "~/oidcServices/Signininitiation"
	}
	if !defined("authentication", "logout_url") {
		a.LogoutURL = "~/oidcServices/SignOutInitiation"
	}
	if !defined("authentication", "access_denied_url") {
		a.AccessDeniedURL = "~/AccessDenied.aspx"
	}

	for i := range c.Sites {
		for j := range c.Sites[i].Inject {
			if c.Sites[i].Inject[j].Header == "" {
				c.Sites[i].Inject[j].Header = "Authorization"
			}
		}
	}
	for i := range c.Credentials {
		if c.Credentials[i].AuthenticationMethod == "" {
			c.Credentials[i].AuthenticationMethod = CredentialBasic
		}
	}

	l := &c.Limits
	durations := []struct {
		key string
		d   *Duration
		def time.Duration
	}{
		{"read_header_timeout", &l.ReadHeaderTimeout, 10 * time.Second},
		{"read_timeout", &l.ReadTimeout, 60 * time.Second},
		{"write_timeout", &l.WriteTimeout, 120 * time.Second},
		{"idle_timeout", &l.IdleTimeout, 120 * time.Second},
		{"upstream_dial_timeout", &l.UpstreamDialTimeout, 10 * time.Second},
		{"upstream_response_header_timeout", &l.UpstreamResponseHeaderTimeout, 60 * time.Second},
		{"outbound_timeout", &l.OutboundTimeout, 10 * time.Second},
	}
	for _, d := range durations {
		if !defined("limits", d.key) {
			*d.d = Duration{Duration: d.def}
		}
	}
	if !defined("limits", "shutdown_delay") {
		l.ShutdownDelay = Duration{Duration: 5 * time.Second}
	}
	if !defined("limits", "max_header_bytes") {
		l.MaxHeaderBytes = 64 << 10
	}
	if !defined("limits", "max_callback_body_bytes") {
		l.MaxCallbackBodyBytes = 64 << 10
	}
}

// Credential returns the credential called name.
func (c *Config) Credential(name string) (Credential, bool) {
	i := slices.IndexFunc(c.Credentials, func(cr Credential) bool { return cr.Name == name })
	if i < 0 {
		return Credential{}, false
	}
	return c.Credentials[i], true
}

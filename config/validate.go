package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/claims"
	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/provider"
)

// Validate reports every problem with the configuration at once, joined,
// each an *Error prefixed by its key path. It changes nothing and reads no
// files: whether the TLS and certificate files exist is for the server to
// find out.
func (c *Config) Validate() error {
	var errs []error
	for _, e := range c.problems() {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// problems lists what Validate reports.
func (c *Config) problems() []*Error {
	v := &validator{c: c}
	v.listeners()
	v.trustedProxies()
	v.tls()
	v.openIDConnect()
	v.session()
	v.store()
	v.authentication()
	v.sites()
	v.credentials()
	v.limits()
	v.stripHeaders()
	return v.errs
}

type validator struct {
	c    *Config
	errs []*Error
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, v.c.errorf(key, format, args...))
}

func (v *validator) required(key, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(key, "required")
		return false
	}
	return true
}

func (v *validator) listeners() {
	c := v.c
	if v.required("listen", c.Listen) {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			v.add("listen", `must be host:port, such as ":8443"`)
		}
	}
	if c.AdminListen != "" {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			v.add("admin_listen", `must be host:port, such as "127.0.0.1:9090"`)
		} else if c.AdminListen == c.Listen {
			v.add("admin_listen", "must differ from listen: health and metrics never share the public listener")
		}
	}
}

// tls accepts both files or neither: without [tls] the listener speaks
// plain HTTP behind a load balancer that terminates TLS (check warns).
func (v *validator) tls() {
	if !v.c.TLS.Enabled() {
		return
	}
	v.required("tls.cert_file", v.c.TLS.CertFile)
	v.required("tls.key_file", v.c.TLS.KeyFile)
}

func (v *validator) trustedProxies() {
	for i, s := range v.c.TrustedProxies {
		if _, ok := parsePrefix(s); !ok {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), `%q is not an IP address or CIDR prefix, such as "10.0.0.0/8" or "192.0.2.10"`, s)
		}
	}
}

func (v *validator) openIDConnect() {
	const p = "openid_connect."
	o := v.c.OpenIDConnect

	kind := o.DiscoveryKind
	if v.required(p+"discovery_kind", string(kind)) {
		v.enum(p+"discovery_kind", string(kind), discoveryKinds)
	}
	if kind != DiscoveryStore && v.required(p+"discovery_uri", o.DiscoveryURI) {
		v.httpsURL(p+"discovery_uri", o.DiscoveryURI)
	}
	v.required(p+"client_id", o.ClientID)
	v.clientAuth(p, clientAuth{
		methodKey: "token_request_authorization_method", method: string(o.TokenRequestAuthorizationMethod), known: tokenAuthMethods,
		secret: o.ClientSecret, secretFile: o.ClientSecretFile,
		keyFile: o.ClientAssertionKeyFile, certFile: o.ClientAssertionCertificateFile, alg: o.ClientAssertionAlg,
	})
	for i, s := range o.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			v.add(fmt.Sprintf(p+"scopes[%d]", i), "must be one scope, without spaces")
		}
	}
	if v.required(p+"token_request_authorization_method", string(o.TokenRequestAuthorizationMethod)) {
		v.enum(p+"token_request_authorization_method", string(o.TokenRequestAuthorizationMethod), tokenAuthMethods)
	}
	v.enum(p+"authorization_request_http_method", string(o.AuthorizationRequestHTTPMethod), httpMethods)
	v.enum(p+"response_mode", string(o.ResponseMode), responseModes)

	if len(o.IDTokenSigningAlgValues) == 0 {
		v.add(p+"id_token_signing_alg_values", "must list at least one algorithm, such as \"RS256\"")
	}
	for i, alg := range o.IDTokenSigningAlgValues {
		key := fmt.Sprintf(p+"id_token_signing_alg_values[%d]", i)
		switch {
		case strings.EqualFold(alg, "none"):
			v.add(key, `"none" is refused: an unsigned ID token proves nothing, anyone could forge one`)
		case !slices.Contains(provider.SigningAlgorithms(), alg):
			v.enum(key, alg, provider.SigningAlgorithms())
		}
	}

	switch skew := o.ClockSkew; {
	case skew.text != "":
		v.add(p+"clock_skew", "%s", skew.problem())
	case skew.Duration < 0:
		v.add(p+"clock_skew", "must not be negative")
	case skew.Duration > time.Hour:
		v.add(p+"clock_skew", "%s is more than an hour: fix the clocks (NTP) instead; tokens would stay valid that much longer", skew)
	}

	// Without a discovery document nothing else can name the issuer and
	// the endpoints.
	if kind == DiscoveryJWKS || kind == DiscoveryFederation || kind == DiscoveryStore {
		for _, f := range []struct{ key, value string }{
			{"valid_issuer", o.ValidIssuer},
			{"authority", o.Authority},
			{"token_endpoint", o.TokenEndpoint},
		} {
			if strings.TrimSpace(f.value) == "" {
				v.add(p+f.key, "required when discovery_kind is %q", kind)
			}
		}
	}
	for _, f := range []struct{ key, value string }{
		{"authority", o.Authority},
		{"token_endpoint", o.TokenEndpoint},
		{"logout_endpoint", o.LogoutEndpoint},
	} {
		if f.value != "" {
			v.httpsURL(p+f.key, f.value)
		}
	}

	certs := p + "identity_provider_certificates"
	switch {
	case kind == DiscoveryStore && len(o.IdentityProviderCertificates) == 0:
		v.add(certs, `at least one [[openid_connect.identity_provider_certificates]] is required when discovery_kind is "Store"`)
	case kind != DiscoveryStore && len(o.IdentityProviderCertificates) > 0 && slices.Contains(discoveryKinds, string(kind)):
		v.add(certs, `only used when discovery_kind is "Store"`)
	}
	names := map[string]int{}
	for i, cert := range o.IdentityProviderCertificates {
		v.certificate(fmt.Sprintf("%s[%d]", certs, i), cert, names, i)
	}
}

func (v *validator) certificate(key string, cert Certificate, names map[string]int, i int) {
	if v.required(key+".name", cert.Name) {
		v.unique(key+".name", cert.Name, names, i, "certificate")
	}
	if v.required(key+".certificate_find_type", string(cert.FindType)) {
		v.enum(key+".certificate_find_type", string(cert.FindType), findTypes)
	}
	if v.required(key+".certificate_find_value", cert.FindValue) && cert.FindType == FindByThumbprint {
		if msg := thumbprintProblem(cert.FindValue); msg != "" {
			v.add(key+".certificate_find_value", "%s", msg)
		}
	}
	v.required(key+".certificate_location", cert.Location)
}

// thumbprintProblem explains what keeps s from being a SHA-1 thumbprint.
// Certificate dialogs on Windows often copy an invisible mark in front of
// it, which is worth naming.
func thumbprintProblem(s string) string {
	hex := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == ':' {
			return -1
		}
		return r
	}, s)
	if strings.ContainsAny(hex, "\u200e\u200f\ufeff") {
		return "contains an invisible character (often copied from the Windows certificate dialog); retype the thumbprint"
	}
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return "a thumbprint is 40 hexadecimal digits (spaces ignored); it contains other characters"
		}
	}
	if len(hex) != 40 {
		return fmt.Sprintf("a thumbprint is 40 hexadecimal digits (spaces ignored); got %d", len(hex))
	}
	return ""
}

func (v *validator) session() {
	const p = "session."
	s := v.c.Session
	legacy := s.CookieEncryptionKey != "" || s.CookieEncryptionInitializationVector != ""
	if len(s.Keys) > 0 && legacy {
		v.add("session", "set keys, or cookie_encryption_key with cookie_encryption_initialization_vector, not both")
	}
	for i, k := range s.Keys {
		if msg := keyProblem(k); msg != "" {
			v.add(fmt.Sprintf(p+"keys[%d]", i), "%s", msg)
		}
	}
	if legacy {
		for _, f := range []struct{ key, value string }{
			{"cookie_encryption_key", s.CookieEncryptionKey},
			{"cookie_encryption_initialization_vector", s.CookieEncryptionInitializationVector},
		} {
			if f.value == "" {
				v.add(p+f.key, "required with the other of cookie_encryption_key and cookie_encryption_initialization_vector")
			} else if msg := legacyProblem(f.value); msg != "" {
				v.add(p+f.key, "%s", msg)
			}
		}
	}
	if msg := s.Lifetime.problem(); msg != "" {
		v.add(p+"lifetime", "%s", msg)
	}
	if !isToken(s.CookieName) {
		v.add(p+"cookie_name", "must be a cookie name: letters, digits and !#$%%&'*+-.^_`|~, not empty")
	}
}

func (v *validator) store() {
	const p = "store."
	st := v.c.Store
	v.enum(p+"kind", string(st.Kind), storeKinds)
	v.enum(p+"outage", string(st.Outage), outageModes)
	// Zero is allowed: with outage = "closed", refuse at once.
	if g := st.OutageGrace; g.text != "" || g.Duration < 0 {
		if msg := g.problem(); msg != "" {
			v.add(p+"outage_grace", "%s", msg)
		}
	}
	if len(st.KeyPrefix) > 64 || strings.ContainsFunc(st.KeyPrefix, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		v.add(p+"key_prefix", "must be at most 64 characters, without spaces or control characters")
	}
	if st.Kind != StoreRedis {
		if st.URL != "" {
			v.add(p+"url", `only with kind = "redis"`)
		}
		if st.PasswordFile != "" {
			v.add(p+"password_file", `only with kind = "redis"`)
		}
		return
	}
	if !v.required(p+"url", st.URL) {
		return
	}
	if msg := storeURLProblem(st.URL); msg != "" {
		v.add(p+"url", "%s", msg)
	}
}

// storeURLProblem explains what keeps raw from being a Redis URL. It
// never repeats a password.
func storeURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL; write redis://host:6379/0, rediss://host:6380/0 (TLS) or unix:///run/redis/redis.sock"
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			return fmt.Sprintf("%s needs a host: %s://host:port/db", u.Redacted(), u.Scheme)
		}
		if db := strings.Trim(u.Path, "/"); db != "" && !isDigits(db) {
			return fmt.Sprintf("%s: the path must be a database number, such as /0", u.Redacted())
		}
	case "unix":
		if u.Path == "" {
			return fmt.Sprintf("%s needs a socket path: unix:///run/redis/redis.sock", u.Redacted())
		}
	default:
		return fmt.Sprintf("%s: scheme must be redis, rediss (TLS) or unix", u.Redacted())
	}
	return ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// keyProblem explains what keeps s from being a cookie key. It never
// repeats the key.
func keyProblem(s string) string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 64 {
				return fmt.Sprintf("decodes to %d bytes; a key is 64 bytes of base64 (make one with: oidcgate genkey)", len(b))
			}
			return ""
		}
	}
	return "not base64; a key is 64 bytes of base64 (make one with: oidcgate genkey)"
}

// legacyProblem checks one of the web.config's 30-character cookie values
// without repeating it.
func legacyProblem(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "must be 30 letters or digits; it contains other characters"
		}
	}
	if len(s) != 30 {
		return fmt.Sprintf("must be exactly 30 letters or digits; got %d", len(s))
	}
	return ""
}

func (v *validator) authentication() {
	const p = "authentication."
	a := v.c.Authentication
	for _, f := range []struct{ key, value string }{
		{"login_url", a.LoginURL},
		{"logout_url", a.LogoutURL},
		{"access_denied_url", a.AccessDeniedURL},
	} {
		if !strings.HasPrefix(f.value, "~/") && !strings.HasPrefix(f.value, "/") || strings.HasPrefix(f.value, "//") {
			v.add(p+f.key, `must start with "~/" (the site's base path) or "/"`)
		}
	}
	if len(a.Claims) == 0 {
		v.add(p+"claims", "at least one [[authentication.claims]] rule is required: without a rule nobody gets in")
	}
	for i, r := range a.Claims {
		key := fmt.Sprintf(p+"claims[%d]", i)
		v.required(key+".claim_type", r.ClaimType)
		v.required(key+".authentication_type", r.AuthenticationType)
	}
}

// forbiddenInject are headers a credential's token must not be put in
// besides those the proxy vouches for (claims.IsProxyHeader): what routing
// and framing need.
var forbiddenInject = []string{"cookie", "host", "connection", "content-length", "transfer-encoding"}

func (v *validator) sites() {
	c := v.c
	if len(c.Sites) == 0 {
		v.add("sites", "at least one [[sites]] is required")
	}
	names := map[string]int{}
	prefixes := map[string]int{}
	for i, s := range c.Sites {
		key := fmt.Sprintf("sites[%d]", i)
		if v.required(key+".name", s.Name) {
			v.unique(key+".name", s.Name, names, i, "site")
		}
		if v.required(key+".base_url", s.RawBaseURL) && v.baseURL(key+".base_url", s.RawBaseURL) {
			u := s.BaseURL()
			host := strings.TrimSuffix(strings.ToLower(u.Host), ":443")
			prefix := host + strings.ToLower(u.Path)
			if j, dup := prefixes[prefix]; dup {
				v.add(key+".base_url", "same host and path as sites[%d] (%s); each site needs its own", j, c.Sites[j].Name)
			} else {
				prefixes[prefix] = i
			}
		}
		if v.required(key+".upstream", s.RawUpstream) {
			v.upstream(key+".upstream", s.RawUpstream)
		}
		headers := map[string]int{}
		for j, in := range s.Inject {
			v.inject(fmt.Sprintf("%s.inject[%d]", key, j), in, headers, j)
		}
	}
}

func (v *validator) baseURL(key, raw string) bool {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Scheme != "https":
		v.add(key, `must be an absolute https URL, such as "https://cora.example.com/Administration/"`)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		v.add(key, "must be scheme, host and path only: no user, query or fragment")
	case !strings.HasSuffix(u.Path, "/"):
		v.add(key, `must end with "/": write %q`, raw+"/")
	default:
		return true
	}
	return false
}

func (v *validator) upstream(key, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		v.add(key, `must be an absolute http(s) URL, such as "http://10.0.0.5:8080/Administration/"`)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		v.add(key, "must be scheme, host and path only: no user, query or fragment")
	case !strings.HasSuffix(u.Path, "/"):
		// The site's base path is replaced by this path: without the slash,
		// /Administration/page would be forwarded as "page" or "/apppage".
		v.add(key, `must end with "/" (the path requests are forwarded under): write %q`, raw+"/")
	}
}

func (v *validator) inject(key string, in Inject, headers map[string]int, j int) {
	if v.required(key+".credential", in.Credential) {
		if _, ok := v.c.Credential(in.Credential); !ok {
			msg := "no [[credentials]] entry has this name"
			var names []string
			for _, cr := range v.c.Credentials {
				names = append(names, cr.Name)
			}
			if hint := closest(in.Credential, names); hint != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", hint)
			}
			v.add(key+".credential", "%s", msg)
		}
	}
	h := in.Header
	norm := strings.ReplaceAll(strings.ToLower(h), "_", "-")
	switch {
	case !isToken(h):
		v.add(key+".header", "must be a header name: letters, digits and !#$%%&'*+-.^_`|~")
	case claims.IsProxyHeader(h) || slices.Contains(forbiddenInject, norm):
		v.add(key+".header", "%s is set or removed by the proxy itself; choose another header", h)
	default:
		if k, dup := headers[norm]; dup {
			v.add(key+".header", "inject[%d] already sets this header", k)
		} else {
			headers[norm] = j
		}
	}
}

// framing are the headers a forwarded request cannot do without.
var framing = []string{"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "content-type"}

func (v *validator) stripHeaders() {
	for i, h := range v.c.StripHeaders {
		key := fmt.Sprintf("strip_headers[%d]", i)
		norm := strings.ReplaceAll(strings.ToLower(h), "_", "-")
		switch {
		case !isToken(h):
			v.add(key, "must be a header name: letters, digits and !#$%%&'*+-.^_`|~")
		case slices.Contains(framing, norm):
			v.add(key, "%s carries the request itself and cannot be removed", h)
		}
	}
}

func (v *validator) credentials() {
	names := map[string]int{}
	for i, cr := range v.c.Credentials {
		key := credentialKey(i, cr.Name)
		if v.required(fmt.Sprintf("credentials[%d].name", i), cr.Name) {
			v.unique(key+".name", cr.Name, names, i, "credential")
		}
		v.required(key+".client_id", cr.ClientID)
		v.clientAuth(key+".", clientAuth{
			methodKey: "authentication_method", method: string(cr.AuthenticationMethod), known: credentialMethods,
			secret: cr.ClientSecret, secretFile: cr.ClientSecretFile,
			keyFile: cr.ClientAssertionKeyFile, certFile: cr.ClientAssertionCertificateFile, alg: cr.ClientAssertionAlg,
		})
		if v.required(key+".token_endpoint", cr.TokenEndpoint) {
			v.httpsURL(key+".token_endpoint", cr.TokenEndpoint)
		}
		if len(cr.Scopes) == 0 {
			v.add(key+".scopes", "required")
		}
		v.enum(key+".authentication_method", string(cr.AuthenticationMethod), credentialMethods)
	}
}

// clientAuth is how a client authenticates at a token endpoint, as
// written under [openid_connect] or in a [[credentials]] entry.
type clientAuth struct {
	methodKey, method      string
	known                  []string // the method's valid spellings
	secret, secretFile     string
	keyFile, certFile, alg string
}

// hs256MinSecret is the shortest secret go-jose takes as an HS256 key.
const hs256MinSecret = 32

func (v *validator) clientAuth(p string, a clientAuth) {
	withKey := a.method == string(PrivateKeyJWT)
	switch {
	case a.secret != "":
		if a.method == string(ClientSecretJWT) && len(a.secret) < hs256MinSecret {
			v.add(p+"client_secret", "client_secret_jwt signs with the secret as an HS256 key, which must be at least %d bytes; this one has %d", hs256MinSecret, len(a.secret))
		}
	case a.secretFile != "":
		v.add(p+"client_secret_file", "no secret was read from the file")
	case !withKey:
		v.add(p+"client_secret", "required (or client_secret_file)")
	}
	if !slices.Contains(a.known, a.method) {
		return // the method itself is reported
	}
	if !withKey {
		for _, f := range []struct{ key, value string }{
			{"client_assertion_key_file", a.keyFile},
			{"client_assertion_certificate_file", a.certFile},
			{"client_assertion_alg", a.alg},
		} {
			if f.value != "" {
				v.add(p+f.key, "only used when %s is \"private_key_jwt\"", a.methodKey)
			}
		}
		return
	}
	if strings.TrimSpace(a.keyFile) == "" {
		v.add(p+"client_assertion_key_file", "required when %s is \"private_key_jwt\" (make a key pair with: oidcgate gencert -out DIR)", a.methodKey)
	}
	if a.alg != "" {
		v.enum(p+"client_assertion_alg", a.alg, clientauth.Algorithms)
	}
}

func (v *validator) limits() {
	const p = "limits."
	l := v.c.Limits
	for _, d := range []struct {
		key string
		d   Duration
	}{
		{"read_header_timeout", l.ReadHeaderTimeout},
		{"read_timeout", l.ReadTimeout},
		{"write_timeout", l.WriteTimeout},
		{"idle_timeout", l.IdleTimeout},
		{"upstream_dial_timeout", l.UpstreamDialTimeout},
		{"upstream_response_header_timeout", l.UpstreamResponseHeaderTimeout},
		{"outbound_timeout", l.OutboundTimeout},
	} {
		if msg := d.d.problem(); msg != "" {
			v.add(p+d.key, "%s", msg)
		}
	}
	switch d := l.ShutdownDelay; {
	case d.text != "":
		v.add(p+"shutdown_delay", "%s", d.problem())
	case d.Duration < 0:
		v.add(p+"shutdown_delay", "must not be negative (0s: close the listeners at once)")
	}
	if l.MaxHeaderBytes <= 0 {
		v.add(p+"max_header_bytes", "must be greater than zero")
	}
	if l.MaxCallbackBodyBytes <= 0 {
		v.add(p+"max_callback_body_bytes", "must be greater than zero")
	}
}

// enum reports a value that is not one of known, with the closest.
func (v *validator) enum(key, value string, known []string) {
	if slices.Contains(known, value) {
		return
	}
	msg := fmt.Sprintf("%q is not one of %s", value, strings.Join(known, ", "))
	if hint := closest(value, known); hint != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", hint)
	}
	v.add(key, "%s", msg)
}

// unique reports a name already used by an earlier element; names differing
// only in case count as the same, as they would to a reader.
func (v *validator) unique(key, name string, seen map[string]int, i int, what string) {
	k := strings.ToLower(name)
	if j, dup := seen[k]; dup {
		v.add(key, "another %s (index %d) is already called %q", what, j, name)
		return
	}
	seen[k] = i
}

// httpsURL reports a URL the proxy must not send secrets or trust keys
// through: anything but https, except on the loopback interface where a
// development provider runs.
func (v *validator) httpsURL(key, raw string) {
	const want = "must be an absolute https URL (http is allowed only for the loopback hosts 127.0.0.1, localhost and ::1)"
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		v.add(key, want)
	case u.User != nil:
		v.add(key, "must not hold a user name or password")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		v.add(key, want)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isToken reports whether s is an RFC 9110 token, the syntax of header
// and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

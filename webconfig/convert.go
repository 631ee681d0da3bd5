// Package webconfig turns the OpenID Connect settings of a Cora SeQuence
// site's web.config into an oidcgate configuration.
//
// It reads the <openIdConnect> node (with its identityProviderCertificates),
// the <claims> element of <authentication> with its claim rules, the
// <cookieHandler requireSsl> setting and the audience URIs that name the
// site's address. Attribute names are matched without regard to case, as
// .NET configuration matches them. Whatever cannot be carried over becomes
// a "# TODO" line in the output (with an empty value, so that `oidcgate
// check` refuses the file until it is filled in) and a warning; secrets are
// never copied, only named as ${ENV} references.
package webconfig

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ErrNoOpenIDConnect is returned for a file without an <openIdConnect> node.
var ErrNoOpenIDConnect = errors.New("no <openIdConnect> node: this web.config does not use the OpenID Connect module")

// The environment variables the output reads its secrets from.
const (
	EnvClientSecret = "OIDCGATE_CLIENT_SECRET"
	EnvCookieKey    = "OIDCGATE_COOKIE_KEY"
	EnvLegacyKey    = "OIDCGATE_COOKIE_ENCRYPTION_KEY"
	EnvLegacyIV     = "OIDCGATE_COOKIE_ENCRYPTION_IV"
)

// Result is the converted configuration.
type Result struct {
	TOML     string   // an oidcgate configuration file
	Warnings []string // what the operator should know: values not carried over, TODOs
	TODOs    int      // values the operator must fill in
	Env      []string // environment variables the file reads (secrets)
}

// Convert reads a web.config. name is the file's name, for the output's
// header and the warnings.
func Convert(data []byte, name string) (Result, error) {
	root, err := parse(data)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	oidc := root.find("openIdConnect")
	if oidc == nil {
		return Result{}, fmt.Errorf("%s: %w", name, ErrNoOpenIDConnect)
	}
	c := &converter{name: name}
	c.w.literalDollar = func(key string) {
		c.warn(0, "%s holds \"${\", which oidcgate reads as an environment variable reference; check the value", key)
	}
	c.header()
	c.listener()
	c.openIDConnect(oidc)
	c.session(oidc, root)
	c.authentication(root)
	c.sites(root)
	if c.w.todos > 0 {
		c.warn(0, "%d value(s) marked TODO must be filled in before `oidcgate check` accepts the file", c.w.todos)
	}
	return Result{TOML: c.w.b.String(), Warnings: c.warnings, TODOs: c.w.todos, Env: c.env}, nil
}

type converter struct {
	name     string
	w        writer
	warnings []string
	env      []string
}

func (c *converter) warn(line int, format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	if line > 0 {
		msg = fmt.Sprintf("%s:%d: %s", c.name, line, msg)
	}
	c.warnings = append(c.warnings, msg)
}

// secretRef writes key = "${NAME}" for a secret the web.config holds; the
// value itself is never written.
func (c *converter) secretRef(key, env, what string) {
	c.env = append(c.env, env)
	c.w.set(key, "${"+env+"}", "the web.config's "+what+": set "+env+" in the environment")
}

func (c *converter) header() {
	w := &c.w
	w.comment("oidcgate configuration imported from %s by `oidcgate import-webconfig`.", c.name)
	w.comment("Fill in every value marked TODO, set the environment variables named in the")
	w.comment("comments (secrets are never copied from the web.config), then run")
	w.comment("  oidcgate check -config FILE")
	w.comment("config.example.toml explains every key.")
	w.blank()
}

func (c *converter) listener() {
	w := &c.w
	w.set("listen", ":8443", "the public listener; IIS served the site on 443")
	w.blank()
	w.line("[tls]")
	w.comment("The certificate and key IIS served the site with, exported as PEM. Without [tls] the")
	w.comment("listener speaks plain HTTP, for a load balancer in front that ends TLS.")
	w.todo("cert_file", "the certificate chain (PEM), e.g. /etc/oidcgate/tls/server.crt")
	w.todo("key_file", "its private key (PEM), e.g. /etc/oidcgate/tls/server.key")
	w.blank()
}

// oidcAttrs are the <openIdConnect> attributes carried over, lower case.
var oidcAttrs = []string{
	"discoverykind", "discoveryuri", "clientid", "clientsecret", "validissuer", "authority",
	"tokenendpoint", "logoutendpoint", "tokenrequestauthorizationmethod", "idtokensigningalgvalues",
	"authorizationrequesthttpmethod", "forcereauthenticate",
	// read by session()
	"cookieencryptionkey", "cookieencryptioninitializationvector",
}

var discoveryKinds = []string{"OpenIdDiscoveryDocument", "JsonWebKeySet", "Federation", "Store"}

func (c *converter) openIDConnect(e *element) {
	w := &c.w
	w.line("[openid_connect]")
	get := func(name string) string { v, _ := e.attr(name); return strings.TrimSpace(v) }

	kind := canonical(get("discoveryKind"), discoveryKinds)
	switch {
	case kind == "" && get("discoveryKind") == "":
		w.todo("discovery_kind", `the web.config names no discoveryKind; "OpenIdDiscoveryDocument" with a discovery_uri is the usual choice`)
	case kind == "":
		c.warn(e.line, "discoveryKind %q is not one of %s", get("discoveryKind"), strings.Join(discoveryKinds, ", "))
		w.todo("discovery_kind", fmt.Sprintf("the web.config says %q; choose one of %s", get("discoveryKind"), strings.Join(discoveryKinds, ", ")))
	default:
		w.set("discovery_kind", kind, "")
	}

	uri := get("discoveryUri")
	switch {
	case kind == "Store" && uri != "":
		w.comment("discovery_uri %s is not used with Store: the keys are the certificates below", quote(uri))
	case kind == "Store":
	case uri != "":
		w.set("discovery_uri", uri, "")
	default:
		w.todo("discovery_uri", "the web.config has no discoveryUri: the discovery document, JWKS or metadata URL")
	}

	if id := get("clientId"); id != "" {
		w.set("client_id", id, "")
	} else {
		w.todo("client_id", "the web.config has no clientId: the application's id at the provider")
	}
	if _, ok := e.attr("clientSecret"); ok {
		c.secretRef("client_secret", EnvClientSecret, "clientSecret")
	} else {
		c.secretRef("client_secret", EnvClientSecret, "clientSecret is missing; the client secret registered at the provider")
		c.warn(e.line, "<openIdConnect> has no clientSecret; set %s to the secret registered at the provider", EnvClientSecret)
	}

	// The module's settings name no scopes; without profile and email most
	// providers leave out the claims (upn, email, preferred_username) the
	// claims rules match on, and everyone is denied.
	w.setRaw("scopes", quoteList([]string{"openid", "profile", "email"}), "not in the web.config; profile and email carry the claims most rules name")

	methods := []string{"client_secret_basic", "client_secret_post"}
	switch m := get("tokenRequestAuthorizationMethod"); {
	case m == "":
		w.todo("token_request_authorization_method", `the web.config does not say: "client_secret_basic" (HTTP Basic) or "client_secret_post" (form body), as registered at the provider`)
	case canonical(m, methods) == "":
		c.warn(e.line, "tokenRequestAuthorizationMethod %q is not client_secret_basic or client_secret_post", m)
		w.todo("token_request_authorization_method", fmt.Sprintf(`the web.config says %q; write "client_secret_basic" or "client_secret_post"`, m))
	default:
		w.set("token_request_authorization_method", canonical(m, methods), "")
	}

	if v := get("idTokenSigningAlgValues"); v != "" {
		var algs []string
		for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
			if strings.EqualFold(a, "none") {
				c.warn(e.line, `idTokenSigningAlgValues lists "none": left out, oidcgate never accepts unsigned ID tokens`)
				continue
			}
			algs = append(algs, a)
		}
		if len(algs) > 0 {
			w.setRaw("id_token_signing_alg_values", quoteList(algs), "")
		}
	}

	switch m := get("authorizationRequestHttpMethod"); {
	case m == "":
		w.comment(`authorization_request_http_method: not in the web.config; the default is "POST", as there`)
	case canonical(m, []string{"POST", "GET"}) == "":
		c.warn(e.line, "authorizationRequestHttpMethod %q is not POST or GET; left at the default, POST", m)
		w.comment("authorization_request_http_method: the web.config's %s is not POST or GET; the default POST applies", quote(m))
	default:
		w.set("authorization_request_http_method", canonical(m, []string{"POST", "GET"}), "")
	}

	if v := get("forceReauthenticate"); v != "" {
		switch strings.ToLower(v) {
		case "true":
			w.setRaw("force_reauthenticate", "true", "")
		case "false":
			w.setRaw("force_reauthenticate", "false", "")
		default:
			c.warn(e.line, "forceReauthenticate %q is not true or false; left at the default, false", v)
			w.comment("force_reauthenticate: the web.config's %s is not true or false; the default false applies", quote(v))
		}
	}

	// Without a discovery document the issuer and endpoints come from here.
	needed := kind != "" && kind != "OpenIdDiscoveryDocument"
	for _, f := range []struct{ attr, key, what string }{
		{"validIssuer", "valid_issuer", "the issuer (iss) of the provider's tokens"},
		{"authority", "authority", "the provider's authorization endpoint"},
		{"tokenEndpoint", "token_endpoint", "the provider's token endpoint"},
	} {
		switch v := get(f.attr); {
		case v != "":
			w.set(f.key, v, "")
		case needed:
			w.todo(f.key, fmt.Sprintf("required with %s and not in the web.config: %s", kind, f.what))
		}
	}
	if v := get("logoutEndpoint"); v != "" {
		w.set("logout_endpoint", v, "")
	}
	c.unknown(e, oidcAttrs)

	if certs := e.child("identityProviderCertificates"); certs != nil {
		c.certificates(certs, kind)
	} else if kind == "Store" {
		w.blank()
		w.line("[[openid_connect.identity_provider_certificates]]")
		w.todo("name", "Store needs at least one certificate and the web.config lists none")
		w.todo("certificate_find_type", `"FindByThumbprint" or "FindBySubjectName"`)
		w.todo("certificate_find_value", "the thumbprint or subject name")
		w.todo("certificate_location", "a PEM file or a folder of PEM/DER certificates")
	}
	w.blank()
}

var certAttrs = []string{"name", "certificatefindtype", "certificatefindvalue", "certificatelocation", "valid"}

func (c *converter) certificates(e *element, kind string) {
	w := &c.w
	adds := e.collection("name")
	if kind != "Store" {
		if len(adds) > 0 {
			c.warn(e.line, "identityProviderCertificates is only used with discoveryKind Store; its %d certificate(s) are left as comments", len(adds))
			w.comment("identityProviderCertificates (only used with discovery_kind Store):")
			for _, a := range adds {
				fv, _ := a.attr("certificateFindValue")
				ft, _ := a.attr("certificateFindType")
				w.comment("  %s %s", ft, quote(fv))
			}
		}
		return
	}
	for i, a := range adds {
		get := func(name string) string { v, _ := a.attr(name); return strings.TrimSpace(v) }
		w.blank()
		w.line("[[openid_connect.identity_provider_certificates]]")
		if n := get("name"); n != "" {
			w.set("name", n, "")
		} else {
			w.set("name", fmt.Sprintf("certificate%d", i+1), "the web.config gave none")
		}
		ft := canonical(get("certificateFindType"), []string{"FindByThumbprint", "FindBySubjectName"})
		switch {
		case ft != "":
			w.set("certificate_find_type", ft, "")
		case get("certificateFindType") == "":
			w.todo("certificate_find_type", `"FindByThumbprint" or "FindBySubjectName"`)
		default:
			c.warn(a.line, "certificateFindType %q: oidcgate finds certificates by thumbprint or subject name only", get("certificateFindType"))
			w.todo("certificate_find_type", fmt.Sprintf(`the web.config says %q; oidcgate knows "FindByThumbprint" and "FindBySubjectName"`, get("certificateFindType")))
		}
		if v := get("certificateFindValue"); v != "" {
			w.set("certificate_find_value", v, "")
		} else {
			w.todo("certificate_find_value", "the thumbprint or subject name")
		}
		loc := get("certificateLocation")
		if loc == "" {
			loc = "LocalMachine"
		}
		w.todo("certificate_location", fmt.Sprintf("the web.config says %s (a Windows certificate store): export the certificate as PEM into a file or folder on this machine and name it here", quote(loc)))
		switch v := strings.ToLower(get("valid")); v {
		case "true", "false":
			w.setRaw("valid", v, "true: only certificates in their validity period whose chain verifies")
		case "":
		default:
			c.warn(a.line, "valid %q is not true or false; left at the default, false", get("valid"))
		}
		c.unknown(a, certAttrs)
	}
}

func (c *converter) session(oidc, root *element) {
	w := &c.w
	w.line("[session]")
	_, hasKey := oidc.attr("cookieEncryptionKey")
	_, hasIV := oidc.attr("cookieEncryptionInitializationVector")
	if hasKey || hasIV {
		w.comment("The web.config's cookie key pair (Cora SeQuence before 9.6). Every replica needs the same pair;")
		w.comment("`oidcgate genkey` keys (keys = [...]) are the better choice once all replicas run oidcgate.")
		if hasKey {
			c.secretRef("cookie_encryption_key", EnvLegacyKey, "cookieEncryptionKey")
		} else {
			c.warn(oidc.line, "cookieEncryptionInitializationVector without cookieEncryptionKey")
			w.todo("cookie_encryption_key", "the web.config has an initialization vector but no cookieEncryptionKey: 30 letters or digits")
		}
		if hasIV {
			c.secretRef("cookie_encryption_initialization_vector", EnvLegacyIV, "cookieEncryptionInitializationVector")
		} else {
			c.warn(oidc.line, "cookieEncryptionKey without cookieEncryptionInitializationVector")
			w.todo("cookie_encryption_initialization_vector", "the web.config has a cookieEncryptionKey but no initialization vector: 30 letters or digits")
		}
	} else {
		c.env = append(c.env, EnvCookieKey)
		w.setRaw("keys", quoteList([]string{"${" + EnvCookieKey + "}"}), "make one with `oidcgate genkey`; every replica needs the same")
	}
	if h := root.find("cookieHandler"); h != nil {
		switch v, _ := h.attr("requireSsl"); strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			w.setRaw("require_ssl", "true", "<cookieHandler requireSsl>")
		case "false":
			c.warn(h.line, "requireSsl=\"false\": cookies without Secure can leak over plain HTTP; consider true")
			w.setRaw("require_ssl", "false", "<cookieHandler requireSsl>; true is safer")
		case "":
		default:
			c.warn(h.line, "requireSsl %q is not true or false; left at the default, true", v)
		}
		c.unknown(h, []string{"requiressl", "name", "path", "domain", "hideFromScript", "persistentSessionLifetime"})
	}
	w.blank()
}

var claimsAttrs = []string{"enabled", "signoutfromsts", "ssoenabled", "loginurl", "logouturl", "accessdeniedurl"}
var ruleAttrs = []string{"claimtype", "originalissuer", "authenticationtype"}

// claimsElement finds <claims> inside an <authentication> element: the
// settings of Cora SeQuence's claims authentication provider.
func claimsElement(e *element) *element {
	if strings.EqualFold(e.name, "authentication") {
		if c := e.child("claims"); c != nil {
			return c
		}
	}
	for _, ch := range e.children {
		if f := claimsElement(ch); f != nil {
			return f
		}
	}
	return nil
}

func (c *converter) authentication(root *element) {
	w := &c.w
	w.line("[authentication]")
	cl := claimsElement(root)
	if cl == nil {
		c.warn(0, "no <claims> element under <authentication>: the defaults apply and a claims rule must be written")
		w.comment("The web.config has no <claims> element; the defaults apply.")
		w.blank()
		w.line("[[authentication.claims]]")
		w.todo("claim_type", "the claim that names the user: email, upn, preferred_username, sub, …")
		w.todo("authentication_type", "the Cora SeQuence authentication type of these users")
		w.blank()
		return
	}
	get := func(name string) string { v, _ := cl.attr(name); return strings.TrimSpace(v) }
	if strings.EqualFold(get("enabled"), "false") {
		c.warn(cl.line, `<claims enabled="false">: this site does not use claims authentication; the rules are carried over anyway`)
	}
	for _, b := range []struct{ attr, key string }{
		{"ssoEnabled", "sso_enabled"},
		{"signoutFromSts", "sign_out_from_sts"},
	} {
		switch v := strings.ToLower(get(b.attr)); v {
		case "true", "false":
			w.setRaw(b.key, v, "")
		case "":
		default:
			c.warn(cl.line, "%s %q is not true or false; left at the default", b.attr, get(b.attr))
		}
	}
	for _, u := range []struct{ attr, key string }{
		{"loginUrl", "login_url"},
		{"logoutUrl", "logout_url"},
		{"accessDeniedUrl", "access_denied_url"},
	} {
		if v := get(u.attr); v != "" {
			w.set(u.key, v, "")
		}
	}
	c.unknown(cl, claimsAttrs)

	rules := cl.collection("claimType")
	if len(rules) == 0 {
		c.warn(cl.line, "<claims> has no <add claimType=…> rule: nobody could sign in")
		w.blank()
		w.line("[[authentication.claims]]")
		w.todo("claim_type", "the claim that names the user: email, upn, preferred_username, sub, …")
		w.todo("authentication_type", "the Cora SeQuence authentication type of these users")
	}
	for _, r := range rules {
		get := func(name string) string { v, _ := r.attr(name); return strings.TrimSpace(v) }
		w.blank()
		w.line("[[authentication.claims]]")
		switch ct := get("claimType"); {
		case ct == "":
			w.todo("claim_type", "the web.config rule has no claimType: the claim that names the user")
		default:
			if n, mapped := claimName(ct); mapped {
				w.set("claim_type", n, "the web.config's "+ct+", as the ID token names it")
			} else {
				w.set("claim_type", n, "")
			}
		}
		if v := get("originalIssuer"); v != "" {
			w.set("original_issuer", v, "")
		}
		if v := get("authenticationType"); v != "" {
			w.set("authentication_type", v, "")
		} else {
			w.todo("authentication_type", "the web.config rule has no authenticationType: the Cora SeQuence authentication type of these users")
		}
		c.unknown(r, ruleAttrs)
	}
	w.blank()
}

// sites writes one [[sites]] per audience URI: the web.config names the
// site's address there (system.identityModel's audienceUris).
func (c *converter) sites(root *element) {
	w := &c.w
	var urls []string
	if a := root.find("audienceUris"); a != nil {
		for _, add := range a.collection("value") {
			if v, _ := add.attr("value"); strings.TrimSpace(v) != "" {
				urls = append(urls, strings.TrimSpace(v))
			}
		}
	}
	w.comment("One [[sites]] per site: add the other site's (Administration or Flowtime) from its own web.config.")
	if len(urls) == 0 {
		c.warn(0, "no <audienceUris> entry names the site's address: write base_url by hand")
		w.line("[[sites]]")
		w.todo("name", `"Administration" or "Flowtime"`)
		w.todo("base_url", "the site's public address, such as https://cora.example.com/Administration/")
		w.todo("upstream", "where the site now listens, such as http://10.0.0.5:8080/Administration/")
		return
	}
	seen := map[string]bool{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Host == "" {
			c.warn(0, "audience URI %q is not an absolute URL; left out", raw)
			continue
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		base := u.Scheme + "://" + u.Host + u.EscapedPath()
		if seen[strings.ToLower(base)] {
			continue
		}
		seen[strings.ToLower(base)] = true
		name := siteName(u)
		w.blank()
		w.line("[[sites]]")
		w.set("name", name, "")
		w.set("base_url", base, "")
		w.todo("upstream", fmt.Sprintf("where the %s site now listens behind oidcgate, such as http://10.0.0.5:8080%s", name, u.EscapedPath()))
		if u.Scheme != "https" {
			c.warn(0, "audience URI %q is not https; oidcgate serves sites over https only", raw)
		}
	}
}

// siteName names a site after the last segment of its path, which for
// Cora SeQuence is "Administration" or "Flowtime".
func siteName(u *url.URL) string {
	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	if len(segs) == 0 {
		return u.Hostname()
	}
	last := segs[len(segs)-1]
	for _, known := range []string{"Administration", "Flowtime"} {
		if strings.EqualFold(last, known) {
			return known
		}
	}
	return last
}

// unknown turns every attribute oidcgate does not read into a comment and
// a warning, so nothing is dropped without a word. A value whose name
// suggests a secret is not repeated.
func (c *converter) unknown(e *element, known []string) {
	for _, a := range e.attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" || a.Name.Space != "" {
			continue
		}
		if slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, a.Name.Local) }) {
			continue
		}
		v := quote(a.Value)
		lower := strings.ToLower(a.Name.Local)
		if strings.Contains(lower, "secret") || strings.Contains(lower, "password") || strings.Contains(lower, "key") {
			v = "(value not copied: it may be a secret)"
		}
		c.w.comment("not carried over: <%s %s=%s>: oidcgate has no such setting", e.name, a.Name.Local, v)
		c.warn(e.line, "<%s> attribute %s is not carried over: oidcgate has no such setting", e.name, a.Name.Local)
	}
}

// canonical returns the known value s names, case ignored, or "".
func canonical(s string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(strings.TrimSpace(s), k) {
			return k
		}
	}
	return ""
}

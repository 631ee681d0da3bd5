package provider

import (
	"encoding/json"
	"fmt"
	"strings"
)

// discoveryDoc holds the fields of an OpenID discovery document we use.
type discoveryDoc struct {
	Issuer        string   `json:"issuer"`
	Authorization string   `json:"authorization_endpoint"`
	Token         string   `json:"token_endpoint"`
	UserInfo      string   `json:"userinfo_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	EndSession    string   `json:"end_session_endpoint"`
	Algorithms    []string `json:"id_token_signing_alg_values_supported"`
}

func parseDiscovery(body []byte, url string) (discoveryDoc, error) {
	var d discoveryDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return discoveryDoc{}, fmt.Errorf("provider: discovery document %s: %w%s", url, err, discoveryHint(url, body))
	}
	if d.Issuer == "" {
		return discoveryDoc{}, fmt.Errorf("provider: discovery document %s: no issuer%s", url, discoveryHint(url, body))
	}
	if d.JWKSURI == "" {
		return discoveryDoc{}, fmt.Errorf("provider: discovery document %s: no jwks_uri", url)
	}
	return d, nil
}

// discoveryHint names the two usual mistakes behind a discovery_uri that
// holds no discovery document: a key set's URL, or the issuer's URL.
func discoveryHint(url string, body []byte) string {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if body != nil && json.Unmarshal(body, &probe) == nil && len(probe.Keys) > 0 {
		return `: this is a JSON Web Key Set; set discovery_kind = "JsonWebKeySet" (with valid_issuer, authority and token_endpoint), or discovery_uri to the provider's /.well-known/openid-configuration`
	}
	if !strings.Contains(url, "/.well-known/") {
		return fmt.Sprintf(": discovery_uri names no discovery document; if it is the issuer, try %s/.well-known/openid-configuration", strings.TrimSuffix(url, "/"))
	}
	return ""
}

// endpoints merges the discovered endpoints with the configured ones, which win.
func (d discoveryDoc) endpoints(o Options) (Endpoints, error) {
	e := Endpoints{
		Issuer:        or(o.Issuer, d.Issuer),
		Authorization: or(o.AuthorizationURL, d.Authorization),
		Token:         or(o.TokenURL, d.Token),
		UserInfo:      or(o.UserInfoURL, d.UserInfo),
		EndSession:    or(o.EndSessionURL, d.EndSession),
		Keys:          d.JWKSURI,
	}
	if e.Authorization == "" || e.Token == "" {
		return Endpoints{}, fmt.Errorf("provider: discovery document %s: no authorization_endpoint or token_endpoint, and none configured", o.URL)
	}
	return e, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

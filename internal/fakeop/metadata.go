package fakeop

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// fetchable answers the common part of the metadata endpoints: method check,
// counting, and the failure switch. It reports whether to go on.
func (op *OP) fetchable(w http.ResponseWriter, r *http.Request, count *int, fail *int) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	op.mu.Lock()
	*count++
	status := *fail
	op.mu.Unlock()
	if status != 0 {
		http.Error(w, "fakeop: failing on purpose", status)
		return false
	}
	return true
}

func (op *OP) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if !op.fetchable(w, r, &op.stats.DiscoveryFetches, &op.failDiscovery) {
		return
	}
	e := op.Endpoints()
	authMethods := []string{ClientSecretBasic, ClientSecretPost}
	if op.opts.TokenAuthMethod != "" {
		authMethods = []string{op.opts.TokenAuthMethod}
	}
	doc := map[string]any{
		"issuer":                                e.Issuer,
		"authorization_endpoint":                e.Authorization,
		"token_endpoint":                        e.Token,
		"userinfo_endpoint":                     e.UserInfo,
		"jwks_uri":                              e.JWKS,
		"end_session_endpoint":                  e.EndSession,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "form_post"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{op.opts.Algorithm},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": authMethods,
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "name", "email", "preferred_username", "groups"},
		"prompt_values_supported":               []string{"none", "login"},
		"request_parameter_supported":           false,
	}
	op.mu.Lock()
	mutate := op.mutateDiscovery
	op.mu.Unlock()
	if mutate != nil {
		mutate(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func (op *OP) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !op.fetchable(w, r, &op.stats.JWKSFetches, &op.failJWKS) {
		return
	}
	op.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range op.publishedLocked() {
		set.Keys = append(set.Keys, k.jwk())
	}
	op.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// serveFederationMetadata answers a WS-Federation metadata document shaped
// like Entra ID's: the SAML metadata namespace by default, a fed: security
// token service role and a SAML IdP role, each with the signing certificates
// in xmldsig KeyInfo elements. Unlike Entra ID's, the document is not signed.
func (op *OP) serveFederationMetadata(w http.ResponseWriter, r *http.Request) {
	if !op.fetchable(w, r, &op.stats.FederationFetches, &op.failFederation) {
		return
	}
	op.mu.Lock()
	var certs []string
	for _, k := range op.publishedLocked() {
		certs = append(certs, base64.StdEncoding.EncodeToString(k.cert.Raw))
	}
	op.mu.Unlock()
	e := op.Endpoints()

	var keys strings.Builder
	for _, c := range certs {
		keys.WriteString(`<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>`)
		keys.WriteString(c)
		keys.WriteString(`</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`)
	}
	issuer, wsfed := xmlEscape(e.Issuer), xmlEscape(strings.TrimSuffix(e.Issuer, "/")+"/wsfed")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<EntityDescriptor ID="_proxytest" entityID="` + issuer + `" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">`)
	b.WriteString(`<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">`)
	b.WriteString(keys.String())
	b.WriteString(`<fed:SecurityTokenServiceEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>` + wsfed + `</wsa:Address></wsa:EndpointReference></fed:SecurityTokenServiceEndpoint>`)
	b.WriteString(`<fed:PassiveRequestorEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>` + wsfed + `</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint>`)
	b.WriteString(`</RoleDescriptor>`)
	b.WriteString(`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	b.WriteString(keys.String())
	b.WriteString(`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + wsfed + `"/>`)
	b.WriteString(`</IDPSSODescriptor>`)
	b.WriteString(`</EntityDescriptor>`)

	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(b.String()))
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "fakeop: encode JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

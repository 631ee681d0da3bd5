package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// parseJWKS returns the signing keys of a JSON Web Key Set. Keys for
// encryption, keys that are not public (a symmetric "oct" key must never
// verify anything: HMAC tokens use the client secret), and keys go-jose
// cannot read are skipped, as RFC 7517 section 5 asks; a set with no usable
// key at all is an error.
func parseJWKS(body []byte) ([]key, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	var keys []key
	var skipped []error
	for i, m := range raw.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(m); err != nil {
			skipped = append(skipped, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		if jwk.Use == "enc" {
			continue
		}
		if !jwk.IsPublic() || !jwk.Valid() {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q): not a public key", i, jwk.KeyID))
			continue
		}
		keys = append(keys, jwkKey(jwk))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable signing key among %d keys: %w", len(raw.Keys), errors.Join(skipped...))
	}
	return keys, nil
}

func (p *Provider) fetchJWKS(ctx context.Context, url string) ([]key, error) {
	body, err := p.get(ctx, url, "application/json")
	if err != nil {
		return nil, err
	}
	keys, err := parseJWKS(body)
	if err != nil {
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if json.Unmarshal(body, &doc) == nil && doc.JWKSURI != "" {
			return nil, fmt.Errorf(`provider: key set %s: %w: this is a discovery document; set discovery_kind = "OpenIdDiscoveryDocument", or discovery_uri to its jwks_uri %s`, url, err, doc.JWKSURI)
		}
		return nil, fmt.Errorf("provider: key set %s: %w", url, err)
	}
	return keys, nil
}

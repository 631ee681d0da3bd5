package fakeop

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionType is the client_assertion_type of RFC 7523 section 2.2.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLeeway is the clock skew allowed on exp, nbf and iat.
const assertionLeeway = time.Minute

// maxAssertionLifetime: a provider refuses an assertion meant to live longer.
const maxAssertionLifetime = time.Hour

var (
	keyAlgs    = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}
	secretAlgs = []jose.SignatureAlgorithm{jose.HS256}
)

// assertionMethod names the method of a request carrying a client
// assertion by its signing algorithm, as the token endpoint logs it.
func assertionMethod(raw string) string {
	tok, err := jose.ParseSigned(raw, append(slices.Clone(keyAlgs), secretAlgs...))
	if err == nil && len(tok.Signatures) == 1 && tok.Signatures[0].Header.Algorithm == string(jose.HS256) {
		return ClientSecretJWT
	}
	return PrivateKeyJWT
}

// verifyAssertion checks a client assertion the way a strict provider does
// (RFC 7523 section 3, OpenID Connect Core section 9): the type; a
// signature by a key registered for the client (found by x5t, as Entra ID
// does, else by kid, else any) or, for client_secret_jwt, by the secret;
// iss = sub = the client; aud the token endpoint; exp in the future and
// not too far; nbf and iat not in the future; a jti never seen before.
// It returns the client id.
func (op *OP) verifyAssertion(method string, form url.Values) (string, *tokenError) {
	refuse := func(desc string) (string, *tokenError) {
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", desc}
	}
	if form.Get("client_assertion_type") != assertionType {
		return refuse("client_assertion_type must be " + assertionType)
	}
	algs := keyAlgs
	if method == ClientSecretJWT {
		algs = secretAlgs
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), algs)
	if err != nil {
		return refuse("client_assertion is not a JWT signed with an accepted algorithm: " + err.Error())
	}
	var claims jwt.Claims
	verified := false
	if method == ClientSecretJWT {
		verified = tok.Claims([]byte(op.opts.ClientSecret), &claims) == nil
	} else {
		for _, k := range op.assertionKeys(tok.Headers[0]) {
			if tok.Claims(k, &claims) == nil {
				verified = true
				break
			}
		}
	}
	if !verified {
		return refuse("client_assertion signature does not verify with any key registered for the client")
	}

	now := op.now()
	switch {
	case claims.Issuer != op.opts.ClientID || claims.Subject != op.opts.ClientID:
		return refuse("client_assertion iss and sub must both be the client id")
	case !claims.Audience.Contains(op.Endpoints().Token):
		return refuse("client_assertion aud must be the token endpoint " + op.Endpoints().Token)
	case claims.Expiry == nil || !now.Before(claims.Expiry.Time().Add(assertionLeeway)):
		return refuse("client_assertion has expired or has no exp")
	case claims.Expiry.Time().After(now.Add(maxAssertionLifetime)):
		return refuse("client_assertion exp is too far in the future")
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionLeeway)):
		return refuse("client_assertion is not valid yet (nbf)")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionLeeway)):
		return refuse("client_assertion iat is in the future")
	case claims.ID == "":
		return refuse("client_assertion has no jti")
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	for jti, exp := range op.assertionIDs {
		if now.After(exp.Add(assertionLeeway)) {
			delete(op.assertionIDs, jti)
		}
	}
	if _, seen := op.assertionIDs[claims.ID]; seen {
		return refuse("client_assertion jti was already used")
	}
	op.assertionIDs[claims.ID] = claims.Expiry.Time()
	return claims.Issuer, nil
}

// assertionKeys are the registered keys that may have signed an assertion
// with header h: the one whose certificate has h's x5t, else the one with
// h's kid, else all of them.
func (op *OP) assertionKeys(h jose.Header) []any {
	op.mu.Lock()
	registered := slices.Clone(op.clientKeys)
	op.mu.Unlock()
	var keys []any
	if x5t, _ := h.ExtraHeaders["x5t"].(string); x5t != "" {
		for _, k := range registered {
			for _, c := range k.Certificates {
				sum := sha1.Sum(c.Raw)
				if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(x5t)) == 1 {
					keys = append(keys, k.Key)
				}
			}
		}
		return keys
	}
	for _, k := range registered {
		if h.KeyID == "" || k.KeyID == h.KeyID {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

// SetClientKeys replaces the public keys registered for private_key_jwt,
// as an administrator uploading a new certificate does.
func (op *OP) SetClientKeys(keys ...jose.JSONWebKey) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.clientKeys = slices.Clone(keys)
}

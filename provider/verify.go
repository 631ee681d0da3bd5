package provider

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcgate/oidcgate/claims"
)

// Reason says in one word why an ID token was refused.
type Reason string

const (
	ReasonMalformed       Reason = "malformed"        // not a compact JWS, or claims that are not JSON
	ReasonAlgorithm       Reason = "algorithm"        // alg "none" or not in Algorithms
	ReasonSignature       Reason = "signature"        // no key verifies the signature
	ReasonUnknownKey      Reason = "unknown_key"      // kid/x5t unknown even after a fresh fetch of the keys
	ReasonKeysUnavailable Reason = "keys_unavailable" // no keys (or no discovery document) loaded yet
	ReasonIssuer          Reason = "issuer"
	ReasonAudience        Reason = "audience"
	ReasonAuthorizedParty Reason = "azp"
	ReasonExpired         Reason = "expired"
	ReasonNotBefore       Reason = "not_before"
	ReasonIssuedAt        Reason = "issued_at"
	ReasonNonce           Reason = "nonce"
	ReasonSubject         Reason = "subject"
	ReasonInvalid         Reason = "invalid" // refused for a reason none of the above names
)

// VerifyError is every error Verify returns.
type VerifyError struct {
	Reason Reason
	Err    error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("provider: id token refused (%s): %s", e.Reason, unprefixed(e.Err))
}

func (e *VerifyError) Unwrap() error { return e.Err }

// outcome carries the key set's verdict past go-oidc, which keeps only the
// text of the key set's error.
type outcome struct {
	reason  Reason
	err     error
	payload []byte
}

type outcomeKey struct{}

// Verify checks an ID token as OpenID Connect Core 3.1.3.7 asks and returns
// its claims. go-oidc checks the algorithm against Algorithms, the signature
// (through our key set), iss and aud; then we check exp and nbf (with
// ClockSkew, where go-oidc allows none for exp), azp, iat, the nonce and
// sub, which it leaves to its callers.
func (p *Provider) Verify(ctx context.Context, rawIDToken, nonce string) (claims.Claims, error) {
	refuse := func(r Reason, err error) (claims.Claims, error) {
		return nil, &VerifyError{Reason: r, Err: err}
	}
	h, err := parseHeader(rawIDToken)
	if err != nil {
		return refuse(ReasonMalformed, err)
	}
	if !slices.Contains(p.o.Algorithms, h.Alg) {
		return refuse(ReasonAlgorithm, fmt.Errorf("alg %q is not one of the allowed %q", h.Alg, p.o.Algorithms))
	}
	issuer, err := p.readyFor(ctx, h.Alg)
	if err != nil {
		return refuse(ReasonKeysUnavailable, err)
	}

	out := &outcome{}
	v := oidc.NewVerifier(issuer, p.keys, &oidc.Config{
		ClientID:             p.o.ClientID,
		SupportedSigningAlgs: p.o.Algorithms,
		SkipExpiryCheck:      true, // checkClaims checks exp and nbf with ClockSkew
	})
	tok, err := v.Verify(context.WithValue(ctx, outcomeKey{}, out), rawIDToken)
	if err != nil {
		if out.err != nil {
			err = out.err
		}
		return refuse(p.classify(err, out, issuer), err)
	}
	c, err := decodeClaims(out.payload)
	if err != nil {
		return refuse(ReasonMalformed, err)
	}
	if r, err := p.checkClaims(tok, c, nonce); err != nil {
		return refuse(r, err)
	}
	return c, nil
}

// readyFor returns the issuer to expect once the keys for alg are there. If
// they are not, it asks for one forced fetch (shared and rate limited like
// any other) rather than wait for the background loop's next retry.
func (p *Provider) readyFor(ctx context.Context, alg string) (string, error) {
	ready := func() (string, error) {
		e, err := p.Endpoints()
		if err != nil {
			return "", err
		}
		if !isHMAC(alg) {
			if err := p.Ready(); err != nil {
				return "", err
			}
		}
		return e.Issuer, nil
	}
	if issuer, err := ready(); err == nil || p.keys.fetch == nil {
		return issuer, err
	}
	_, gen, _ := p.keys.snapshot()
	refreshErr := p.keys.refresh(ctx, true, gen)
	issuer, err := ready()
	if err != nil && errors.Is(refreshErr, errRateLimited) {
		err = fmt.Errorf("%w (%w)", err, refreshErr)
	}
	return issuer, err
}

// classify names the check go-oidc refused. The token is refused whatever
// this returns; it only chooses the words.
func (p *Provider) classify(err error, out *outcome, issuer string) Reason {
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return ReasonExpired
	case out.reason != "":
		return out.reason
	case out.payload == nil:
		return ReasonMalformed // refused before the signature was looked at
	}
	// The signature held, so go-oidc refused a claim: find which.
	c, derr := decodeClaims(out.payload)
	if derr != nil {
		return ReasonMalformed
	}
	if iss, _ := c["iss"].(string); iss != issuer {
		return ReasonIssuer
	}
	if !slices.Contains(audiences(c["aud"]), p.o.ClientID) {
		return ReasonAudience
	}
	if nbf, ok := c["nbf"].(json.Number); ok {
		if f, err := nbf.Float64(); err == nil && p.o.Now().Add(p.o.ClockSkew).Before(time.Unix(int64(f), 0)) {
			return ReasonNotBefore
		}
	}
	return ReasonInvalid
}

// checkClaims makes the checks go-oidc leaves to its callers.
func (p *Provider) checkClaims(tok *oidc.IDToken, c claims.Claims, nonce string) (Reason, error) {
	azp, hasAzp := c["azp"]
	if len(tok.Audience) > 1 && !hasAzp {
		return ReasonAuthorizedParty, fmt.Errorf("token for several audiences %q names no authorized party (azp)", tok.Audience)
	}
	if hasAzp && azp != p.o.ClientID {
		return ReasonAuthorizedParty, fmt.Errorf("authorized party (azp) %q is not client %q", azp, p.o.ClientID)
	}
	now, skew := p.o.Now(), p.o.ClockSkew
	// Each time check says what time oidcgate thinks it is, so that a clock
	// that is off is plain to see in the log.
	clock := func() string {
		return fmt.Sprintf("oidcgate's clock says %s, clock_skew allows %s", now.UTC().Format(time.RFC3339), skew)
	}
	if r, err := checkTimes(tok, c, now, skew); err != nil {
		return r, fmt.Errorf("%w; %s", err, clock())
	}
	switch {
	case tok.IssuedAt.IsZero():
		return ReasonIssuedAt, errors.New("no issued-at time (iat)")
	case tok.IssuedAt.After(now.Add(skew)):
		return ReasonIssuedAt, fmt.Errorf("issued in the future (iat %s); %s", tok.IssuedAt.UTC().Format(time.RFC3339), clock())
	}
	if nonce == "" {
		return ReasonNonce, errors.New("no nonce to compare with")
	}
	if subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return ReasonNonce, errors.New("nonce does not match the one sent with the authorization request")
	}
	if tok.Subject == "" {
		return ReasonSubject, errors.New("no subject (sub)")
	}
	return "", nil
}

// checkTimes checks exp and nbf, allowing skew either way.
func checkTimes(tok *oidc.IDToken, c claims.Claims, now time.Time, skew time.Duration) (Reason, error) {
	switch {
	case tok.Expiry.IsZero():
		return ReasonExpired, errors.New("no expiry time (exp)")
	case now.After(tok.Expiry.Add(skew)):
		return ReasonExpired, fmt.Errorf("expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	if nbf, ok := c["nbf"].(json.Number); ok {
		f, err := nbf.Float64()
		if err != nil {
			return ReasonNotBefore, fmt.Errorf("nbf %q is not a time", nbf)
		}
		if t := time.Unix(int64(f), 0); now.Add(skew).Before(t) {
			return ReasonNotBefore, fmt.Errorf("not valid before %s", t.UTC().Format(time.RFC3339))
		}
	}
	return "", nil
}

// decodeClaims keeps numbers as json.Number, so that a large numeric user id
// is not rounded through float64.
func decodeClaims(payload []byte) (claims.Claims, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var c claims.Claims
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if c == nil {
		return nil, errors.New("claims: not a JSON object")
	}
	return c, nil
}

// audiences reads aud, a string or an array of strings.
func audiences(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcgate/oidcgate/claims"
)

// LogoutTokenAge is how old a logout token without exp may be (plus the
// clock skew): OpenID Connect Back-Channel Logout 1.0 asks receivers to
// refuse tokens issued too far in the past.
const LogoutTokenAge = 2 * time.Minute

// backChannelEvent is the member of a logout token's events claim that
// makes it a logout token.
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// More reasons, for logout tokens only.
const (
	ReasonType    Reason = "typ"    // a typ header other than JWT or logout+jwt
	ReasonTokenID Reason = "jti"    // no jti
	ReasonEvents  Reason = "events" // no back-channel logout event
)

// LogoutToken is what a back-channel logout token that passed every check
// asks for: end the provider's session SID of Issuer, or, without a SID,
// every session of Subject.
type LogoutToken struct {
	Issuer, Subject, SID string
	// TokenID is the jti; the caller makes it single use for Window.
	TokenID string
	// Window is how much longer the token would be accepted (until exp,
	// or iat plus LogoutTokenAge, plus the clock skew), by the provider's
	// clock: the time its jti must stay used. At least a second.
	Window time.Duration
}

// LogoutError is every error VerifyLogout returns.
type LogoutError struct {
	Reason Reason
	Err    error
}

func (e *LogoutError) Error() string {
	return fmt.Sprintf("provider: logout token refused (%s): %v", e.Reason, e.Err)
}

func (e *LogoutError) Unwrap() error { return e.Err }

// VerifyLogout checks a back-channel logout token: like an ID token for its
// signature (the same keys, whatever the discovery kind), algorithm, iss and
// aud; then as the Back-Channel Logout specification asks: iat present, exp
// not passed or, without exp, iat recent; jti present; the logout event;
// sub or sid; no nonce; typ absent, JWT or logout+jwt. Claims it does not
// know are ignored. Whether the jti was seen before is the caller's check.
//
// go-oidc's own VerifyLogout requires exp, which the specification leaves
// optional, and does not look at typ or iat, so only its ID token checks
// are used here.
func (p *Provider) VerifyLogout(ctx context.Context, raw string) (LogoutToken, error) {
	refuse := func(r Reason, err error) (LogoutToken, error) {
		return LogoutToken{}, &LogoutError{Reason: r, Err: err}
	}
	h, err := parseHeader(raw)
	if err != nil {
		return refuse(ReasonMalformed, err)
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "JWT") && !strings.EqualFold(h.Typ, "logout+jwt") {
		return refuse(ReasonType, fmt.Errorf("typ %q is neither JWT nor logout+jwt", h.Typ))
	}
	if strings.EqualFold(h.Alg, "none") || !slices.Contains(p.o.Algorithms, h.Alg) {
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
		SkipExpiryCheck:      true, // exp is optional in a logout token: checked below
	})
	if _, err := v.Verify(context.WithValue(ctx, outcomeKey{}, out), raw); err != nil {
		if out.err != nil {
			err = out.err
		}
		return refuse(p.classify(err, out, issuer), err)
	}
	c, err := decodeClaims(out.payload)
	if err != nil {
		return refuse(ReasonMalformed, err)
	}
	return p.checkLogoutClaims(c)
}

// checkLogoutClaims makes the checks a logout token has beyond an ID
// token's signature, iss and aud.
func (p *Provider) checkLogoutClaims(c claims.Claims) (LogoutToken, error) {
	refuse := func(r Reason, err error) (LogoutToken, error) {
		return LogoutToken{}, &LogoutError{Reason: r, Err: err}
	}
	now, skew := p.o.Now(), p.o.ClockSkew
	clock := func() string {
		return fmt.Sprintf("oidcgate's clock says %s, clock_skew allows %s", now.UTC().Format(time.RFC3339), skew)
	}
	iat, ok, err := timeClaim(c, "iat")
	switch {
	case err != nil:
		return refuse(ReasonIssuedAt, err)
	case !ok:
		return refuse(ReasonIssuedAt, errors.New("no issued-at time (iat)"))
	case iat.After(now.Add(skew)):
		return refuse(ReasonIssuedAt, fmt.Errorf("issued in the future (iat %s); %s", iat.UTC().Format(time.RFC3339), clock()))
	}
	exp, hasExp, err := timeClaim(c, "exp")
	if err != nil {
		return refuse(ReasonExpired, err)
	}
	until := iat.Add(LogoutTokenAge + skew)
	if hasExp {
		until = exp.Add(skew)
	}
	if now.After(until) {
		if hasExp {
			return refuse(ReasonExpired, fmt.Errorf("expired at %s; %s", exp.UTC().Format(time.RFC3339), clock()))
		}
		return refuse(ReasonExpired, fmt.Errorf("issued at %s, more than %s ago, and no exp; %s", iat.UTC().Format(time.RFC3339), LogoutTokenAge, clock()))
	}
	jti, _ := c["jti"].(string)
	if jti == "" {
		return refuse(ReasonTokenID, errors.New("no token id (jti)"))
	}
	events, _ := c["events"].(map[string]any)
	if _, ok := events[backChannelEvent].(map[string]any); !ok {
		return refuse(ReasonEvents, fmt.Errorf("no events object with the member %q as an object", backChannelEvent))
	}
	sub, subOK := stringClaim(c, "sub")
	sid, sidOK := stringClaim(c, "sid")
	if !subOK || !sidOK {
		return refuse(ReasonSubject, errors.New("sub or sid is not a string"))
	}
	if sub == "" && sid == "" {
		return refuse(ReasonSubject, errors.New("neither sub nor sid"))
	}
	if _, ok := c["nonce"]; ok {
		return refuse(ReasonNonce, errors.New("a logout token must not carry a nonce (is this an ID token?)"))
	}
	iss, _ := c["iss"].(string)
	return LogoutToken{Issuer: iss, Subject: sub, SID: sid, TokenID: jti, Window: max(until.Sub(now), time.Second)}, nil
}

// timeClaim reads a NumericDate claim; ok is false when it is absent.
func timeClaim(c claims.Claims, name string) (t time.Time, ok bool, err error) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, fmt.Errorf("%s is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false, fmt.Errorf("%s %q is not a time", name, n)
	}
	return time.Unix(int64(f), 0), true, nil
}

// stringClaim reads an optional string claim; ok is false when it is there
// but not a string.
func stringClaim(c claims.Claims, name string) (string, bool) {
	v, present := c[name]
	if !present {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

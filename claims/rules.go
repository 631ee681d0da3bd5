package claims

import (
	"fmt"
	"strings"
)

// Rule is one [[authentication.claims]] entry: which claim names the user,
// optionally only for tokens from one issuer, and the authentication type
// the backend is told for those users.
type Rule struct {
	// ClaimType is the exact claim name ("email", "upn", "sub", …). Long
	// claim-type URIs are not translated to short names.
	ClaimType string
	// OriginalIssuer, when set, must equal the token's "iss" exactly.
	OriginalIssuer string
	// AuthenticationType is forwarded as X-Forwarded-Authentication-Type.
	AuthenticationType string
}

// Identity is who the backend is told the user is.
type Identity struct {
	User, AuthenticationType, Email, PreferredUsername, Issuer, Subject string
}

// Match returns the identity given by the first rule that applies to c: its
// issuer (if set) equals c["iss"] and its claim yields a non-empty string.
// No rule applying means access denied, so an empty rule list never matches.
//
// A claim value carrying control characters does not satisfy a rule, and an
// email or preferred_username carrying them is left out: such a value cannot
// be sent in a header as it is, and quietly cleaning it could turn one
// user's name into another's.
//
// A rule on "email" does not apply when the token says the address is not
// verified (email_verified false): on providers where users edit their own
// address, anyone could otherwise name themselves after someone else. An
// absent email_verified is accepted (Entra ID sends none). An unverified
// address is not forwarded as the email either.
func Match(rules []Rule, c Claims) (Identity, bool) {
	unverified := EmailUnverified(c)
	for _, r := range rules {
		if r.ClaimType == "" || !issuerMatches(r, c) || (r.ClaimType == "email" && unverified) {
			continue
		}
		user, ok := c.String(r.ClaimType)
		if !ok || hasControl(user) {
			continue
		}
		iss, _ := c.String("iss")
		sub, _ := c.String("sub")
		email := clean(c, "email")
		if unverified {
			email = ""
		}
		return Identity{
			User:               user,
			AuthenticationType: r.AuthenticationType,
			Email:              email,
			PreferredUsername:  clean(c, "preferred_username"),
			Issuer:             iss,
			Subject:            sub,
		}, true
	}
	return Identity{}, false
}

// EmailUnverified reports whether the claims say the email address is not
// verified: email_verified is false, or the string "false" as some
// providers send it.
func EmailUnverified(c Claims) bool {
	switch v := c["email_verified"].(type) {
	case bool:
		return !v
	case string:
		return strings.EqualFold(v, "false")
	}
	return false
}

// RefusedUnverifiedEmail reports whether a rule on "email" would have
// matched c but for an unverified address; the refusal then names that
// reason.
func RefusedUnverifiedEmail(rules []Rule, c Claims) bool {
	if !EmailUnverified(c) {
		return false
	}
	for _, r := range rules {
		if r.ClaimType == "email" && issuerMatches(r, c) {
			if v, ok := c.String("email"); ok && !hasControl(v) {
				return true
			}
		}
	}
	return false
}

func issuerMatches(r Rule, c Claims) bool {
	if r.OriginalIssuer == "" {
		return true
	}
	iss, ok := c["iss"].(string)
	return ok && iss == r.OriginalIssuer
}

// clean returns the claim as a string, or "" if it has control characters.
func clean(c Claims, name string) string {
	s, _ := c.String(name)
	if hasControl(s) {
		return ""
	}
	return s
}

// NeedsUserInfo reports whether asking the userinfo endpoint could change
// what Match makes of c. Merge only adds claims c lacks, so that is the case
// when
//   - a rule whose issuer fits c lacks its claim, and no earlier rule already
//     matches (with that claim, that rule might win), or
//   - c lacks "email" or "preferred_username", which are forwarded when known.
//
// A claim that is present but unusable (an array, an empty string) cannot be
// replaced by userinfo, so it does not count. Whether the provider has a
// userinfo endpoint and an access token came back is for the caller to check.
func NeedsUserInfo(rules []Rule, c Claims) bool {
	if !c.has("email") || !c.has("preferred_username") {
		return true
	}
	for _, r := range rules {
		if r.ClaimType == "" || !issuerMatches(r, c) {
			continue
		}
		if !c.has(r.ClaimType) {
			return true
		}
		if user, ok := c.String(r.ClaimType); ok && !hasControl(user) {
			return false // this rule wins whatever userinfo says
		}
	}
	return false
}

// fromIDTokenOnly are claims about the token or the authentication event.
// Only the signed ID token is authoritative for them; a userinfo response
// (often unsigned) never supplies them, even when the ID token lacks them.
func fromIDTokenOnly(name string) bool {
	switch name {
	case "iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "jti",
		"auth_time", "acr", "amr", "sid", "at_hash", "c_hash", "s_hash":
		return true
	}
	return false
}

// Merge returns the ID token's claims plus the userinfo claims the ID token
// lacks. The userinfo "sub" must equal the ID token's (OpenID Connect Core
// 5.3.2), or the response may describe another user and is refused.
// Neither argument is modified.
func Merge(idToken, userInfo Claims) (Claims, error) {
	idSub, _ := idToken["sub"].(string)
	uiSub, ok := userInfo["sub"].(string)
	if !ok || uiSub == "" {
		return nil, fmt.Errorf("claims: userinfo response has no string sub (ID token sub %q)", idSub)
	}
	if uiSub != idSub {
		return nil, fmt.Errorf("claims: userinfo sub %q differs from ID token sub %q", uiSub, idSub)
	}
	out := make(Claims, len(idToken)+len(userInfo))
	for k, v := range idToken {
		out[k] = v
	}
	for k, v := range userInfo {
		if v == nil || idToken.has(k) || fromIDTokenOnly(k) {
			continue
		}
		out[k] = v
	}
	return out, nil
}

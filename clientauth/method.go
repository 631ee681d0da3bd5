// Package clientauth authenticates oidcgate as an OAuth 2.0 client at a
// token endpoint: with a client secret (in an HTTP Basic header or in the
// body), or with a signed assertion (RFC 7523, OpenID Connect Core §9):
// private_key_jwt signs with a private key whose public half the provider
// holds, client_secret_jwt signs with the client secret.
//
// It makes no requests. Request says what x/oauth2 must send; the sign-in
// code exchange and the client-credentials tokens both use it.
package clientauth

import (
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// Method is a token endpoint authentication method (RFC 8414's names). The
// zero value is not a method, so an unset one fails closed.
type Method int

const (
	SecretBasic   Method = iota + 1 // client_secret_basic: HTTP Basic header
	SecretPost                      // client_secret_post: client_id and client_secret in the body
	SecretJWT                       // client_secret_jwt: an assertion signed with the secret (HS256)
	PrivateKeyJWT                   // private_key_jwt: an assertion signed with a private key
)

var names = map[Method]string{
	SecretBasic:   "client_secret_basic",
	SecretPost:    "client_secret_post",
	SecretJWT:     "client_secret_jwt",
	PrivateKeyJWT: "private_key_jwt",
}

func (m Method) String() string {
	if n, ok := names[m]; ok {
		return n
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod reads a method by its RFC 8414 name, in any case.
func ParseMethod(s string) (Method, error) {
	for m, n := range names {
		if strings.EqualFold(s, n) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("clientauth: unknown token endpoint authentication method %q", s)
}

// Assertion reports whether the method sends a signed assertion instead of
// the secret.
func (m Method) Assertion() bool { return m == SecretJWT || m == PrivateKeyJWT }

// NeedsSecret reports whether the method uses the client secret.
func (m Method) NeedsSecret() bool { return m == SecretBasic || m == SecretPost || m == SecretJWT }

// authStyle is how x/oauth2 sends client_id (and, for the secret methods,
// the secret). Never AuthStyleAutoDetect: it retries a refused request with
// the secret sent the other way, which hides mistakes and sends the secret
// twice.
func (m Method) authStyle() oauth2.AuthStyle {
	if m == SecretBasic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

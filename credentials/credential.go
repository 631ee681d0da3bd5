// Package credentials obtains access tokens with the OAuth 2.0 client
// credentials grant (RFC 6749 §4.4) for named, operator-configured
// credentials: Validate makes one token request and reports what the token
// endpoint said; Source caches a token, renews it before it expires and
// shares one request between concurrent callers.
//
// Token requests are made by golang.org/x/oauth2/clientcredentials with
// exactly the configured client authentication method: the package never
// lets x/oauth2 guess by trying the other one.
package credentials

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/oidcgate/oidcgate/clientauth"
	"golang.org/x/oauth2/clientcredentials"
)

// Method is how the client authenticates to the token endpoint.
type Method int

const (
	// Basic sends the client id and secret in an HTTP Basic Authorization
	// header (client_secret_basic), form-encoded before base64 as RFC 6749
	// §2.3.1 requires. It is the default.
	Basic Method = iota
	// Body sends client_id and client_secret as form parameters of the
	// request body (client_secret_post), which Microsoft Entra ID expects.
	Body
	// PrivateKeyJWT sends client_id and an assertion signed with Key, and
	// no secret (RFC 7523).
	PrivateKeyJWT
	// SecretJWT sends client_id and an assertion signed with the secret
	// (HS256), and not the secret itself.
	SecretJWT
)

var methodNames = []string{Basic: "basic", Body: "body", PrivateKeyJWT: "private_key_jwt", SecretJWT: "client_secret_jwt"}

// String returns the configuration file's spelling: "basic", "body",
// "private_key_jwt" or "client_secret_jwt".
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod reads a method by its String, in any case.
func ParseMethod(s string) (Method, error) {
	for m, name := range methodNames {
		if strings.EqualFold(s, name) {
			return Method(m), nil
		}
	}
	return 0, fmt.Errorf("credentials: unknown authentication method %q (want \"basic\", \"body\", \"private_key_jwt\" or \"client_secret_jwt\")", s)
}

// clientAuth is the method in clientauth's terms; 0 (no method) for one
// it does not know, which clientauth refuses. Never AuthStyleAutoDetect: it
// would send the secret a second way after the first one failed.
func (m Method) clientAuth() clientauth.Method {
	switch m {
	case Basic:
		return clientauth.SecretBasic
	case Body:
		return clientauth.SecretPost
	case PrivateKeyJWT:
		return clientauth.PrivateKeyJWT
	case SecretJWT:
		return clientauth.SecretJWT
	}
	return 0
}

// Credential is one named client-credentials credential.
//
// Its String, Format and LogValue methods never show ClientSecret, so a
// Credential may be printed or logged as a whole.
type Credential struct {
	Name          string
	ClientID      string
	ClientSecret  string
	TokenEndpoint string // absolute http(s) URL
	Scopes        string // space-delimited, case-sensitive; sent as given
	Method        Method
	Key           *clientauth.KeyFile // PrivateKeyJWT
}

const redacted = "REDACTED"

// String describes the credential with its secret redacted.
func (c Credential) String() string {
	s := fmt.Sprintf("credential %q (client_id %q, client_secret %s, token_endpoint %q, scopes %q, authentication_method %v",
		c.Name, c.ClientID, redacted, c.TokenEndpoint, c.Scopes, c.Method)
	if c.Key != nil {
		s += fmt.Sprintf(", client assertion %v", c.Key)
	}
	return s + ")"
}

// Format makes every fmt verb, %#v and %d included, print String: the
// default struct formatting would print the secret.
func (c Credential) Format(f fmt.State, _ rune) {
	io.WriteString(f, c.String())
}

// LogValue implements slog.LogValuer with the secret redacted.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted),
		slog.String("token_endpoint", c.TokenEndpoint),
		slog.String("scopes", c.Scopes),
		slog.String("authentication_method", c.Method.String()),
		slog.Any("client_assertion_key", c.Key),
	)
}

func (c Credential) client() clientauth.Client {
	return clientauth.Client{ID: c.ClientID, Method: c.Method.clientAuth(), Secret: c.ClientSecret, Key: c.Key}
}

// check reports what keeps c from making a token request. The
// configuration file is validated elsewhere; checking again here keeps a
// zero or half-filled Credential from sending anything.
func (c Credential) check() error {
	var problems []string
	if c.Method.clientAuth() == 0 {
		problems = append(problems, fmt.Sprintf("unknown authentication method %v", c.Method))
	} else if err := c.client().Check(); err != nil {
		problems = append(problems, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if u, err := url.Parse(c.TokenEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("token_endpoint %q is not an absolute http(s) URL", c.TokenEndpoint))
	}
	if len(problems) > 0 {
		return errors.New("incomplete credential: " + strings.Join(problems, "; "))
	}
	return nil
}

// config turns c into the x/oauth2 configuration of one token request:
// with an assertion method, it carries a fresh assertion in EndpointParams
// and no secret.
func (c Credential) config() (*clientcredentials.Config, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	auth, err := c.client().Request(c.TokenEndpoint)
	if err != nil {
		return nil, err
	}
	return &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: auth.ClientSecret,
		TokenURL:     c.TokenEndpoint,
		// x/oauth2 joins Scopes with single spaces, so a well-formed
		// scope string (RFC 6749 §3.3: tokens separated by one space)
		// goes out byte for byte; stray whitespace, which the RFC does
		// not allow, is normalised away.
		Scopes:         strings.Fields(c.Scopes),
		AuthStyle:      auth.AuthStyle,
		EndpointParams: auth.Params,
	}, nil
}

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

	"golang.org/x/oauth2"
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
)

// String returns "basic" or "body", the configuration file's spelling.
func (m Method) String() string {
	switch m {
	case Basic:
		return "basic"
	case Body:
		return "body"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod reads "basic" or "body", in any case.
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(s) {
	case "basic":
		return Basic, nil
	case "body":
		return Body, nil
	}
	return 0, fmt.Errorf("credentials: unknown authentication method %q (want \"basic\" or \"body\")", s)
}

func (m Method) authStyle() (oauth2.AuthStyle, error) {
	switch m {
	case Basic:
		return oauth2.AuthStyleInHeader, nil
	case Body:
		return oauth2.AuthStyleInParams, nil
	}
	// Never fall back to AuthStyleAutoDetect: it would send the secret a
	// second way after the first one failed.
	return 0, fmt.Errorf("unknown authentication method %v", m)
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
}

const redacted = "REDACTED"

// String describes the credential with its secret redacted.
func (c Credential) String() string {
	return fmt.Sprintf("credential %q (client_id %q, client_secret %s, token_endpoint %q, scopes %q, authentication_method %v)",
		c.Name, c.ClientID, redacted, c.TokenEndpoint, c.Scopes, c.Method)
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
	)
}

// config checks c and turns it into the x/oauth2 configuration. The
// configuration file is validated elsewhere; checking again here keeps a
// zero or half-filled Credential from sending anything.
func (c Credential) config() (*clientcredentials.Config, error) {
	var problems []string
	if c.ClientID == "" {
		problems = append(problems, "client_id is empty")
	}
	if c.ClientSecret == "" {
		problems = append(problems, "client_secret is empty")
	}
	if u, err := url.Parse(c.TokenEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("token_endpoint %q is not an absolute http(s) URL", c.TokenEndpoint))
	}
	style, err := c.Method.authStyle()
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, errors.New("incomplete credential: " + strings.Join(problems, "; "))
	}
	return &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.TokenEndpoint,
		// x/oauth2 joins Scopes with single spaces, so a well-formed
		// scope string (RFC 6749 §3.3: tokens separated by one space)
		// goes out byte for byte; stray whitespace, which the RFC does
		// not allow, is normalised away.
		Scopes:    strings.Fields(c.Scopes),
		AuthStyle: style,
	}, nil
}

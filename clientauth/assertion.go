package clientauth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// AssertionType is the client_assertion_type of a JWT assertion (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Lifetime is how long an assertion is good for: long enough for clock
// skew, short enough that one caught in transit soon stops working.
const Lifetime = 5 * time.Minute

// secretJWTMinLength is the shortest secret go-jose takes as an HS256 key.
const secretJWTMinLength = 32

// Client is how one client authenticates at token endpoints. Its zero
// value has no method and sends nothing.
type Client struct {
	ID     string
	Method Method
	Secret string           // SecretBasic, SecretPost and SecretJWT
	Key    *KeyFile         // PrivateKeyJWT
	Now    func() time.Time // default time.Now
}

// Request is what x/oauth2 must be given to send a token request.
type Request struct {
	AuthStyle oauth2.AuthStyle
	// ClientSecret is what x/oauth2 may send: the secret for
	// client_secret_basic and client_secret_post, "" with an assertion, so
	// that no secret travels along (x/oauth2 then sends client_id alone in
	// the body, which RFC 7523 §3.1 allows).
	ClientSecret string
	// Params go into the body: client_assertion_type and client_assertion
	// with an assertion, nothing otherwise.
	Params url.Values
}

// Check reports what keeps c from authenticating.
func (c Client) Check() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("client_id is empty"))
	}
	switch c.Method {
	case SecretBasic, SecretPost:
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("client_secret is empty (%v sends it)", c.Method))
		}
	case SecretJWT:
		if len(c.Secret) < secretJWTMinLength {
			errs = append(errs, fmt.Errorf("client_secret_jwt signs with the client secret as an HS256 key, which must be at least %d bytes", secretJWTMinLength))
		}
	case PrivateKeyJWT:
		if c.Key == nil {
			errs = append(errs, errors.New("private_key_jwt needs a client assertion key"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown token endpoint authentication method %v", c.Method))
	}
	return errors.Join(errs...)
}

// Request says how to authenticate a token request to tokenURL. With an
// assertion method it signs a fresh assertion for tokenURL on every call:
// each has its own jti, which providers accept once.
func (c Client) Request(tokenURL string) (Request, error) {
	if err := c.Check(); err != nil {
		return Request{}, err
	}
	if !c.Method.Assertion() {
		return Request{AuthStyle: c.Method.authStyle(), ClientSecret: c.Secret}, nil
	}
	a, err := c.assertion(tokenURL)
	if err != nil {
		return Request{}, err
	}
	return Request{
		AuthStyle: oauth2.AuthStyleInParams,
		Params:    url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {a}},
	}, nil
}

// assertion signs the claims of RFC 7523 §3 and OpenID Connect Core §9.
func (c Client) assertion(tokenURL string) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	var key jose.SigningKey
	if c.Method == SecretJWT {
		key = jose.SigningKey{Algorithm: jose.HS256, Key: []byte(c.Secret)}
	} else {
		k := c.Key.Key()
		key = k.signingKey()
		if k.cert != nil {
			// Entra ID and AD FS find the registered certificate by its
			// thumbprint; x5t#S256 for those that moved on from SHA-1.
			opts = opts.WithHeader("x5t", k.X5T()).WithHeader("x5t#S256", k.X5TS256())
		}
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now()
	claims := jwt.Claims{
		Issuer:    c.ID,
		Subject:   c.ID,
		Audience:  jwt.Audience{tokenURL},
		ID:        rand.Text(),
		IssuedAt:  jwt.NewNumericDate(t),
		NotBefore: jwt.NewNumericDate(t),
		Expiry:    jwt.NewNumericDate(t.Add(Lifetime)),
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	return s, nil
}

// String describes c without the secret or the key.
func (c Client) String() string {
	s := fmt.Sprintf("client %q, %v", c.ID, c.Method)
	if c.Secret != "" {
		s += ", client_secret REDACTED"
	}
	if c.Key != nil {
		s += fmt.Sprintf(", %v", c.Key)
	}
	return s
}

// Format makes every fmt verb print String: the default struct formatting
// would print the secret.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue implements slog.LogValuer without the secret or the key.
func (c Client) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("client_id", c.ID), slog.String("method", c.Method.String())}
	if c.Secret != "" {
		attrs = append(attrs, slog.String("client_secret", "REDACTED"))
	}
	if c.Key != nil {
		attrs = append(attrs, slog.Any("key", c.Key))
	}
	return slog.GroupValue(attrs...)
}

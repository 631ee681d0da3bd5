package provider

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/oidcgate/oidcgate/clientauth"
)

// Kind says where the signing keys and the endpoints come from. The zero
// value is not a kind, so an unset Options fails in New.
type Kind int

const (
	Discovery  Kind = iota + 1 // OpenID discovery document: endpoints, issuer and jwks_uri
	JWKS                       // a bare JWKS URL; endpoints and issuer from Options
	Federation                 // WS-Federation metadata XML; its signing certificates are the keys
	Store                      // certificates on local disk; nothing is fetched
)

func (k Kind) String() string {
	switch k {
	case Discovery:
		return "OpenIdDiscoveryDocument"
	case JWKS:
		return "JsonWebKeySet"
	case Federation:
		return "Federation"
	case Store:
		return "Store"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Certificate names one certificate (or, by subject name, several) on local
// disk, as an identity_provider_certificates entry does.
type Certificate struct {
	Name      string
	FindType  string // "FindByThumbprint" | "FindBySubjectName"
	FindValue string
	Location  string // a PEM file, a PEM bundle, or a folder of PEM/DER files
	Valid     bool   // true: only certificates in their validity period whose chain verifies
}

// Options configure a Provider. The zero value is refused by New.
type Options struct {
	Kind Kind
	URL  string // discovery document, JWKS or WS-Federation metadata URL

	ClientID, ClientSecret string

	// Algorithms allowed for ID token signatures (default RS256). HS256/384/512
	// use ClientSecret as the key, and only when listed here; "none" is refused.
	Algorithms []string

	// Issuer is valid_issuer: required without discovery; with discovery it
	// replaces the discovered issuer in the iss check when set.
	Issuer string

	// Endpoints: required without discovery; with discovery, when set, they
	// override the discovered ones.
	AuthorizationURL, TokenURL, EndSessionURL, UserInfoURL string

	// TokenAuth is how the client authenticates at the token endpoint; the
	// zero value is refused. x/oauth2's autodetection is never used: it
	// retries a failed token request with the secret sent the other way,
	// which hides configuration mistakes.
	TokenAuth clientauth.Method
	// AssertionKey signs the private_key_jwt assertions.
	AssertionKey *clientauth.KeyFile

	Certificates []Certificate // Store

	// OnRefresh, if set, is called after each background fetch of the
	// endpoints and keys: the first load, its retries, and the scheduled
	// refreshes.
	OnRefresh func(Refreshed)

	HTTPClient *http.Client  // outbound calls; nil: a client with Timeout
	Timeout    time.Duration // bound on every outbound call, whatever the client (default 10s)

	RefreshInterval          time.Duration // scheduled key refresh (default 1h)
	ForcedRefreshMinInterval time.Duration // at most one forced key refresh per interval (default 10s)
	RetryMin, RetryMax       time.Duration // backoff between failed background fetches (default 1s, 1m)

	// ClockSkew is the leeway for exp, nbf and iat: the clock difference
	// tolerated between oidcgate and the provider. 0: DefaultClockSkew;
	// NoClockSkew: none.
	ClockSkew time.Duration

	Now     func() time.Time               // token and certificate validity checks (default time.Now)
	OnFetch func(source string, err error) // after every fetch: "discovery", "jwks", "federation"; may be nil
}

// SigningAlgorithms are the ID token signing algorithms oidcgate can check.
func SigningAlgorithms() []string { return slices.Clone(knownAlgorithms) }

// DefaultClockSkew is the leeway .NET and go-oidc allow: five minutes.
const DefaultClockSkew = 5 * time.Minute

// NoClockSkew, as Options.ClockSkew, allows no leeway at all.
const NoClockSkew time.Duration = -1

var knownAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"HS256", "HS384", "HS512",
}

// hmacKeySize is the shortest key go-jose accepts for each HMAC algorithm.
var hmacKeySize = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

func isHMAC(alg string) bool { _, ok := hmacKeySize[alg]; return ok }

// client is how the client authenticates at the token endpoint.
func (o Options) client() clientauth.Client {
	return clientauth.Client{ID: o.ClientID, Method: o.TokenAuth, Secret: o.ClientSecret, Key: o.AssertionKey, Now: o.Now}
}

// withDefaults returns a copy of o with defaults filled in; o is not changed.
func (o Options) withDefaults() Options {
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{"RS256"}
	} else {
		o.Algorithms = slices.Clone(o.Algorithms)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Hour
	}
	if o.ForcedRefreshMinInterval <= 0 {
		o.ForcedRefreshMinInterval = 10 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(time.Minute, o.RetryMin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.ClockSkew == 0:
		o.ClockSkew = DefaultClockSkew
	case o.ClockSkew < 0:
		o.ClockSkew = 0
	}
	if o.OnFetch == nil {
		o.OnFetch = func(string, error) {}
	}
	return o
}

// validate reports every static problem at once.
func (o Options) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch o.Kind {
	case Discovery, JWKS, Federation:
		if o.URL == "" {
			bad("provider: %v needs a URL", o.Kind)
		}
	case Store:
		if len(o.Certificates) == 0 {
			bad("provider: Store needs at least one certificate")
		}
	default:
		bad("provider: unknown discovery kind %v", o.Kind)
	}
	if o.Kind != Discovery {
		for _, f := range []struct{ name, value string }{
			{"issuer", o.Issuer}, {"authorization URL", o.AuthorizationURL}, {"token URL", o.TokenURL},
		} {
			if f.value == "" {
				bad("provider: %v needs the %s (there is no discovery document)", o.Kind, f.name)
			}
		}
	}
	if o.ClientID == "" {
		bad("provider: client ID is empty")
	}
	if err := o.client().Check(); err != nil {
		bad("provider: token endpoint authentication: %w", err)
	}
	for _, alg := range o.Algorithms {
		switch {
		case !slices.Contains(knownAlgorithms, alg):
			bad("provider: signing algorithm %q is not supported", alg)
		case isHMAC(alg) && len(o.ClientSecret) < hmacKeySize[alg]:
			bad("provider: %s uses the client secret as its key, which must be at least %d bytes", alg, hmacKeySize[alg])
		}
	}
	return errors.Join(errs...)
}

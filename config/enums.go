package config

import (
	"fmt"
	"strings"
	"time"
)

// The enumerated settings are strings so that a misspelt value survives
// decoding and is reported by Validate together with every other problem,
// with its key path. UnmarshalText only fixes the case: Cora SeQuence's
// web.config settings were case-insensitive.

// DiscoveryKind says how the provider's endpoints and signing keys are found.
type DiscoveryKind string

const (
	DiscoveryDocument   DiscoveryKind = "OpenIdDiscoveryDocument" // discovery_uri is a discovery document
	DiscoveryJWKS       DiscoveryKind = "JsonWebKeySet"           // discovery_uri is a JWKS; endpoints come from the file
	DiscoveryFederation DiscoveryKind = "Federation"              // discovery_uri is WS-Federation metadata; endpoints come from the file
	DiscoveryStore      DiscoveryKind = "Store"                   // keys are local certificates; endpoints come from the file
)

var discoveryKinds = []string{string(DiscoveryDocument), string(DiscoveryJWKS), string(DiscoveryFederation), string(DiscoveryStore)}

func (k *DiscoveryKind) UnmarshalText(b []byte) error {
	*k = DiscoveryKind(canonical(string(b), discoveryKinds))
	return nil
}

// TokenAuthMethod is how the client authenticates at the token endpoint.
type TokenAuthMethod string

const (
	ClientSecretBasic TokenAuthMethod = "client_secret_basic" // HTTP Basic header
	ClientSecretPost  TokenAuthMethod = "client_secret_post"  // in the form body
	ClientSecretJWT   TokenAuthMethod = "client_secret_jwt"   // an assertion signed with the secret
	PrivateKeyJWT     TokenAuthMethod = "private_key_jwt"     // an assertion signed with client_assertion_key_file
)

var tokenAuthMethods = []string{string(ClientSecretBasic), string(ClientSecretPost), string(ClientSecretJWT), string(PrivateKeyJWT)}

func (m *TokenAuthMethod) UnmarshalText(b []byte) error {
	*m = TokenAuthMethod(canonical(string(b), tokenAuthMethods))
	return nil
}

// HTTPMethod is how the browser carries the authorization request to the
// provider: a redirect (GET) or an auto-submitted form (POST).
type HTTPMethod string

const (
	MethodPost HTTPMethod = "POST"
	MethodGet  HTTPMethod = "GET"
)

var httpMethods = []string{string(MethodPost), string(MethodGet)}

func (m *HTTPMethod) UnmarshalText(b []byte) error {
	*m = HTTPMethod(canonical(string(b), httpMethods))
	return nil
}

// ResponseMode is how the provider returns the code to the redirect URI.
type ResponseMode string

const (
	ResponseModeQuery    ResponseMode = "query"
	ResponseModeFormPost ResponseMode = "form_post"
)

var responseModes = []string{string(ResponseModeQuery), string(ResponseModeFormPost)}

func (m *ResponseMode) UnmarshalText(b []byte) error {
	*m = ResponseMode(canonical(string(b), responseModes))
	return nil
}

// FindType says how certificate_find_value selects a Store certificate.
type FindType string

const (
	FindByThumbprint  FindType = "FindByThumbprint"
	FindBySubjectName FindType = "FindBySubjectName"
)

var findTypes = []string{string(FindByThumbprint), string(FindBySubjectName)}

func (f *FindType) UnmarshalText(b []byte) error {
	*f = FindType(canonical(string(b), findTypes))
	return nil
}

// CredentialMethod is how a client-credentials client sends its secret.
type CredentialMethod string

const (
	CredentialBasic CredentialMethod = "basic" // HTTP Basic header
	CredentialBody  CredentialMethod = "body"  // in the form body
	// The assertion methods, spelt as under [openid_connect].
	CredentialSecretJWT     CredentialMethod = "client_secret_jwt"
	CredentialPrivateKeyJWT CredentialMethod = "private_key_jwt"
)

var credentialMethods = []string{string(CredentialBasic), string(CredentialBody), string(CredentialPrivateKeyJWT), string(CredentialSecretJWT)}

func (m *CredentialMethod) UnmarshalText(b []byte) error {
	*m = CredentialMethod(canonical(string(b), credentialMethods))
	return nil
}

// StoreKind is where the state the replicas share is kept.
type StoreKind string

const (
	StoreMemory StoreKind = "memory" // this process only
	StoreRedis  StoreKind = "redis"  // a Redis every replica reaches
)

var storeKinds = []string{string(StoreMemory), string(StoreRedis)}

func (k *StoreKind) UnmarshalText(b []byte) error {
	*k = StoreKind(canonical(string(b), storeKinds))
	return nil
}

// OutageMode is what a replica does while its store cannot be reached.
type OutageMode string

const (
	OutageOpen   OutageMode = "open"   // go on serving with the marks this replica knows
	OutageClosed OutageMode = "closed" // refuse users after outage_grace
)

var outageModes = []string{string(OutageOpen), string(OutageClosed)}

func (m *OutageMode) UnmarshalText(b []byte) error {
	*m = OutageMode(canonical(string(b), outageModes))
	return nil
}

// canonical returns the known value s spells in any case, or s unchanged.
func canonical(s string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	return s
}

// Duration is a time.Duration written as a string such as "8h" or "90s".
//
// Text that is not a duration is kept, not refused, so that Validate can
// report it with every other problem; a ${ENV} reference is kept the same
// way until it is expanded.
type Duration struct {
	time.Duration
	text string // the text, when it is not (yet) a duration
}

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		*d = Duration{text: string(b)}
		return nil
	}
	*d = Duration{Duration: v}
	return nil
}

func (d Duration) MarshalText() ([]byte, error) {
	if d.text != "" {
		return []byte(d.text), nil
	}
	return []byte(d.Duration.String()), nil
}

func (d Duration) String() string {
	b, _ := d.MarshalText()
	return string(b)
}

// problem says what is wrong with the duration, or "" when it is positive.
func (d Duration) problem() string {
	switch {
	case d.text != "":
		return fmt.Sprintf(`not a duration (%q); write for example "8h", "90m" or "10s"`, d.text)
	case d.Duration <= 0:
		return "must be greater than zero"
	}
	return ""
}

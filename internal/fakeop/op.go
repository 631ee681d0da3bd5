// Package fakeop is an in-process OpenID Connect provider: real keys, real
// signatures, the authorization code flow with PKCE, and switches that make it
// misbehave on purpose. The proxy's end-to-end tests drive it with a Go HTTP
// client acting as the browser; `oidcgate demo` puts a person in front of its
// sign-in form.
//
// It keeps everything in memory and trusts its configuration: it is a
// development tool and must never stand in for a real OpenID provider.
//
// Redirect URIs: until AllowRedirect registers some, any absolute https URL is
// accepted (the tests' proxies listen on random ports); once one is
// registered, only exact matches are. AllowPostLogoutRedirect does the same
// for the end-session endpoint.
package fakeop

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Token endpoint client authentication methods (RFC 6749 section 2.3.1,
// OpenID Connect Core section 9).
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
	ClientSecretJWT   = "client_secret_jwt" // an assertion signed with the client secret (HS256)
	PrivateKeyJWT     = "private_key_jwt"   // an assertion signed with a key in ClientKeys
)

// Paths of the endpoints, relative to the issuer.
const (
	DiscoveryPath          = "/.well-known/openid-configuration"
	AuthorizationPath      = "/authorize"
	SignInPath             = "/signin"
	TokenPath              = "/token"
	UserInfoPath           = "/userinfo"
	JWKSPath               = "/jwks"
	EndSessionPath         = "/logout"
	FederationMetadataPath = "/federationmetadata/2007-06/federationmetadata.xml"
)

const (
	codeLifetime    = time.Minute
	tokenLifetime   = time.Hour
	pendingLifetime = 15 * time.Minute
	sessionLifetime = 12 * time.Hour
)

// User is an account of the provider.
type User struct {
	Name, Password string
	// Claims about the user: sub, email, preferred_username, name, groups…
	// Without "sub" the subject is Name.
	Claims map[string]any
}

// Options configure an OP. ClientID, ClientSecret (unless the client
// authenticates with PrivateKeyJWT only) and one user are required.
type Options struct {
	ClientID, ClientSecret string
	// TokenAuthMethod is ClientSecretBasic, ClientSecretPost,
	// ClientSecretJWT, PrivateKeyJWT, or "" to accept any of them; a client
	// using another one is refused with 401 invalid_client.
	TokenAuthMethod string
	// ClientKeys are the client's public keys for PrivateKeyJWT (a
	// certificate in a key's Certificates is found by the x5t header).
	ClientKeys []jose.JSONWebKey
	// Users[0] is approved at once when Interactive is false.
	Users []User
	// Interactive: the authorization endpoint shows a sign-in form, keeps an
	// OP session cookie (single sign-on) and honours prompt=login.
	Interactive bool
	// UserInfoOnly names claims left out of the ID token and served only by
	// the userinfo endpoint, as many certified providers do.
	UserInfoOnly []string
	// Algorithm signs ID tokens: RS256 (default), RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384, ES512, EdDSA, or HS256, HS384, HS512 with the
	// client secret as the key. With HS* the published key is RS256.
	Algorithm string
	Now       func() time.Time
}

// OP is the provider. Its methods are safe for concurrent use.
type OP struct {
	opts         Options // read-only after New
	alg          jose.SignatureAlgorithm
	userInfoOnly map[string]bool

	mu              sync.Mutex
	issuer          string
	basePath        string        // the issuer's path, where the endpoints hang off
	keys            []*signingKey // published; keys[0] signs
	keySerial       int
	otherAlgKeys    map[jose.SignatureAlgorithm]*signingKey // published too, made for SetSigning
	unpublished     map[jose.SignatureAlgorithm]*signingKey
	signing         SigningOptions
	mutateClaims    func(map[string]any)
	mutateDiscovery func(map[string]any)
	tokenHook       func(http.ResponseWriter, *http.Request) bool
	clientKeys      []jose.JSONWebKey    // private_key_jwt
	assertionIDs    map[string]time.Time // jti of accepted client assertions, until their exp
	userInfoSub     string
	failDiscovery   int
	failJWKS        int
	failFederation  int
	failUserInfo    int
	authorizeError  [2]string // error code and description; "" = none
	codeReuse       bool
	redirects       []string
	logoutRedirects []string
	codes           map[string]*authCode
	accessTokens    map[string]*accessToken
	pending         map[string]*pendingRequest
	sessions        map[string]*opSession
	expiries        expiries // of codes, accessTokens, pending and sessions
	stats           Stats
}

// New checks the options and makes the first signing key. The OP answers
// once SetIssuer has told it its public URL.
func New(o Options) (*OP, error) {
	if o.Algorithm == "" {
		o.Algorithm = string(jose.RS256)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.Users = slices.Clone(o.Users)
	op := &OP{
		opts:         o,
		alg:          jose.SignatureAlgorithm(o.Algorithm),
		userInfoOnly: map[string]bool{},
		otherAlgKeys: map[jose.SignatureAlgorithm]*signingKey{},
		unpublished:  map[jose.SignatureAlgorithm]*signingKey{},
		codes:        map[string]*authCode{},
		accessTokens: map[string]*accessToken{},
		pending:      map[string]*pendingRequest{},
		sessions:     map[string]*opSession{},
		clientKeys:   slices.Clone(o.ClientKeys),
		assertionIDs: map[string]time.Time{},
	}
	for _, name := range o.UserInfoOnly {
		op.userInfoOnly[name] = true
	}
	k, err := op.newKey(op.publishedAlg(), "")
	if err != nil {
		return nil, err
	}
	op.keys = []*signingKey{k}
	return op, nil
}

func (o *Options) validate() error {
	var errs []error
	if o.ClientID == "" {
		errs = append(errs, errors.New("ClientID is required"))
	}
	if o.ClientSecret == "" && o.TokenAuthMethod != PrivateKeyJWT {
		errs = append(errs, errors.New("ClientSecret is required"))
	}
	switch o.TokenAuthMethod {
	case "", ClientSecretBasic, ClientSecretPost, ClientSecretJWT, PrivateKeyJWT:
	default:
		errs = append(errs, fmt.Errorf("TokenAuthMethod %q: want %q, %q, %q, %q or empty", o.TokenAuthMethod, ClientSecretBasic, ClientSecretPost, ClientSecretJWT, PrivateKeyJWT))
	}
	if o.TokenAuthMethod == PrivateKeyJWT && len(o.ClientKeys) == 0 {
		errs = append(errs, errors.New("ClientKeys: private_key_jwt needs at least one registered key"))
	}
	if len(o.Users) == 0 {
		errs = append(errs, errors.New("Users: at least one user is required"))
	}
	seen := map[string]bool{}
	for i, u := range o.Users {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("Users[%d]: Name is required", i))
		case seen[strings.ToLower(u.Name)]:
			errs = append(errs, fmt.Errorf("Users[%d]: Name %q is used twice", i, u.Name))
		}
		seen[strings.ToLower(u.Name)] = true
		if o.Interactive && u.Password == "" {
			errs = append(errs, fmt.Errorf("Users[%d]: Password is required when Interactive", i))
		}
	}
	if err := checkAlgorithm(jose.SignatureAlgorithm(o.Algorithm), o.ClientSecret); err != nil {
		errs = append(errs, fmt.Errorf("Algorithm: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fakeop: %w", err)
	}
	return nil
}

// Handler serves the endpoints under the issuer's path, so it can be mounted
// on a mux at that path.
func (op *OP) Handler() http.Handler { return http.HandlerFunc(op.serveHTTP) }

func (op *OP) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	issuer, base := op.issuer, op.basePath
	op.mu.Unlock()
	if issuer == "" {
		http.Error(w, "fakeop: SetIssuer has not been called", http.StatusServiceUnavailable)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case DiscoveryPath:
		op.serveDiscovery(w, r)
	case JWKSPath:
		op.serveJWKS(w, r)
	case FederationMetadataPath:
		op.serveFederationMetadata(w, r)
	case AuthorizationPath:
		op.serveAuthorize(w, r)
	case SignInPath:
		op.serveSignIn(w, r)
	case TokenPath:
		op.serveToken(w, r)
	case UserInfoPath:
		op.serveUserInfo(w, r)
	case EndSessionPath:
		op.serveEndSession(w, r)
	default:
		http.NotFound(w, r)
	}
}

// SetIssuer sets the base URL once the server listens. It is used exactly as
// given for "iss" (a trailing slash, as Entra ID v1 has, is kept); the
// endpoints hang off it without the slash.
func (op *OP) SetIssuer(issuer string) {
	base := ""
	if u, err := url.Parse(issuer); err == nil {
		base = strings.TrimSuffix(u.Path, "/")
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.issuer, op.basePath = issuer, base
}

// Issuer returns what SetIssuer set.
func (op *OP) Issuer() string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.issuer
}

// Endpoints are the absolute URLs of the OP's endpoints.
type Endpoints struct {
	Issuer, Discovery, Authorization, Token, UserInfo, JWKS, EndSession, FederationMetadata string
}

// Endpoints returns the endpoints' URLs under the current issuer.
func (op *OP) Endpoints() Endpoints {
	issuer := op.Issuer()
	at := func(path string) string { return strings.TrimSuffix(issuer, "/") + path }
	return Endpoints{
		Issuer:             issuer,
		Discovery:          at(DiscoveryPath),
		Authorization:      at(AuthorizationPath),
		Token:              at(TokenPath),
		UserInfo:           at(UserInfoPath),
		JWKS:               at(JWKSPath),
		EndSession:         at(EndSessionPath),
		FederationMetadata: at(FederationMetadataPath),
	}
}

// ClientID returns the registered client's id.
func (op *OP) ClientID() string { return op.opts.ClientID }

// AllowRedirect registers redirect URIs. Once any is registered, the
// authorization endpoint accepts exact matches only.
func (op *OP) AllowRedirect(uris ...string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.redirects = append(op.redirects, uris...)
}

// AllowPostLogoutRedirect registers post_logout_redirect_uri values, as
// AllowRedirect does for the authorization endpoint.
func (op *OP) AllowPostLogoutRedirect(uris ...string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.logoutRedirects = append(op.logoutRedirects, uris...)
}

// AllowCodeReuse makes the token endpoint redeem a code any number of times,
// like a sloppy provider, so the relying party's own single-use login states are tested.
func (op *OP) AllowCodeReuse(allow bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.codeReuse = allow
}

// MutateClaims sets a function applied to every ID token's claims just
// before signing; nil resets.
func (op *OP) MutateClaims(f func(claims map[string]any)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.mutateClaims = f
}

// MutateDiscovery sets a function applied to the discovery document before
// it is served; nil resets.
func (op *OP) MutateDiscovery(f func(doc map[string]any)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.mutateDiscovery = f
}

// TokenHook sets a function that sees every token request first (after the
// form is parsed and the request counted); when it returns true it has
// answered the request itself. nil resets.
func (op *OP) TokenHook(f func(w http.ResponseWriter, r *http.Request) bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.tokenHook = f
}

// SetUserInfoSub makes the userinfo endpoint answer this sub instead of the
// user's; "" resets.
func (op *OP) SetUserInfoSub(sub string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.userInfoSub = sub
}

// FailDiscovery makes the discovery endpoint answer status with a plain-text
// body (200 gives a document that is not JSON); 0 resets.
func (op *OP) FailDiscovery(status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.failDiscovery = status
}

// FailJWKS is FailDiscovery for the JWKS endpoint.
func (op *OP) FailJWKS(status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.failJWKS = status
}

// FailFederation is FailDiscovery for the WS-Federation metadata.
func (op *OP) FailFederation(status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.failFederation = status
}

// FailUserInfo is FailDiscovery for the userinfo endpoint.
func (op *OP) FailUserInfo(status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.failUserInfo = status
}

// FailAuthorize makes the authorization endpoint answer every valid request
// with this OAuth error (for example "access_denied") sent to the redirect
// URI with the state; "" resets.
func (op *OP) FailAuthorize(code, description string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.authorizeError = [2]string{code, description}
}

// Stats counts what the OP was asked.
type Stats struct {
	DiscoveryFetches, JWKSFetches, FederationFetches                       int
	AuthorizeRequests, TokenRequests, UserInfoRequests, EndSessionRequests int
	// TokenAuthMethods has one entry per token request: ClientSecretBasic,
	// ClientSecretPost, ClientSecretJWT, PrivateKeyJWT, "none", or several
	// joined by "+".
	TokenAuthMethods []string
	// AuthorizeMethods ("GET", "POST") and AuthorizeParams have one entry per
	// authorization request.
	AuthorizeMethods []string
	AuthorizeParams  []url.Values
	// EndSessionParams has one entry per end-session request.
	EndSessionParams []url.Values
}

// Stats returns a copy of the counters.
func (op *OP) Stats() Stats {
	op.mu.Lock()
	defer op.mu.Unlock()
	s := op.stats
	s.TokenAuthMethods = slices.Clone(s.TokenAuthMethods)
	s.AuthorizeMethods = slices.Clone(s.AuthorizeMethods)
	s.AuthorizeParams = cloneValues(s.AuthorizeParams)
	s.EndSessionParams = cloneValues(s.EndSessionParams)
	return s
}

// ResetStats zeroes the counters.
func (op *OP) ResetStats() {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.stats = Stats{}
}

func cloneValues(vs []url.Values) []url.Values {
	out := make([]url.Values, len(vs))
	for i, v := range vs {
		out[i] = url.Values(http.Header(v).Clone())
	}
	return out
}

func (op *OP) now() time.Time { return op.opts.Now() }

// subject is the user's "sub": the claim if set, else the user name.
func (u *User) subject() string {
	if s, ok := u.Claims["sub"].(string); ok && s != "" {
		return s
	}
	return u.Name
}

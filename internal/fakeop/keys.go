package fakeop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

// signingKey is an asymmetric key with a self-signed certificate (for x5c,
// x5t and the WS-Federation metadata), or an HMAC secret (cert nil).
type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	key  any // crypto.Signer, or []byte for HMAC
	cert *x509.Certificate
}

// SigningOptions make ID tokens wrong in the ways real providers and
// attackers do. The zero value signs normally with the current key.
type SigningOptions struct {
	// Algorithm signs with another algorithm than Options.Algorithm; a key
	// for it is made and published in the JWKS (HS* use the client secret).
	Algorithm string
	// KeyID replaces the kid header's value.
	KeyID string
	// OmitKeyID leaves the kid header out.
	OmitKeyID bool
	// UseX5T names the key by x5t (base64url SHA-1 of the certificate)
	// instead of kid, as AD FS does.
	UseX5T bool
	// KeyIDAndX5T sends both kid and x5t, as Entra ID does.
	KeyIDAndX5T bool
	// SignWithUnpublishedKey signs with a key missing from the JWKS. Its own
	// kid is unknown to the relying party; with KeyID set to a published
	// kid, the signature is simply bad.
	SignWithUnpublishedKey bool
	// None sends an unsigned token with alg "none" (still naming the
	// current key).
	None bool
	// Header entries are set in the protected header last and may override
	// anything, alg included; a nil value removes the entry (typ).
	Header map[string]any
}

// SetSigning changes how ID tokens are signed from now on. It fails when the
// algorithm is unknown or the client secret is too short for it.
func (op *OP) SetSigning(s SigningOptions) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if !s.None && s.Algorithm != "" && s.Algorithm != "none" {
		if err := checkAlgorithm(jose.SignatureAlgorithm(s.Algorithm), op.opts.ClientSecret); err != nil {
			return fmt.Errorf("fakeop: SetSigning: %w", err)
		}
		if _, err := op.keyForLocked(s); err != nil {
			return fmt.Errorf("fakeop: SetSigning: %w", err)
		}
	}
	op.signing = s
	op.signing.Header = cloneMap(s.Header)
	return nil
}

// RotateKey makes a new signing key with a new kid; the old key leaves the
// JWKS unless keepOld. It returns the new kid.
func (op *OP) RotateKey(keepOld bool) (string, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	k, err := op.newKey(op.publishedAlg(), "")
	if err != nil {
		return "", fmt.Errorf("fakeop: RotateKey: %w", err)
	}
	if keepOld {
		op.keys = append([]*signingKey{k}, op.keys...)
	} else {
		op.keys = []*signingKey{k}
	}
	return k.kid, nil
}

// KeyID returns the kid of the current signing key.
func (op *OP) KeyID() string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.keys[0].kid
}

// Certificates returns the self-signed certificates of the published keys,
// the current one first: what a Store or Federation configuration trusts.
func (op *OP) Certificates() []*x509.Certificate {
	op.mu.Lock()
	defer op.mu.Unlock()
	var certs []*x509.Certificate
	for _, k := range op.publishedLocked() {
		certs = append(certs, k.cert)
	}
	return certs
}

// publishedAlg is the algorithm of the key in the JWKS: an HMAC-signing OP
// still publishes an asymmetric key, as every discovery-based OP has a JWKS.
func (op *OP) publishedAlg() jose.SignatureAlgorithm {
	if strings.HasPrefix(string(op.alg), "HS") {
		return jose.RS256
	}
	return op.alg
}

func (op *OP) publishedLocked() []*signingKey {
	keys := append([]*signingKey(nil), op.keys...)
	for _, alg := range sortedAlgs(op.otherAlgKeys) {
		keys = append(keys, op.otherAlgKeys[alg])
	}
	return keys
}

func sortedAlgs(m map[jose.SignatureAlgorithm]*signingKey) []jose.SignatureAlgorithm {
	return slices.Sorted(maps.Keys(m))
}

// keyForLocked picks (making it if needed) the key that signs under s.
func (op *OP) keyForLocked(s SigningOptions) (*signingKey, error) {
	alg := op.alg
	if s.Algorithm != "" {
		alg = jose.SignatureAlgorithm(s.Algorithm)
	}
	switch {
	case isHMAC(alg):
		return &signingKey{alg: alg, key: []byte(op.opts.ClientSecret)}, nil
	case s.SignWithUnpublishedKey:
		if k := op.unpublished[alg]; k != nil {
			return k, nil
		}
		k, err := op.newKey(alg, "unpublished-")
		if err != nil {
			return nil, err
		}
		op.unpublished[alg] = k
		return k, nil
	case alg == op.keys[0].alg:
		return op.keys[0], nil
	default:
		if k := op.otherAlgKeys[alg]; k != nil {
			return k, nil
		}
		k, err := op.newKey(alg, "")
		if err != nil {
			return nil, err
		}
		op.otherAlgKeys[alg] = k
		return k, nil
	}
}

func isHMAC(alg jose.SignatureAlgorithm) bool {
	return alg == jose.HS256 || alg == jose.HS384 || alg == jose.HS512
}

func checkAlgorithm(alg jose.SignatureAlgorithm, secret string) error {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
		return nil
	case jose.HS256, jose.HS384, jose.HS512:
		// RFC 7518 section 3.2: the key must be at least as long as the hash.
		if need := hashFor(alg).Size(); len(secret) < need {
			return fmt.Errorf("%s needs a client secret of at least %d bytes, have %d", alg, need, len(secret))
		}
		return nil
	default:
		return fmt.Errorf("unsupported algorithm %q", alg)
	}
}

// hashFor is the hash of alg, also the one at_hash uses (EdDSA as go-oidc does).
func hashFor(alg jose.SignatureAlgorithm) hash.Hash {
	switch alg {
	case jose.RS384, jose.PS384, jose.ES384, jose.HS384:
		return sha512.New384()
	case jose.RS512, jose.PS512, jose.ES512, jose.HS512, jose.EdDSA:
		return sha512.New()
	default:
		return sha256.New()
	}
}

// newKey makes a key for alg with a fresh kid and a self-signed certificate.
func (op *OP) newKey(alg jose.SignatureAlgorithm, kidPrefix string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("no key type for algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	op.keySerial++
	kid := fmt.Sprintf("%skey-%d-%s", kidPrefix, op.keySerial, strings.ToLower(rand.Text()[:8]))
	now := op.now()
	c, err := testcert.Issue(testcert.Spec{
		CommonName:   "fakeop signing key " + kid,
		Organization: "oidcgate development OpenID provider",
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		Key:          priv,
	})
	if err != nil {
		return nil, fmt.Errorf("self-sign %s key: %w", alg, err)
	}
	cert := c.Cert
	return &signingKey{kid: kid, alg: alg, key: priv, cert: cert}, nil
}

// X5T is the base64url SHA-1 thumbprint of a certificate, as in the x5t
// header and JWK member.
func X5T(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (k *signingKey) jwk() jose.JSONWebKey {
	s1 := sha1.Sum(k.cert.Raw)
	s256 := sha256.Sum256(k.cert.Raw)
	return jose.JSONWebKey{
		Key:                         k.key.(crypto.Signer).Public(),
		KeyID:                       k.kid,
		Algorithm:                   string(k.alg),
		Use:                         "sig",
		Certificates:                []*x509.Certificate{k.cert},
		CertificateThumbprintSHA1:   s1[:],
		CertificateThumbprintSHA256: s256[:],
	}
}

// signIDToken builds, mutates and signs the ID token for one token response.
func (op *OP) signIDToken(u *User, c *authCode, accessToken string) (string, error) {
	now := op.now()
	op.mu.Lock()
	s := op.signing
	none := s.None || s.Algorithm == "none"
	var key *signingKey
	var err error
	if !none {
		key, err = op.keyForLocked(s)
	}
	current := op.keys[0]
	mutate := op.mutateClaims
	issuer := op.issuer
	op.mu.Unlock()
	if err != nil {
		return "", err
	}

	claims := map[string]any{}
	for name, v := range cloneMap(u.Claims) {
		if !op.userInfoOnly[name] {
			claims[name] = v
		}
	}
	claims["iss"] = issuer
	claims["sub"] = u.subject()
	claims["aud"] = op.opts.ClientID
	claims["azp"] = op.opts.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(tokenLifetime).Unix()
	claims["auth_time"] = c.authTime.Unix()
	claims["nonce"] = c.nonce
	if !none {
		h := hashFor(key.alg)
		h.Write([]byte(accessToken))
		claims["at_hash"] = base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:h.Size()/2])
	}
	if mutate != nil {
		mutate(claims)
	}
	return signClaims(s, key, current, claims)
}

// SignToken signs claims as they are, with the OP's keys, the way s says
// (the zero value: the current key, as ID tokens are signed by default) and
// a typ header of "JWT" unless s.Header says otherwise. Tests make logout
// tokens, right and wrong, with it.
func (op *OP) SignToken(claims map[string]any, s SigningOptions) (string, error) {
	op.mu.Lock()
	none := s.None || s.Algorithm == "none"
	var key *signingKey
	var err error
	if !none {
		key, err = op.keyForLocked(s)
	}
	current := op.keys[0]
	op.mu.Unlock()
	if err != nil {
		return "", err
	}
	return signClaims(s, key, current, cloneMap(claims))
}

// signClaims makes the JWS: signed by key, or unsigned (naming current)
// when s asks for alg "none".
func signClaims(s SigningOptions, key, current *signingKey, claims map[string]any) (string, error) {
	none := s.None || s.Algorithm == "none"
	// An HMAC key has no id of its own; an unsigned token names the
	// published key, as a forger's would.
	var kid, x5t string
	switch {
	case none:
		kid, x5t = current.kid, X5T(current.cert)
	case key.cert != nil:
		kid, x5t = key.kid, X5T(key.cert)
	}
	if s.KeyID != "" {
		kid = s.KeyID
	}
	header := map[string]any{"typ": "JWT"}
	if kid != "" && !s.OmitKeyID && !s.UseX5T {
		header["kid"] = kid
	}
	if x5t != "" && (s.UseX5T || s.KeyIDAndX5T) {
		header["x5t"] = x5t
	}
	if none {
		header["alg"] = "none"
	}
	for name, v := range s.Header {
		header[name] = v
		if v == nil { // a nil value leaves the entry out
			delete(header, name)
		}
	}
	if none {
		return unsigned(header, claims)
	}
	opts := &jose.SignerOptions{}
	for name, v := range header {
		opts.WithHeader(jose.HeaderKey(name), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: key.key}, opts)
	if err != nil {
		return "", fmt.Errorf("fakeop: signer for %s: %w", key.alg, err)
	}
	// go-jose's jwt builder would encode the claims, decode them into a map
	// and encode that again; once, with the same encoder, gives the same
	// JSON (a map's keys sorted, numbers as written).
	payload, err := josejson.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("fakeop: encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("fakeop: sign token: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("fakeop: sign token: %w", err)
	}
	return token, nil
}

// unsigned builds a JWS with alg "none", which go-jose rightly refuses to make.
func unsigned(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("fakeop: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("fakeop: encode claims: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + ".", nil
}

// cloneMap copies claims deeply enough that hooks and tests cannot change a
// user's claims through a token.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		return append([]string(nil), v...)
	default:
		return v
	}
}

package provider

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"

	jose "github.com/go-jose/go-jose/v4"
)

// key is one public signing key of the provider, named by kid, by x5t, or both.
type key struct {
	jwk  jose.JSONWebKey // Key holds the public key
	x5t  string          // base64url SHA-1 of the certificate's DER; "" without a certificate
	cert *x509.Certificate
}

// x5t is what Entra ID and AD FS put in the x5t (and kid) header: the
// base64url SHA-1 of the certificate's DER.
func x5t(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// thumbprint is the hex SHA-1 of the certificate's DER, as Windows shows it.
func thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// certKey makes a key from a certificate with no JWK around it (WS-Federation
// metadata, local certificates); its kid is its x5t, as Entra ID's are.
func certKey(cert *x509.Certificate) key {
	t := x5t(cert)
	sum := sha1.Sum(cert.Raw)
	return key{
		jwk: jose.JSONWebKey{
			Key:                       cert.PublicKey,
			KeyID:                     t,
			Use:                       "sig",
			Certificates:              []*x509.Certificate{cert},
			CertificateThumbprintSHA1: sum[:],
		},
		x5t:  t,
		cert: cert,
	}
}

// jwkKey makes a key from a JWK, taking x5t from the JWK or else from its
// first certificate.
func jwkKey(jwk jose.JSONWebKey) key {
	k := key{jwk: jwk}
	if len(jwk.Certificates) > 0 {
		k.cert = jwk.Certificates[0]
	}
	switch {
	case len(jwk.CertificateThumbprintSHA1) > 0:
		k.x5t = base64.RawURLEncoding.EncodeToString(jwk.CertificateThumbprintSHA1)
	case k.cert != nil:
		k.x5t = x5t(k.cert)
	}
	return k
}

// names reports whether the token header names this key.
func (k key) names(kid, x5tHeader string) bool {
	return (kid != "" && k.jwk.KeyID == kid) || (x5tHeader != "" && k.x5t == x5tHeader)
}

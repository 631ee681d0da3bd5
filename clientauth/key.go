package clientauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithms private_key_jwt signs with. RS256 is what every provider
// takes; PS256 and ES256 where the provider allows them.
var Algorithms = []string{"RS256", "PS256", "ES256"}

// Key is a private key that signs private_key_jwt assertions, with the
// certificate that carries its public half when one is configured.
//
// It never prints the private key: String, Format and LogValue show the
// algorithm, the kid and the certificate's thumbprint only.
type Key struct {
	private any // *rsa.PrivateKey or *ecdsa.PrivateKey
	public  crypto.PublicKey
	alg     jose.SignatureAlgorithm
	kid     string
	cert    *x509.Certificate // nil without a certificate
}

// Problem is what LoadKey and ParseKey report: which part of the
// configuration is at fault ("key", "certificate" or "alg") and why.
type Problem struct {
	Part string
	Err  error
}

func (p *Problem) Error() string { return p.Part + ": " + p.Err.Error() }
func (p *Problem) Unwrap() error { return p.Err }

func problem(part, format string, a ...any) error {
	return &Problem{Part: part, Err: fmt.Errorf(format, a...)}
}

// LoadKey reads a PEM private key (PKCS#8, PKCS#1 or SEC 1) and, when
// certFile is not empty, the PEM certificate whose public key it must be,
// valid at now. alg is RS256 or PS256 for an RSA key, ES256 for a P-256
// key; "" picks RS256 or ES256.
func LoadKey(keyFile, certFile, alg string, now time.Time) (*Key, error) {
	keyPEM, err := readPEM(keyFile)
	if err != nil {
		return nil, problem("key", "%w", err)
	}
	var certPEM []byte
	if certFile != "" {
		if certPEM, err = readPEM(certFile); err != nil {
			return nil, problem("certificate", "%w", err)
		}
	}
	return ParseKey(keyPEM, certPEM, alg, now)
}

// maxPEMFile bounds a key or certificate file: a PEM key or certificate
// chain is a few kilobytes, and a path such as /dev/zero must not hang the
// start.
const maxPEMFile = 1 << 20

func readPEM(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a PEM key or certificate", name, maxPEMFile)
	}
	return data, nil
}

// ParseKey is LoadKey on the files' contents; certPEM may be nil.
func ParseKey(keyPEM, certPEM []byte, alg string, now time.Time) (*Key, error) {
	k := &Key{}
	var err error
	if k.private, err = parsePrivateKey(keyPEM); err != nil {
		return nil, err
	}
	switch p := k.private.(type) {
	case *rsa.PrivateKey:
		k.public = &p.PublicKey
		if p.N.BitLen() < 2048 {
			return nil, problem("key", "RSA key of %d bits; providers want at least 2048", p.N.BitLen())
		}
		switch alg {
		case "":
			k.alg = jose.RS256
		case "RS256", "PS256":
			k.alg = jose.SignatureAlgorithm(alg)
		default:
			return nil, problem("alg", "an RSA key signs with RS256 or PS256, not %q", alg)
		}
	case *ecdsa.PrivateKey:
		k.public = &p.PublicKey
		if p.Curve != elliptic.P256() {
			return nil, problem("key", "EC key on curve %s; ES256 needs P-256", p.Curve.Params().Name)
		}
		switch alg {
		case "", "ES256":
			k.alg = jose.ES256
		default:
			return nil, problem("alg", "a P-256 key signs with ES256, not %q", alg)
		}
	}
	tp, err := (&jose.JSONWebKey{Key: k.public}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, problem("key", "thumbprint: %w", err)
	}
	k.kid = base64.RawURLEncoding.EncodeToString(tp)

	if len(certPEM) == 0 {
		return k, nil
	}
	if k.cert, err = parseCertificate(certPEM); err != nil {
		return nil, err
	}
	if !publicKeysEqual(k.cert.PublicKey, k.public) {
		return nil, problem("certificate", "its public key is not the key's: the key and the certificate are not a pair")
	}
	switch {
	case now.Before(k.cert.NotBefore):
		return nil, problem("certificate", "not valid before %s", k.cert.NotBefore.UTC().Format(time.RFC3339))
	case now.After(k.cert.NotAfter):
		return nil, problem("certificate", "expired on %s; make a new pair (oidcgate gencert) and register its certificate", k.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return k, nil
}

func parsePrivateKey(data []byte) (any, error) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, problem("key", "no PEM private key found")
		}
		var key any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, problem("key", "the key is encrypted; oidcgate needs it unencrypted (openssl pkcs8 -in KEY -out KEY.plain), readable only by its user")
		default:
			continue // a certificate or parameters next to the key
		}
		if err != nil {
			return nil, problem("key", "%s block: %w", b.Type, err)
		}
		switch key.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey:
			return key, nil
		}
		return nil, problem("key", "a %T cannot sign RS256, PS256 or ES256; use an RSA or P-256 key", key)
	}
}

func parseCertificate(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, problem("certificate", "no PEM certificate found")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, problem("certificate", "%w", err)
		}
		return c, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// Algorithm is the signing algorithm: RS256, PS256 or ES256.
func (k *Key) Algorithm() string { return string(k.alg) }

// KeyID is the public key's RFC 7638 JWK thumbprint (SHA-256, base64url),
// sent as the assertion's kid.
func (k *Key) KeyID() string { return k.kid }

// Certificate is the configured certificate, or nil.
func (k *Key) Certificate() *x509.Certificate { return k.cert }

// Thumbprint is the certificate's SHA-1 thumbprint in upper-case hex, as
// Entra ID and AD FS show it; "" without a certificate.
func (k *Key) Thumbprint() string {
	if k.cert == nil {
		return ""
	}
	sum := sha1.Sum(k.cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// X5T is the certificate's SHA-1 thumbprint in base64url, the assertion's
// x5t header; "" without a certificate.
func (k *Key) X5T() string {
	if k.cert == nil {
		return ""
	}
	sum := sha1.Sum(k.cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// X5TS256 is the certificate's SHA-256 thumbprint in base64url, the
// assertion's x5t#S256 header; "" without a certificate.
func (k *Key) X5TS256() string {
	if k.cert == nil {
		return ""
	}
	sum := sha256.Sum256(k.cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PublicJWK is the public key as a JWK to register at a provider that
// takes one: kid, alg, use "sig", and the certificate when there is one.
func (k *Key) PublicJWK() jose.JSONWebKey {
	j := jose.JSONWebKey{Key: k.public, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
	if k.cert != nil {
		j.Certificates = []*x509.Certificate{k.cert}
		s1, s256 := sha1.Sum(k.cert.Raw), sha256.Sum256(k.cert.Raw)
		j.CertificateThumbprintSHA1, j.CertificateThumbprintSHA256 = s1[:], s256[:]
	}
	return j
}

// signingKey is what go-jose signs with; the kid goes into the header.
func (k *Key) signingKey() jose.SigningKey {
	return jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.private, KeyID: k.kid}}
}

// String describes the key without its private part.
func (k *Key) String() string {
	if k == nil {
		return "no key"
	}
	s := fmt.Sprintf("%s key REDACTED (kid %s", k.alg, k.kid)
	if k.cert != nil {
		s += fmt.Sprintf(", certificate thumbprint %s, expires %s", k.Thumbprint(), k.cert.NotAfter.UTC().Format(time.DateOnly))
	}
	return s + ")"
}

// Format makes every fmt verb print String, so %#v cannot print the key.
func (k *Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue implements slog.LogValuer without the private key.
func (k *Key) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("")
	}
	attrs := []slog.Attr{
		slog.String("private_key", "REDACTED"),
		slog.String("alg", string(k.alg)),
		slog.String("kid", k.kid),
	}
	if k.cert != nil {
		attrs = append(attrs, slog.String("x5t", k.X5T()), slog.Time("not_after", k.cert.NotAfter))
	}
	return slog.GroupValue(attrs...)
}

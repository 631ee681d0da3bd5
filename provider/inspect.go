package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"time"
)

// expiryWarning is how far ahead Inspect warns about certificates that expire.
const expiryWarning = 30 * 24 * time.Hour

// Report is what `oidcgate check -online` shows of the provider.
type Report struct {
	Kind       Kind
	Endpoints  Endpoints
	Algorithms []string // allowed for ID tokens
	Advertised []string // id_token_signing_alg_values_supported (Discovery only)
	Keys       []KeyReport
	Warnings   []string
}

// KeyReport describes one signing key.
type KeyReport struct {
	KeyID      string    // kid
	X5T        string    // base64url SHA-1 of the certificate, as in a token's x5t header
	Thumbprint string    // hex SHA-1 of the certificate, as Windows shows it
	Algorithm  string    // the JWK's alg, if it names one
	KeyType    string    // "RSA 2048", "EC P-256", …
	Subject    string    // certificate subject; "" without a certificate
	NotAfter   time.Time // certificate expiry; zero without a certificate
}

// Inspect fetches what the provider's kind needs now, without waiting for
// the background loop, and reports what it found.
func (p *Provider) Inspect(ctx context.Context) (Report, error) {
	if p.keys.fetch != nil {
		if err := p.keys.refresh(ctx, false, 0); err != nil {
			return Report{}, err
		}
	}
	e, err := p.Endpoints()
	if err != nil {
		return Report{}, err
	}
	p.mu.RLock()
	advertised := slices.Clone(p.advertised)
	p.mu.RUnlock()
	keys, _, _ := p.keys.snapshot()

	r := Report{
		Kind:       p.o.Kind,
		Endpoints:  e,
		Algorithms: slices.Clone(p.o.Algorithms),
		Advertised: advertised,
		Warnings:   p.Warnings(),
	}
	now := p.o.Now()
	for _, k := range keys {
		kr := KeyReport{KeyID: k.jwk.KeyID, X5T: k.x5t, Algorithm: k.jwk.Algorithm, KeyType: keyType(k.jwk.Key)}
		if k.cert != nil {
			kr.Thumbprint, kr.Subject, kr.NotAfter = thumbprint(k.cert), k.cert.Subject.String(), k.cert.NotAfter
			if left := k.cert.NotAfter.Sub(now); left < expiryWarning {
				r.Warnings = append(r.Warnings, fmt.Sprintf("provider: key %q: certificate %q expires on %s (in %d days)",
					k.jwk.KeyID, kr.Subject, k.cert.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
			}
		}
		r.Keys = append(r.Keys, kr)
	}
	for _, alg := range p.o.Algorithms {
		if len(advertised) > 0 && !slices.Contains(advertised, alg) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("provider: %s is allowed but the provider does not advertise it", alg))
		}
		if !isHMAC(alg) && !slices.ContainsFunc(r.Keys, func(k KeyReport) bool { return fits(alg, k.KeyType) }) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("provider: %s is allowed but no key can verify it", alg))
		}
	}
	return r, nil
}

func keyType(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "OKP Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// fits reports whether a key of keyType can verify alg.
func fits(alg, keyType string) bool {
	switch alg[:2] {
	case "RS", "PS":
		return strings.HasPrefix(keyType, "RSA ")
	case "ES":
		curve := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
		return keyType == "EC "+curve
	}
	return false
}

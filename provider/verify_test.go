package provider

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

const fixtures = "../testdata/provider/"

func TestVerifyEachKind(t *testing.T) {
	op := newFakeOP(t)
	rsaKey := newKey(t, "RS256", "rsa-1")
	op.setKeys(rsaKey)
	op.setMetadata(readFile(t, fixtures+"federationmetadata.xml"))
	fed1 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed1.key")
	signing1 := fileKey(t, fixtures+"signing1.pem", fixtures+"keys/signing1.key")

	store := op.options(Store)
	store.Certificates = []Certificate{{
		Name: "first", FindType: "FindByThumbprint", FindValue: thumbprint(signing1.cert), Location: fixtures + "store",
	}}

	tests := []struct {
		name string
		o    Options
		key  testKey
	}{
		{"OpenIdDiscoveryDocument", op.options(Discovery), rsaKey},
		{"JsonWebKeySet", op.options(JWKS), rsaKey},
		{"Federation", op.options(Federation), fed1},
		{"Store", store, signing1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.o)
			waitReady(t, p)
			raw := tt.key.sign(t, goodClaims(op.URL), nil)
			c, err := p.Verify(context.Background(), raw, testNonce)
			if err != nil {
				t.Fatalf("Verify() = %v; want nil", err)
			}
			if email, _ := c.String("email"); email != "user@example.com" {
				t.Errorf("Verify() email = %q; want %q", email, "user@example.com")
			}
		})
	}
}

func TestVerifyAlgorithms(t *testing.T) {
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
	op := newFakeOP(t)
	keys := map[string]testKey{}
	var all []testKey
	for _, alg := range algs {
		keys[alg] = newKey(t, alg, "key-"+alg)
		all = append(all, keys[alg])
	}
	op.setKeys(all...)

	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			raw := keys[alg].sign(t, goodClaims(op.URL), nil)

			listed := op.options(JWKS)
			listed.Algorithms = []string{alg}
			p := newProvider(t, listed)
			waitReady(t, p)
			if _, err := p.Verify(context.Background(), raw, testNonce); err != nil {
				t.Errorf("Verify(%s token) with %s allowed = %v; want nil", alg, alg, err)
			}

			other := "ES256"
			if alg == other {
				other = "RS256"
			}
			unlisted := op.options(JWKS)
			unlisted.Algorithms = []string{other}
			p = newProvider(t, unlisted)
			waitReady(t, p)
			if _, err := p.Verify(context.Background(), raw, testNonce); reason(err) != ReasonAlgorithm {
				t.Errorf("Verify(%s token) with only %s allowed = %v; want reason %q", alg, other, err, ReasonAlgorithm)
			}
		})
	}
}

func TestVerifyHMACAndAlgorithmConfusion(t *testing.T) {
	op := newFakeOP(t)
	rsaKey := newKey(t, "RS256", "rsa-1")
	op.setKeys(rsaKey)
	o := op.options(JWKS)
	secret := []byte(o.ClientSecret)

	// The classic confusion: the RSA public key, as a server might publish
	// it, used as an HMAC secret, named by the RSA key's kid.
	der, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	hs256 := signWith(t, "HS256", secret, "", goodClaims(op.URL), nil)
	hs512 := signWith(t, "HS512", secret, "", goodClaims(op.URL), nil)
	confused := signWith(t, "HS256", publicPEM, "rsa-1", goodClaims(op.URL), nil)
	none := unsigned(goodClaims(op.URL))

	rsOnly := op.options(JWKS)
	withHS := op.options(JWKS)
	withHS.Algorithms = []string{"RS256", "HS256"}

	tests := []struct {
		name  string
		algs  Options
		token string
		want  Reason
	}{
		{"HS256 not listed", rsOnly, hs256, ReasonAlgorithm},
		{"HS256 listed", withHS, hs256, ""},
		{"HS512 not listed while HS256 is", withHS, hs512, ReasonAlgorithm},
		{"public key as HMAC secret, HS256 not listed", rsOnly, confused, ReasonAlgorithm},
		{"public key as HMAC secret, HS256 listed", withHS, confused, ReasonSignature},
		{"alg none", rsOnly, none, ReasonAlgorithm},
		{"alg none with HS256 listed", withHS, none, ReasonAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.algs)
			waitReady(t, p)
			_, err := p.Verify(context.Background(), tt.token, testNonce)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify(%q) = %v; want reason %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestNewRefusesBadAlgorithms(t *testing.T) {
	op := newFakeOP(t)
	tests := []struct {
		name   string
		algs   []string
		secret string
		want   string
	}{
		{"none", []string{"RS256", "none"}, "x", `"none" is not supported`},
		{"lower case", []string{"rs256"}, "x", `"rs256" is not supported`},
		{"HS256 with a short secret", []string{"HS256"}, "short", "at least 32 bytes"},
		{"HS512 with a 32-byte secret", []string{"HS512"}, strings.Repeat("s", 32), "at least 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op.options(JWKS)
			o.Algorithms, o.ClientSecret = tt.algs, tt.secret
			_, err := New(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(algorithms %q) = %v; want an error containing %q", tt.algs, err, tt.want)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	p := newProvider(t, op.options(JWKS))
	waitReady(t, p)
	good := goodClaims(op.URL)
	now := time.Now()

	tests := []struct {
		name   string
		claims map[string]any
		nonce  string
		want   Reason
	}{
		{"good", good, testNonce, ""},
		{"other issuer", with(good, "iss", "https://evil.example"), testNonce, ReasonIssuer},
		{"other audience", with(good, "aud", "client-2"), testNonce, ReasonAudience},
		{"no audience", with(good, "aud", absent), testNonce, ReasonAudience},
		{"several audiences, no azp", with(good, "aud", []string{"client-1", "client-2"}), testNonce, ReasonAuthorizedParty},
		{"several audiences, other azp", with(good, "aud", []string{"client-1", "client-2"}, "azp", "client-2"), testNonce, ReasonAuthorizedParty},
		{"several audiences, our azp", with(good, "aud", []string{"client-1", "client-2"}, "azp", "client-1"), testNonce, ""},
		{"one audience, other azp", with(good, "azp", "client-2"), testNonce, ReasonAuthorizedParty},
		{"azp not a string", with(good, "azp", 1), testNonce, ReasonAuthorizedParty},
		{"expired", with(good, "exp", now.Add(-10*time.Minute).Unix()), testNonce, ReasonExpired},
		{"expired within the skew", with(good, "exp", now.Add(-time.Minute).Unix()), testNonce, ""},
		{"valid before within the skew", with(good, "nbf", now.Add(time.Minute).Unix()), testNonce, ""},
		{"no expiry", with(good, "exp", absent), testNonce, ReasonExpired},
		{"not yet valid", with(good, "nbf", now.Add(time.Hour).Unix()), testNonce, ReasonNotBefore},
		{"issued in the future", with(good, "iat", now.Add(10*time.Minute).Unix()), testNonce, ReasonIssuedAt},
		{"issued within the skew", with(good, "iat", now.Add(2*time.Minute).Unix()), testNonce, ""},
		{"no iat", with(good, "iat", absent), testNonce, ReasonIssuedAt},
		{"other nonce", good, "nonce-other", ReasonNonce},
		{"no nonce in token", with(good, "nonce", absent), testNonce, ReasonNonce},
		{"no nonce expected", good, "", ReasonNonce},
		{"no subject", with(good, "sub", absent), testNonce, ReasonSubject},
		{"empty subject", with(good, "sub", ""), testNonce, ReasonSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(context.Background(), key.sign(t, tt.claims, nil), tt.nonce)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify(%s) = %v; want reason %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	p := newProvider(t, op.options(JWKS))
	waitReady(t, p)
	good := key.sign(t, goodClaims(op.URL), nil)
	parts := strings.Split(good, ".")

	tests := []struct {
		name, token string
		want        Reason
	}{
		{"empty", "", ReasonMalformed},
		{"two parts", parts[0] + "." + parts[1], ReasonMalformed},
		{"header not base64", "!!." + parts[1] + "." + parts[2], ReasonMalformed},
		{"header not JSON", "bm90IGpzb24." + parts[1] + "." + parts[2], ReasonMalformed},
		{"no alg", "e30." + parts[1] + "." + parts[2], ReasonMalformed},
		{"payload changed", parts[0] + ".e30." + parts[2], ReasonSignature},
		{"signature changed", parts[0] + "." + parts[1] + ".AAAA", ReasonSignature},
		{"huge", strings.Repeat("a", maxToken+1), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(context.Background(), tt.token, testNonce)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify(%s) = %v; want reason %q", tt.name, err, tt.want)
			}
		})
	}
}

// valid_issuer replaces the discovered issuer, as multi-tenant providers need.
func TestVerifyIssuerOverride(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	o := op.options(Discovery)
	o.Issuer = "https://login.example.com/tenant-1/v2.0"
	p := newProvider(t, o)
	waitReady(t, p)

	tests := []struct {
		name, iss string
		want      Reason
	}{
		{"configured issuer", o.Issuer, ""},
		{"discovered issuer", op.URL, ReasonIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(context.Background(), key.sign(t, with(goodClaims(tt.iss)), nil), testNonce)
			if got := reason(err); got != tt.want {
				t.Errorf("Verify(iss %q) = %v; want reason %q", tt.iss, err, tt.want)
			}
		})
	}
}

// TestVerifyClockSkew: the leeway is configurable, and a token refused for
// its times says what time oidcgate thinks it is.
func TestVerifyClockSkew(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good := with(goodClaims(op.URL), "iat", now.Add(-time.Hour).Unix())
	tests := []struct {
		name   string
		skew   time.Duration
		claims map[string]any
		want   string // "" for accepted
	}{
		{"expired a minute ago, default skew", 0, with(good, "exp", now.Add(-time.Minute).Unix()), ""},
		{"expired a minute ago, no skew", NoClockSkew, with(good, "exp", now.Add(-time.Minute).Unix()),
			"expired at 2026-03-01T11:59:00Z; oidcgate's clock says 2026-03-01T12:00:00Z, clock_skew allows 0s"},
		{"expired an hour ago, 2h skew", 2 * time.Hour, with(good, "exp", now.Add(-time.Hour).Unix()), ""},
		{"not before in 10 minutes, 5m skew", 5 * time.Minute, with(good, "exp", now.Add(time.Hour).Unix(), "nbf", now.Add(10*time.Minute).Unix()),
			"not valid before 2026-03-01T12:10:00Z; oidcgate's clock says 2026-03-01T12:00:00Z, clock_skew allows 5m0s"},
		{"issued in 30s, no skew", NoClockSkew, with(good, "exp", now.Add(time.Hour).Unix(), "iat", now.Add(30*time.Second).Unix()),
			"issued in the future (iat 2026-03-01T12:00:30Z); oidcgate's clock says 2026-03-01T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op.options(JWKS)
			o.ClockSkew = tt.skew
			o.Now = func() time.Time { return now }
			p := newProvider(t, o)
			waitReady(t, p)
			_, err := p.Verify(context.Background(), key.sign(t, tt.claims, nil), testNonce)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Verify = %v; want accepted", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Verify = %v; want %q", err, tt.want)
			}
		})
	}
}

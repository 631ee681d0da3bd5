package fakeop_test

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

// header decodes an ID token's protected header.
func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	h, _, ok := strings.Cut(raw, ".")
	if !ok {
		t.Fatalf("not a JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("header: %v", err)
	}
	return m
}

// hmacKeySet verifies HS* tokens with the client secret.
type hmacKeySet []byte

func (k hmacKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512})
	if err != nil {
		return nil, err
	}
	return jws.Verify([]byte(k))
}

func TestAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.Algorithm = alg
			op := fakeoptest.NewTLSServer(t, o)
			tr, nonce := signIn(t, op)
			if got := header(t, tr.IDToken)["alg"]; got != alg {
				t.Errorf("header alg = %v; want %s", got, alg)
			}
			v := verifier(t, op, alg)
			if strings.HasPrefix(alg, "HS") {
				v = oidc.NewVerifier(op.Issuer(), hmacKeySet(testClientSecret), &oidc.Config{ClientID: testClientID, SupportedSigningAlgs: []string{alg}})
			}
			tok, err := verify(t, v, op, tr.IDToken)
			if err != nil {
				t.Fatalf("Verify = %v; want nil", err)
			}
			if tok.Nonce != nonce {
				t.Errorf("nonce = %q; want %q", tok.Nonce, nonce)
			}
			if !strings.HasPrefix(alg, "HS") {
				if err := tok.VerifyAccessToken(tr.AccessToken); err != nil {
					t.Errorf("VerifyAccessToken = %v; want nil", err)
				}
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	var set jose.JSONWebKeySet // go-jose checks x5t against x5c and the key against the certificate
	if status := getJSON(t, op, op.Endpoints().JWKS, &set); status != http.StatusOK {
		t.Fatalf("GET jwks = %d; want 200", status)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("jwks has %d keys; want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID != op.KeyID() || k.Algorithm != "RS256" || k.Use != "sig" || len(k.Certificates) != 1 || len(k.CertificateThumbprintSHA1) == 0 {
		t.Errorf("jwks key = kid %q alg %q use %q, %d certificates, x5t %x; want kid %q RS256 sig with x5c and x5t",
			k.KeyID, k.Algorithm, k.Use, len(k.Certificates), k.CertificateThumbprintSHA1, op.KeyID())
	}
	if certs := op.Certificates(); len(certs) != 1 || !certs[0].Equal(k.Certificates[0]) {
		t.Errorf("Certificates() differ from the JWKS x5c")
	}
	if got := op.Stats().JWKSFetches; got != 1 {
		t.Errorf("Stats().JWKSFetches = %d; want 1", got)
	}
}

func TestSigningOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		signing    fakeop.SigningOptions
		wantHeader func(op *fakeoptest.OP, h map[string]any) string // "" when the header is right
		wantValid  bool
	}{
		{
			name:      "default names the key by kid",
			wantValid: true,
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"kid": op.KeyID(), "x5t": nil, "typ": "JWT"})
			},
		},
		{
			name:      "no kid",
			signing:   fakeop.SigningOptions{OmitKeyID: true},
			wantValid: true, // go-oidc tries every key
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"kid": nil, "x5t": nil})
			},
		},
		{
			name:      "x5t instead of kid",
			signing:   fakeop.SigningOptions{UseX5T: true},
			wantValid: true,
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"kid": nil, "x5t": fakeop.X5T(op.Certificates()[0])})
			},
		},
		{
			name:      "kid and x5t",
			signing:   fakeop.SigningOptions{KeyIDAndX5T: true},
			wantValid: true,
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"kid": op.KeyID(), "x5t": fakeop.X5T(op.Certificates()[0])})
			},
		},
		{
			name:    "unknown kid",
			signing: fakeop.SigningOptions{KeyID: "no-such-key"},
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"kid": "no-such-key"})
			},
		},
		{
			name:    "unpublished key",
			signing: fakeop.SigningOptions{SignWithUnpublishedKey: true},
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				if kid, _ := h["kid"].(string); kid == "" || kid == op.KeyID() {
					return fmt.Sprintf("kid = %v; want the unpublished key's own kid", h["kid"])
				}
				return ""
			},
		},
		{
			name:    "unpublished key under the published kid",
			signing: fakeop.SigningOptions{SignWithUnpublishedKey: true, KeyID: "current"},
		},
		{
			name:    "alg none",
			signing: fakeop.SigningOptions{None: true},
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"alg": "none", "kid": op.KeyID()})
			},
		},
		{
			name:      "another published algorithm",
			signing:   fakeop.SigningOptions{Algorithm: "ES256"},
			wantValid: false, // the verifier allows RS256 only
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"alg": "ES256"})
			},
		},
		{
			name:    "HS256 with the client secret while RS256 is expected",
			signing: fakeop.SigningOptions{Algorithm: "HS256"},
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"alg": "HS256", "kid": nil})
			},
		},
		{
			name:    "header that lies about alg",
			signing: fakeop.SigningOptions{Header: map[string]any{"alg": "RS512", "jku": "https://evil.example/jwks"}},
			wantHeader: func(op *fakeoptest.OP, h map[string]any) string {
				return expectHeader(h, map[string]any{"alg": "RS512", "jku": "https://evil.example/jwks"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			s := tt.signing
			if s.KeyID == "current" {
				s.KeyID = op.KeyID()
			}
			if err := op.SetSigning(s); err != nil {
				t.Fatalf("SetSigning(%+v) = %v; want nil", s, err)
			}
			tr, _ := signIn(t, op)
			if tt.wantHeader != nil {
				if msg := tt.wantHeader(op, header(t, tr.IDToken)); msg != "" {
					t.Errorf("header %v: %s", header(t, tr.IDToken), msg)
				}
			}
			_, err := verify(t, verifier(t, op), op, tr.IDToken)
			if (err == nil) != tt.wantValid {
				t.Errorf("Verify = %v; want valid %v", err, tt.wantValid)
			}
		})
	}
}

// expectHeader compares header members; a nil want means absent.
func expectHeader(h map[string]any, want map[string]any) string {
	for name, w := range want {
		got, ok := h[name]
		switch {
		case w == nil && ok:
			return fmt.Sprintf("%s = %v; want absent", name, got)
		case w != nil && got != w:
			return fmt.Sprintf("%s = %v; want %v", name, got, w)
		}
	}
	return ""
}

func TestSetSigningAlgorithmPublishesKey(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	if err := op.SetSigning(fakeop.SigningOptions{Algorithm: "ES256"}); err != nil {
		t.Fatalf("SetSigning(ES256) = %v", err)
	}
	tr, _ := signIn(t, op)
	if _, err := verify(t, verifier(t, op, "RS256", "ES256"), op, tr.IDToken); err != nil {
		t.Errorf("Verify(ES256 token, RS256+ES256 allowed) = %v; want nil", err)
	}
	if err := op.SetSigning(fakeop.SigningOptions{Algorithm: "XX999"}); err == nil {
		t.Errorf("SetSigning(XX999) = nil; want an error")
	}
	short := testOptions()
	short.ClientSecret = "short"
	op2 := fakeoptest.NewTLSServer(t, short)
	if err := op2.SetSigning(fakeop.SigningOptions{Algorithm: "HS256"}); err == nil {
		t.Errorf("SetSigning(HS256) with a 5-byte secret = nil; want an error")
	}
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keepOld  bool
		wantKids int
	}{
		{name: "replace", keepOld: false, wantKids: 1},
		{name: "keep old", keepOld: true, wantKids: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			v := verifier(t, op) // one key set for the whole test, as a relying party keeps it
			tr, _ := signIn(t, op)
			if _, err := verify(t, v, op, tr.IDToken); err != nil {
				t.Fatalf("Verify before rotation = %v", err)
			}
			oldKid := op.KeyID()
			newKid, err := op.RotateKey(tt.keepOld)
			if err != nil {
				t.Fatalf("RotateKey = %v", err)
			}
			if newKid == oldKid || op.KeyID() != newKid {
				t.Errorf("RotateKey = %q, KeyID() = %q; want a new kid, not %q", newKid, op.KeyID(), oldKid)
			}
			var set jose.JSONWebKeySet
			getJSON(t, op, op.Endpoints().JWKS, &set)
			var kids []string
			for _, k := range set.Keys {
				kids = append(kids, k.KeyID)
			}
			if len(kids) != tt.wantKids || kids[0] != newKid || slices.Contains(kids, oldKid) != tt.keepOld {
				t.Errorf("jwks kids = %v; want %d, new %q first, old %q kept %v", kids, tt.wantKids, newKid, oldKid, tt.keepOld)
			}
			tr2, _ := signIn(t, op)
			if got := header(t, tr2.IDToken)["kid"]; got != newKid {
				t.Errorf("kid after rotation = %v; want %q", got, newKid)
			}
			if _, err := verify(t, v, op, tr2.IDToken); err != nil {
				t.Errorf("Verify after rotation = %v; want nil (the key set refetches on an unknown kid)", err)
			}
		})
	}
}

func TestMutateClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c map[string]any)
	}{
		{name: "wrong issuer", mutate: func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{name: "wrong audience", mutate: func(c map[string]any) { c["aud"] = "someone-else" }},
		{name: "expired", mutate: func(c map[string]any) { c["exp"] = int64(1) }},
		{name: "no exp", mutate: func(c map[string]any) { delete(c, "exp") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := fakeoptest.NewTLSServer(t, testOptions())
			op.MutateClaims(tt.mutate)
			tr, _ := signIn(t, op)
			if _, err := verify(t, verifier(t, op), op, tr.IDToken); err == nil {
				t.Errorf("Verify(%s) = nil; want an error", tt.name)
			}
			op.MutateClaims(nil)
			tr, _ = signIn(t, op)
			if _, err := verify(t, verifier(t, op), op, tr.IDToken); err != nil {
				t.Errorf("Verify after MutateClaims(nil) = %v; want nil", err)
			}
		})
	}
}

func TestMutateClaimsSeesEveryClaim(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	var seen []string
	op.MutateClaims(func(c map[string]any) {
		for name := range c {
			seen = append(seen, name)
		}
		delete(c, "nonce")
		c["azp"] = "other-client"
	})
	tr, _ := signIn(t, op)
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "nonce", "auth_time", "azp", "at_hash", "email"} {
		if !slices.Contains(seen, name) {
			t.Errorf("MutateClaims did not see %q (saw %v)", name, seen)
		}
	}
	tok, err := verify(t, verifier(t, op), op, tr.IDToken)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if c := claimsOf(t, tok); c["nonce"] != nil || c["azp"] != "other-client" {
		t.Errorf("claims nonce %v azp %v; want no nonce, azp other-client", c["nonce"], c["azp"])
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	e := op.Endpoints()
	tests := []struct {
		name string
		fail func(int)
		url  string
	}{
		{name: "discovery", fail: op.FailDiscovery, url: e.Discovery},
		{name: "jwks", fail: op.FailJWKS, url: e.JWKS},
		{name: "federation", fail: op.FailFederation, url: e.FederationMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fail(http.StatusServiceUnavailable)
			if got := getJSON(t, op, tt.url, nil); got != http.StatusServiceUnavailable {
				t.Errorf("GET %s while failing = %d; want 503", tt.name, got)
			}
			tt.fail(0)
			if got := getJSON(t, op, tt.url, nil); got != http.StatusOK {
				t.Errorf("GET %s after reset = %d; want 200", tt.name, got)
			}
		})
	}
	if s := op.Stats(); s.DiscoveryFetches != 2 || s.JWKSFetches != 2 || s.FederationFetches != 2 {
		t.Errorf("Stats() = %+v; want 2 fetches of each document, failed ones included", s)
	}
}

func TestMutateDiscovery(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	op.MutateDiscovery(func(d map[string]any) { d["issuer"] = "https://evil.example"; delete(d, "end_session_endpoint") })
	var doc map[string]any
	getJSON(t, op, op.Endpoints().Discovery, &doc)
	if doc["issuer"] != "https://evil.example" || doc["end_session_endpoint"] != nil {
		t.Errorf("discovery = %v; want the mutated document", doc)
	}
}

// The shape a Federation (WS-Federation metadata) reader sees.
type entityDescriptor struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	Roles    []struct {
		Type string          `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
		Keys []keyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata RoleDescriptor"`
	IDP struct {
		Keys []keyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

type keyDescriptor struct {
	Use  string `xml:"use,attr"`
	Cert string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
}

func TestFederationMetadata(t *testing.T) {
	t.Parallel()
	op := fakeoptest.NewTLSServer(t, testOptions())
	if _, err := op.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	resp, err := op.Client().Get(op.Endpoints().FederationMetadata)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var md entityDescriptor
	if err := xml.Unmarshal([]byte(body), &md); err != nil {
		t.Fatalf("metadata is not the expected XML: %v\n%s", err, body)
	}
	if md.EntityID != op.Issuer() {
		t.Errorf("entityID = %q; want %q", md.EntityID, op.Issuer())
	}
	if len(md.Roles) != 1 || md.Roles[0].Type != "fed:SecurityTokenServiceType" {
		t.Fatalf("RoleDescriptors = %+v; want one fed:SecurityTokenServiceType", md.Roles)
	}
	want := op.Certificates()
	for _, keys := range [][]keyDescriptor{md.Roles[0].Keys, md.IDP.Keys} {
		if len(keys) != len(want) {
			t.Fatalf("KeyDescriptors = %d; want %d", len(keys), len(want))
		}
		for i, k := range keys {
			der, err := base64.StdEncoding.DecodeString(k.Cert)
			if err != nil {
				t.Fatalf("X509Certificate %d: %v", i, err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("X509Certificate %d: %v", i, err)
			}
			if k.Use != "signing" || !cert.Equal(want[i]) {
				t.Errorf("KeyDescriptor %d: use %q, certificate thumbprint %x; want signing, %x", i, k.Use, sha1.Sum(cert.Raw), sha1.Sum(want[i].Raw))
			}
		}
	}
}

func TestIssuerWithPath(t *testing.T) {
	t.Parallel()
	op, err := fakeop.New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/tenant/v2.0/", op.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL + "/tenant/v2.0/") // trailing slash kept in iss, as Entra ID v1 does
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	if _, err := oidc.NewProvider(ctx, op.Issuer()); err != nil {
		t.Errorf("oidc.NewProvider(%q) = %v; want nil", op.Issuer(), err)
	}
	if got, want := op.Endpoints().Token, srv.URL+"/tenant/v2.0/token"; got != want {
		t.Errorf("Endpoints().Token = %q; want %q", got, want)
	}
}

func TestNotReadyWithoutIssuer(t *testing.T) {
	t.Parallel()
	op, err := fakeop.New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	op.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("discovery before SetIssuer = %d; want 503", rec.Code)
	}
}

package provider

import (
	"context"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	for _, tt := range []struct {
		name, alg string
		entra     bool // the claims of a typical Entra ID token
	}{
		{"RS256", "RS256", false},
		{"ES256", "ES256", false},
		{"RS256-entra", "RS256", true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			op := newFakeOP(b)
			key := newKey(b, tt.alg, "k-"+tt.alg)
			op.setKeys(key)
			o := op.options(JWKS)
			o.Algorithms = []string{tt.alg}
			p := newProvider(b, o)
			waitReady(b, p)
			claims := goodClaims(op.URL)
			if tt.entra {
				claims = with(claims,
					"name", "Adele Vance", "email", "AdeleV@contoso.onmicrosoft.com",
					"preferred_username", "AdeleV@contoso.onmicrosoft.com",
					"oid", "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "tid", "72f988bf-86f1-41af-91ab-2d7cd011db47",
					"azp", "client-1", "auth_time", claims["iat"], "at_hash", "HK6E_P6Dh8Y93mRNtsDB1Q",
					"groups", []string{
						"0a4d8f5a-6c1b-4a3e-9f7e-2b1d5c8e9f01", "1b5e9a6b-7d2c-4b4f-8a8f-3c2e6d9fa012",
						"2c6fab7c-8e3d-4c5a-9b9a-4d3f7eab1023", "3d7abc8d-9f4e-4d6b-8cab-5e4a8fbc2134",
						"4e8bcd9e-af5f-4e7c-9dbc-6f5b9acd3245",
					})
			}
			raw := key.sign(b, claims, nil)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Verify(ctx, raw, testNonce); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

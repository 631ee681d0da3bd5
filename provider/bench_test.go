package provider

import (
	"context"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			op := newFakeOP(b)
			key := newKey(b, alg, "k-"+alg)
			op.setKeys(key)
			o := op.options(JWKS)
			o.Algorithms = []string{alg}
			p := newProvider(b, o)
			waitReady(b, p)
			raw := key.sign(b, goodClaims(op.URL), nil)
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

package provider

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestInspect(t *testing.T) {
	op := newFakeOP(t)
	op.setMetadata(readFile(t, fixtures+"federationmetadata.xml"))
	fed1 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed1.key")
	ec := newKey(t, "ES256", "ec-1")
	op.setKeys(ec)

	t.Run("discovery", func(t *testing.T) {
		o := op.options(Discovery)
		o.Algorithms = []string{"RS256", "ES256"}
		o.RetryMin = time.Hour // Inspect must not wait for the loop
		r, err := newProvider(t, o).Inspect(context.Background())
		if err != nil {
			t.Fatalf("Inspect() = %v", err)
		}
		if r.Endpoints.Issuer != op.URL || r.Endpoints.Keys != op.URL+keysPath || strings.Join(r.Advertised, ",") != "RS256,ES256" {
			t.Errorf("Inspect() = %+v; want the discovered issuer, jwks_uri and algorithms", r)
		}
		if len(r.Keys) != 1 || r.Keys[0].KeyID != "ec-1" || r.Keys[0].KeyType != "EC P-256" {
			t.Errorf("Inspect() keys = %+v; want ec-1, EC P-256", r.Keys)
		}
		if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "RS256 is allowed but no key can verify it") {
			t.Errorf("Inspect() warnings = %q; want one about RS256 without a key", r.Warnings)
		}
	})

	t.Run("federation, certificates expiring soon", func(t *testing.T) {
		o := op.options(Federation)
		o.Now = func() time.Time { return time.Date(2099, 12, 20, 0, 0, 0, 0, time.UTC) }
		r, err := newProvider(t, o).Inspect(context.Background())
		if err != nil {
			t.Fatalf("Inspect() = %v", err)
		}
		if len(r.Keys) != 2 || r.Keys[0].X5T != fed1.kid || r.Keys[0].Thumbprint != thumbprint(fed1.cert) ||
			!strings.Contains(r.Keys[0].Subject, "accounts.oidcgate.test") || r.Keys[0].NotAfter.Year() != 2100 || r.Keys[0].KeyType != "RSA 2048" {
			t.Errorf("Inspect() keys = %+v; want fed1 and fed2 with their certificates", r.Keys)
		}
		if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "expires on 2100-01-01 (in 12 days)") {
			t.Errorf("Inspect() warnings = %q; want two expiry warnings", r.Warnings)
		}
	})

	t.Run("provider down", func(t *testing.T) {
		op.setMode("500")
		defer op.setMode("")
		if _, err := newProvider(t, op.options(JWKS)).Inspect(context.Background()); err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("Inspect(OP down) = %v; want the fetch error", err)
		}
	})
}

func TestNewOptions(t *testing.T) {
	op := newFakeOP(t)
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"zero kind", func(o *Options) { o.Kind = 0 }, "unknown discovery kind"},
		{"no URL", func(o *Options) { o.URL = "" }, "JsonWebKeySet needs a URL"},
		{"no issuer without discovery", func(o *Options) { o.Issuer = "" }, "needs the issuer"},
		{"no token URL without discovery", func(o *Options) { o.TokenURL = "" }, "needs the token URL"},
		{"no client ID", func(o *Options) { o.ClientID = "" }, "client ID is empty"},
		{"no token endpoint authentication", func(o *Options) { o.TokenAuth = 0 }, "token endpoint authentication"},
		{"Store without certificates", func(o *Options) { o.Kind = Store }, "at least one certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op.options(JWKS)
			tt.edit(&o)
			if _, err := New(context.Background(), o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
	if _, err := New(context.Background(), Options{}); err == nil || strings.Count(err.Error(), "\n") < 2 {
		t.Errorf("New(Options{}) = %v; want every problem at once", err)
	}
}

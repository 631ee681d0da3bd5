package provider

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseJWKS(t *testing.T) {
	rsaKey := newKey(t, "RS256", "rsa-1")
	ecKey := newKey(t, "ES256", "ec-1")
	fed1 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed1.key")
	jwk := func(k testKey, edit func(map[string]any)) json.RawMessage {
		b, err := json.Marshal(k.public())
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if edit != nil {
			edit(m)
		}
		b, _ = json.Marshal(m)
		return b
	}
	set := func(keys ...json.RawMessage) string {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return string(b)
	}
	sum := sha1.Sum(fed1.cert.Raw)
	wantX5t := base64.RawURLEncoding.EncodeToString(sum[:])

	tests := []struct {
		name    string
		doc     string
		want    []string // kids
		wantErr string
	}{
		{"RSA and EC", set(jwk(rsaKey, nil), jwk(ecKey, nil)), []string{"rsa-1", "ec-1"}, ""},
		{"encryption key skipped", set(jwk(rsaKey, func(m map[string]any) { m["use"] = "enc" }), jwk(ecKey, nil)), []string{"ec-1"}, ""},
		{"unknown key type skipped", set(json.RawMessage(`{"kty":"OKP","crv":"X448","x":"AAAA","kid":"odd"}`), jwk(ecKey, nil)), []string{"ec-1"}, ""},
		{"symmetric key skipped", set(json.RawMessage(`{"kty":"oct","k":"c2VjcmV0","kid":"oct"}`), jwk(rsaKey, nil)), []string{"rsa-1"}, ""},
		{"private key skipped", set(mustJSON(t, jose.JSONWebKey{Key: rsaKey.priv, KeyID: "private"}), jwk(ecKey, nil)), []string{"ec-1"}, ""},
		{"x5c without x5t", set(jwk(fed1, func(m map[string]any) { delete(m, "x5t") })), []string{fed1.kid}, ""},
		{"no usable key", set(jwk(rsaKey, func(m map[string]any) { m["use"] = "enc" })), nil, "no usable signing key among 1 keys"},
		{"empty set", `{"keys": []}`, nil, "no usable signing key among 0 keys"},
		{"not JSON", `<html>`, nil, "not a JSON Web Key Set"},
		{"truncated", `{"keys": [`, nil, "not a JSON Web Key Set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseJWKS(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.jwk.KeyID)
				if k.cert != nil && k.x5t != wantX5t {
					t.Errorf("parseJWKS(%s) x5t = %q; want %q from the certificate", tt.name, k.x5t, wantX5t)
				}
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("parseJWKS(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB","kid":"r"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"enc"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}, null, 1, "x"]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","x5c":["MAo="],"x5t":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err == nil && len(keys) == 0 {
			t.Errorf("parseJWKS() = no keys and no error")
		}
	})
}

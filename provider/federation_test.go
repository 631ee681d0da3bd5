package provider

import (
	"strings"
	"testing"
)

func TestParseFederation(t *testing.T) {
	fed1 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed1.key")
	fed2 := fileKey(t, fixtures+"federationmetadata.xml", fixtures+"keys/fed2.key")
	entity := func(roles string) string {
		return `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + roles + `</EntityDescriptor>`
	}
	keyDescriptor := func(use, cert string) string {
		attr := ""
		if use != "" {
			attr = ` use="` + use + `"`
		}
		return `<KeyDescriptor` + attr + `><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
			cert + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`
	}
	b64 := func(k testKey) string { return base64Std(k.cert.Raw) }

	tests := []struct {
		name    string
		doc     string
		want    []string // kids (x5t) in order
		wantErr string
	}{
		{"Entra sample", string(readFile(t, fixtures+"federationmetadata.xml")), []string{fed1.kid, fed2.kid}, ""},
		{"AD FS sample: encryption certificate ignored", string(readFile(t, fixtures+"federationmetadata-adfs.xml")), []string{fed1.kid}, ""},
		{"no use attribute means signing", entity(`<SPSSODescriptor>` + keyDescriptor("", b64(fed2)) + `</SPSSODescriptor>`), []string{fed2.kid}, ""},
		{"only encryption", entity(`<IDPSSODescriptor>` + keyDescriptor("encryption", b64(fed1)) + `</IDPSSODescriptor>`), nil, "no signing certificate"},
		{"base64 with spaces and tabs", entity(`<IDPSSODescriptor>` + keyDescriptor("signing", " \t"+b64(fed1)[:10]+"\n \t"+b64(fed1)[10:]+"\r\n") + `</IDPSSODescriptor>`), []string{fed1.kid}, ""},
		{"one bad certificate among good ones", entity(`<IDPSSODescriptor>` + keyDescriptor("signing", "bm90IGEgY2VydA==") + keyDescriptor("signing", b64(fed2)) + `</IDPSSODescriptor>`), []string{fed2.kid}, ""},
		{"only a bad certificate", entity(`<IDPSSODescriptor>` + keyDescriptor("signing", "!!!") + `</IDPSSODescriptor>`), nil, "X509Certificate"},
		{"EntitiesDescriptor", `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
			strings.ReplaceAll(entity(`<IDPSSODescriptor>`+keyDescriptor("signing", b64(fed1))+`</IDPSSODescriptor>`), "EntityDescriptor", "md:EntityDescriptor") +
			`</md:EntitiesDescriptor>`, []string{fed1.kid}, ""},
		{"certificate outside a KeyDescriptor", entity(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><KeyInfo><X509Data><X509Certificate>` + b64(fed1) + `</X509Certificate></X509Data></KeyInfo></Signature>`), nil, "no signing certificate"},
		{"not metadata", `<html><body>Sign in</body></html>`, nil, `root element is "html"`},
		{"not XML", `{"keys": []}`, nil, "not XML metadata"},
		{"empty", ``, nil, "not XML metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseFederation([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseFederation(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.jwk.KeyID)
				if k.x5t != k.jwk.KeyID {
					t.Errorf("parseFederation(%s): key x5t %q differs from kid %q", tt.name, k.x5t, k.jwk.KeyID)
				}
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("parseFederation(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		})
	}
}

func FuzzFederationMetadata(f *testing.F) {
	for _, name := range []string{"federationmetadata.xml", "federationmetadata-adfs.xml"} {
		f.Add(readFile(f, fixtures+name))
	}
	f.Add([]byte(`<EntityDescriptor><RoleDescriptor><KeyDescriptor><KeyInfo><X509Data><X509Certificate>MAo=</X509Certificate></X509Data></KeyInfo></KeyDescriptor></RoleDescriptor></EntityDescriptor>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseFederation(data)
		if err == nil && len(keys) == 0 {
			t.Errorf("parseFederation() = no keys and no error")
		}
	})
}

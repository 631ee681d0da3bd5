// Command certgen writes the certificates, keys and WS-Federation metadata
// samples under testdata/provider that the provider tests use:
//
//	go generate ./provider/    # runs: go run ../internal/certgen -out ../testdata/provider
//
// Every certificate but the deliberately expired one is valid until 2100, so
// the checked-in files do not age out; running it again makes new keys (and
// new thumbprints), which the tests read from the files rather than hard-code.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

var (
	start   = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	forever = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func main() {
	out := flag.String("out", "testdata/provider", "output folder")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "certgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	w := writer{dir: out}
	for _, d := range []string{"store", "chain", "keys"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}

	signing1 := w.issue("oidcgate test signing 1", start, forever, nil, false)
	signing2 := w.issue("oidcgate test signing 2", start, forever, nil, false)
	expired := w.issue("oidcgate test expired", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), nil, false)
	root := w.issue("oidcgate test root CA", start, forever, nil, true)
	inter := w.issue("oidcgate test intermediate CA", start, forever, root, true)
	leaf := w.issue("oidcgate test chained signing", start, forever, inter, false)
	fed1 := w.issue("accounts.oidcgate.test signing 2024", start, forever, nil, false)
	fed2 := w.issue("accounts.oidcgate.test signing 2025", start, forever, nil, false)
	fedEnc := w.issue("adfs.oidcgate.test encryption", start, forever, nil, false)

	w.pem("signing1.pem", signing1)
	w.pem("store/signing1.pem", signing1)
	w.der("store/signing2.cer", signing2)
	w.file("store/README.txt", []byte("Not a certificate: the store loader must pass over this file.\n"))
	w.pem("expired.pem", expired)
	w.pem("bundle.pem", signing1, signing2, expired)
	w.pem("ca.pem", root)
	w.pem("chain/bundle.pem", leaf, inter)
	for name, c := range map[string]*testcert.Issued{
		"signing1": signing1, "signing2": signing2, "expired": expired, "leaf": leaf,
		"fed1": fed1, "fed2": fed2, "fedenc": fedEnc,
	} {
		w.key("keys/"+name+".key", c)
	}
	w.xml("federationmetadata.xml", entraTemplate, map[string]string{
		"Cert1": b64(fed1), "Cert2": b64(fed2), "Wrapped1": wrap(b64(fed1)),
	})
	w.xml("federationmetadata-adfs.xml", adfsTemplate, map[string]string{
		"Signing": b64(fed1), "Encryption": b64(fedEnc),
	})
	return w.err
}

// writer keeps the first error, so run reads as a list of files.
type writer struct {
	dir string
	err error
}

func (w *writer) issue(cn string, notBefore, notAfter time.Time, parent *testcert.Issued, ca bool) *testcert.Issued {
	if w.err != nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		w.err = err
		return nil
	}
	c, err := testcert.Issue(testcert.Spec{
		CommonName: cn, Organization: "Oidcgate Test",
		NotBefore: notBefore, NotAfter: notAfter,
		CA: ca, Parent: parent, Key: key,
	})
	if err != nil {
		w.err = err
	}
	return c
}

func (w *writer) file(name string, data []byte) {
	if w.err == nil {
		w.err = os.WriteFile(filepath.Join(w.dir, name), data, 0o644)
	}
}

func (w *writer) pem(name string, certs ...*testcert.Issued) {
	var b bytes.Buffer
	for _, c := range certs {
		if c != nil {
			fmt.Fprintf(&b, "# %s\n", c.Cert.Subject)
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
		}
	}
	w.file(name, b.Bytes())
}

func (w *writer) der(name string, c *testcert.Issued) {
	if c != nil {
		w.file(name, c.Cert.Raw)
	}
}

func (w *writer) key(name string, c *testcert.Issued) {
	if c == nil {
		return
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		w.err = err
		return
	}
	w.file(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func (w *writer) xml(name, text string, data map[string]string) {
	if w.err != nil {
		return
	}
	var b bytes.Buffer
	if w.err = template.Must(template.New(name).Parse(text)).Execute(&b, data); w.err == nil {
		w.file(name, b.Bytes())
	}
}

func b64(c *testcert.Issued) string {
	if c == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(c.Cert.Raw)
}

// wrap breaks base64 into 64-character lines, as some metadata does.
func wrap(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString("\n          " + s[:64])
		s = s[64:]
	}
	b.WriteString("\n          " + s + "\n        ")
	return b.String()
}

// entraTemplate has the shape of Entra ID's federationmetadata.xml: md:
// default namespace, a fed: STS RoleDescriptor and an IDPSSODescriptor, each
// listing two signing certificates during a rollover, and the document's own
// signature, whose certificate is not a KeyDescriptor.
const entraTemplate = `<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="_6f1e5a2c-0d6b-4c55-9d2e-3b8a1c0e7f10" entityID="https://sts.windows.net/00000000-0000-4000-8000-000000000001/" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <Reference URI="#_6f1e5a2c-0d6b-4c55-9d2e-3b8a1c0e7f10">
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</DigestValue>
      </Reference>
    </SignedInfo>
    <SignatureValue>AAAA</SignatureValue>
    <KeyInfo><X509Data><X509Certificate>{{.Cert1}}</X509Certificate></X509Data></KeyInfo>
  </Signature>
  <md:RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{{.Wrapped1}}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{{.Cert2}}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <fed:ClaimTypesOffered>
      <auth:ClaimType Uri="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" xmlns:auth="http://docs.oasis-open.org/wsfed/authorization/200706">
        <auth:DisplayName>Name</auth:DisplayName>
      </auth:ClaimType>
    </fed:ClaimTypesOffered>
    <fed:SecurityTokenServiceEndpoint>
      <wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing">
        <wsa:Address>https://login.oidcgate.test/00000000-0000-4000-8000-000000000001/wsfed</wsa:Address>
      </wsa:EndpointReference>
    </fed:SecurityTokenServiceEndpoint>
  </md:RoleDescriptor>
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <X509Data>
          <X509Certificate>{{.Cert1}}</X509Certificate>
        </X509Data>
      </KeyInfo>
    </KeyDescriptor>
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <X509Data>
          <X509Certificate>{{.Cert2}}</X509Certificate>
        </X509Data>
      </KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.oidcgate.test/00000000-0000-4000-8000-000000000001/saml2"/>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.oidcgate.test/00000000-0000-4000-8000-000000000001/saml2"/>
  </IDPSSODescriptor>
</EntityDescriptor>
`

// adfsTemplate has the shape of AD FS metadata: a signing and an encryption
// KeyDescriptor; the encryption certificate must not become a key.
const adfsTemplate = `<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="_adfs" entityID="http://adfs.oidcgate.test/adfs/services/trust" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
  <RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">
    <KeyDescriptor use="encryption">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <X509Data><X509Certificate>{{.Encryption}}</X509Certificate></X509Data>
      </KeyInfo>
    </KeyDescriptor>
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <X509Data><X509Certificate>{{.Signing}}</X509Certificate></X509Data>
      </KeyInfo>
    </KeyDescriptor>
  </RoleDescriptor>
  <SPSSODescriptor WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="encryption">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{{.Encryption}}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </KeyDescriptor>
  </SPSSODescriptor>
</EntityDescriptor>
`

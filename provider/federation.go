package provider

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The WS-Federation metadata shapes we read (Entra ID, AD FS). Tags name
// local names only, so encoding/xml matches them in whatever namespace and
// under whatever prefix (md:, fed:, ds:, or a default namespace) the
// document puts them.
type fedEntity struct {
	Roles []fedRole `xml:"RoleDescriptor"` // fed:SecurityTokenServiceType, fed:ApplicationServiceType
	IDP   []fedRole `xml:"IDPSSODescriptor"`
	SP    []fedRole `xml:"SPSSODescriptor"`
}

type fedRoot struct {
	XMLName xml.Name
	fedEntity
	Entities []fedEntity `xml:"EntityDescriptor"` // when the root is an EntitiesDescriptor
}

type fedRole struct {
	Keys []fedKey `xml:"KeyDescriptor"`
}

type fedKey struct {
	Use   string   `xml:"use,attr"`
	Certs []string `xml:"KeyInfo>X509Data>X509Certificate"`
}

// parseFederation returns the signing certificates of a WS-Federation
// metadata document as keys, each once however many role descriptors list it.
//
// The document's own XML signature is not checked: it comes over TLS from the
// URL the operator configured, the same trust a JWKS fetch has, and checking
// it would need a key we could only get from the document itself.
func parseFederation(body []byte) ([]key, error) {
	var root fedRoot
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&root); err != nil {
		return nil, fmt.Errorf("not XML metadata: %w", err)
	}
	entities := root.Entities
	switch root.XMLName.Local {
	case "EntityDescriptor":
		entities = []fedEntity{root.fedEntity}
	case "EntitiesDescriptor":
	default:
		return nil, fmt.Errorf("root element is %q, not EntityDescriptor", root.XMLName.Local)
	}

	var keys []key
	var skipped []error
	seen := map[string]bool{}
	for _, e := range entities {
		for _, role := range slices.Concat(e.Roles, e.IDP, e.SP) {
			for _, kd := range role.Keys {
				if kd.Use != "" && kd.Use != "signing" {
					continue
				}
				for _, text := range kd.Certs {
					cert, err := parseBase64Cert(text)
					if err != nil {
						skipped = append(skipped, err)
						continue
					}
					if t := x5t(cert); !seen[t] {
						seen[t] = true
						keys = append(keys, certKey(cert))
					}
				}
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no signing certificate found: %w", errors.Join(skipped...))
	}
	return keys, nil
}

// parseBase64Cert reads an X509Certificate element, whose base64 is often
// wrapped over several lines.
func parseBase64Cert(text string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, fmt.Errorf("X509Certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("X509Certificate: %w", err)
	}
	return cert, nil
}

func (p *Provider) fetchFederation(ctx context.Context, url string) ([]key, error) {
	body, err := p.get(ctx, url, "application/samlmetadata+xml, application/xml, text/xml")
	if err != nil {
		return nil, err
	}
	keys, err := parseFederation(body)
	if err != nil {
		return nil, fmt.Errorf("provider: federation metadata %s: %w", url, err)
	}
	return keys, nil
}

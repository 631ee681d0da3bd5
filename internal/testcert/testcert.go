// Package testcert makes throwaway certificates: TLS certificates for
// tests, the demo and the load test, self-signed signing certificates for
// the development OpenID provider, and the certificate chains under
// testdata/ (see internal/certgen). It uses the standard library only, so
// code built into oidcgate may use it too.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Spec describes one certificate. The zero value, with a CommonName, is a
// self-signed leaf for signing with a fresh ECDSA P-256 key, valid from an
// hour ago for a day.
type Spec struct {
	CommonName   string
	Organization string
	// Hosts are the DNS names and IP addresses of a server certificate;
	// with any, the certificate is for TLS server authentication.
	Hosts               []string
	NotBefore, NotAfter time.Time
	// CA lets the certificate sign others; a self-signed server
	// certificate that is also a CA is its own trust root.
	CA     bool
	Parent *Issued       // the issuer; nil: self-signed
	Key    crypto.Signer // the subject's key; nil: a new ECDSA P-256 key
}

// Issued is a certificate with its private key.
type Issued struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Issue makes the certificate s describes.
func Issue(s Spec) (*Issued, error) {
	key := s.Key
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("testcert: generate key: %w", err)
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, fmt.Errorf("testcert: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.CommonName},
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  s.CA,
	}
	if s.Organization != "" {
		tmpl.Subject.Organization = []string{s.Organization}
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	if s.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	for _, h := range s.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if len(s.Hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, signer := tmpl, key
	if s.Parent != nil {
		parent, signer = s.Parent.Cert, s.Parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("testcert: create %q: %w", s.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: parse %q: %w", s.CommonName, err)
	}
	return &Issued{Cert: cert, Key: key}, nil
}

// Server makes a self-signed server certificate for hosts that is its own
// trust root, valid from an hour ago for lifetime.
func Server(lifetime time.Duration, hosts ...string) (*Issued, error) {
	return Issue(Spec{
		CommonName:   hosts[0],
		Organization: "oidcgate development certificate",
		Hosts:        hosts,
		NotAfter:     time.Now().Add(lifetime),
		CA:           true,
	})
}

// TLS returns the certificate for a tls.Config.
func (i *Issued) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{i.Cert.Raw}, PrivateKey: i.Key, Leaf: i.Cert}
}

// Pool returns a pool that trusts this certificate alone.
func (i *Issued) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(i.Cert)
	return p
}

// KeyPEM returns the private key as a PKCS #8 PEM block.
func (i *Issued) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(i.Key)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CertPEM returns the certificate as a PEM block.
func (i *Issued) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw})
}

// WriteFiles writes the certificate and key as cert.pem and key.pem in dir.
func (i *Issued) WriteFiles(dir string) (certFile, keyFile string, err error) {
	keyPEM, err := i.KeyPEM()
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := writeFile(certFile, i.CertPEM(), 0o644); err != nil {
		return "", "", err
	}
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// Write creates cert.pem and key.pem in dir: a server certificate for the
// given host names and IP addresses (see Server).
func Write(dir string, lifetime time.Duration, hosts ...string) (certFile, keyFile string, err error) {
	c, err := Server(lifetime, hosts...)
	if err != nil {
		return "", "", err
	}
	return c.WriteFiles(dir)
}

// writeFile writes through a temporary file and a rename, so a server
// watching the file never reads half of it.
func writeFile(name string, data []byte, mode os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"time"
)

// CheckTLS loads [tls]'s certificate and key as serve would and reports,
// with the key path like every other problem, what would keep it
// from starting: a missing or unreadable file, the two files swapped, a
// key that is encrypted or does not belong to the certificate. It returns
// the certificate in service (nil without [tls] or on error).
func (c *Config) CheckTLS() (*x509.Certificate, error) {
	return c.checkTLS(os.ReadFile)
}

func (c *Config) checkTLS(readFile func(string) ([]byte, error)) (*x509.Certificate, error) {
	t := c.TLS
	if !t.Enabled() || t.CertFile == "" || t.KeyFile == "" {
		return nil, nil // nothing to load, or Validate has said what is missing
	}
	read := func(key, path string) ([]byte, error) {
		b, err := readFile(path)
		switch {
		case errors.Is(err, fs.ErrPermission):
			return nil, c.errorf(key, "%s: permission denied to user %d; under systemd pass the file with LoadCredential= (a DynamicUser cannot read a root-only file)", path, os.Getuid())
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, c.errorf(key, "%s: %v", path, err)
		}
		return b, nil
	}
	var errs []error
	certPEM, err := read("tls.cert_file", t.CertFile)
	if err != nil {
		errs = append(errs, err)
	}
	keyPEM, err := read("tls.key_file", t.KeyFile)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	certBlocks, certHasKey := pemTypes(certPEM)
	keyBlocks, keyHasKey := pemTypes(keyPEM)
	switch {
	case certBlocks["CERTIFICATE"] == 0 && certHasKey && keyBlocks["CERTIFICATE"] > 0 && !keyHasKey:
		return nil, c.errorf("tls", "cert_file %s holds a private key and key_file %s a certificate: the two are swapped", t.CertFile, t.KeyFile)
	case certBlocks["CERTIFICATE"] == 0 && certHasKey:
		return nil, c.errorf("tls.cert_file", "%s holds a private key, not a certificate", t.CertFile)
	case certBlocks["CERTIFICATE"] == 0:
		return nil, c.errorf("tls.cert_file", "%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", t.CertFile)
	case keyBlocks["ENCRYPTED PRIVATE KEY"] > 0 || bytes.Contains(keyPEM, []byte("Proc-Type: 4,ENCRYPTED")):
		return nil, c.errorf("tls.key_file", "%s is encrypted with a passphrase; oidcgate needs the key unencrypted (openssl pkey -in KEY -out KEY.plain)", t.KeyFile)
	case !keyHasKey && keyBlocks["CERTIFICATE"] > 0:
		return nil, c.errorf("tls.key_file", "%s holds a certificate, not a private key", t.KeyFile)
	case !keyHasKey:
		return nil, c.errorf("tls.key_file", "%s holds no PEM private key (-----BEGIN PRIVATE KEY-----)", t.KeyFile)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, c.errorf("tls.key_file", "%s does not go with the certificate in %s: %v", t.KeyFile, t.CertFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, c.errorf("tls.cert_file", "%s: %v", t.CertFile, err)
		}
	}
	if time.Now().After(leaf.NotAfter) {
		return leaf, c.errorf("tls.cert_file", "%s expired on %s", t.CertFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return leaf, nil
}

// pemTypes counts the PEM blocks of data by type, and says whether one of
// them is a private key.
func pemTypes(data []byte) (map[string]int, bool) {
	n := map[string]int{}
	hasKey := false
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return n, hasKey
		}
		n[b.Type]++
		if b.Type == "PRIVATE KEY" || b.Type == "RSA PRIVATE KEY" || b.Type == "EC PRIVATE KEY" || b.Type == "ENCRYPTED PRIVATE KEY" {
			hasKey = true
		}
	}
}

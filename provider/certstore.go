package provider

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// loadStore finds every configured certificate on disk. Each entry must find
// at least one acceptable certificate, or the whole configuration is refused:
// a proxy that silently lost a signing key would only fail later, at sign-in.
// The warnings name certificates accepted without checks (Valid false).
func loadStore(entries []Certificate, now time.Time) ([]key, []string, error) {
	var keys []key
	var warnings []string
	var errs []error
	seen := map[string]bool{}
	for _, c := range entries {
		certs, warn, err := findCertificates(c, now)
		warnings = append(warnings, warn...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, cert := range certs {
			if t := x5t(cert); !seen[t] {
				seen[t] = true
				keys = append(keys, certKey(cert))
			}
		}
	}
	return keys, warnings, errors.Join(errs...)
}

// findCertificates is X509Store.Certificates.Find for one entry.
func findCertificates(c Certificate, now time.Time) ([]*x509.Certificate, []string, error) {
	fail := func(format string, a ...any) ([]*x509.Certificate, []string, error) {
		return nil, nil, fmt.Errorf("provider: certificate %q: %s", c.Name, fmt.Sprintf(format, a...))
	}
	match, err := matcher(c)
	if err != nil {
		return fail("%v", err)
	}
	all, err := readLocation(c.Location)
	if err != nil {
		return fail("%v", err)
	}
	var found []*x509.Certificate
	for _, cert := range all {
		if match(cert) {
			found = append(found, cert)
		}
	}
	if len(found) == 0 {
		return fail("no certificate %s %q among the %d certificates in %s", describeFind(c.FindType), c.FindValue, len(all), c.Location)
	}

	if !c.Valid {
		var warnings []string
		for _, cert := range found {
			w := fmt.Sprintf("provider: certificate %q: %q (thumbprint %s) accepted without checking its validity period or chain (valid = false)",
				c.Name, cert.Subject.String(), thumbprint(cert))
			if now.After(cert.NotAfter) {
				w += fmt.Sprintf("; it expired on %s", cert.NotAfter.Format(time.DateOnly))
			}
			warnings = append(warnings, w)
		}
		return found, warnings, nil
	}

	var valid []*x509.Certificate
	var refused []error
	for _, cert := range found {
		if err := checkValid(cert, all, now); err != nil {
			refused = append(refused, fmt.Errorf("%q (thumbprint %s): %w", cert.Subject.String(), thumbprint(cert), err))
			continue
		}
		valid = append(valid, cert)
	}
	if len(valid) == 0 {
		return fail("found in %s but refused (valid = true): %v", c.Location, errors.Join(refused...))
	}
	return valid, nil, nil
}

func describeFind(findType string) string {
	if findType == "FindBySubjectName" {
		return "whose subject contains"
	}
	return "with thumbprint"
}

// matcher returns the test for one entry's FindType and FindValue.
func matcher(c Certificate) (func(*x509.Certificate) bool, error) {
	switch c.FindType {
	case "FindByThumbprint":
		want, err := normalizeThumbprint(c.FindValue)
		if err != nil {
			return nil, err
		}
		return func(cert *x509.Certificate) bool { return thumbprint(cert) == want }, nil
	case "FindBySubjectName":
		if strings.TrimSpace(c.FindValue) == "" {
			return nil, errors.New("empty subject name")
		}
		// .NET's FindBySubjectName: a case-insensitive substring of the subject.
		want := strings.ToLower(c.FindValue)
		return func(cert *x509.Certificate) bool {
			return strings.Contains(strings.ToLower(cert.Subject.String()), want)
		}, nil
	}
	return nil, fmt.Errorf("unknown find type %q (want FindByThumbprint or FindBySubjectName)", c.FindType)
}

// normalizeThumbprint drops what copying a thumbprint out of Windows'
// certificate dialog brings along: spaces, colons, upper case, and the
// invisible left-to-right mark that the dialog puts in front of it.
func normalizeThumbprint(v string) (string, error) {
	t := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', ':', '\u200e', '\u200f', '\ufeff':
			return -1
		}
		return r
	}, strings.ToLower(v))
	if len(t) != 40 || strings.Trim(t, "0123456789abcdef") != "" {
		return "", fmt.Errorf("thumbprint %q is not a SHA-1 thumbprint (40 hex digits)", v)
	}
	return t, nil
}

// checkValid is what valid = true asks: within the validity period, and a
// chain to the system roots (SSL_CERT_FILE and SSL_CERT_DIR included), with
// the other certificates of the same location as intermediates.
func checkValid(cert *x509.Certificate, location []*x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("not valid before %s", cert.NotBefore.Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("expired on %s", cert.NotAfter.Format(time.RFC3339))
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		return fmt.Errorf("system roots: %w", err)
	}
	intermediates := x509.NewCertPool()
	for _, c := range location {
		if c != cert {
			intermediates.AddCert(c)
		}
	}
	_, err = cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		// Token signing certificates rarely carry an extended key usage, and
		// none of them is "server authentication".
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// readLocation reads every certificate at a PEM file, a PEM bundle, or a
// folder of PEM/DER files. In a folder, files that hold no certificate
// (keys, notes) are passed over, and so are dot files, which also skips the
// ..data links of a Kubernetes secret volume that would list each file twice.
func readLocation(loc string) ([]*x509.Certificate, error) {
	if loc == "" {
		return nil, errors.New("no certificate location")
	}
	info, err := os.Stat(loc)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		data, err := os.ReadFile(loc)
		if err != nil {
			return nil, err
		}
		certs, err := parseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		return certs, nil
	}
	entries, err := os.ReadDir(loc)
	if err != nil {
		return nil, err
	}
	var all []*x509.Certificate
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(loc, e.Name())
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		certs, _ := parseCertificates(data)
		all = append(all, certs...)
	}
	return all, nil
}

// parseCertificates reads the CERTIFICATE blocks of PEM data, or else DER.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor DER certificates: %w", err)
		}
		return certs, nil
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return certs, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
}

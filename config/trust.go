package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Scopes is written either as a list (["openid", "profile"]) or as one
// space-delimited string ("openid profile"), in [openid_connect] and in
// [[credentials]] alike.
type Scopes []string

// UnmarshalTOML takes a string or an array of strings.
func (s *Scopes) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = strings.Fields(v)
		if len(*s) == 0 && v != "" {
			*s = Scopes{v} // only blanks: kept, so Validate names the problem
		}
		return nil
	case []any:
		out := make(Scopes, 0, len(v))
		for i, e := range v {
			str, ok := e.(string)
			if !ok {
				return fmt.Errorf("scopes[%d]: must be a string, not %T", i, e)
			}
			out = append(out, str)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("scopes: must be a string or a list of strings, not %T", v)
}

// String is the space-delimited form the token endpoint receives.
func (s Scopes) String() string { return strings.Join(s, " ") }

// TrustedProxyPrefixes returns trusted_proxies as prefixes: a bare address
// is a prefix of its full length. Entries that do not parse are left out;
// Validate reports them.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, ok := parsePrefix(s); ok {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// maxCAFile bounds a ca_file: a bundle of a few hundred certificates.
const maxCAFile = 1 << 20

// readCAFiles loads each ca_file into a pool holding the system's roots
// and the file's certificates.
func (c *Config) readCAFiles() []error {
	var errs []error
	read := func(key, file string) *x509.CertPool {
		if file == "" || envRef.MatchString(file) {
			return nil
		}
		pool, err := loadCAFile(file)
		if err != nil {
			errs = append(errs, c.errorf(key, "%w", err))
		}
		return pool
	}
	o := &c.OpenIDConnect
	o.RootCAs = read("openid_connect.ca_file", o.CAFile)
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		cr.RootCAs = read(credentialKey(i, cr.Name)+".ca_file", cr.CAFile)
	}
	return errs
}

// loadCAFile reads PEM certificates from path and adds them to a copy of
// the system's roots.
func loadCAFile(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > maxCAFile {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a CA bundle", path, maxCAFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate (-----BEGIN CERTIFICATE-----) found", path)
	}
	return pool, nil
}

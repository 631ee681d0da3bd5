package config

import (
	"errors"
	"slices"
	"time"

	"github.com/oidcgate/oidcgate/clientauth"
)

// checkClientKeys loads every private_key_jwt key pair as the server will,
// so that a key that does not parse, a certificate that is not its pair or
// is out of its dates, and an alg that does not fit the key are reported
// with every other problem, on the key at fault. It keeps nothing: the
// server loads the pairs itself and reloads them when they change.
func (c *Config) checkClientKeys(now time.Time) []error {
	var errs []error
	check := func(prefix string, method, keyFile, certFile, alg string) {
		if method != string(PrivateKeyJWT) || keyFile == "" {
			return
		}
		if !slices.Contains(clientauth.Algorithms, alg) {
			alg = "" // Validate reports it; the key is still checked
		}
		_, err := clientauth.LoadKey(keyFile, certFile, alg, now)
		if err == nil {
			return
		}
		key := prefix + "client_assertion_key_file"
		var p *clientauth.Problem
		if errors.As(err, &p) {
			switch p.Part {
			case "certificate":
				key = prefix + "client_assertion_certificate_file"
			case "alg":
				key = prefix + "client_assertion_alg"
			}
			err = p.Err
		}
		errs = append(errs, c.errorf(key, "%w", err))
	}
	o := c.OpenIDConnect
	check("openid_connect.", string(o.TokenRequestAuthorizationMethod), o.ClientAssertionKeyFile, o.ClientAssertionCertificateFile, o.ClientAssertionAlg)
	for i, cr := range c.Credentials {
		check(credentialKey(i, cr.Name)+".", string(cr.AuthenticationMethod), cr.ClientAssertionKeyFile, cr.ClientAssertionCertificateFile, cr.ClientAssertionAlg)
	}
	return errs
}

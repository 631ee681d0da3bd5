package proxy

import (
	"log/slog"
	"time"

	"github.com/oidcgate/oidcgate/clientauth"
	"github.com/oidcgate/oidcgate/config"
)

// tokenAuth maps token_request_authorization_method to clientauth's
// methods; an unknown one maps to none, which the provider refuses.
func tokenAuth(m config.TokenAuthMethod) clientauth.Method {
	switch m {
	case config.ClientSecretBasic:
		return clientauth.SecretBasic
	case config.ClientSecretPost:
		return clientauth.SecretPost
	case config.ClientSecretJWT:
		return clientauth.SecretJWT
	case config.PrivateKeyJWT:
		return clientauth.PrivateKeyJWT
	}
	return 0
}

// clientKey opens the key pair that signs private_key_jwt assertions for
// the client configured at key ("openid_connect", "credentials[0] (mail)"),
// or returns nil when it uses another method. A replaced pair is picked up
// at the next token request and logged (log may be nil), so a certificate
// rollover needs no restart.
func clientKey(key string, withKey bool, keyFile, certFile, alg string, log *slog.Logger) (*clientauth.KeyFile, error) {
	if !withKey {
		return nil, nil
	}
	f, err := clientauth.OpenKeyFile(clientauth.KeyFileOptions{
		KeyFile: keyFile, CertificateFile: certFile, Alg: alg,
		OnReload: func(err error) {
			switch {
			case log == nil:
			case err != nil:
				log.Error(key+": client assertion key files changed but could not be loaded; still signing with the previous key", "error", err.Error())
			default:
				log.Info(key+": client assertion key reloaded", "key_file", keyFile, "certificate_file", certFile)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if c := f.Key().Certificate(); c != nil && log != nil && time.Until(c.NotAfter) < 30*24*time.Hour {
		log.Warn(key+": the client assertion certificate expires soon: make a new pair (oidcgate gencert), register its certificate, then replace the files",
			"certificate_file", certFile, "not_after", c.NotAfter.UTC().Format(time.RFC3339), "thumbprint", f.Key().Thumbprint())
	}
	return f, nil
}

package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/credentials"
)

// injection attaches a client-credentials access token to every request
// forwarded to a site, in place of whatever the client sent in that header.
type injection struct {
	header     string
	credential string
	source     *credentials.Source
}

// injectTokens gets the access token of each inject entry, in their order;
// without its token the request is not forwarded at all.
func (s *Server) injectTokens(r *http.Request, st *site) ([]string, error) {
	if len(st.inject) == 0 {
		return nil, nil
	}
	tokens := make([]string, len(st.inject))
	for i, in := range st.inject {
		tok, err := in.source.Token(r.Context())
		var se *credentials.ServerError
		if errors.As(err, &se) && se.Status < 500 && configurationError(se.Code, se.Description) {
			return nil, refuseAdmin(http.StatusBadGateway, "credential_token_failed",
				"The authorization server refused the credential oidcgate uses for this site ("+clip(se.Code, 64)+").",
				fmt.Errorf("credential %q: %w", in.credential, err))
		}
		if err != nil {
			return nil, refuse(http.StatusBadGateway, "credential_token_failed",
				"oidcgate could not get the access token this site needs from its authorization server. Please try again later.",
				fmt.Errorf("credential %q: %w", in.credential, err))
		}
		tokens[i] = tok
	}
	return tokens, nil
}

// credentialSources makes one token source per [[credentials]] entry that a
// site injects; tokens are cached and shared by every request.
func (s *Server) credentialSources(cfg *config.Config, client *http.Client, clock func() time.Time) (map[string]*credentials.Source, error) {
	used := map[string]bool{}
	for _, sc := range cfg.Sites {
		for _, in := range sc.Inject {
			used[in.Credential] = true
		}
	}
	sources := map[string]*credentials.Source{}
	for i, c := range cfg.Credentials {
		if !used[c.Name] {
			continue
		}
		cred, err := CredentialFromConfig(i, c, s.log)
		if err != nil {
			return nil, fmt.Errorf("credentials %q: %w", c.Name, err)
		}
		cl := client
		if c.RootCAs != nil { // ca_file: this token endpoint has a CA of its own
			cl = OutboundClient(cfg.Limits.OutboundTimeout.Duration, c.RootCAs)
		}
		sources[c.Name] = credentials.NewSourceWithOptions(cred, cl, credentials.SourceOptions{
			Now: clock,
			OnFetch: func(name string, err error) {
				s.metrics.credentialGets.WithLabelValues(name, result(err)).Inc()
				if err != nil {
					s.log.Warn("credential token request failed", "credential", name, "error", err.Error())
				}
			},
		})
	}
	for name := range used {
		if sources[name] == nil {
			return nil, fmt.Errorf("sites.inject: credential %q is not defined in [[credentials]]", name)
		}
	}
	return sources, nil
}

// CredentialFromConfig turns [[credentials]] entry i into what the
// credentials package takes, opening its private_key_jwt key pair; reloads
// of it are logged to log (nil: not logged).
func CredentialFromConfig(i int, c config.Credential, log *slog.Logger) (credentials.Credential, error) {
	m, err := credentials.ParseMethod(string(c.AuthenticationMethod))
	if err != nil {
		return credentials.Credential{}, err
	}
	key, err := clientKey(fmt.Sprintf("credentials[%d] (%s)", i, c.Name), m == credentials.PrivateKeyJWT,
		c.ClientAssertionKeyFile, c.ClientAssertionCertificateFile, c.ClientAssertionAlg, log)
	if err != nil {
		return credentials.Credential{}, err
	}
	return credentials.Credential{Name: c.Name, ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenEndpoint: c.TokenEndpoint, Scopes: c.Scopes.String(), Method: m, Key: key}, nil
}

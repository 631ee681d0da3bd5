package provider

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// Exchange redeems an authorization code at the token endpoint, with the
// PKCE verifier and the configured client authentication only: the secret
// in a header or the body, or a signed assertion (with client_id and no
// secret beside it). An error answer from the provider comes back as an
// *oauth2.RetrieveError (reach it with errors.As) carrying its error code
// and description.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURI string) (*oauth2.Token, error) {
	e, err := p.Endpoints()
	if err != nil {
		return nil, err
	}
	auth, err := p.o.client().Request(e.Token)
	if err != nil {
		return nil, fmt.Errorf("provider: token request to %s: %w", e.Token, err)
	}
	cfg := oauth2.Config{
		ClientID:     p.o.ClientID,
		ClientSecret: auth.ClientSecret,
		RedirectURL:  redirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.Authorization,
			TokenURL:  e.Token,
			AuthStyle: auth.AuthStyle,
		},
	}
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	for name, values := range auth.Params {
		opts = append(opts, oauth2.SetAuthURLParam(name, values[0]))
	}
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.o.HTTPClient)
	tok, err := cfg.Exchange(ctx, code, opts...)
	if err != nil {
		return nil, fmt.Errorf("provider: token request to %s: %w", e.Token, err)
	}
	return tok, nil
}

package provider

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/oidcgate/oidcgate/claims"
)

// ErrNoUserInfo means the provider has no userinfo endpoint.
var ErrNoUserInfo = errors.New("provider: no userinfo endpoint")

// UserInfo asks the userinfo endpoint for the claims of the access token's
// user. Only a JSON answer is accepted; a signed (application/jwt) one is
// not supported. Callers must check that its sub is the ID token's.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (claims.Claims, error) {
	e, err := p.Endpoints()
	if err != nil {
		return nil, err
	}
	if e.UserInfo == "" {
		return nil, ErrNoUserInfo
	}
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.UserInfo, nil)
	if err != nil {
		return nil, fmt.Errorf("provider: userinfo %s: %w", e.UserInfo, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.o.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("provider: userinfo %s: %w", e.UserInfo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("provider: userinfo %s: HTTP status %s", e.UserInfo, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/jwt" {
		return nil, fmt.Errorf("provider: userinfo %s: signed (application/jwt) answers are not supported", e.UserInfo)
	}
	body, err := readLimited(resp.Body, e.UserInfo)
	if err != nil {
		return nil, err
	}
	c, err := decodeClaims(body)
	if err != nil {
		return nil, fmt.Errorf("provider: userinfo %s: %w", e.UserInfo, err)
	}
	return c, nil
}

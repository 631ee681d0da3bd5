package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxDocument bounds every document read from the provider: discovery
// documents and key sets are a few kilobytes, WS-Federation metadata a few
// dozen; anything near this size is not what we asked for.
const maxDocument = 1 << 20

// get fetches url with the provider's client, bounded in time by p.timeout
// whatever the client's own settings, and in size by maxDocument.
func (p *Provider) get(ctx context.Context, url, accept string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("provider: GET %s: %w", url, err)
	}
	req.Header.Set("Accept", accept)
	// A forced refresh exists to see new keys; an intermediate cache would defeat it.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := p.o.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("provider: GET %s: %w%s", url, err, TLSHint(err, "[openid_connect]"))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("provider: GET %s: HTTP status %s", url, resp.Status)
	}
	return readLimited(resp.Body, url)
}

func readLimited(r io.Reader, url string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("provider: GET %s: reading body: %w", url, err)
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("provider: GET %s: body larger than %d bytes", url, maxDocument)
	}
	return body, nil
}

// TLSHint names the fix for a certificate signed by a CA this machine does
// not trust, the usual case of a provider with an internal CA (AD FS,
// Keycloak): the ca_file of the given section. "" for other errors.
func TLSHint(err error, section string) string {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Sprintf(" (the server's certificate is signed by a CA oidcgate does not trust: set ca_file in %s to that CA's PEM file)", section)
	}
	return ""
}

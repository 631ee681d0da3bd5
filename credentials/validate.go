package credentials

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// DefaultTimeout bounds a token request when the caller passes a nil
// *http.Client.
const DefaultTimeout = 15 * time.Second

// Result is what a successful token request tells about the token; the
// token itself is deliberately not part of it.
type Result struct {
	TokenType string        // as the server wrote it; "" if it did not
	ExpiresIn time.Duration // 0 when the server did not state a lifetime
	// Scope is the granted scope; "" when the server did not say, which
	// per RFC 6749 §5.1 means the scope requested.
	Scope string
}

// ServerError is a token endpoint's refusal: an error status or an RFC 6749
// §5.2 error response.
type ServerError struct {
	Endpoint    string // the token endpoint, any password in it redacted
	Status      int    // HTTP status code
	Code        string // RFC 6749 "error"; "" when the body was not an OAuth error response
	Description string // "error_description", or a short cleaned excerpt of a non-OAuth body
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("token endpoint %s answered %d", e.Endpoint, e.Status)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Validate makes one token request for c with client (nil: a client with
// DefaultTimeout) and reports what the server granted. The error is a
// *ServerError when the token endpoint refused, or else the network or
// protocol error wrapped with the endpoint URL; it does not name the
// credential, so that callers can say which one in their own words. No
// error contains the client secret or an access token.
func Validate(ctx context.Context, c Credential, client *http.Client) (Result, error) {
	tok, lifetime, err := fetch(ctx, c, client)
	if err != nil {
		return Result{}, err
	}
	return Result{TokenType: tok.TokenType, ExpiresIn: lifetime, Scope: grantedScope(tok)}, nil
}

// fetch makes one token request and returns the token with its lifetime as
// the server stated it (0: not stated).
func fetch(ctx context.Context, c Credential, client *http.Client) (*oauth2.Token, time.Duration, error) {
	conf, err := c.config()
	if err != nil {
		return nil, 0, err
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	tok, err := conf.Token(ctx)
	if err != nil {
		return nil, 0, classify(c, err)
	}
	var lifetime time.Duration
	if !tok.Expiry.IsZero() {
		// x/oauth2 turned expires_in into Expiry a moment ago; rounding
		// recovers the whole seconds the server sent.
		lifetime = time.Until(tok.Expiry).Round(time.Second)
	}
	return tok, lifetime, nil
}

func grantedScope(tok *oauth2.Token) string {
	switch v := tok.Extra("scope").(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// classify turns an x/oauth2 error into one that is safe to print.
func classify(c Credential, err error) error {
	endpoint := displayURL(c.TokenEndpoint)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// re is not kept in the chain: its Error method prints the body.
		se := &ServerError{Endpoint: endpoint, Code: clean(re.ErrorCode, 100, c)}
		if re.Response != nil {
			se.Status = re.Response.StatusCode
		}
		if se.Code != "" {
			se.Description = clean(re.ErrorDescription, 500, c)
		} else {
			se.Description = clean(stripTags(string(re.Body)), 200, c)
		}
		return se
	}
	// *url.Error repeats the method and URL; the endpoint is named below.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return fmt.Errorf("token endpoint %s: %w (its certificate is signed by a CA oidcgate does not trust: set ca_file in this [[credentials]] entry to that CA's PEM file)", endpoint, err)
	}
	return fmt.Errorf("token endpoint %s: %w", endpoint, err)
}

func displayURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

var tag = regexp.MustCompile(`<[^>]*>`)

// stripTags turns an HTML error page into its text, near enough for an
// excerpt.
func stripTags(s string) string {
	return tag.ReplaceAllString(s, " ")
}

// clean makes server-supplied text fit for a terminal and a log line:
// valid UTF-8, no control characters (escape sequences), whitespace
// collapsed, at most max runes, and the client secret in any of the forms
// it travelled in replaced by REDACTED.
func clean(s string, max int, c Credential) string {
	s = redact(s, c)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	s = redact(strings.Join(strings.Fields(s), " "), c)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

func redact(s string, c Credential) string {
	if c.ClientSecret == "" {
		return s
	}
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)))
	for _, secret := range []string{basic, c.ClientSecret, url.QueryEscape(c.ClientSecret), url.PathEscape(c.ClientSecret)} {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

// Package provider is the OpenID provider as the relying party sees it: its
// endpoints and the key set that signs its ID tokens, whichever of the four
// discovery kinds supplies them.
//
// New never waits for the network. A goroutine fetches the discovery
// document and the keys with backoff until they arrive, then refreshes the
// keys on a schedule; Ready says when sign-ins can be served.
package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// Endpoints are the provider's URLs as the relying party uses them.
type Endpoints struct {
	Issuer, Authorization, Token, UserInfo, EndSession string
	Keys                                               string // jwks_uri, the JWKS or metadata URL; "" for Store
}

// Provider is one OpenID provider. Its methods are safe for concurrent use.
type Provider struct {
	o        Options
	ctx      context.Context
	keys     *keySet
	stats    *counters
	warnings []string

	mu         sync.RWMutex
	endpoints  *Endpoints // nil until known (Discovery: until the document was read)
	discErr    error      // the last discovery failure
	advertised []string   // id_token_signing_alg_values_supported
}

// New checks the options, loads Store certificates, and starts fetching in
// the background until ctx ends. It fails only on static problems.
func New(ctx context.Context, o Options) (*Provider, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := &Provider{o: o, ctx: ctx, stats: &counters{}}
	p.keys = &keySet{ctx: ctx, stats: p.stats, minForced: o.ForcedRefreshMinInterval}
	for _, alg := range o.Algorithms {
		p.keys.algs = append(p.keys.algs, jose.SignatureAlgorithm(alg))
		if isHMAC(alg) {
			p.keys.secret = []byte(o.ClientSecret)
		}
	}
	if o.Kind != Discovery {
		p.endpoints = &Endpoints{
			Issuer:        o.Issuer,
			Authorization: o.AuthorizationURL,
			Token:         o.TokenURL,
			UserInfo:      o.UserInfoURL,
			EndSession:    o.EndSessionURL,
			Keys:          o.URL,
		}
	}
	p.keys.source = keySource(o)
	if o.Kind == Store {
		keys, warnings, err := loadStore(o.Certificates, o.Now())
		if err != nil {
			return nil, err
		}
		p.keys.set(keys)
		p.warnings = warnings
		p.endpoints.Keys = ""
		return p, nil
	}
	p.keys.fetch = p.fetchKeys
	go p.loop()
	return p, nil
}

// keySource says where the signing keys come from, for the error that
// names a key none of them holds.
func keySource(o Options) string {
	switch o.Kind {
	case Store:
		var where []string
		for _, c := range o.Certificates {
			where = append(where, fmt.Sprintf("%s (%s %s in %s)", c.Name, c.FindType, c.FindValue, c.Location))
		}
		return "the certificates of openid_connect.identity_provider_certificates: " + strings.Join(where, ", ") +
			"; add the provider's new signing certificate there"
	case Federation:
		return "the signing certificates of the federation metadata " + o.URL
	case JWKS:
		return "the JWKS " + o.URL
	default:
		return "the provider's jwks_uri (discovered from " + o.URL + ")"
	}
}

// Ready returns nil once the endpoints and at least one signing key are
// known, and otherwise says what is missing and why.
func (p *Provider) Ready() error {
	if _, err := p.Endpoints(); err != nil {
		return err
	}
	if loaded, _, lastErr := p.keys.status(); !loaded {
		if lastErr != nil {
			return chain(lastErr, "signing keys from %s not loaded yet", p.o.URL)
		}
		return fmt.Errorf("provider: signing keys from %s not loaded yet", p.o.URL)
	}
	return nil
}

// Endpoints returns the provider's endpoints, or an error until the
// discovery document has been read.
func (p *Provider) Endpoints() (Endpoints, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case p.endpoints != nil:
		return *p.endpoints, nil
	case p.discErr != nil:
		return Endpoints{}, chain(p.discErr, "discovery document %s not loaded yet", p.o.URL)
	}
	return Endpoints{}, fmt.Errorf("provider: discovery document %s not loaded yet", p.o.URL)
}

// Warnings are things an operator should hear about at start, such as
// certificates accepted without checks.
func (p *Provider) Warnings() []string { return slices.Clone(p.warnings) }

// fetchKeys is the key set's fetch: the discovery document first if it is
// still missing, then the keys.
func (p *Provider) fetchKeys(ctx context.Context) ([]key, error) {
	switch p.o.Kind {
	case Discovery:
		e, err := p.discover(ctx)
		if err != nil {
			return nil, err
		}
		keys, err := p.fetchJWKS(ctx, e.Keys)
		p.record("jwks", err)
		return keys, err
	case JWKS:
		keys, err := p.fetchJWKS(ctx, p.o.URL)
		p.record("jwks", err)
		return keys, err
	case Federation:
		keys, err := p.fetchFederation(ctx, p.o.URL)
		p.record("federation", err)
		return keys, err
	}
	return nil, fmt.Errorf("provider: %v keys are not fetched", p.o.Kind)
}

// discover reads the discovery document once; after that its endpoints stay.
func (p *Provider) discover(ctx context.Context) (Endpoints, error) {
	if e, err := p.Endpoints(); err == nil {
		return e, nil
	}
	var d discoveryDoc
	var e Endpoints
	body, err := p.get(ctx, p.o.URL, "application/json")
	if err == nil {
		d, err = parseDiscovery(body, p.o.URL)
	} else if hint := discoveryHint(p.o.URL, nil); hint != "" && !strings.Contains(err.Error(), "certificate") {
		err = fmt.Errorf("%w%s", err, hint) // an issuer URL answers 404 or an HTML page
	}
	if err == nil {
		e, err = d.endpoints(p.o)
	}
	p.record("discovery", err)

	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.discErr = err
		return Endpoints{}, err
	}
	p.endpoints, p.discErr, p.advertised = &e, nil, d.Algorithms
	return e, nil
}

func (p *Provider) record(source string, err error) {
	p.stats.fetches.Add(1)
	if err != nil {
		p.stats.fetchErrors.Add(1)
	}
	p.o.OnFetch(source, err)
}

// chained is an error of this package wrapping another that already names
// the package: "provider: signing keys from … not loaded yet: GET …", not
// "… not loaded yet: provider: GET …".
type chained struct {
	msg string
	err error
}

func (e *chained) Error() string { return e.msg }
func (e *chained) Unwrap() error { return e.err }

func chain(err error, format string, a ...any) error {
	return &chained{msg: "provider: " + fmt.Sprintf(format, a...) + ": " + unprefixed(err), err: err}
}

// unprefixed is err's message without this package's "provider: ".
func unprefixed(err error) string {
	return strings.TrimPrefix(fmt.Sprint(err), "provider: ")
}

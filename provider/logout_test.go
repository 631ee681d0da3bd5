package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func goodLogoutClaims(issuer string) map[string]any {
	return map[string]any{
		"iss":    issuer,
		"aud":    "client-1",
		"iat":    time.Now().Unix(),
		"jti":    "jti-1",
		"sub":    "user-1",
		"sid":    "sid-1",
		"events": map[string]any{backChannelEvent: map[string]any{}},
	}
}

func logoutReason(err error) Reason {
	var le *LogoutError
	if errors.As(err, &le) {
		return le.Reason
	}
	if err != nil {
		return "not a *LogoutError"
	}
	return ""
}

// TestVerifyLogout covers what the provider package decides; the HTTP
// tests in proxy cover every rule again through the endpoint.
func TestVerifyLogout(t *testing.T) {
	op := newFakeOP(t)
	key := newKey(t, "RS256", "rsa-1")
	op.setKeys(key)
	o := op.options(JWKS)
	o.ClockSkew = time.Minute
	p := newProvider(t, o)
	waitReady(t, p)
	good := goodLogoutClaims(op.URL)
	now := time.Now()
	tests := []struct {
		name   string
		claims map[string]any
		header map[string]any
		want   Reason
	}{
		{"good", good, nil, ""},
		{"typ logout+jwt", good, map[string]any{"typ": "logout+jwt"}, ""},
		{"typ Logout+JWT", good, map[string]any{"typ": "Logout+JWT"}, ""},
		{"typ at+jwt", good, map[string]any{"typ": "at+jwt"}, ReasonType},
		{"no iat", with(good, "iat", absent), nil, ReasonIssuedAt},
		{"iat ahead beyond skew", with(good, "iat", now.Add(2*time.Minute).Unix()), nil, ReasonIssuedAt},
		{"iat 2m50s old, no exp", with(good, "iat", now.Add(-170*time.Second).Unix()), nil, ""},
		{"iat 3m10s old, no exp", with(good, "iat", now.Add(-190*time.Second).Unix()), nil, ReasonExpired},
		{"iat old, exp ahead", with(good, "iat", now.Add(-time.Hour).Unix(), "exp", now.Add(time.Minute).Unix()), nil, ""},
		{"exp passed beyond skew", with(good, "exp", now.Add(-70*time.Second).Unix()), nil, ReasonExpired},
		{"exp not a number", with(good, "exp", "soon"), nil, ReasonInvalid},
		{"no jti", with(good, "jti", absent), nil, ReasonTokenID},
		{"jti not a string", with(good, "jti", 5), nil, ReasonTokenID},
		{"no events", with(good, "events", absent), nil, ReasonEvents},
		{"event null", with(good, "events", map[string]any{backChannelEvent: nil}), nil, ReasonEvents},
		{"event an array", with(good, "events", map[string]any{backChannelEvent: []any{}}), nil, ReasonEvents},
		{"sub alone", with(good, "sid", absent), nil, ""},
		{"sid alone", with(good, "sub", absent), nil, ""},
		{"neither", with(good, "sid", absent, "sub", absent), nil, ReasonSubject},
		{"both empty", with(good, "sid", "", "sub", ""), nil, ReasonSubject},
		{"nonce", with(good, "nonce", "n"), nil, ReasonNonce},
		{"nonce null", with(good, "nonce", nil), nil, ReasonNonce},
		{"other issuer", with(good, "iss", "https://evil.example"), nil, ReasonIssuer},
		{"other audience", with(good, "aud", "client-2"), nil, ReasonAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := p.VerifyLogout(context.Background(), key.sign(t, tt.claims, tt.header))
			if got := logoutReason(err); got != tt.want {
				t.Fatalf("VerifyLogout = %v; want reason %q", err, tt.want)
			}
			if err == nil && (tok.TokenID != "jti-1" || tok.Issuer != op.URL || tok.Window < time.Second) {
				t.Errorf("VerifyLogout = %+v", tok)
			}
		})
	}
	noTyp := key.sign(t, good, nil)
	h, _ := json.Marshal(map[string]any{"alg": "none", "kid": "rsa-1"})
	parts := strings.Split(noTyp, ".")
	unsigned := base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "."
	if _, err := p.VerifyLogout(context.Background(), unsigned); logoutReason(err) != ReasonAlgorithm {
		t.Errorf("alg none: %v; want reason algorithm", err)
	}
}

// FuzzLogoutToken feeds VerifyLogout tokens as an attacker could send
// them (any bytes), and claims as a provider could sign them (any JSON
// under a good signature, with any typ). Nothing may panic, and a token
// accepted must name a jti and a session or user.
func FuzzLogoutToken(f *testing.F) {
	op := newFakeOP(f)
	key := newKey(f, "ES256", "ec-1")
	op.setKeys(key)
	o := op.options(JWKS)
	o.Algorithms = []string{"ES256"}
	p := newProvider(f, o)
	waitReady(f, p)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.priv}, (&jose.SignerOptions{}).WithHeader("kid", "ec-1"))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(goodLogoutClaims(op.URL))
	f.Add("", good, key.sign(f, goodLogoutClaims(op.URL), nil))
	f.Add("logout+jwt", []byte(`{"iss":"`+op.URL+`","aud":["client-1"],"iat":1e10,"jti":"x","sid":"s","events":{"`+backChannelEvent+`":{}}}`), "a.b.c")
	f.Add("JWT", []byte(`{"events":null,"nonce":null,"iat":-1}`), "eyJhbGciOiJub25lIn0.e30.")
	f.Add("x", []byte(`[]`), "..")
	f.Fuzz(func(t *testing.T, typ string, payload []byte, raw string) {
		ctx := context.Background()
		check := func(tok LogoutToken, err error) {
			if err != nil {
				if logoutReason(err) == "not a *LogoutError" {
					t.Fatalf("error of another type: %v", err)
				}
				return
			}
			if tok.TokenID == "" || (tok.Subject == "" && tok.SID == "") || tok.Issuer != op.URL {
				t.Fatalf("accepted a token lacking what a logout needs: %+v", tok)
			}
		}
		check(p.VerifyLogout(ctx, raw))
		opts := (&jose.SignerOptions{}).WithHeader("kid", "ec-1")
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.priv}, opts)
		if err != nil {
			s = signer
		}
		jws, err := s.Sign(payload)
		if err != nil {
			return
		}
		tok, err := jws.CompactSerialize()
		if err != nil {
			return
		}
		check(p.VerifyLogout(ctx, tok))
	})
}

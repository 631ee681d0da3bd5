package provider

import (
	"strings"
	"testing"
)

func TestParseDiscovery(t *testing.T) {
	const url = "https://op.example.com/.well-known/openid-configuration"
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"complete", `{"issuer":"https://op.example.com","authorization_endpoint":"https://op.example.com/a","token_endpoint":"https://op.example.com/t","jwks_uri":"https://op.example.com/k"}`, ""},
		{"no issuer", `{"authorization_endpoint":"a","token_endpoint":"t","jwks_uri":"k"}`, "no issuer"},
		{"no jwks_uri", `{"issuer":"i","authorization_endpoint":"a","token_endpoint":"t"}`, "no jwks_uri"},
		{"not JSON", `<html>`, "invalid character"},
		{"issuer not a string", `{"issuer":1}`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDiscovery([]byte(tt.doc), url)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("parseDiscovery(%s) = %v; want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), url) {
				t.Errorf("parseDiscovery(%s) = %v; want an error naming the URL and containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestDiscoveryEndpointsOverride(t *testing.T) {
	d := discoveryDoc{
		Issuer: "https://op.example.com", Authorization: "https://op.example.com/a", Token: "https://op.example.com/t",
		UserInfo: "https://op.example.com/u", EndSession: "https://op.example.com/l", JWKSURI: "https://op.example.com/k",
	}
	tests := []struct {
		name string
		o    Options
		want Endpoints
	}{
		{"discovered", Options{}, Endpoints{Issuer: d.Issuer, Authorization: d.Authorization, Token: d.Token, UserInfo: d.UserInfo, EndSession: d.EndSession, Keys: d.JWKSURI}},
		{"configured win", Options{Issuer: "https://i", AuthorizationURL: "https://a", TokenURL: "https://t", EndSessionURL: "https://l", UserInfoURL: "https://u"},
			Endpoints{Issuer: "https://i", Authorization: "https://a", Token: "https://t", UserInfo: "https://u", EndSession: "https://l", Keys: d.JWKSURI}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.endpoints(tt.o)
			if err != nil || got != tt.want {
				t.Errorf("endpoints(%+v) = %+v, %v; want %+v", tt.o, got, err, tt.want)
			}
		})
	}
	if _, err := (discoveryDoc{Issuer: "i", JWKSURI: "k"}).endpoints(Options{URL: "https://op/.well-known"}); err == nil {
		t.Errorf("endpoints(no authorization or token endpoint) = nil; want an error")
	}
}

// A discovery document bigger than maxDocument is refused, not read whole.
func TestDiscoveryTooLarge(t *testing.T) {
	if _, err := readLimited(strings.NewReader(strings.Repeat(" ", maxDocument+10)), "https://op/x"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("readLimited(%d bytes) = %v; want a size error", maxDocument+10, err)
	}
}

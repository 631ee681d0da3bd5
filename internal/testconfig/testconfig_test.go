package testconfig

import (
	"testing"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/session"
)

func TestTOMLLoads(t *testing.T) {
	o := Options{
		Listen: "127.0.0.1:8443", AdminListen: "127.0.0.1:9090",
		CertFile: "c.pem", KeyFile: "k.pem",
		DiscoveryURL: "https://127.0.0.1:1/.well-known/openid-configuration",
		ClientID:     "cora", ClientSecret: `se"cret`,
		AuthorizationMethod: "GET",
		Keys:                []string{session.GenerateKey(), session.GenerateKey()},
		Sites:               []Site{{Name: "Administration", BaseURL: "https://127.0.0.1:8443/Administration/", Upstream: "http://127.0.0.1:2/a/"}},
		Extra:               "[limits]\nmax_header_bytes = 8192\n",
	}
	cfg, err := config.Parse([]byte(o.TOML()), "test.toml")
	if err != nil {
		t.Fatalf("config.Parse(TOML()) = %v\n%s", err, o.TOML())
	}
	if cfg.OpenIDConnect.ClientSecret != `se"cret` || len(cfg.Session.Keys) != 2 || cfg.Limits.MaxHeaderBytes != 8192 ||
		cfg.Authentication.Claims[0].ClaimType != "email" || cfg.OpenIDConnect.AuthorizationRequestHTTPMethod != config.MethodGet {
		t.Errorf("config from TOML() = %+v", cfg)
	}
}

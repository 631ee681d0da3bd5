package proxytest_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oidcgate/oidcgate/proxy/proxytest"
)

// entraUser carries the claims of a typical Entra ID token, as the load
// test's OP does.
var entraUser = proxytest.User{
	Name: "adele.vance",
	Claims: map[string]any{
		"sub":                "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
		"name":               "Adele Vance",
		"email":              "AdeleV@contoso.onmicrosoft.com",
		"preferred_username": "AdeleV@contoso.onmicrosoft.com",
		"oid":                "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
		"tid":                "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"groups": []any{
			"0a4d8f5a-6c1b-4a3e-9f7e-2b1d5c8e9f01", "1b5e9a6b-7d2c-4b4f-8a8f-3c2e6d9fa012",
			"2c6fab7c-8e3d-4c5a-9b9a-4d3f7eab1023", "3d7abc8d-9f4e-4d6b-8cab-5e4a8fbc2134",
			"4e8bcd9e-af5f-4e7c-9dbc-6f5b9acd3245",
		},
	},
}

// BenchmarkSignIn is the OP's share of one sign-in, without sockets or TLS:
// the authorization request (a code) and the token request (an RS256 ID
// token). Every iteration leaves a code and an access token behind, as a
// sign-in does, so long runs show what the OP's bookkeeping costs as they
// accumulate.
func BenchmarkSignIn(b *testing.B) {
	op, err := proxytest.New(proxytest.Options{
		ClientID: testClientID, ClientSecret: testClientSecret,
		TokenAuthMethod: proxytest.ClientSecretBasic,
		Users:           []proxytest.User{entraUser},
	})
	if err != nil {
		b.Fatal(err)
	}
	op.SetIssuer("https://op.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
	h := op.Handler()
	e := op.Endpoints()
	verifier := oauth2.GenerateVerifier()
	params := url.Values{
		"client_id":             {testClientID},
		"redirect_uri":          {testRedirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid profile email"},
		"nonce":                 {rand.Text()},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	b.ReportAllocs()
	for b.Loop() {
		params.Set("state", rand.Text())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, e.Authorization+"?"+params.Encode(), nil))
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || err != nil {
			b.Fatalf("authorization request answered %d %q", w.Code, w.Header().Get("Location"))
		}
		form := url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {loc.Query().Get("code")},
			"redirect_uri":  {testRedirectURI},
			"code_verifier": {verifier},
		}
		r := httptest.NewRequest(http.MethodPost, e.Token, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(testClientID, testClientSecret)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var tr tokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || w.Code != http.StatusOK || tr.IDToken == "" {
			b.Fatalf("token request answered %d: %s", w.Code, w.Body)
		}
	}
}

package fakeop_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oidcgate/oidcgate/internal/fakeop"
)

var entraUser = fakeop.EntraIDUser()

// BenchmarkSignIn is the OP's share of one sign-in, without sockets or TLS:
// the authorization request (a code) and the token request (an RS256 ID
// token). Every iteration leaves a code and an access token behind, as a
// sign-in does, so long runs show what the OP's bookkeeping costs as they
// accumulate.
func BenchmarkSignIn(b *testing.B) {
	op, err := fakeop.New(fakeop.Options{
		ClientID: testClientID, ClientSecret: testClientSecret,
		TokenAuthMethod: fakeop.ClientSecretBasic,
		Users:           []fakeop.User{entraUser},
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

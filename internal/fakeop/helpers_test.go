package fakeop_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

const (
	testClientID     = "cora"
	testClientSecret = "a-client-secret-that-is-long-enough-for-hs512-signing-0123456789"
	testRedirectURI  = "https://rp.example/Administration/oidcServices/signinresponse"
)

var alice = fakeop.User{
	Name:     "alice",
	Password: "wonderland",
	Claims: map[string]any{
		"sub":                "alice-subject",
		"email":              "alice@example.com",
		"preferred_username": "alice",
		"name":               "Alice Liddell",
		"groups":             []string{"admins", "users"},
	},
}

var bob = fakeop.User{
	Name:     "bob",
	Password: "builder",
	Claims:   map[string]any{"email": "bob@example.com"},
}

func testOptions() fakeop.Options {
	return fakeop.Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Users:        []fakeop.User{alice, bob},
	}
}

// browser is an HTTP client with cookies that does not follow redirects,
// so each step of the flow can be looked at.
func browser(t *testing.T, op *fakeoptest.OP) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := op.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// authRequest is an authorization request as a relying party makes it.
type authRequest struct {
	params   url.Values
	verifier string
}

func newAuthRequest(op *fakeoptest.OP) authRequest {
	verifier := oauth2.GenerateVerifier()
	return authRequest{
		verifier: verifier,
		params: url.Values{
			"client_id":             {op.ClientID()},
			"redirect_uri":          {testRedirectURI},
			"response_type":         {"code"},
			"scope":                 {"openid profile email"},
			"state":                 {rand.Text()},
			"nonce":                 {rand.Text()},
			"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
			"code_challenge_method": {"S256"},
		},
	}
}

// send makes the authorization request by GET or, as an auto-submitted
// form, by POST.
func (a authRequest) send(t *testing.T, c *http.Client, op *fakeoptest.OP, method string) *http.Response {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(op.Endpoints().Authorization, a.params)
	} else {
		resp, err = c.Get(op.Endpoints().Authorization + "?" + a.params.Encode())
	}
	if err != nil {
		t.Fatalf("authorization request: %v", err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

var (
	formActionRE  = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenInputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// callback returns what the OP sent to the redirect URI, by query (302) or
// form_post (200 page with an auto-submitting form).
func callback(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	body := readBody(t, resp)
	switch resp.StatusCode {
	case http.StatusFound:
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatalf("Location %q: %v", resp.Header.Get("Location"), err)
		}
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirectURI {
			t.Fatalf("redirected to %q; want %q", got, testRedirectURI)
		}
		return loc.Query()
	case http.StatusOK:
		m := formActionRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no form in page:\n%s", body)
		}
		if got := html.UnescapeString(m[1]); got != testRedirectURI {
			t.Fatalf("form posts to %q; want %q", got, testRedirectURI)
		}
		v := url.Values{}
		for _, f := range hiddenInputRE.FindAllStringSubmatch(body, -1) {
			v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
		}
		return v
	default:
		t.Fatalf("authorization response status %d; want 302 or 200; body:\n%s", resp.StatusCode, body)
		return nil
	}
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	IDToken          string `json:"id_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// redeem sends a token request authenticated by method (ClientSecretBasic,
// ClientSecretPost, "both" or "none").
func redeem(t *testing.T, op *fakeoptest.OP, method, code, verifier string) (int, tokenResponse) {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirectURI},
		"code_verifier": {verifier},
	}
	if method == fakeop.ClientSecretPost || method == "both" {
		form.Set("client_id", testClientID)
		form.Set("client_secret", testClientSecret)
	}
	req, err := http.NewRequest(http.MethodPost, op.Endpoints().Token, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if method == fakeop.ClientSecretBasic || method == "both" {
		req.SetBasicAuth(url.QueryEscape(testClientID), url.QueryEscape(testClientSecret))
	}
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	var tr tokenResponse
	body := readBody(t, resp)
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatalf("token response %d is not JSON: %v\n%s", resp.StatusCode, err, body)
	}
	return resp.StatusCode, tr
}

// signIn runs the whole non-interactive flow and returns the token response
// and the nonce sent.
func signIn(t *testing.T, op *fakeoptest.OP) (tokenResponse, string) {
	t.Helper()
	a := newAuthRequest(op)
	got := callback(t, a.send(t, browser(t, op), op, http.MethodGet))
	status, tr := redeem(t, op, fakeop.ClientSecretBasic, got.Get("code"), a.verifier)
	if status != http.StatusOK {
		t.Fatalf("token request = %d %s %s; want 200", status, tr.Error, tr.ErrorDescription)
	}
	return tr, a.params.Get("nonce")
}

// verifier checks ID tokens the way go-oidc does, with the OP's JWKS.
func verifier(t *testing.T, op *fakeoptest.OP, algs ...string) *oidc.IDTokenVerifier {
	t.Helper()
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	ctx := oidc.ClientContext(context.Background(), op.Client())
	keys := oidc.NewRemoteKeySet(ctx, op.Endpoints().JWKS)
	return oidc.NewVerifier(op.Issuer(), keys, &oidc.Config{ClientID: op.ClientID(), SupportedSigningAlgs: algs})
}

func verify(t *testing.T, v *oidc.IDTokenVerifier, op *fakeoptest.OP, raw string) (*oidc.IDToken, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), op.Client()), 10*time.Second)
	defer cancel()
	return v.Verify(ctx, raw)
}

func claimsOf(t *testing.T, tok *oidc.IDToken) map[string]any {
	t.Helper()
	var c map[string]any
	if err := tok.Claims(&c); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return c
}

func getJSON(t *testing.T, op *fakeoptest.OP, url string, v any) int {
	t.Helper()
	resp, err := op.Client().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("GET %s: not JSON: %v\n%s", url, err, body)
		}
	}
	return resp.StatusCode
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

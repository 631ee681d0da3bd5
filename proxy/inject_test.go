package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenEndpoint is an authorization server for client credentials that
// accepts HTTP Basic only, counts requests and can be switched off.
type tokenEndpoint struct {
	*httptest.Server
	requests atomic.Int32
	down     atomic.Bool
	lifetime int
}

func newTokenEndpoint(t *testing.T, lifetime int) *tokenEndpoint {
	te := &tokenEndpoint{lifetime: lifetime}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := te.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if te.down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":"temporarily_unavailable"}`)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != "mail-app" || secret != "mail-secret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "https://outlook.office365.com/.default" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"mail-token-%d","token_type":"Bearer","expires_in":%d}`, n, te.lifetime)
	}))
	t.Cleanup(te.Close)
	return te
}

// injectSetup attaches credential "mail" to Flowtime (the last site in the
// harness configuration).
func injectSetup(te *tokenEndpoint) setup {
	return setup{extra: fmt.Sprintf(`[[sites.inject]]
credential = "mail"
header = "Authorization"
[[credentials]]
name = "mail"
client_id = "mail-app"
client_secret = "mail-secret"
token_endpoint = %q
scopes = "https://outlook.office365.com/.default"
`, te.URL+"/oauth2/v2.0/token")}
}

func TestInjectedTokenReplacesClientAuthorization(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	g := newGate(t, injectSetup(te))
	b := g.browser()
	g.signedIn(b, "/Flowtime/")
	r := b.Do(http.MethodGet, g.url+"/Flowtime/api", nil, http.Header{"Authorization": {"Bearer forged-by-client"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("Flowtime = %d", r.StatusCode)
	}
	if got := g.backend.last(t).Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer mail-token-1" {
		t.Errorf("backend Authorization = %q; want the credential's token only", got)
	}
	// Administration has no injection: the client's header is left alone.
	b.Do(http.MethodGet, g.url+"/Administration/", nil, http.Header{"Authorization": {"Basic dXNlcjpwdw=="}})
	if got := g.backend.last(t).Header.Get("Authorization"); got != "Basic dXNlcjpwdw==" {
		t.Errorf("Administration backend Authorization = %q", got)
	}
}

func TestInjectionSharesOneTokenRequest(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	g := newGate(t, injectSetup(te))
	b := g.browser()
	g.signedIn(b, "/Administration/") // signs in without touching the credential
	if n := te.requests.Load(); n != 0 {
		t.Fatalf("%d token requests before any Flowtime request", n)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := b.Client.Get(g.url + "/Flowtime/api")
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of 200 requests failed", failed.Load())
	}
	if n := te.requests.Load(); n != 1 {
		t.Errorf("200 concurrent forwarded requests caused %d token requests; want 1", n)
	}
}

func TestInjectionRenewsBeforeExpiry(t *testing.T) {
	te := newTokenEndpoint(t, 2) // a two-second token
	var ahead atomic.Int64       // how far the gate's clock runs ahead
	s := injectSetup(te)
	s.clock = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	g := newGate(t, s)
	b := g.browser()
	g.signedIn(b, "/Flowtime/")
	first := g.backend.last(t).Header.Get("Authorization")
	for range 50 { // five seconds on the gate's clock
		b.Do(http.MethodGet, g.url+"/Flowtime/", nil, nil)
		if got := g.backend.last(t).Header.Get("Authorization"); got != first {
			return
		}
		ahead.Add(int64(100 * time.Millisecond))
	}
	t.Errorf("the token %q was still sent after its lifetime", first)
}

func TestInjectionFailureIs502AndNothingForwarded(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	te.down.Store(true)
	g := newGate(t, injectSetup(te))
	b := g.browser()
	g.signedIn(b, "/Administration/")
	before := len(g.backend.requests())
	r := b.Do(http.MethodGet, g.url+"/Flowtime/", nil, nil)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.Body, "access token") {
		t.Errorf("token endpoint down: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, `href="/Flowtime/">Try again</a>`) || strings.Contains(r.Body, "administrator") {
		t.Errorf("a token endpoint that is down: want a retry link, not the administrator:\n%s", r.Body)
	}
	if strings.Contains(r.Body, "mail-secret") || strings.Contains(g.logs.String(), "mail-secret") {
		t.Error("the credential's secret reached the page or the log")
	}
	if n := len(g.backend.requests()) - before; n != 0 {
		t.Errorf("backend received %d request(s) without the token", n)
	}
	if !strings.Contains(g.logs.String(), `"reason":"credential_token_failed"`) {
		t.Error("no log line for the token failure")
	}
	// Backoff: repeated requests do not hit the endpoint each time.
	for i := 0; i < 20; i++ {
		b.Do(http.MethodGet, g.url+"/Flowtime/", nil, nil)
	}
	if n := te.requests.Load(); n > 2 {
		t.Errorf("21 requests during an outage caused %d token requests; want backoff", n)
	}
}

// TestInjectionRefusedCredentialSendsToTheAdministrator: a credential the
// authorization server refuses (a wrong secret: invalid_client) fails the
// same way for everyone until it is fixed; the page says so.
func TestInjectionRefusedCredentialSendsToTheAdministrator(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	s := injectSetup(te)
	s.extra = strings.Replace(s.extra, `client_secret = "mail-secret"`, `client_secret = "an-old-secret"`, 1)
	g := newGate(t, s)
	b := g.browser()
	g.signedIn(b, "/Administration/")
	before := len(g.backend.requests())
	r := b.Do(http.MethodGet, g.url+"/Flowtime/", nil, nil)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.Body, "invalid_client") || !strings.Contains(r.Body, "contact your administrator") || strings.Contains(r.Body, "Try again") {
		t.Errorf("credential refused: %d; want 502 naming invalid_client and the administrator, without a retry link\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(g.logs.String(), `"configuration":true`) {
		t.Error("the refusal is not logged as a configuration problem")
	}
	if n := len(g.backend.requests()) - before; n != 0 {
		t.Errorf("backend received %d request(s) without the token", n)
	}
}

package proxy_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

var pageTime = regexp.MustCompile(`Time: 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC`)

// TestErrorPagesSayWhoCanFixIt: every error page shows its request id and
// the time; a refusal that comes from the configuration sends the user to
// the administrator (no "start again", no retry link); one that trying
// again may cure links to where it starts.
func TestErrorPagesSayWhoCanFixIt(t *testing.T) {
	type visit func(g *gate) *response
	fromSite := func(g *gate) *response { return last(g.browser().Visit(g.url + "/Administration/")) }
	// callbackWith answers a real sign-in attempt with the provider error
	// params instead of a code.
	callbackWith := func(params string) visit {
		return func(g *gate) *response {
			b := g.browser()
			cb := g.startSignIn(b)
			state := cb.Query().Get("state")
			return b.Do(http.MethodGet, g.url+"/Administration/oidcServices/signinresponse?state="+state+"&"+params, nil, nil)
		}
	}
	tests := []struct {
		name    string
		s       setup
		prepare func(op *fakeoptest.OP)
		visit   visit
		status  int
		reason  string
		admin   bool
		retry   string // the retry link's target, when not admin
	}{
		{"wrong client secret", setup{opSecret: "the-secret-the-provider-has"}, nil, fromSite,
			http.StatusUnauthorized, "token_refused", true, ""},
		{"key no source holds", setup{}, func(op *fakeoptest.OP) {
			op.SetSigning(fakeop.SigningOptions{SignWithUnpublishedKey: true})
		}, fromSite, http.StatusUnauthorized, "id_token_unknown_key", true, ""},
		{"redirect URI the provider does not know", setup{}, nil,
			callbackWith("error=invalid_request&error_description=The+redirect_uri+is+not+registered+for+this+client"),
			http.StatusUnauthorized, "provider_error", true, ""},
		{"user cancelled at the provider", setup{}, nil, callbackWith("error=access_denied"),
			http.StatusUnauthorized, "provider_error", false, "/Administration/"},
		{"site down", setup{}, nil, func(g *gate) *response {
			b := g.browser()
			g.signedIn(b, "/Administration/")
			g.backend.Close()
			return b.Do(http.MethodGet, g.url+"/Administration/reports?week=7", nil, nil)
		}, http.StatusBadGateway, "upstream_failed", false, "/Administration/reports?week=7"},
		{"sign-in answer from another browser", setup{}, nil, func(g *gate) *response {
			return g.browser().Do(http.MethodGet, g.url+"/Administration/oidcServices/signinresponse?state=made-up&code=x", nil, nil)
		}, http.StatusBadRequest, "state_unknown", false, "/Administration/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, tt.s)
			if tt.prepare != nil {
				tt.prepare(g.op)
			}
			g.logs.Reset()
			r := tt.visit(g)
			if r.StatusCode != tt.status {
				t.Fatalf("status = %d; want %d\n%s", r.StatusCode, tt.status, r.Body)
			}
			id := r.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(r.Body, "Request id: <code>"+id+"</code>") {
				t.Errorf("page does not show its request id %q:\n%s", id, r.Body)
			}
			if !pageTime.MatchString(r.Body) {
				t.Errorf("page does not show the time:\n%s", r.Body)
			}
			admin := strings.Contains(r.Body, "contact your administrator")
			if admin != tt.admin {
				t.Errorf("page sends the user to the administrator = %v; want %v\n%s", admin, tt.admin, r.Body)
			}
			if tt.admin {
				if strings.Contains(strings.ToLower(r.Body), "start again") || strings.Contains(r.Body, `class="button"`) {
					t.Errorf("a configuration problem's page asks the user to try again:\n%s", r.Body)
				}
			} else if !strings.Contains(r.Body, `<a class="button" href="`+tt.retry+`">Try again</a>`) {
				t.Errorf("page has no retry link to %s:\n%s", tt.retry, r.Body)
			}
			var line string
			for _, l := range strings.Split(g.logs.String(), "\n") {
				if strings.Contains(l, `"msg":"request refused"`) {
					line = l
				}
			}
			if !strings.Contains(line, `"reason":"`+tt.reason+`"`) || !strings.Contains(line, `"request_id":"`+id+`"`) {
				t.Errorf("refusal line lacks reason %s or request id %s:\n%s", tt.reason, id, line)
			}
			if strings.Contains(g.logs.String(), testClientSecret) || strings.Contains(r.Body, testClientSecret) {
				t.Error("the client secret appears in the page or the log")
			}
		})
	}
}

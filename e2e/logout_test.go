package e2e

import (
	"strings"
	"testing"
)

// TestBackChannelLogout: the user signs out at the provider, not at
// oidcgate. oidc-provider posts a logout token to oidcgate's back-channel
// logout endpoint, and the session at oidcgate ends: the next visit asks
// for the password again and the backend receives nothing more.
func TestBackChannelLogout(t *testing.T) {
	requireNode(t)
	requireChromium(t)
	cert := NewCert(t)

	ln := Listener(t)
	g := newScenarioGate(t, cert, ln, ln.Addr().String(), "bcl", "Administration")
	g.ClientID, g.ClientSecret, g.TokenAuthMethod = BasicClientID, BasicClientSecret, "client_secret_basic"
	client := BasicClient(g.RedirectURIs(), nil)
	client.BackchannelLogoutURI = g.url("Administration", "oidcServices/backchannellogout")
	client.BackchannelLogoutSessionRequired = true
	op := StartOP(t, OPOptions{Host: "localhost", Cert: cert, Clients: []OPClient{client}})
	ep := opEndpoints(t, op)
	g.DiscoveryURL = op.DiscoveryURL()
	g.Rules = []GateRule{{ClaimType: "email", OriginalIssuer: op.Issuer, AuthenticationType: AuthenticationType}}
	gate := RunGate(t, g.GateOptions, g.ln)
	backend := g.backends["Administration"]

	b := NewBrowser(t)
	b.Navigate(g.url("Administration", ""))
	b.SignIn(AliceName, AlicePassword)
	b.WaitVisible("#site")
	b.Navigate(g.url("Administration", "reports"))
	b.WaitVisible("#site")
	seen := len(backend.Requests())

	// Sign-out at the provider: its end-session page submits its logout
	// form, and the provider posts the logout token before it answers.
	b.Navigate(ep.EndSession)
	b.WaitVisible("#signed-out")
	b.Screenshot("provider-signed-out")
	sent := op.Backchannels()
	if len(sent) != 1 || !sent[0].OK || sent[0].ClientID != BasicClientID {
		t.Fatalf("back-channel logouts = %+v; want one to %s, answered 200", sent, BasicClientID)
	}
	if log := gate.Log(); !strings.Contains(log, `"channel":"back"`) || !strings.Contains(log, `"outcome":"ended"`) || !strings.Contains(log, `"mark":"provider session"`) {
		t.Errorf("oidcgate logged no ended back-channel logout for the provider session:\n%s", log)
	}

	// The session at oidcgate has ended: the visit goes to sign-in, where
	// the provider, its own session gone too, asks for the password.
	b.Navigate(g.url("Administration", "reports"))
	b.WaitVisible("#username")
	if got := len(backend.Requests()) - seen; got != 0 {
		t.Errorf("the backend received %d requests after the logout; want none", got)
	}
	b.SignIn(AliceName, AlicePassword)
	b.WaitVisible("#site")
}

package demo

import (
	"crypto/rand"
	"fmt"

	"github.com/oidcgate/oidcgate/internal/fakeop"
)

// ClientID is the demo's client at its provider.
const ClientID = "oidcgate-demo"

// AuthenticationType is what the demo's claims rule tells the sites.
const AuthenticationType = "Demo"

// User is a demo account and what becomes of it at the sites.
type User struct {
	Name, Password, Email string
	// Admitted: the demo's claims rule matches the user.
	Admitted bool
	// Sees says, for the printed instructions, what the user will see.
	Sees string

	claims map[string]any // what the provider says about the user
}

// Users are the provider's accounts. Only accounts of the organisation
// carry a "upn" claim, as in Entra ID and AD FS, and the demo's only
// claims rule admits users by upn: alice (staff) gets in, bob (a partner
// with an email address but no upn) is refused.
func Users() []User {
	return []User{
		{
			Name: "alice", Password: "alice-password", Email: "alice@example.com", Admitted: true,
			Sees: "both sites, and the identity headers they received",
			claims: map[string]any{
				"sub": "alice", "upn": "alice@example.com", "name": "Alice Example",
				"email": "alice@example.com", "email_verified": true, "preferred_username": "alice",
			},
		},
		{
			Name: "bob", Password: "bob-password", Email: "bob@partner.example",
			Sees: `"Access denied": bob has no upn claim`,
			claims: map[string]any{
				"sub": "bob", "name": "Bob Partner",
				"email": "bob@partner.example", "email_verified": true, "preferred_username": "bob",
			},
		},
	}
}

// newProvider makes the development provider at d.Issuer and registers
// the sites' redirect and post-logout URIs, so it accepts nothing else. It
// returns the client secret.
func (d *Demo) newProvider() (string, error) {
	var users []fakeop.User
	for _, u := range Users() {
		users = append(users, fakeop.User{Name: u.Name, Password: u.Password, Claims: u.claims})
	}
	secret := rand.Text()
	op, err := fakeop.New(fakeop.Options{
		ClientID:        ClientID,
		ClientSecret:    secret,
		TokenAuthMethod: fakeop.ClientSecretBasic,
		Users:           users,
		Interactive:     true,
	})
	if err != nil {
		return "", fmt.Errorf("demo: provider: %w", err)
	}
	op.SetIssuer(d.Issuer)
	for _, s := range d.Sites {
		op.AllowRedirect(s.URL + "oidcServices/signinresponse")
		op.AllowPostLogoutRedirect(s.URL)
	}
	d.Provider = op
	return secret, nil
}

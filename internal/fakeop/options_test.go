package fakeop_test

import (
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/fakeop"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(o *fakeop.Options)
		want   string
	}{
		{name: "no client id", change: func(o *fakeop.Options) { o.ClientID = "" }, want: "ClientID is required"},
		{name: "no client secret", change: func(o *fakeop.Options) { o.ClientSecret = "" }, want: "ClientSecret is required"},
		{name: "no users", change: func(o *fakeop.Options) { o.Users = nil }, want: "at least one user"},
		{name: "unnamed user", change: func(o *fakeop.Options) { o.Users = []fakeop.User{{}} }, want: "Users[0]: Name is required"},
		{name: "same user twice", change: func(o *fakeop.Options) { o.Users = []fakeop.User{alice, {Name: "Alice"}} }, want: "used twice"},
		{name: "interactive without password", change: func(o *fakeop.Options) { o.Interactive = true; o.Users = []fakeop.User{{Name: "x"}} }, want: "Password is required"},
		{name: "bad auth method", change: func(o *fakeop.Options) { o.TokenAuthMethod = "tls_client_auth" }, want: "TokenAuthMethod"},
		{name: "private_key_jwt without keys", change: func(o *fakeop.Options) { o.TokenAuthMethod = fakeop.PrivateKeyJWT }, want: "ClientKeys"},
		{name: "bad algorithm", change: func(o *fakeop.Options) { o.Algorithm = "none" }, want: "unsupported algorithm"},
		{name: "short HMAC secret", change: func(o *fakeop.Options) { o.Algorithm = "HS256"; o.ClientSecret = "short" }, want: "at least 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			tt.change(&o)
			_, err := fakeop.New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
			if err != nil && o.ClientSecret != "" && strings.Contains(err.Error(), o.ClientSecret) {
				t.Errorf("New(%s) error reveals the client secret: %v", tt.name, err)
			}
		})
	}
}

package claims

import (
	"reflect"
	"strings"
	"testing"
)

const (
	issA = "https://a.example.com"
	issB = "https://b.example.com"
)

func TestMatch(t *testing.T) {
	full := Claims{
		"iss":                issA,
		"sub":                "s-1",
		"email":              "alice@example.com",
		"preferred_username": "alice",
		"upn":                "alice@corp.example.com",
		"groups":             []any{"x"},
		"empty":              "",
		"employee_id":        float64(1234567890),
	}
	tests := []struct {
		name   string
		rules  []Rule
		claims Claims
		want   Identity
		wantOK bool
	}{
		{
			name:   "empty rules",
			claims: full,
		},
		{
			name:   "first match wins",
			rules:  []Rule{{ClaimType: "upn", AuthenticationType: "UPN"}, {ClaimType: "email", AuthenticationType: "Mail"}},
			claims: full,
			want: Identity{User: "alice@corp.example.com", AuthenticationType: "UPN", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "unverified email does not name the user",
			rules:  []Rule{{ClaimType: "email", AuthenticationType: "Mail"}},
			claims: with(full, "email_verified", false),
		},
		{
			name:   "unverified email as a string",
			rules:  []Rule{{ClaimType: "email", AuthenticationType: "Mail"}},
			claims: with(full, "email_verified", "False"),
		},
		{
			name:   "unverified email falls through and is not forwarded",
			rules:  []Rule{{ClaimType: "email", AuthenticationType: "Mail"}, {ClaimType: "sub", AuthenticationType: "Sub"}},
			claims: with(full, "email_verified", false),
			want:   Identity{User: "s-1", AuthenticationType: "Sub", PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "verified email",
			rules:  []Rule{{ClaimType: "email", AuthenticationType: "Mail"}},
			claims: with(full, "email_verified", true),
			want: Identity{User: "alice@example.com", AuthenticationType: "Mail", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "missing claim falls through",
			rules:  []Rule{{ClaimType: "unique_name", AuthenticationType: "U"}, {ClaimType: "email", AuthenticationType: "Mail"}},
			claims: full,
			want: Identity{User: "alice@example.com", AuthenticationType: "Mail", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "non-string claim falls through",
			rules:  []Rule{{ClaimType: "groups", AuthenticationType: "G"}, {ClaimType: "empty", AuthenticationType: "E"}, {ClaimType: "sub", AuthenticationType: "Sub"}},
			claims: full,
			want: Identity{User: "s-1", AuthenticationType: "Sub", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "numeric claim formatted",
			rules:  []Rule{{ClaimType: "employee_id", AuthenticationType: "N"}},
			claims: full,
			want: Identity{User: "1234567890", AuthenticationType: "N", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "issuer filter skips other issuer",
			rules:  []Rule{{ClaimType: "upn", OriginalIssuer: issB, AuthenticationType: "B"}, {ClaimType: "email", OriginalIssuer: issA, AuthenticationType: "A"}},
			claims: full,
			want: Identity{User: "alice@example.com", AuthenticationType: "A", Email: "alice@example.com",
				PreferredUsername: "alice", Issuer: issA, Subject: "s-1"},
			wantOK: true,
		},
		{
			name:   "issuer compared exactly",
			rules:  []Rule{{ClaimType: "email", OriginalIssuer: issA + "/"}, {ClaimType: "email", OriginalIssuer: strings.ToUpper(issA)}},
			claims: full,
		},
		{
			name:   "issuer filter with non-string iss",
			rules:  []Rule{{ClaimType: "email", OriginalIssuer: issA}},
			claims: Claims{"iss": []any{issA}, "email": "a@example.com"},
		},
		{
			name:   "claim name exact",
			rules:  []Rule{{ClaimType: "Email"}, {ClaimType: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}},
			claims: full,
		},
		{
			name:   "empty claim type never matches",
			rules:  []Rule{{ClaimType: ""}},
			claims: Claims{"": "x"},
		},
		{
			name:   "no rule matches",
			rules:  []Rule{{ClaimType: "upn"}},
			claims: Claims{"iss": issA, "sub": "s"},
		},
		{
			name:   "control characters refuse the claim",
			rules:  []Rule{{ClaimType: "name", AuthenticationType: "N"}, {ClaimType: "sub", AuthenticationType: "S"}},
			claims: Claims{"iss": issA, "sub": "s-2", "name": "adm\r\nin", "email": "a\n@x", "preferred_username": "bob"},
			want:   Identity{User: "s-2", AuthenticationType: "S", PreferredUsername: "bob", Issuer: issA, Subject: "s-2"},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Match(tt.rules, tt.claims)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Match(%v, %v) = %+v, %v; want %+v, %v", tt.rules, tt.claims, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNeedsUserInfo(t *testing.T) {
	base := func(extra Claims) Claims {
		c := Claims{"iss": issA, "sub": "s", "email": "a@example.com", "preferred_username": "a"}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
				continue
			}
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		rules  []Rule
		claims Claims
		want   bool
	}{
		{"all present", []Rule{{ClaimType: "email"}}, base(nil), false},
		{"email absent", []Rule{{ClaimType: "sub"}}, base(Claims{"email": nil}), true},
		{"preferred_username absent", []Rule{{ClaimType: "sub"}}, base(Claims{"preferred_username": nil}), true},
		{"email null", []Rule{{ClaimType: "sub"}}, Claims{"iss": issA, "sub": "s", "email": nil, "preferred_username": "a"}, true},
		{"only rule lacks its claim", []Rule{{ClaimType: "upn"}}, base(nil), true},
		{"earlier rule lacks its claim", []Rule{{ClaimType: "upn"}, {ClaimType: "email"}}, base(nil), true},
		{"later rule lacks its claim", []Rule{{ClaimType: "email"}, {ClaimType: "upn"}}, base(nil), false},
		{"rule for another issuer lacks its claim", []Rule{{ClaimType: "upn", OriginalIssuer: issB}, {ClaimType: "email"}}, base(nil), false},
		{"rule for this issuer lacks its claim", []Rule{{ClaimType: "upn", OriginalIssuer: issA}}, base(nil), true},
		{"present but unusable claim", []Rule{{ClaimType: "groups"}}, base(Claims{"groups": []any{"g"}}), false},
		{"no rules", nil, base(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsUserInfo(tt.rules, tt.claims); got != tt.want {
				t.Errorf("NeedsUserInfo(%v, %v) = %v; want %v", tt.rules, tt.claims, got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	id := Claims{"iss": issA, "sub": "s-1", "aud": "cora", "email": "id@example.com", "nonce": "n", "name": nil}
	tests := []struct {
		name     string
		userInfo Claims
		want     Claims
		wantErr  string
	}{
		{
			name:     "sub missing",
			userInfo: Claims{"email": "ui@example.com"},
			wantErr:  `userinfo response has no string sub (ID token sub "s-1")`,
		},
		{
			name:     "sub not a string",
			userInfo: Claims{"sub": 1.0},
			wantErr:  `userinfo response has no string sub (ID token sub "s-1")`,
		},
		{
			name:     "sub mismatch",
			userInfo: Claims{"sub": "s-2", "email": "ui@example.com"},
			wantErr:  `userinfo sub "s-2" differs from ID token sub "s-1"`,
		},
		{
			name:     "ID token wins, userinfo fills gaps",
			userInfo: Claims{"sub": "s-1", "email": "ui@example.com", "preferred_username": "ui", "name": "UI Name"},
			want: Claims{"iss": issA, "sub": "s-1", "aud": "cora", "email": "id@example.com", "nonce": "n",
				"preferred_username": "ui", "name": "UI Name"},
		},
		{
			name: "token claims never taken from userinfo",
			userInfo: Claims{"sub": "s-1", "iss": issB, "aud": "other", "exp": 1.0, "iat": 1.0, "nonce": "x",
				"azp": "other", "acr": "1", "auth_time": 1.0, "upn": "u@example.com"},
			want: Claims{"iss": issA, "sub": "s-1", "aud": "cora", "email": "id@example.com", "nonce": "n",
				"name": nil, "upn": "u@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(id, tt.userInfo)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Merge(%v, %v) error = %v; want %q", id, tt.userInfo, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge(%v, %v) = %v, %v; want %v", id, tt.userInfo, got, err, tt.want)
			}
		})
	}
	if _, ok := id["preferred_username"]; ok {
		t.Errorf("Merge modified the ID token claims: %v", id)
	}
}

// with returns a copy of c with name set to v.
func with(c Claims, name string, v any) Claims {
	out := Claims{name: v}
	for k, x := range c {
		if k != name {
			out[k] = x
		}
	}
	return out
}

func TestRefusedUnverifiedEmail(t *testing.T) {
	c := Claims{"iss": issA, "sub": "s", "email": "a@example.com", "email_verified": false}
	tests := []struct {
		name   string
		rules  []Rule
		claims Claims
		want   bool
	}{
		{"email rule, unverified", []Rule{{ClaimType: "email"}}, c, true},
		{"email rule, verified", []Rule{{ClaimType: "email"}}, with(c, "email_verified", true), false},
		{"email rule, absent", []Rule{{ClaimType: "email"}}, with(c, "email_verified", nil), false},
		{"email rule of another issuer", []Rule{{ClaimType: "email", OriginalIssuer: issB}}, c, false},
		{"no email rule", []Rule{{ClaimType: "upn"}}, c, false},
	}
	for _, tt := range tests {
		if got := RefusedUnverifiedEmail(tt.rules, tt.claims); got != tt.want {
			t.Errorf("%s: RefusedUnverifiedEmail = %v; want %v", tt.name, got, tt.want)
		}
	}
}

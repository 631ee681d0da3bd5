package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Cookie tossing: a sibling subdomain (or a path) can plant a cookie of our
// name beside ours, and the browser sends both, in an order the attacker
// can influence.

func TestStoreLoadSeveralCookies(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "a")
	exp := clk.Now().Add(time.Hour)
	victim := typicalSession(exp)
	attacker := &Session{User: "mallory@example.com", AuthenticationType: "AzureAD", Issuer: victim.Issuer, Subject: "m", Expires: exp}
	victimCookie, attackerCookie := jar{}, jar{}
	save(t, s, victimCookie, victim)
	save(t, s, attackerCookie, attacker)
	older := &Session{}
	*older = *victim
	older.Expires = exp.Add(-time.Minute)
	olderCookie := jar{}
	save(t, s, olderCookie, older)
	tampered := victimCookie["oidcgate"][:40] + "AAAA" + victimCookie["oidcgate"][44:]

	tests := []struct {
		name    string
		values  []string
		want    *Session
		wantErr error
	}{
		{"unreadable first, ours second", []string{"AAAA", victimCookie["oidcgate"]}, victim, nil},
		{"ours first, unreadable second", []string{victimCookie["oidcgate"], tampered}, victim, nil},
		{"two different sessions", []string{attackerCookie["oidcgate"], victimCookie["oidcgate"]}, nil, ErrSessionConflict},
		{"two different sessions, other order", []string{victimCookie["oidcgate"], attackerCookie["oidcgate"]}, nil, ErrSessionConflict},
		{"two cookies of one user", []string{olderCookie["oidcgate"], victimCookie["oidcgate"]}, older, nil},
		{"none readable", []string{"AAAA", tampered}, nil, ErrSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jar{}.request()
			for _, v := range tt.values {
				r.AddCookie(&http.Cookie{Name: "oidcgate", Value: v})
			}
			got, err := s.Load(r)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Load() = %v, %v; want %v", got, err, tt.wantErr)
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Load() = %v; want the session", err)
			case tt.want != nil && !sameSession(got, tt.want):
				t.Errorf("Load() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestLoginsTakeSeveralCookies(t *testing.T) {
	clk := newClock()
	l := newTestLogins(t, clk, 5, "a")
	j := jar{}
	begin(t, l, j, attempt(1))
	var name string
	for n := range j {
		name = n
	}
	r := jar{}.request()
	r.AddCookie(&http.Cookie{Name: name, Value: "planted-by-a-sibling"})
	r.AddCookie(&http.Cookie{Name: name, Value: j[name]})
	st, err := l.Take(httptest.NewRecorder(), r, attempt(1).State)
	if err != nil || st.Nonce != attempt(1).Nonce {
		t.Errorf("Take with a planted cookie first = %+v, %v; want the browser's own attempt", st, err)
	}
}

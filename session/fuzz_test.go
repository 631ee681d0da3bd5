package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Fuzz targets load with a key made at run time: no seed or mutation can
// carry a valid MAC, so any session or login state they return is a forgery.
func randomCodec(t testing.TB) *Codec {
	k, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCodec([][]byte{k})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func FuzzDecodeSession(f *testing.F) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []*Session{
		typicalSession(exp),
		{User: "u", AuthenticationType: "a", Email: "e", PreferredUsername: "p", Issuer: "i", Subject: "s", SID: "x", Site: "Flowtime", IDToken: "h.p.s", Expires: exp, IssuedAt: exp.Add(-time.Hour)},
		{User: "p", PreferredUsername: "p", Expires: exp, IssuedAt: exp.Add(-time.Minute)},
	} {
		b, err := appendSession(nil, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			return
		}
		again, err := appendSession(nil, &s)
		if err != nil {
			t.Fatalf("appendSession(decodeSession(%x)) = %v", b, err)
		}
		s2, err := decodeSession(again)
		if err != nil || s2 != s && !sameSession(&s2, &s) {
			t.Fatalf("decodeSession(appendSession(%+v)) = %+v, %v; want the same, nil", s, s2, err)
		}
	})
}

func FuzzDecodeLoginState(f *testing.F) {
	st := attempt(1)
	st.Created = time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	b, err := appendLogin(nil, &st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeLogin(b)
		if err != nil {
			return
		}
		again, err := appendLogin(nil, &st)
		if err != nil {
			t.Fatalf("appendLogin(decodeLogin(%x)) = %v", b, err)
		}
		if st2, err := decodeLogin(again); err != nil || st2 != st {
			t.Fatalf("decodeLogin(appendLogin(%+v)) = %+v, %v; want the same, nil", st, st2, err)
		}
	})
}

func FuzzLoadCookie(f *testing.F) {
	foreign := NewStore(StoreOptions{Name: "oidcgate", Lifetime: time.Hour, Codec: randomCodec(f)})
	for _, sess := range []*Session{
		typicalSession(time.Time{}),
		{User: "carol", IDToken: idToken(5000)},
	} {
		w := httptest.NewRecorder()
		if err := foreign.Save(w, jar{}.request(), sess); err != nil {
			f.Fatal(err)
		}
		c := setCookies(f, w)
		value := c["oidcgate"].Value
		chunk := ""
		if c["oidcgate_1"] != nil {
			chunk = c["oidcgate_1"].Value
		}
		f.Add(value, chunk)
		f.Add(value[:len(value)/2], chunk)
	}
	f.Add("", "")
	f.Add(strings.Repeat("A", chunkSize), "QUJD")
	f.Add("MTIzfGFiY3w=", "")

	s := NewStore(StoreOptions{Name: "oidcgate", Lifetime: time.Hour, Codec: randomCodec(f)})
	f.Fuzz(func(t *testing.T, value, chunk string) {
		r := httptest.NewRequest(http.MethodGet, "https://cora.example.com/", nil)
		r.Header.Set("Cookie", "oidcgate="+value+"; oidcgate_1="+chunk)
		if sess, err := s.Load(r); sess != nil || err == nil {
			t.Fatalf("Load(%q, %q) = %+v, %v; want nil and an error", value, chunk, sess, err)
		}
	})
}

func FuzzLoginTake(f *testing.F) {
	foreign := NewLogins(LoginOptions{Name: "oidcgate", TTL: time.Minute, Max: 3, Codec: randomCodec(f)})
	st := attempt(1)
	w := httptest.NewRecorder()
	if err := foreign.Begin(w, jar{}.request(), st); err != nil {
		f.Fatal(err)
	}
	value := setCookies(f, w)[foreign.cookieName(st.State)].Value
	f.Add(st.State, value)
	f.Add(st.State, value[:len(value)-4])
	f.Add("", "")
	f.Add("x", "MTIzfGFiY3w=")

	l := NewLogins(LoginOptions{Name: "oidcgate", TTL: time.Minute, Max: 3, Codec: randomCodec(f)})
	f.Fuzz(func(t *testing.T, state, value string) {
		r := httptest.NewRequest(http.MethodGet, "https://cora.example.com/", nil)
		name := l.cookieName(state)
		r.Header.Set("Cookie", name+"="+value)
		w := httptest.NewRecorder()
		if got, err := l.Take(w, r, state); err == nil || got != (LoginState{}) {
			t.Fatalf("Take(%q) with cookie %q = %+v, %v; want zero and an error", state, value, got, err)
		}
		if _, err := r.Cookie(name); err == nil && state != "" {
			if c := setCookies(t, w)[name]; c == nil || c.MaxAge >= 0 {
				t.Fatalf("Take(%q) with cookie %q did not expire it: %v", state, value, c)
			}
		}
	})
}

package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const ttl = 10 * time.Minute

func newTestLogins(t testing.TB, clk *clock, max int, keys ...string) *Logins {
	t.Helper()
	return NewLogins(LoginOptions{Name: "oidcgate", TTL: ttl, Max: max, Secure: true, Codec: testCodec(t, keys...), Now: clk.Now})
}

func attempt(i int) LoginState {
	return LoginState{
		State:     fmt.Sprintf("state-%d-Yq3v0cM8rJx5Kd2nW7pTgHsA1bL9eZ4uF6iO", i),
		Nonce:     fmt.Sprintf("nonce-%d-Pz8wQe1rT5yU7iO9pA2sD4fG6hJ3kL0xC", i),
		Verifier:  fmt.Sprintf("verifier-%d-Mn5bV7cX9zL2kJ4hG6fD8sA0qW1eR3tY", i),
		ReturnURL: fmt.Sprintf("/Flowtime/case/%d?tab=1", i),
		Site:      "Flowtime",
	}
}

func begin(t testing.TB, l *Logins, j jar, st LoginState) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := l.Begin(w, j.request(), st); err != nil {
		t.Fatalf("Begin(%q) = %v", st.State, err)
	}
	j.apply(t, w)
	return w
}

// take takes state's login and applies the response to the browser.
func take(t testing.TB, l *Logins, j jar, state string) (LoginState, error) {
	t.Helper()
	w := httptest.NewRecorder()
	st, err := l.Take(w, j.request(), state)
	j.apply(t, w)
	return st, err
}

func TestLoginsParallelAttempts(t *testing.T) {
	clk := newClock()
	l := newTestLogins(t, clk, 5, "k1")
	j := jar{}
	a, b := attempt(1), attempt(2)
	begin(t, l, j, a)
	clk.Advance(time.Second)
	begin(t, l, j, b)
	if len(j) != 2 {
		t.Fatalf("after two Begins cookies = %q; want two", j.names())
	}
	// The second tab finishes first.
	for _, want := range []LoginState{b, a} {
		got, err := take(t, l, j, want.State)
		want.Created = got.Created
		if err != nil || got != want {
			t.Errorf("Take(%q) = %+v, %v; want %+v, nil", want.State, got, err, want)
		}
	}
	if len(j) != 0 {
		t.Errorf("after both Takes cookies = %q; want none", j.names())
	}
}

func TestLoginsTakeIsSingleUse(t *testing.T) {
	clk := newClock()
	l := newTestLogins(t, clk, 5, "k1")
	j := jar{}
	st := attempt(1)
	begin(t, l, j, st)
	if _, err := take(t, l, j, st.State); err != nil {
		t.Fatalf("first Take(%q) = %v; want nil", st.State, err)
	}
	if got, err := take(t, l, j, st.State); !errors.Is(err, ErrLoginMissing) {
		t.Fatalf("second Take(%q) = %+v, %v; want %v", st.State, got, err, ErrLoginMissing)
	}
}

func TestLoginsMax(t *testing.T) {
	const max = 3
	clk := newClock()
	l := newTestLogins(t, clk, max, "k1")
	j := jar{}
	for i := range 6 {
		begin(t, l, j, attempt(i))
		clk.Advance(time.Second)
		if len(j) > max {
			t.Fatalf("after Begin #%d cookies = %q; want at most %d", i, j.names(), max)
		}
	}
	// Only the newest attempts survive.
	for i := range 6 {
		_, err := take(t, l, j, attempt(i).State)
		if wantOK := i >= 6-max; (err == nil) != wantOK {
			t.Errorf("Take(attempt %d) = %v; want success %v", i, err, wantOK)
		}
	}

	t.Run("undecodable cookies go first", func(t *testing.T) {
		j := jar{}
		begin(t, l, j, attempt(10))
		clk.Advance(time.Second)
		begin(t, l, j, attempt(11))
		j["oidcgate_login_ffffffffffffffff"] = "garbage"
		w := begin(t, l, j, attempt(12))
		expired := 0
		for name, c := range setCookies(t, w) {
			if c.MaxAge < 0 {
				expired++
				if name != "oidcgate_login_ffffffffffffffff" {
					t.Errorf("Begin expired %q; want the undecodable cookie", name)
				}
			}
		}
		if expired != 1 {
			t.Errorf("Begin expired %d cookies; want 1", expired)
		}
		if len(j) != max {
			t.Errorf("after Begin cookies = %q; want %d", j.names(), max)
		}
	})

	t.Run("same state again replaces its cookie", func(t *testing.T) {
		j := jar{}
		for i := 20; i < 23; i++ {
			begin(t, l, j, attempt(i))
		}
		w := begin(t, l, j, attempt(22))
		for name, c := range setCookies(t, w) {
			if c.MaxAge < 0 {
				t.Errorf("Begin(same state) expired %q; want nothing expired", name)
			}
		}
	})
}

func TestLoginsTakeRefuses(t *testing.T) {
	clk := newClock()
	l := newTestLogins(t, clk, 5, "k1")
	st := attempt(1)
	good := jar{}
	begin(t, l, good, st)
	name := l.cookieName(st.State)
	value := good[name]
	other := attempt(2)
	otherName := l.cookieName(other.State)
	plain, err := appendLogin(nil, &LoginState{State: st.State, Created: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(l *Logins, name string, plain []byte) string {
		v, err := l.codecs[0].Encode(name, append([]byte(nil), plain...))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	tests := []struct {
		name    string
		cookies jar
		state   string
		advance time.Duration
		wantErr error
		wantMsg string
	}{
		{"no cookie", jar{}, st.State, 0, ErrLoginMissing, "no cookie"},
		{"cookie of another attempt", jar{otherName: "x"}, st.State, 0, ErrLoginMissing, ""},
		{"empty state", good, "", 0, ErrLoginMissing, "no state"},
		{"state differs (value under its name)", jar{otherName: encode(l, otherName, plain)}, other.State, 0, ErrLoginInvalid, "state does not match"},
		{"value moved to another attempt's name", jar{otherName: value}, other.State, 0, ErrLoginInvalid, "signature matches no key"},
		{"tampered", jar{name: value[:20] + "A" + value[21:]}, st.State, 0, ErrLoginInvalid, ""},
		{"garbage", jar{name: "garbage"}, st.State, 0, ErrLoginInvalid, ""},
		{"foreign key", jar{name: encode(newTestLogins(t, clk, 5, "foreign"), name, plain)}, st.State, 0, ErrLoginInvalid, "signature matches no key"},
		{"valid MAC, malformed", jar{name: encode(l, name, []byte{1})}, st.State, 0, ErrLoginInvalid, "malformed"},
		{"expired", good, st.State, ttl, ErrLoginExpired, "had until"},
		{"older than TTL (securecookie bound)", jar{name: encodeAt(testKey("k1"), name, plain, time.Now().Add(-ttl-2*time.Minute).Unix())}, st.State, 0, ErrLoginExpired, "expired timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: clk.t.Add(tt.advance)}
			l := newTestLogins(t, clk, 5, "k1")
			w := httptest.NewRecorder()
			got, err := l.Take(w, tt.cookies.request(), tt.state)
			if got != (LoginState{}) || !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Take(%q) = %+v, %v; want zero, %v containing %q", tt.state, got, err, tt.wantErr, tt.wantMsg)
			}
			// Whatever went wrong, the attempt's cookie is spent.
			if _, sent := tt.cookies[l.cookieName(tt.state)]; sent && tt.state != "" {
				if c := setCookies(t, w)[l.cookieName(tt.state)]; c == nil || c.MaxAge >= 0 {
					t.Errorf("Take(%q) Set-Cookie = %v; want the cookie expired", tt.state, c)
				}
			}
		})
	}
}

func TestLoginsCookie(t *testing.T) {
	clk := newClock()
	tests := []struct {
		name          string
		secure        bool
		crossSitePost bool
		wantSecure    bool
		wantSameSite  http.SameSite
	}{
		{"lax, secure", true, false, true, http.SameSiteLaxMode},
		{"lax, plain http", false, false, false, http.SameSiteLaxMode},
		{"form_post", true, true, true, http.SameSiteNoneMode},
		{"form_post forces Secure", false, true, true, http.SameSiteNoneMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLogins(LoginOptions{Name: "oidcgate", TTL: ttl, Max: 3, Secure: tt.secure, CrossSitePost: tt.crossSitePost, Codec: testCodec(t, "k1"), Now: clk.Now})
			st := attempt(1)
			w := begin(t, l, jar{}, st)
			name := l.cookieName(st.State)
			c := setCookies(t, w)[name]
			if c == nil {
				t.Fatalf("Begin set %q; want %q", w.Result().Header.Values("Set-Cookie"), name)
			}
			if c.Path != "/" || !c.HttpOnly || c.Secure != tt.wantSecure || c.SameSite != tt.wantSameSite || c.MaxAge != int(ttl/time.Second) {
				t.Errorf("Begin cookie = Path %q HttpOnly %v Secure %v SameSite %v MaxAge %d; want /, true, %v, %v, %d",
					c.Path, c.HttpOnly, c.Secure, c.SameSite, c.MaxAge, tt.wantSecure, tt.wantSameSite, int(ttl/time.Second))
			}
			if !strings.HasPrefix(name, "oidcgate_login_") || len(name) != len("oidcgate_login_")+16 {
				t.Errorf("cookie name %q; want oidcgate_login_ and 16 hex digits", name)
			}
			if s := NewStore(StoreOptions{Name: "oidcgate"}); !s.Owns(name) {
				t.Errorf("Store.Owns(%q) = false; want true", name)
			}
			t.Logf("login cookie value: %d bytes", len(c.Value))
		})
	}
}

func TestLoginsZeroOptionsFailClosed(t *testing.T) {
	codec := testCodec(t, "k1")
	tests := []struct {
		name string
		o    LoginOptions
	}{
		{"zero", LoginOptions{}},
		{"no name", LoginOptions{TTL: ttl, Max: 3, Codec: codec}},
		{"no TTL", LoginOptions{Name: "oidcgate", Max: 3, Codec: codec}},
		{"no max", LoginOptions{Name: "oidcgate", TTL: ttl, Codec: codec}},
		{"no codec", LoginOptions{Name: "oidcgate", TTL: ttl, Max: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLogins(tt.o)
			if err := l.Begin(httptest.NewRecorder(), jar{}.request(), attempt(1)); err == nil {
				t.Errorf("Begin = nil; want a configuration error")
			}
			if _, err := l.Take(httptest.NewRecorder(), jar{}.request(), attempt(1).State); err == nil || errors.Is(err, ErrLoginMissing) {
				t.Errorf("Take = %v; want a configuration error", err)
			}
		})
	}
	l := newTestLogins(t, newClock(), 3, "k1")
	if err := l.Begin(httptest.NewRecorder(), jar{}.request(), LoginState{Nonce: "n"}); err == nil {
		t.Errorf("Begin(no state) = nil; want error")
	}
}

package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const lifetime = 8 * time.Hour

func newTestStore(t testing.TB, clk *clock, keys ...string) *Store {
	t.Helper()
	return NewStore(StoreOptions{Name: "oidcgate", Lifetime: lifetime, Secure: true, Codec: testCodec(t, keys...), Now: clk.Now})
}

// save saves sess with s and returns the browser's cookies afterwards.
func save(t testing.TB, s *Store, j jar, sess *Session) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.Save(w, j.request(), sess); err != nil {
		t.Fatalf("Save(%+v) = %v", sess, err)
	}
	j.apply(t, w)
	return w
}

func TestStoreRoundTrip(t *testing.T) {
	clk := newClock()
	exp := clk.Now().Add(time.Hour)
	tests := []struct {
		name       string
		sess       *Session
		wantChunks int
	}{
		{"typical", typicalSession(exp), 1},
		{"bound to a site", &Session{User: "bob", AuthenticationType: "Forms", Issuer: "https://op.example.com", Subject: "b", Site: "Administration", Expires: exp}, 1},
		{"with a 1.9 KB ID token", &Session{User: "carol", Subject: "c", IDToken: idToken(1900), Expires: exp}, 1},
		{"with a 3 KB ID token", &Session{User: "carol", Subject: "c", IDToken: idToken(3072), Expires: exp}, 2},
		{"with an 8 KB ID token", &Session{User: "carol", Subject: "c", IDToken: idToken(8192), Expires: exp}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, clk, "k1")
			j := jar{}
			save(t, s, j, tt.sess)
			if len(j) != tt.wantChunks {
				t.Errorf("Save(%s) set cookies %q; want %d", tt.name, j.names(), tt.wantChunks)
			}
			for name, v := range j {
				if len(name)+len(v) > 4000 {
					t.Errorf("cookie %q is %d bytes; want at most 4000", name, len(name)+len(v))
				}
			}
			got, err := s.Load(j.request())
			if err != nil || !sameSession(got, tt.sess) {
				t.Fatalf("Load(Save(%+v)) = %+v, %v; want the same, nil", tt.sess, got, err)
			}
		})
	}
}

// TestStoreTypicalCookieSize keeps the cookie that rides on every request small.
func TestStoreTypicalCookieSize(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	j := jar{}
	save(t, s, j, typicalSession(time.Time{}))
	size := len(j["oidcgate"])
	t.Logf("typical session cookie value: %d bytes", size)
	// The id, issue time and the provider's sid cost about 100 bytes.
	if size > 420 {
		t.Errorf("typical session cookie value is %d bytes; want at most 420", size)
	}
}

// TestStoreEntraCookieSize measures the cookie of a user signed in
// through Entra ID, whose issuer, subject and sid are long, with the
// session's id and issue time: it must stay well under 800 bytes.
func TestStoreEntraCookieSize(t *testing.T) {
	s := newTestStore(t, newClock(), "k1")
	j := jar{}
	save(t, s, j, &Session{
		User:               "AdeleV@contoso.onmicrosoft.com",
		AuthenticationType: "EntraID",
		Email:              "AdeleV@contoso.onmicrosoft.com",
		PreferredUsername:  "AdeleV@contoso.onmicrosoft.com",
		Issuer:             "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
		Subject:            "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
		SID:                "004d7e2a-5e9c-8f3b-41a6-7c2d0b9e8f15",
	})
	size := len("oidcgate=") + len(j["oidcgate"])
	t.Logf("Entra ID session cookie: %d bytes (name=value)", size)
	if size > 600 {
		t.Errorf("Entra ID session cookie is %d bytes; want at most 600", size)
	}
}

func TestStoreKeyRotation(t *testing.T) {
	clk := newClock()
	sess := typicalSession(clk.Now().Add(time.Hour))
	made := func(keys ...string) jar {
		j := jar{}
		save(t, newTestStore(t, clk, keys...), j, sess)
		return j
	}
	tests := []struct {
		name     string
		madeWith []string
		loadWith []string
		wantErr  error
	}{
		{"old cookie, old key second", []string{"old"}, []string{"new", "old"}, nil},
		{"old cookie, old key first", []string{"old"}, []string{"old", "new"}, nil},
		{"new cookie, new key only", []string{"new", "old"}, []string{"new"}, nil},
		{"new cookie, old key only", []string{"new", "old"}, []string{"old"}, ErrSessionInvalid},
		{"foreign key", []string{"foreign"}, []string{"new", "old"}, ErrSessionInvalid},
		{"replica with same keys", []string{"new", "old"}, []string{"new", "old"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := made(tt.madeWith...)
			got, err := newTestStore(t, clk, tt.loadWith...).Load(j.request())
			if !errors.Is(err, tt.wantErr) || err == nil && !sameSession(got, sess) {
				t.Fatalf("Load(cookie made with %q) with keys %q = %+v, %v; want %v", tt.madeWith, tt.loadWith, got, err, tt.wantErr)
			}
		})
	}
}

func TestStoreLoadRefuses(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	good := jar{}
	save(t, s, good, typicalSession(clk.Now().Add(time.Hour)))
	value := good["oidcgate"]
	plain, err := appendSession(nil, typicalSession(clk.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(v string, i int) string {
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		return v[:i] + string(c) + v[i+1:]
	}
	tests := []struct {
		name    string
		cookies jar
		advance time.Duration
		wantErr error
		wantMsg string
	}{
		{"no cookie", jar{}, 0, ErrNoSession, ""},
		{"only other cookies", jar{"ASP.NET_SessionId": "x", "oidcgate_login_0123456789abcdef": value}, 0, ErrNoSession, ""},
		{"tampered near start", jar{"oidcgate": flip(value, 3)}, 0, ErrSessionInvalid, ""},
		{"tampered in the middle", jar{"oidcgate": flip(value, len(value)/2)}, 0, ErrSessionInvalid, "signature matches no key"},
		{"truncated", jar{"oidcgate": value[:len(value)-8]}, 0, ErrSessionInvalid, ""},
		{"empty", jar{"oidcgate": ""}, 0, ErrSessionInvalid, ""},
		{"not base64", jar{"oidcgate": "hello%21"}, 0, ErrSessionInvalid, "base64"},
		{"foreign key", jar{"oidcgate": NewStore(StoreOptions{Name: "oidcgate", Lifetime: lifetime, Codec: testCodec(t, "other")}).mustEncode(t, plain)}, 0, ErrSessionInvalid, "signature matches no key"},
		{"value moved from another name", jar{"oidcgate": NewStore(StoreOptions{Name: "other", Lifetime: lifetime, Codec: testCodec(t, "k1")}).mustEncode(t, plain)}, 0, ErrSessionInvalid, "signature matches no key"},
		{"valid MAC, malformed value", jar{"oidcgate": s.mustEncode(t, []byte{1, 0})}, 0, ErrSessionInvalid, "malformed value"},
		{"valid MAC, unknown version", jar{"oidcgate": s.mustEncode(t, append([]byte{3}, plain[1:]...))}, 0, ErrSessionInvalid, "unknown session encoding version"},
		{"valid MAC, version 1 (no session id)", jar{"oidcgate": s.mustEncode(t, append([]byte{1}, plain[1:]...))}, 0, ErrSessionInvalid, "sign in again"},
		{"expired", good, time.Hour, ErrSessionExpired, "expired at"},
		{"older than lifetime (securecookie bound)", jar{"oidcgate": encodeAt(testKey("k1"), "oidcgate", plain, time.Now().Add(-lifetime-2*time.Minute).Unix())}, 0, ErrSessionExpired, "expired timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: clk.t.Add(tt.advance)}
			s := newTestStore(t, clk, "k1")
			got, err := s.Load(tt.cookies.request())
			if got != nil || !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Load(%s) = %+v, %v; want nil, %v containing %q", tt.name, got, err, tt.wantErr, tt.wantMsg)
			}
		})
	}
	// The age bound is securecookie's; a fresh value stamped the same way
	// passes, so the test above tests the bound and not encodeAt.
	fresh := jar{"oidcgate": encodeAt(testKey("k1"), "oidcgate", plain, time.Now().Unix())}
	if _, err := s.Load(fresh.request()); err != nil {
		t.Errorf("Load(encodeAt(now)) = %v; want nil", err)
	}
}

func (s *Store) mustEncode(t testing.TB, plain []byte) string {
	t.Helper()
	// securecookie encrypts in place; keep the caller's bytes.
	v, err := s.codecs[0].Encode(s.o.Name, append([]byte(nil), plain...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStoreSaveCookie(t *testing.T) {
	clk := newClock()
	tests := []struct {
		name        string
		secure      bool
		expires     time.Time
		wantMaxAge  int
		wantExpires time.Time
	}{
		{"zero expiry means lifetime", true, time.Time{}, int(lifetime / time.Second), clk.Now().Add(lifetime)},
		{"earlier expiry kept", true, clk.Now().Add(90 * time.Minute), 5400, clk.Now().Add(90 * time.Minute)},
		{"later expiry capped to lifetime", false, clk.Now().Add(48 * time.Hour), int(lifetime / time.Second), clk.Now().Add(lifetime)},
		{"sub-second expiry truncated", false, clk.Now().Add(90*time.Second + 900*time.Millisecond), 90, clk.Now().Add(90 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(StoreOptions{Name: "oidcgate", Lifetime: lifetime, Secure: tt.secure, Codec: testCodec(t, "k1"), Now: clk.Now})
			j := jar{}
			w := save(t, s, j, typicalSession(tt.expires))
			c := setCookies(t, w)["oidcgate"]
			if c == nil {
				t.Fatalf("Save set %q; want cookie oidcgate", w.Result().Header.Values("Set-Cookie"))
			}
			if c.Path != "/" || !c.HttpOnly || c.Secure != tt.secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != tt.wantMaxAge {
				t.Errorf("Save cookie = Path %q HttpOnly %v Secure %v SameSite %v MaxAge %d; want /, true, %v, Lax, %d",
					c.Path, c.HttpOnly, c.Secure, c.SameSite, c.MaxAge, tt.secure, tt.wantMaxAge)
			}
			got, err := s.Load(j.request())
			if err != nil || !got.Expires.Equal(tt.wantExpires) {
				t.Errorf("Load(Save(expires %v)).Expires = %v, %v; want %v", tt.expires, got, err, tt.wantExpires)
			}
		})
	}
	s := newTestStore(t, clk, "k1")
	for _, exp := range []time.Time{clk.Now(), clk.Now().Add(-time.Hour), clk.Now().Add(500 * time.Millisecond)} {
		if err := s.Save(httptest.NewRecorder(), jar{}.request(), typicalSession(exp)); err == nil {
			t.Errorf("Save(expires %v, now %v) = nil; want error", exp, clk.Now())
		}
	}
}

func TestStoreChunks(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	exp := clk.Now().Add(time.Hour)
	big := &Session{User: "carol", Subject: "c", IDToken: idToken(7000), Expires: exp}
	small := typicalSession(exp)

	j := jar{"ASP.NET_SessionId": "keep"}
	save(t, s, j, big)
	if want := []string{"ASP.NET_SessionId", "oidcgate", "oidcgate_1", "oidcgate_2", "oidcgate_3"}; strings.Join(j.names(), " ") != strings.Join(want, " ") {
		t.Fatalf("after Save(7 KB token) cookies = %q; want %q", j.names(), want)
	}

	t.Run("a missing chunk is refused", func(t *testing.T) {
		r := jar{"oidcgate": j["oidcgate"], "oidcgate_1": j["oidcgate_1"], "oidcgate_3": j["oidcgate_3"]}.request()
		if got, err := s.Load(r); !errors.Is(err, ErrSessionInvalid) {
			t.Errorf("Load(chunk 2 missing) = %+v, %v; want %v", got, err, ErrSessionInvalid)
		}
	})
	t.Run("swapped chunks are refused", func(t *testing.T) {
		r := jar{"oidcgate": j["oidcgate"], "oidcgate_1": j["oidcgate_2"], "oidcgate_2": j["oidcgate_1"], "oidcgate_3": j["oidcgate_3"]}.request()
		if got, err := s.Load(r); !errors.Is(err, ErrSessionInvalid) {
			t.Errorf("Load(chunks swapped) = %+v, %v; want %v", got, err, ErrSessionInvalid)
		}
	})
	t.Run("smaller session expires stale chunks", func(t *testing.T) {
		j := jar{}
		save(t, s, j, big)
		w := save(t, s, j, small)
		for _, name := range []string{"oidcgate_1", "oidcgate_2", "oidcgate_3"} {
			if c := setCookies(t, w)[name]; c == nil || c.MaxAge >= 0 || c.Path != "/" {
				t.Errorf("Save(small) Set-Cookie %q = %v; want it expired with Path=/", name, c)
			}
		}
		if want := "oidcgate"; strings.Join(j.names(), " ") != want {
			t.Errorf("after Save(small) cookies = %q; want %q", j.names(), want)
		}
		if got, err := s.Load(j.request()); err != nil || !sameSession(got, small) {
			t.Errorf("Load(after Save(small)) = %+v, %v; want %+v", got, err, small)
		}
	})
	t.Run("too large is an error", func(t *testing.T) {
		huge := &Session{User: "dave", IDToken: idToken(20000), Expires: exp}
		if err := s.Save(httptest.NewRecorder(), jar{}.request(), huge); err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("Save(20 KB token) = %v; want error about the size", err)
		}
	})
}

func TestStoreClear(t *testing.T) {
	clk := newClock()
	s := newTestStore(t, clk, "k1")
	j := jar{"other": "keep", "oidcgate_login_0123456789abcdef": "attempt"}
	save(t, s, j, &Session{User: "carol", IDToken: idToken(4000), Expires: clk.Now().Add(time.Hour)})
	w := httptest.NewRecorder()
	s.Clear(w, j.request())
	j.apply(t, w)
	if want := "oidcgate_login_0123456789abcdef other"; strings.Join(j.names(), " ") != want {
		t.Errorf("after Clear cookies = %q; want %q", j.names(), want)
	}
	if _, err := s.Load(j.request()); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load(after Clear) = %v; want %v", err, ErrNoSession)
	}
}

func TestStoreOwns(t *testing.T) {
	s := newTestStore(t, newClock(), "k1")
	tests := []struct {
		name string
		want bool
	}{
		{"oidcgate", true},
		{"oidcgate_1", true},
		{"oidcgate_7", true},
		{"oidcgate_12", true},
		{"oidcgate_login_0123456789abcdef", true},
		{"oidcgate_login_x", true},
		{"oidcgate_login_", false},
		{"oidcgate_", false},
		{"oidcgate_x", false},
		{"oidcgate_1x", false},
		{"oidcgatex", false},
		{"Oidcgate", false},
		{"xoidcgate", false},
		{"ASP.NET_SessionId", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Owns(tt.name); got != tt.want {
				t.Errorf("Owns(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
	if NewStore(StoreOptions{}).Owns("") {
		t.Errorf("zero Store Owns(%q) = true; want false", "")
	}
}

func TestStoreZeroOptionsFailClosed(t *testing.T) {
	codec := testCodec(t, "k1")
	tests := []struct {
		name string
		o    StoreOptions
	}{
		{"zero", StoreOptions{}},
		{"no name", StoreOptions{Lifetime: time.Hour, Codec: codec}},
		{"bad name", StoreOptions{Name: "a b", Lifetime: time.Hour, Codec: codec}},
		{"no lifetime", StoreOptions{Name: "oidcgate", Codec: codec}},
		{"no codec", StoreOptions{Name: "oidcgate", Lifetime: time.Hour}},
	}
	valid := jar{}
	save(t, newTestStore(t, newClock(), "k1"), valid, typicalSession(time.Time{}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(tt.o)
			if got, err := s.Load(valid.request()); got != nil || err == nil || errors.Is(err, ErrNoSession) {
				t.Errorf("Load = %+v, %v; want nil and a configuration error", got, err)
			}
			if err := s.Save(httptest.NewRecorder(), valid.request(), typicalSession(time.Time{})); err == nil {
				t.Errorf("Save = nil; want a configuration error")
			}
		})
	}
}

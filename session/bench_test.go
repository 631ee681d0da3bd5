package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func BenchmarkStoreLoad(b *testing.B) {
	s := NewStore(StoreOptions{Name: "oidcgate", Lifetime: lifetime, Secure: true, Codec: testCodec(b, "new", "old")})
	j := jar{"ASP.NET_SessionId": "x4b2nd5vqk1lq2xg0jz3c4fa", "oidcgate": ""}
	save(b, s, j, typicalSession(time.Time{}))
	r := j.request()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreLoadMiss is a cookie seen for the first time: the full
// decode, without the cache.
func BenchmarkStoreLoadMiss(b *testing.B) {
	s := NewStore(StoreOptions{Name: "oidcgate", Lifetime: lifetime, Secure: true, Codec: testCodec(b, "new", "old")})
	j := jar{"ASP.NET_SessionId": "x4b2nd5vqk1lq2xg0jz3c4fa", "oidcgate": ""}
	save(b, s, j, typicalSession(time.Time{}))
	r := j.request()
	b.ReportAllocs()
	for b.Loop() {
		s.cache.mu.Lock()
		clear(s.cache.m)
		s.cache.mu.Unlock()
		if _, err := s.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}

// headerWriter is a ResponseWriter that only keeps headers, reused across
// iterations so the benchmark measures Logins and not the recorder.
type headerWriter http.Header

func (w headerWriter) Header() http.Header       { return http.Header(w) }
func (headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (headerWriter) WriteHeader(int)             {}

func BenchmarkLoginsBeginTake(b *testing.B) {
	l := NewLogins(LoginOptions{Name: "oidcgate", TTL: ttl, Max: 5, Secure: true, Codec: testCodec(b, "k1")})
	st := attempt(1)
	w := headerWriter{}
	begin := httptest.NewRequest(http.MethodGet, "https://cora.example.com/Flowtime/", nil)
	callback := httptest.NewRequest(http.MethodGet, "https://cora.example.com/Flowtime/", nil)
	b.ReportAllocs()
	for b.Loop() {
		clear(w)
		if err := l.Begin(w, begin, st); err != nil {
			b.Fatal(err)
		}
		pair, _, _ := strings.Cut(w["Set-Cookie"][0], ";")
		callback.Header["Cookie"] = []string{pair}
		clear(w)
		if _, err := l.Take(w, callback, st.State); err != nil {
			b.Fatal(err)
		}
	}
}

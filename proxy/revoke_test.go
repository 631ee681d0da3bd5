package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

func TestRevokeHandler(t *testing.T) {
	const iss = "https://op.example"
	issued := time.Now().Add(-time.Minute)
	alice := store.Identity{ID: []byte("alice's session"), IssuedAt: issued, Issuer: iss, Subject: "alice"}
	other := store.Identity{ID: []byte("other's session"), IssuedAt: issued, Issuer: "https://other.example", Subject: "alice"}
	bob := store.Identity{ID: []byte("bob's session"), IssuedAt: issued, Issuer: iss, Subject: "bob"}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantBody   string
		revoked    []store.Identity
		kept       []store.Identity
	}{
		{"subject at the provider's issuer", "subject=alice", 200, `{"marks":1}`, []store.Identity{alice}, []store.Identity{other, bob}},
		{"subject at another issuer", "subject=alice&issuer=https%3A%2F%2Fother.example", 200, `{"marks":1}`, []store.Identity{other}, []store.Identity{alice, bob}},
		{"all", "all=true", 200, `{"marks":1}`, []store.Identity{alice, other, bob}, nil},
		{"nothing", "", 400, "give subject=SUB", nil, []store.Identity{alice, other, bob}},
		{"both", "subject=alice&all=true", 400, "not both", nil, []store.Identity{alice, other, bob}},
		{"all=false", "all=false", 400, "all must be true", nil, []store.Identity{alice, other, bob}},
		{"issuer alone", "issuer=https%3A%2F%2Fop.example", 400, "give subject=SUB", nil, []store.Identity{alice}},
		{"subject in the query only", "", 400, "give subject", nil, []store.Identity{alice}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.NewMemory(store.Options{CookieKeys: [][]byte{make([]byte, 64)}, Lifetime: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			h := revokeHandler(st, func() string { return iss }, func() {})
			r := httptest.NewRequest(http.MethodPost, "/sessions/revoke?subject=alice", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("POST %q = %d %s; want %d with %q", tt.body, w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			for _, id := range tt.revoked {
				if !st.Revoked(id) {
					t.Errorf("session of %s at %s not revoked", id.Subject, id.Issuer)
				}
			}
			for _, id := range tt.kept {
				if st.Revoked(id) {
					t.Errorf("session of %s at %s revoked; want it kept", id.Subject, id.Issuer)
				}
			}
			later := alice
			later.IssuedAt = time.Now().Add(time.Second)
			if st.Revoked(later) {
				t.Errorf("a sign-in after the revocation is revoked too")
			}
		})
	}
}

// TestSessionIdentity: a session saved by the session package is named
// by every kind of mark that should name it.
func TestSessionIdentity(t *testing.T) {
	st, err := store.NewMemory(store.Options{CookieKeys: [][]byte{make([]byte, 64)}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sess := &session.Session{ID: session.NewID(), IssuedAt: time.Now().Add(-time.Minute), Issuer: "https://op.example", Subject: "alice", SID: "op-session-1"}
	for _, m := range []store.Mark{store.SessionMark(sess.ID[:]), store.ProviderMark(sess.Issuer, sess.SID), store.SubjectMark(sess.Issuer, sess.Subject)} {
		st, _ := store.NewMemory(store.Options{CookieKeys: [][]byte{make([]byte, 64)}, Lifetime: time.Hour})
		st.Revoke(t.Context(), m)
		if !st.Revoked(sessionIdentity(sess)) {
			t.Errorf("a %v mark does not cover the session it names", m.Kind)
		}
	}
	if st.Revoked(sessionIdentity(sess)) {
		t.Error("revoked without a mark")
	}
}

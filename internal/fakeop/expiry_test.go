package fakeop

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSweepMatchesWalk holds the expiry queue to what the OP did before it:
// walk every map and forget each entry with !now.Before(expires). Random
// additions, removals and sweeps, with a clock that also goes back (a
// test's Now may), must leave the same entries in both.
func TestSweepMatchesWalk(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			op, err := New(Options{ClientID: "c", ClientSecret: "s", Users: []User{{Name: "u"}}})
			if err != nil {
				t.Fatal(err)
			}
			ref := &OP{
				codes:        map[string]*authCode{},
				accessTokens: map[string]*accessToken{},
				pending:      map[string]*pendingRequest{},
				sessions:     map[string]*opSession{},
			}
			now := time.Unix(1_700_000_000, 0)
			for i := range 3000 {
				key := fmt.Sprint(i)
				switch rng.IntN(7) {
				case 0:
					for _, o := range []*OP{op, ref} {
						o.codes[key] = &authCode{expires: now.Add(codeLifetime)}
					}
					op.rememberLocked(rememberedCode, key, now.Add(codeLifetime))
				case 1:
					for _, o := range []*OP{op, ref} {
						o.accessTokens[key] = &accessToken{expires: now.Add(tokenLifetime)}
					}
					op.rememberLocked(rememberedAccessToken, key, now.Add(tokenLifetime))
				case 2:
					for _, o := range []*OP{op, ref} {
						o.pending[key] = &pendingRequest{expires: now.Add(pendingLifetime)}
					}
					op.rememberLocked(rememberedPending, key, now.Add(pendingLifetime))
				case 3:
					for _, o := range []*OP{op, ref} {
						o.sessions[key] = &opSession{expires: now.Add(sessionLifetime)}
					}
					op.rememberLocked(rememberedSession, key, now.Add(sessionLifetime))
				case 4: // a pending request signed in
					if len(ref.pending) > 0 {
						k := slices.Sorted(maps.Keys(ref.pending))[0]
						delete(op.pending, k)
						delete(ref.pending, k)
					}
				case 5:
					now = now.Add(time.Duration(rng.Int64N(int64(20*time.Minute))) - 4*time.Minute)
				case 6:
					op.sweepLocked(now)
					walk(ref, now)
					if diff := differ(op, ref); diff != "" {
						t.Fatalf("step %d, sweep at %s: %s", i, now.Format(time.TimeOnly), diff)
					}
				}
			}
			now = now.Add(13 * time.Hour)
			op.sweepLocked(now)
			walk(ref, now)
			if len(op.codes)+len(op.accessTokens)+len(op.pending)+len(op.sessions) != 0 || len(op.expiries) != 0 {
				t.Errorf("after every lifetime: %d codes, %d tokens, %d pending, %d sessions, %d queued; want none",
					len(op.codes), len(op.accessTokens), len(op.pending), len(op.sessions), len(op.expiries))
			}
		})
	}
}

// differ says which map of op holds other keys than ref's.
func differ(op, ref *OP) string {
	for _, m := range []struct {
		name      string
		got, want []string
	}{
		{"codes", slices.Sorted(maps.Keys(op.codes)), slices.Sorted(maps.Keys(ref.codes))},
		{"access tokens", slices.Sorted(maps.Keys(op.accessTokens)), slices.Sorted(maps.Keys(ref.accessTokens))},
		{"pending", slices.Sorted(maps.Keys(op.pending)), slices.Sorted(maps.Keys(ref.pending))},
		{"sessions", slices.Sorted(maps.Keys(op.sessions)), slices.Sorted(maps.Keys(ref.sessions))},
	} {
		if !slices.Equal(m.got, m.want) {
			return fmt.Sprintf("%s = %q; want %q", m.name, m.got, m.want)
		}
	}
	return ""
}

// walk is the sweep as it was: every entry of every map looked at.
func walk(op *OP, now time.Time) {
	maps.DeleteFunc(op.codes, func(_ string, c *authCode) bool { return !now.Before(c.expires) })
	maps.DeleteFunc(op.accessTokens, func(_ string, t *accessToken) bool { return !now.Before(t.expires) })
	maps.DeleteFunc(op.pending, func(_ string, p *pendingRequest) bool { return !now.Before(p.expires) })
	maps.DeleteFunc(op.sessions, func(_ string, s *opSession) bool { return !now.Before(s.expires) })
}

// TestExpiredCodeIsForgotten follows a code through the handler: once its
// minute is over, the next authorization request forgets it, and the token
// endpoint no longer knows it.
func TestExpiredCodeIsForgotten(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	op, err := New(Options{ClientID: "c", ClientSecret: "s", Users: []User{{Name: "u"}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	op.SetIssuer("https://op.example")
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	authorize := func() string {
		t.Helper()
		q := url.Values{
			"client_id": {"c"}, "redirect_uri": {"https://rp.example/cb"}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}, "code_challenge_method": {"S256"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		}
		w := httptest.NewRecorder()
		op.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://op.example/authorize?"+q.Encode(), nil))
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("authorization request = %d %q; want 302 with a code", w.Code, w.Header().Get("Location"))
		}
		return loc.Query().Get("code")
	}

	old := authorize()
	now = now.Add(codeLifetime)
	authorize()
	op.mu.Lock()
	_, kept := op.codes[old]
	op.mu.Unlock()
	if kept {
		t.Errorf("code issued %v ago is still remembered after the next authorization request", codeLifetime)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {old}, "redirect_uri": {"https://rp.example/cb"}, "code_verifier": {verifier}}
	r := httptest.NewRequest(http.MethodPost, "https://op.example/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("c", "s")
	w := httptest.NewRecorder()
	op.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unknown or expired code") {
		t.Errorf("token request with the expired code = %d %s; want 400 unknown or expired code", w.Code, w.Body)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/redistest"
	"github.com/oidcgate/oidcgate/proxy"
	"github.com/oidcgate/oidcgate/store"
)

// replicaStore is the store a replica serving cfgPath would have, loaded.
func replicaStore(t *testing.T, cfgPath string) store.Store {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := proxy.OpenStore(cfg, store.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store not ready: %v", s.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

func TestSessionsRevoke(t *testing.T) {
	op := plainOP(t)
	srv := redistest.Start(t, redistest.Options{Password: "redis-pw-1"})
	pwFile := filepath.Join(t.TempDir(), "redis-pw")
	os.WriteFile(pwFile, []byte("redis-pw-1\n"), 0o600)
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", fmt.Sprintf("[store]\nkind = \"redis\"\nurl = %q\npassword_file = %q\n", srv.URL, pwFile))
	before := time.Now().Add(-time.Second)
	alice := store.Identity{ID: []byte("alice's session1"), IssuedAt: before, Issuer: op.Issuer(), Subject: "alice-sub"}
	elsewhere := store.Identity{ID: []byte("alice elsewhere!"), IssuedAt: before, Issuer: "https://other.example", Subject: "alice-sub"}
	bob := store.Identity{ID: []byte("bob's session!!!"), IssuedAt: before, Issuer: op.Issuer(), Subject: "bob-sub"}

	replica := replicaStore(t, path)
	code, out, errOut := runCmd(t, "sessions", "revoke", "-config", path, "-subject", "alice-sub")
	if code != 0 || !strings.Contains(out, "1 mark written") || !strings.Contains(out, op.Issuer()) {
		t.Fatalf("sessions revoke -subject = %d\n%s%s\nwant 0, one mark at the provider's issuer", code, out, errOut)
	}
	if strings.Contains(out+errOut, "redis-pw-1") {
		t.Errorf("output shows the Redis password")
	}
	waitRevoked(t, replica, alice)
	if replica.Revoked(elsewhere) || replica.Revoked(bob) {
		t.Errorf("the mark for alice-sub at the provider also ends another issuer's or user's session")
	}
	later := alice
	later.IssuedAt = time.Now().Add(time.Second)
	if replica.Revoked(later) {
		t.Errorf("alice's sign-in after the revocation is revoked")
	}

	if code, out, errOut := runCmd(t, "sessions", "revoke", "-config", path, "-subject", "alice-sub", "-issuer", "https://other.example"); code != 0 {
		t.Fatalf("sessions revoke -issuer = %d\n%s%s", code, out, errOut)
	}
	waitRevoked(t, replica, elsewhere)

	if code, out, errOut := runCmd(t, "sessions", "revoke", "-config", path, "-all"); code != 0 {
		t.Fatalf("sessions revoke -all = %d\n%s%s", code, out, errOut)
	}
	waitRevoked(t, replica, bob)
	if late := replicaStore(t, path); !late.Revoked(bob) || !late.Revoked(alice) {
		t.Errorf("a replica started after the revocations does not know them")
	}

	srv.Stop()
	code, _, errOut = runCmd(t, "sessions", "revoke", "-config", path, "-all", "-timeout", "3s")
	if code != 1 || !strings.Contains(errOut, "unreachable") {
		t.Errorf("sessions revoke with Redis down = %d, %q; want 1 and the reason", code, errOut)
	}
}

func waitRevoked(t *testing.T, s store.Store, id store.Identity) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !s.Revoked(id) {
		if time.Now().After(deadline) {
			t.Fatalf("session of %s at %s not revoked at the replica within a second", id.Subject, id.Issuer)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSessionsRevokeRefuses(t *testing.T) {
	memory := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:0", "")
	redis := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:0", "[store]\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1/0\"\n")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", []string{"sessions"}, "usage: oidcgate sessions revoke"},
		{"unknown subcommand", []string{"sessions", "list"}, "usage"},
		{"no config: the default file", []string{"sessions", "revoke", "-all"}, defaultConfig},
		{"neither subject nor all", []string{"sessions", "revoke", "-config", redis}, "usage"},
		{"subject and all", []string{"sessions", "revoke", "-config", redis, "-all", "-subject", "a"}, "usage"},
		{"all with an issuer", []string{"sessions", "revoke", "-config", redis, "-all", "-issuer", "https://op"}, "usage"},
		{"memory store", []string{"sessions", "revoke", "-config", memory, "-all"}, "POST /sessions/revoke"},
		{"bad file", []string{"sessions", "revoke", "-config", "/nonexistent.toml", "-all"}, "has problems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("%q = %d, %q %q; want 2 and %q", tt.args, code, out, errOut, tt.wantErr)
			}
		})
	}
}

// TestSessionsRevokeNeedsCookieKeys: without [session] keys every process
// makes its own, and a mark for a user would name nobody elsewhere.
func TestSessionsRevokeNeedsCookieKeys(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:0", "[store]\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1/0\"\n")
	data, _ := os.ReadFile(path)
	var kept []string
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, "keys") {
			kept = append(kept, line)
		}
	}
	os.WriteFile(path, []byte(strings.Join(kept, "")), 0o600)
	code, _, errOut := runCmd(t, "sessions", "revoke", "-config", path, "-subject", "alice", "-issuer", "https://op")
	if code != 2 || !strings.Contains(errOut, "[session] keys") {
		t.Errorf("sessions revoke without cookie keys = %d, %q; want 2 naming [session] keys", code, errOut)
	}
}

func TestCheckOnlineReachesTheStore(t *testing.T) {
	op := plainOP(t)
	srv := redistest.Start(t, redistest.Options{Unix: true})
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", fmt.Sprintf("[store]\nkind = \"redis\"\nurl = %q\n", srv.URL))
	code, out, errOut := runCmd(t, "check", "-online", "-config", path)
	if code != 0 || !regexp.MustCompile(`store: redis \d+\.\d+\.\d+ at unix://`).MatchString(out) {
		t.Fatalf("check -online = %d\n%s%s\nwant 0 and the store's version", code, out, errOut)
	}
	t.Log(strings.TrimSpace(out[strings.Index(out, "store:"):]))
	srv.Stop()
	if code, out, _ := runCmd(t, "check", "-online", "-config", path); code != 1 || !strings.Contains(out, "store: redis at unix://") {
		t.Errorf("check -online with the store down = %d\n%s\nwant 1 naming the store", code, out)
	}
}

package session

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSessionEncodingRoundTrip(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	typical := typicalSession(exp)
	tests := []struct {
		name string
		s    Session
	}{
		{"typical", *typical},
		{"user is preferred username", Session{User: "alice", PreferredUsername: "alice", Email: "alice@example.com", Expires: exp}},
		{"all different", Session{User: "u", AuthenticationType: "a", Email: "e", PreferredUsername: "p", Issuer: "i", Subject: "s", Site: "Flowtime", IDToken: "x.y.z", Expires: exp}},
		{"empty strings", Session{Expires: exp}},
		{"user empty, email set", Session{Email: "e@example.com", PreferredUsername: "e@example.com", Expires: exp}},
		{"non-ASCII and long", Session{User: "Åsa Ødegård", Email: "åsa@example.no", IDToken: idToken(5000), Expires: exp}},
		{"last second of 9999", Session{User: "u", Expires: time.Unix(maxUnix, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.IssuedAt.IsZero() {
				tt.s.IssuedAt = time.UnixMilli(1_700_000_000_123)
			}
			b, err := appendSession(nil, &tt.s)
			if err != nil {
				t.Fatalf("appendSession(%+v) = %v", tt.s, err)
			}
			got, err := decodeSession(b)
			if err != nil || !sameSession(&got, &tt.s) {
				t.Fatalf("decodeSession(appendSession(%+v)) = %+v, %v; want the same, nil", tt.s, got, err)
			}
		})
	}
	b, _ := appendSession(nil, typical)
	t.Logf("typical session: %d bytes encoded", len(b))
}

func TestSessionEncodingRefuses(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	valid, err := appendSession(nil, &Session{User: "u", Email: "e", Expires: exp, IssuedAt: exp.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"empty", nil, "truncated"},
		{"unknown version", append([]byte{3}, valid[1:]...), "unknown session encoding version 3"},
		{"version 1, before session ids", []byte{1, 5, 1, 0, 0, 0, 0, 0, 0}, "version 1 has no session id"},
		{"unknown flag", append([]byte{2, 0x08}, valid[2:]...), "invalid session flags"},
		{"user is both", append([]byte{2, userIsEmail | userIsPreferredUsername}, valid[2:]...), "invalid session flags"},
		{"trailing byte", append(append([]byte(nil), valid...), 0), "1 trailing bytes"},
		{"string longer than input", append([]byte{2, 0, 1, 1}, append(make([]byte, IDSize), 0xff, 0x01)...), "truncated"},
		{"id cut short", []byte{2, 0, 1, 1, 0, 0, 0}, "truncated"},
		{"varint overflow", []byte{2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "overflows"},
		{"zero expiry", append([]byte{2, 5, 0, 1}, make([]byte, IDSize+7)...), "expiry 0 out of range"},
		{"zero issue time", append([]byte{2, 5, 1, 0}, make([]byte, IDSize+7)...), "issue time 0 out of range"},
		{"expiry after 9999", append([]byte{2, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1}, make([]byte, IDSize+7)...), "out of range"},
	}
	for i := 1; i < len(valid); i++ {
		tests = append(tests, struct {
			name    string
			in      []byte
			wantErr string
		}{fmt.Sprintf("truncated to %d bytes", i), valid[:i], "truncated"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSession(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("decodeSession(%x) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
	if _, err := appendSession(nil, &Session{}); err == nil {
		t.Errorf("appendSession(zero Expires) = nil; want error")
	}
	if _, err := appendSession(nil, &Session{Expires: exp}); err == nil {
		t.Errorf("appendSession(zero IssuedAt) = nil; want error")
	}
}

func TestLoginEncoding(t *testing.T) {
	st := LoginState{
		State: "s", Nonce: "n", Verifier: "v", ReturnURL: "/Flowtime/x?y=1", Site: "Flowtime",
		Created: time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC),
	}
	b, err := appendLogin(nil, &st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeLogin(b); err != nil || got != st {
		t.Fatalf("decodeLogin(appendLogin(%+v)) = %+v, %v; want the same, nil", st, got, err)
	}
	refused := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"empty", nil, "truncated"},
		{"unknown version", append([]byte{9}, b[1:]...), "unknown login encoding version 9"},
		{"truncated", b[:len(b)-1], "truncated"},
		{"trailing", append(append([]byte(nil), b...), 'x'), "trailing"},
		{"zero time", []byte{1, 0, 0, 0, 0, 0, 0}, "out of range"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeLogin(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("decodeLogin(%x) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

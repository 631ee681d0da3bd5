package proxy

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/provider"
)

// TestProviderLogLines: one line when the provider is first loaded, one
// when it loads again after failures, and nothing for refreshes that
// change nothing.
func TestProviderLogLines(t *testing.T) {
	ok := provider.Refreshed{Issuer: "https://op.example", Keys: 2}
	failed := provider.Refreshed{Err: errors.New("down"), Issuer: "https://op.example", Keys: 2}
	tests := []struct {
		name   string
		events []provider.Refreshed
		want   []string // messages, in order
	}{
		{"loaded", []provider.Refreshed{ok, ok, ok}, []string{"provider loaded"}},
		{"down at start, then loaded", []provider.Refreshed{failed, failed, ok, ok}, []string{"provider loaded"}},
		{"recovered", []provider.Refreshed{ok, failed, failed, ok, ok}, []string{"provider loaded", "provider recovered"}},
		{"recovered twice", []provider.Refreshed{ok, failed, ok, failed, ok}, []string{"provider loaded", "provider recovered", "provider recovered"}},
		{"never loaded", []provider.Refreshed{failed, failed}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf testkit.SyncBuffer
			pl := &providerLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
			for _, e := range tt.events {
				pl.refreshed(e)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if line == "" {
					continue
				}
				if !strings.Contains(line, "issuer=https://op.example keys=2") {
					t.Errorf("line without issuer and key count: %s", line)
				}
				if _, msg, ok := strings.Cut(line, "msg="); ok {
					msg, _, _ = strings.Cut(strings.Trim(msg, `"`), `" `)
					got = append(got, msg)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines = %q; want %q\n%s", got, tt.want, buf.String())
			}
		})
	}
}

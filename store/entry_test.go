package store

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func entryFields(e entry) map[string]any {
	v := e.values()
	m := make(map[string]any)
	for i := 0; i < len(v); i += 2 {
		m[v[i].(string)] = v[i+1]
	}
	return m
}

func TestEntryRoundTrip(t *testing.T) {
	set, err := newMarkSet([][]byte{key(1), key(2)})
	if err != nil {
		t.Fatal(err)
	}
	now := newClock().Now()
	a := alice(now)
	for _, m := range []Mark{SessionMark(a.ID), ProviderMark(a.Issuer, a.SID), SubjectMark(a.Issuer, a.Subject), AllMark()} {
		e, err := set.makeEntry(m, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseEntry(entryFields(e))
		if err != nil || got.kind != e.kind || !slices.Equal(got.digests, e.digests) || got.at != e.at || got.exp != e.exp || got.written != e.written {
			t.Errorf("parseEntry(values(%+v)) = %+v, %v; want the same, nil", e, got, err)
		}
	}
}

func TestParseEntryRefuses(t *testing.T) {
	good := map[string]any{"v": "1", "k": "u", "h": strings.Repeat("d", 16), "t": "1000", "x": "2000", "w": "1000"}
	with := func(k string, v any) map[string]any {
		m := make(map[string]any)
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	if _, err := parseEntry(good); err != nil {
		t.Fatalf("parseEntry(good) = %v", err)
	}
	tests := []struct {
		name    string
		fields  map[string]any
		wantErr string
	}{
		{"no version", with("v", nil), `no field "v"`},
		{"unknown version", with("v", "2"), "unknown entry version"},
		{"unknown kind", with("k", "z"), "unknown kind"},
		{"two-letter kind", with("k", "uu"), "unknown kind"},
		{"not a string", with("t", 1000), "not a string"},
		{"no digests", with("h", ""), "digests of 0 bytes"},
		{"digests cut short", with("h", strings.Repeat("d", 17)), "digests of 17 bytes"},
		{"too many digests", with("h", strings.Repeat("d", 16*17)), "digests of 272 bytes"},
		{"all with digests", with("k", "a"), "for all sessions with 16 bytes"},
		{"date not a number", with("t", "soon"), `field "t"`},
		{"negative date", with("t", "-5"), `field "t"`},
		{"expiry after 9999", with("x", "999999999999999999"), `field "x"`},
		{"expires before its date", with("x", "999"), "before its date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEntry(tt.fields)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseEntry(%v) = %+v, %v; want error containing %q", tt.fields, got, err, tt.wantErr)
			}
		})
	}
}

// FuzzDecodeEntry: entries come from whoever can write to the store;
// decoding never panics, and what it accepts encodes back to the same.
func FuzzDecodeEntry(f *testing.F) {
	f.Add("1", "u", strings.Repeat("d", 16), "1000", "2000", "1000")
	f.Add("1", "a", "", "1", "2", "3")
	f.Add("1", "s", strings.Repeat("\x00", 32), "1700000000000", "1700000060000", "1700000000001")
	f.Fuzz(func(t *testing.T, v, k, h, at, x, w string) {
		e, err := decodeEntry(v, k, h, at, x, w)
		if err != nil {
			return
		}
		again, err := parseEntry(entryFields(e))
		if err != nil || again.kind != e.kind || !slices.Equal(again.digests, e.digests) || again.at != e.at || again.exp != e.exp {
			t.Fatalf("parseEntry(values(decodeEntry(…))) = %+v, %v; want %+v", again, err, e)
		}
	})
}

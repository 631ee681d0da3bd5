package session

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if a == b {
		t.Fatalf("GenerateKey() returned %q twice", a)
	}
	for _, s := range []string{a, b} {
		if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
			t.Errorf("GenerateKey() = %q; not padded standard base64: %v", s, err)
		}
		k, err := ParseKey(s)
		if err != nil || len(k) != KeySize {
			t.Errorf("ParseKey(%q) = %d bytes, %v; want %d bytes, nil", s, len(k), err, KeySize)
		}
	}
}

func TestParseKey(t *testing.T) {
	// 0xfb 0xff encode to "+/" in standard and "-_" in URL base64.
	key := bytes.Repeat([]byte{0xfb, 0xff}, KeySize/2)
	tests := []struct {
		name    string
		in      string
		wantErr string // "" for success
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), ""},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), ""},
		{"url raw", base64.RawURLEncoding.EncodeToString(key), ""},
		{"surrounding space", " " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"empty", "", "empty"},
		{"not base64", strings.Repeat("!", 88), "not base64"},
		{"32 bytes", base64.StdEncoding.EncodeToString(key[:32]), "32 bytes; want 64"},
		{"65 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), "65 bytes; want 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("ParseKey(%q) = %x, %v; want %x, nil", tt.in, got, err, key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseKey(%q) = %v; want error containing %q", tt.in, err, tt.wantErr)
			}
			if s := strings.TrimSpace(tt.in); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("ParseKey(%q) error %q repeats the key", tt.in, err)
			}
		})
	}
}

func TestLegacyKey(t *testing.T) {
	const (
		key = "Q7bX2mN9pL4vR8sT1wY6zA3cE5gH0j"
		iv  = "K2dF7hJ4lP9nB6vC1xZ8qW3eR5tY0u"
	)
	// Pinned: replicas running different versions must derive the same key.
	const golden = "ed7d57aa66393c3d537575059f8671192ae984c3a719aa5c96eb217e87e10252b46a2909e5eb56da6229dd4623634bde9a459637d848481d0d8289c574670977"
	got := LegacyKey(key, iv)
	if h := hex.EncodeToString(got); h != golden {
		t.Errorf("LegacyKey(%q, %q) = %s; want %s", key, iv, h, golden)
	}
	if len(got) != KeySize {
		t.Fatalf("LegacyKey(%q, %q) is %d bytes; want %d", key, iv, len(got), KeySize)
	}
	if again := LegacyKey(key, iv); !bytes.Equal(again, got) {
		t.Errorf("LegacyKey(%q, %q) not deterministic: %x then %x", key, iv, got, again)
	}
	others := []struct {
		name    string
		key, iv string
	}{
		{"other key", "Q7bX2mN9pL4vR8sT1wY6zA3cE5gH0k", iv},
		{"other iv", key, "K2dF7hJ4lP9nB6vC1xZ8qW3eR5tY0v"},
		{"swapped", iv, key},
		{"boundary moved", key + "K", iv[1:]},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			if other := LegacyKey(tt.key, tt.iv); bytes.Equal(other, got) {
				t.Errorf("LegacyKey(%q, %q) = LegacyKey(%q, %q); want different keys", tt.key, tt.iv, key, iv)
			}
		})
	}
	if _, err := NewCodec([][]byte{got}); err != nil {
		t.Errorf("NewCodec(LegacyKey(…)) = %v; want nil", err)
	}
}

func TestNewCodec(t *testing.T) {
	tests := []struct {
		name    string
		keys    [][]byte
		wantErr string
	}{
		{"one key", [][]byte{testKey("a")}, ""},
		{"two keys", [][]byte{testKey("a"), testKey("b")}, ""},
		{"no keys", nil, "no cookie keys"},
		{"short key", [][]byte{testKey("a"), testKey("b")[:32]}, "keys[1] is 32 bytes"},
		{"nil key", [][]byte{nil}, "keys[0] is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCodec(tt.keys)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("NewCodec(%d keys) = %v; want %q", len(tt.keys), err, tt.wantErr)
			}
		})
	}
}

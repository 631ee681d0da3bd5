package provider

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxToken bounds the ID tokens we look at; real ones are a few kilobytes.
const maxToken = 64 << 10

// header is the part of a JWS header we read before trusting anything.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	X5t string `json:"x5t"`
	Typ string `json:"typ"`
}

// parseHeader reads the protected header of a compact JWS, so the algorithm
// can be refused, and the key chosen, before any key is used.
func parseHeader(raw string) (header, error) {
	if len(raw) > maxToken {
		return header{}, fmt.Errorf("token longer than %d bytes", maxToken)
	}
	first, _, ok := strings.Cut(raw, ".")
	if !ok || strings.Count(raw, ".") != 2 {
		return header{}, errors.New("not a compact JWS (three dot-separated parts)")
	}
	b, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return header{}, fmt.Errorf("header: %w", err)
	}
	var h header
	if err := json.Unmarshal(b, &h); err != nil {
		return header{}, fmt.Errorf("header: %w", err)
	}
	if h.Alg == "" {
		return header{}, errors.New("header: no alg")
	}
	return h, nil
}

func (h header) named() bool { return h.Kid != "" || h.X5t != "" }

// candidates are the keys the header names, or every key when it names none.
func (h header) candidates(keys []key) []key {
	if !h.named() {
		return keys
	}
	var out []key
	for _, k := range keys {
		if k.names(h.Kid, h.X5t) {
			out = append(out, k)
		}
	}
	return out
}

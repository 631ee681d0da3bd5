// Package claims turns the claims of a verified ID token into the identity
// the proxy forwards, and writes that identity as request headers.
//
// Nothing here verifies a token: callers hand in claims that have already
// passed signature, issuer, audience, expiry and nonce checks.
package claims

import (
	"encoding/json"
	"math"
	"strconv"
)

// Claims are the claims of a verified ID token, or of a userinfo response,
// as decoded from JSON (with or without json.Decoder.UseNumber).
type Claims map[string]any

// String returns the claim as a header-ready string. Strings are returned as
// they are; numbers are formatted in decimal without an exponent, because a
// numeric user id such as 1234567890 must not reach a backend as
// "1.23456789e+09"; booleans become "true" or "false". Arrays, objects, null,
// an empty string and an absent claim report false: none of them names
// anything on its own.
func (c Claims) String(name string) (string, bool) {
	var s string
	switch v := c[name].(type) {
	case string:
		s = v
	case json.Number:
		return formatNumber(v)
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case int32:
		s = strconv.FormatInt(int64(v), 10)
	case uint:
		s = strconv.FormatUint(uint64(v), 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	case uint32:
		s = strconv.FormatUint(uint64(v), 10)
	case bool:
		s = strconv.FormatBool(v)
	default:
		return "", false
	}
	return s, s != ""
}

func formatNumber(n json.Number) (string, bool) {
	if isInteger(string(n)) {
		// Exact, even past int64 and float64 precision.
		return string(n), true
	}
	f, err := n.Float64()
	if err != nil {
		// Not a number, or beyond float64 range: no decimal form to give.
		return "", false
	}
	return formatFloat(f)
}

// isInteger reports whether s is a JSON integer literal: -?(0|[1-9][0-9]*).
func isInteger(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func formatFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if f == 0 {
		f = 0 // -0 would print as "-0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// has reports whether the claim is present with a value. A JSON null counts
// as absent, so userinfo may supply what the ID token left null.
func (c Claims) has(name string) bool {
	v, ok := c[name]
	return ok && v != nil
}

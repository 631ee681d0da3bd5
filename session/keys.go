// Package session keeps the proxy's state in the browser: the signed and
// encrypted session cookie, the single-use login-state cookies of sign-in
// attempts, and an in-memory guard against replayed login states.
package session

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// KeySize is the length of a cookie key: a 32-byte HMAC-SHA256 hash key
// followed by a 32-byte AES-256 block key.
const KeySize = 64

// GenerateKey returns a new random cookie key, base64 (standard, padded).
func GenerateKey() string {
	k := make([]byte, KeySize)
	rand.Read(k) // never fails: crypto/rand crashes the program rather than return weak bytes
	return base64.StdEncoding.EncodeToString(k)
}

// ParseKey decodes a key made by GenerateKey. Standard and URL base64 are
// accepted, padded or not, since keys travel through environment variables
// and secret stores that may rewrite them.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("session: key is empty")
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("session: key decodes to %d bytes; want %d (make one with `oidcgate genkey`)", len(b), KeySize)
		}
		return b, nil
	}
	return nil, fmt.Errorf("session: key (%d characters) is not base64 (make one with `oidcgate genkey`)", len(s))
}

// The fixed HKDF salt and info name oidcgate, so the derived key is not the
// key any other program derives from the same pair.
const (
	legacySalt = "oidcgate legacy cookie key v1"
	legacyInfo = "oidcgate session cookie key: HMAC-SHA256 hash key || AES-256 block key"
)

// LegacyKey derives a cookie key from Cora SeQuence's cookie_encryption_key and
// cookie_encryption_initialization_vector settings. It is deterministic, so
// replicas configured with the same pair accept each other's cookies.
func LegacyKey(cookieEncryptionKey, initializationVector string) []byte {
	// The NUL separator keeps ("ab", "c") and ("a", "bc") apart.
	secret := []byte(cookieEncryptionKey + "\x00" + initializationVector)
	k, err := hkdf.Key(sha256.New, secret, []byte(legacySalt), legacyInfo, KeySize)
	if err != nil {
		// Only possible in FIPS 140-only mode with a too-short secret;
		// NewCodec then refuses the nil key.
		return nil
	}
	return k
}

// Codec holds the cookie keys. The first key encodes; every key decodes, so
// keys rotate by putting the new key first and keeping the old one until
// the cookies it made have expired.
type Codec struct {
	keys [][]byte
}

// NewCodec returns a Codec for keys, each KeySize bytes.
func NewCodec(keys [][]byte) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: no cookie keys")
	}
	c := &Codec{keys: make([][]byte, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("session: keys[%d] is %d bytes; want %d", i, len(k), KeySize)
		}
		c.keys[i] = append([]byte(nil), k...)
	}
	return c, nil
}

// maxAgeSlack lets securecookie's timestamp bound tolerate clock skew between
// replicas; our own expiry inside the value is the precise one.
const maxAgeSlack = time.Minute

// ageBound is the codecs' bound on a value's age, in seconds, for values
// that should live maxAge.
func ageBound(maxAge time.Duration) int64 {
	return int64((maxAge + maxAgeSlack + time.Second - 1) / time.Second)
}

// codecs returns securecookie codecs for the keys, in order, that refuse
// values older than maxAge (plus slack) or longer than maxLength.
func (c *Codec) codecs(maxAge time.Duration, maxLength int) []securecookie.Codec {
	age := int(ageBound(maxAge))
	out := make([]securecookie.Codec, len(c.keys))
	for i, k := range c.keys {
		sc := securecookie.New(k[:32], k[32:])
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(age)
		sc.MaxLength(maxLength)
		out[i] = sc
	}
	return out
}

// decodeValue authenticates and decrypts value under cookie name with any of
// codecs. It returns the plaintext, or why it failed in words and whether the
// failure is securecookie's age bound.
func decodeValue(codecs []securecookie.Codec, name, value string) (b []byte, why string, expired bool) {
	err := securecookie.DecodeMulti(name, value, &b, codecs...)
	if err == nil {
		return b, "", false
	}
	var errs securecookie.MultiError
	if !errors.As(err, &errs) {
		return nil, err.Error(), false
	}
	// A MAC mismatch under one key says nothing; another failure means the
	// value got past some key's MAC check (or never reached it) and is the
	// evidence worth reporting.
	for _, e := range errs {
		if e == nil || errors.Is(e, securecookie.ErrMacInvalid) {
			continue
		}
		msg := e.Error()
		// securecookie keeps its error values private; its message is the
		// only way to tell its age bound from other failures.
		return nil, msg, strings.Contains(msg, "expired timestamp")
	}
	return nil, "signature matches no key (tampered, or made with a key not in the configured keys)", false
}

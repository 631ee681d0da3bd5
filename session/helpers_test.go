package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testKey returns a fixed key named by label.
func testKey(label string) []byte {
	k := sha512.Sum512([]byte(label))
	return k[:]
}

func testCodec(t testing.TB, labels ...string) *Codec {
	t.Helper()
	var keys [][]byte
	for _, l := range labels {
		keys = append(keys, testKey(l))
	}
	c, err := NewCodec(keys)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

// clock is a settable time source.
type clock struct{ t time.Time }

func newClock() *clock          { return &clock{t: time.Now().Truncate(time.Second)} }
func (c *clock) Now() time.Time { return c.t }
func (c *clock) Advance(d time.Duration) {
	c.t = c.t.Add(d)
}

// jar is a browser's cookie store for one site: it applies Set-Cookie
// headers and sends what it keeps.
type jar map[string]string

func (j jar) apply(t testing.TB, w *httptest.ResponseRecorder) {
	t.Helper()
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("ParseSetCookie(%q) = %v", line, err)
		}
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
}

func (j jar) request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://cora.example.com/Flowtime/", nil)
	for _, name := range j.names() {
		r.AddCookie(&http.Cookie{Name: name, Value: j[name]})
	}
	return r
}

func (j jar) names() []string {
	var names []string
	for n := range j {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// setCookies parses the response's Set-Cookie headers by name.
func setCookies(t testing.TB, w *httptest.ResponseRecorder) map[string]*http.Cookie {
	t.Helper()
	m := map[string]*http.Cookie{}
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("ParseSetCookie(%q) = %v", line, err)
		}
		m[c.Name] = c
	}
	return m
}

// typicalSession is a session as the proxy makes it with claim_type=email
// and single sign-on, without an ID token. It was issued eight hours
// before expires; with a zero expires, Save fills in both times.
func typicalSession(expires time.Time) *Session {
	var issued time.Time
	if !expires.IsZero() {
		issued = expires.Add(-8 * time.Hour).Add(-250 * time.Millisecond)
	}
	return &Session{
		ID:                 [IDSize]byte{0x5e, 0x55, 0x10, 0x4f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		IssuedAt:           issued,
		SID:                "0f5c3a1e-8d2b-4c7a-9e6f-1a2b3c4d5e6f",
		User:               "alice.smith@example.com",
		AuthenticationType: "AzureAD",
		Email:              "alice.smith@example.com",
		PreferredUsername:  "alice.smith@example.com",
		Issuer:             "https://login.example.com/realms/cora",
		Subject:            "3f2b9c4e-6d1a-4e8b-9a7c-5b0d2e1f8a64",
		Expires:            expires,
	}
}

// idToken returns a token-like string of n characters.
func idToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for i := range n {
		if i == 36 || i == n-344 {
			b.WriteByte('.')
			continue
		}
		b.WriteByte(alphabet[(i*7+i/64)%len(alphabet)])
	}
	return b.String()
}

func sameSession(a, b *Session) bool {
	return a.User == b.User && a.AuthenticationType == b.AuthenticationType &&
		a.Email == b.Email && a.PreferredUsername == b.PreferredUsername &&
		a.Issuer == b.Issuer && a.Subject == b.Subject && a.Site == b.Site &&
		a.IDToken == b.IDToken && a.Expires.Equal(b.Expires) &&
		a.ID == b.ID && a.IssuedAt.Equal(b.IssuedAt) && a.SID == b.SID
}

// encodeAt builds a cookie value the way securecookie does, but stamped at
// unix time ts, to reach its age bound without waiting.
func encodeAt(key []byte, name string, plain []byte, ts int64) string {
	block, _ := aes.NewCipher(key[32:])
	iv := make([]byte, aes.BlockSize)
	ct := make([]byte, len(plain))
	cipher.NewCTR(block, iv).XORKeyStream(ct, plain)
	body := base64.URLEncoding.EncodeToString(append(iv, ct...))
	msg := strconv.FormatInt(ts, 10) + "|" + body
	h := hmac.New(sha256.New, key[:32])
	h.Write([]byte(name + "|" + msg))
	return base64.URLEncoding.EncodeToString(append([]byte(msg+"|"), h.Sum(nil)...))
}

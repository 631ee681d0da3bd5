package session

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cacheSize and cacheBytes bound the decoded session cookies a Store
// remembers: a typical entry, the cookie value and the session read from
// it, takes about a kilobyte, but a session that keeps its ID token, or
// spans several cookies, takes several.
const (
	cacheSize  = 8192
	cacheBytes = 8 << 20
)

// entryCost is what an entry for value holds, roughly: the key, the
// decoded session's strings (shorter than the value) and the map's own.
func entryCost(value string) int { return 2*len(value) + 128 }

// decoded remembers session cookies that Load has authenticated, decrypted
// and decoded, by their exact value: a browser sends the same cookie with
// every request, and decoding it (HMAC, AES-CTR, two rounds of base64) is
// most of what an authenticated request costs the proxy.
//
// The key is the whole authenticated ciphertext, so an entry is found only
// by a value that passed every check; a changed value is another key, and
// one that fails to decode is never added. Entries keep the bounds the full
// decode enforces: the session's own expiry, and securecookie's age bound
// on the value's timestamp. When the cache is full an arbitrary entry
// makes room.
type decoded struct {
	mu    sync.RWMutex
	m     map[string]cachedSession
	bytes int // the entries' entryCost
}

type cachedSession struct {
	sess Session
	// stampLimit is the last Unix second at which securecookie still
	// accepts the value: its timestamp plus the codecs' age bound.
	stampLimit int64
}

// get returns the session cached for value, if any and still within both
// bounds at now (the Store's clock, for the session's expiry) and at wall
// time wall (securecookie's clock, for the value's age).
func (c *decoded) get(value string, now, wall time.Time) (Session, bool) {
	c.mu.RLock()
	e, ok := c.m[value]
	c.mu.RUnlock()
	if !ok {
		return Session{}, false
	}
	if wall.Unix() > e.stampLimit || !now.Before(e.sess.Expires) {
		c.mu.Lock()
		c.deleteLocked(value)
		c.mu.Unlock()
		return Session{}, false
	}
	return e.sess, true
}

// put remembers sess for value, which has just been decoded by a codec
// whose age bound is maxAge seconds.
func (c *decoded) put(value string, sess Session, maxAge int64) {
	stamp, ok := valueTimestamp(value)
	if !ok {
		return
	}
	// The key must not pin the request's whole Cookie header, of which
	// value is a substring.
	value = strings.Clone(value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedSession)
	}
	cost := entryCost(value)
	c.deleteLocked(value)
	for k := range c.m { // map order is random: arbitrary entries make room
		if len(c.m) < cacheSize && c.bytes+cost <= cacheBytes {
			break
		}
		c.deleteLocked(k)
	}
	c.m[value] = cachedSession{sess: sess, stampLimit: stamp + maxAge}
	c.bytes += cost
}

func (c *decoded) deleteLocked(value string) {
	if _, ok := c.m[value]; ok {
		delete(c.m, value)
		c.bytes -= entryCost(value)
	}
}

func (c *decoded) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// valueTimestamp reads the timestamp securecookie put in a value it made:
// base64url("date|ciphertext|mac"). Call it only on values that decoded,
// whose timestamp the MAC covers.
func valueTimestamp(value string) (int64, bool) {
	// The date is in the first few bytes; decode only those.
	const prefix = 16 // base64 characters: 12 bytes, more than a Unix time and '|'
	head := value[:min(len(value), prefix)]
	b, err := base64.URLEncoding.DecodeString(head)
	if err != nil {
		return 0, false
	}
	date, _, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return 0, false
	}
	ts, err := strconv.ParseInt(string(date), 10, 64)
	return ts, err == nil
}

package store

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// Kind says what a mark names.
type Kind byte

// The kinds of marks. The letters are written to the shared store.
const (
	KindSession  Kind = 's' // one session, by its id (sign-out)
	KindProvider Kind = 'p' // the provider's session: iss + sid
	KindSubject  Kind = 'u' // every session of a user: iss + sub
	KindAll      Kind = 'a' // every session
)

func (k Kind) String() string {
	switch k {
	case KindSession:
		return "session"
	case KindProvider:
		return "provider session"
	case KindSubject:
		return "subject"
	case KindAll:
		return "all"
	}
	return fmt.Sprintf("kind %q", byte(k))
}

// A Mark ends the sessions it names that were issued at or before At.
type Mark struct {
	Kind Kind
	At   time.Time // zero means when Revoke is called
	// What the mark names, by kind: ID (session); Issuer and SID
	// (provider); Issuer and Subject (subject); nothing (all).
	ID                   []byte
	Issuer, SID, Subject string
}

// SessionMark ends the session with id.
func SessionMark(id []byte) Mark { return Mark{Kind: KindSession, ID: id} }

// ProviderMark ends the sessions begun under the provider's session sid.
func ProviderMark(issuer, sid string) Mark {
	return Mark{Kind: KindProvider, Issuer: issuer, SID: sid}
}

// SubjectMark ends every session of the user sub at issuer.
func SubjectMark(issuer, sub string) Mark {
	return Mark{Kind: KindSubject, Issuer: issuer, Subject: sub}
}

// AllMark ends every session.
func AllMark() Mark { return Mark{Kind: KindAll} }

func (m Mark) check() error {
	switch m.Kind {
	case KindSession:
		if len(m.ID) == 0 {
			return errors.New("store: session mark without an id")
		}
	case KindProvider:
		if m.Issuer == "" || m.SID == "" {
			return errors.New("store: provider session mark needs an issuer and a sid")
		}
	case KindSubject:
		if m.Issuer == "" || m.Subject == "" {
			return errors.New("store: subject mark needs an issuer and a subject")
		}
	case KindAll:
	default:
		return fmt.Errorf("store: unknown mark %v", m.Kind)
	}
	return nil
}

// digestSize is the length of the keyed hash that stands for what a mark
// names: 128 bits, far beyond any collision among marks.
const digestSize = 16

type digest [digestSize]byte

// hasher computes digests under one key. The key is derived from one of
// the cookie keys, so that only replicas holding the cookie keys can tell
// which user or session a mark names, and so that a stolen copy of the
// store cannot be searched for a known subject.
type hasher struct {
	pool sync.Pool // of *macState
}

// macState is an HMAC with room for its input and output, reused so a
// lookup allocates nothing.
type macState struct {
	mac hash.Hash
	in  []byte
	out [sha256.Size]byte
}

const (
	markKeySalt = "oidcgate store marks v1"
	markKeyInfo = "HMAC-SHA256 key for revocation marks"
)

func newHasher(cookieKey []byte) (*hasher, error) {
	k, err := hkdf.Key(sha256.New, cookieKey, []byte(markKeySalt), markKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("store: derive mark key: %w", err)
	}
	h := &hasher{}
	h.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, k), in: make([]byte, 0, 256)} }
	return h, nil
}

// sum hashes the kind and its fields, each followed by a NUL (which no
// issuer, sid or subject we accept contains) so fields cannot run into
// each other.
func (h *hasher) sum(k Kind, a, b string) digest {
	st := h.pool.Get().(*macState)
	in := append(st.in[:0], byte(k), 0)
	in = append(in, a...)
	in = append(in, 0)
	in = append(in, b...)
	in = append(in, 0)
	st.mac.Reset()
	st.mac.Write(in)
	d := digest(st.mac.Sum(st.out[:0])[:digestSize])
	st.in = in[:0]
	h.pool.Put(st)
	return d
}

// entry is a mark as the store keeps it: what it covers, as digests
// under each key (none for KindAll), its date and its expiry.
type entry struct {
	kind    Kind
	digests []digest
	at, exp int64 // unix milliseconds
	written int64 // unix milliseconds, when a replica wrote it
}

// markSet holds the current marks in memory. It is safe for concurrent
// use; Revoked takes only a read lock.
type markSet struct {
	hashers []*hasher // one per cookie key; the first is the newest

	mu    sync.RWMutex
	m     map[digest]dated
	all   dated
	count [3]int // marks per kind: session, provider, subject
	swept int64  // when expired marks were last swept, unix milliseconds

	sums sumCache
}

type dated struct {
	kind    Kind
	at, exp int64
}

func kindIndex(k Kind) int {
	switch k {
	case KindSession:
		return 0
	case KindProvider:
		return 1
	case KindSubject:
		return 2
	}
	return -1
}

// newMarkSet hashes with a key derived from each of cookieKeys. Marks are
// written under every key and looked up under every key, so replicas in
// the middle of a cookie key rotation — some with the new key first, some
// not yet — still find each other's marks.
func newMarkSet(cookieKeys [][]byte) (*markSet, error) {
	if len(cookieKeys) == 0 {
		return nil, errors.New("store: no cookie keys to derive the mark key from")
	}
	s := &markSet{m: make(map[digest]dated)}
	for _, k := range cookieKeys {
		h, err := newHasher(k)
		if err != nil {
			return nil, err
		}
		s.hashers = append(s.hashers, h)
	}
	return s, nil
}

// makeEntry hashes m under every key.
func (s *markSet) makeEntry(m Mark, lifetime time.Duration, now time.Time) (entry, error) {
	if err := m.check(); err != nil {
		return entry{}, err
	}
	at := m.At
	if at.IsZero() {
		at = now
	}
	e := entry{kind: m.Kind, at: at.UnixMilli(), written: now.UnixMilli()}
	e.exp = e.at + lifetime.Milliseconds()
	if m.Kind == KindAll {
		return e, nil
	}
	a, b := m.Issuer, m.SID
	switch m.Kind {
	case KindSession:
		a, b = string(m.ID), ""
	case KindSubject:
		b = m.Subject
	}
	for _, h := range s.hashers {
		e.digests = append(e.digests, h.sum(m.Kind, a, b))
	}
	return e, nil
}

// add keeps e, or extends a mark already kept to e's date and expiry. It
// reports whether anything changed.
func (s *markSet) add(e entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.kind == KindAll {
		changed := e.at > s.all.at || e.exp > s.all.exp
		s.all = dated{KindAll, max(s.all.at, e.at), max(s.all.exp, e.exp)}
		return changed
	}
	i := kindIndex(e.kind)
	if i < 0 {
		return false
	}
	changed := false
	for _, d := range e.digests {
		old, ok := s.m[d]
		if !ok {
			s.count[i]++
			s.m[d] = dated{e.kind, e.at, e.exp}
			changed = true
			continue
		}
		if e.at > old.at || e.exp > old.exp {
			s.m[d] = dated{old.kind, max(old.at, e.at), max(old.exp, e.exp)}
			changed = true
		}
	}
	return changed
}

// revoked reports whether a mark unexpired at now covers id.
func (s *markSet) revoked(id Identity, now time.Time) bool {
	iat, t := id.IssuedAt.UnixMilli(), now.UnixMilli()
	covers := func(d dated) bool { return iat <= d.at && t < d.exp }
	s.mu.RLock()
	defer s.mu.RUnlock()
	if covers(s.all) {
		return true
	}
	if s.count == [3]int{} {
		return false
	}
	for _, sum := range s.sums.get(s.hashers, id) {
		if s.count[0] > 0 && len(id.ID) > 0 {
			if d, ok := s.m[sum[0]]; ok && covers(d) {
				return true
			}
		}
		if s.count[1] > 0 && id.SID != "" {
			if d, ok := s.m[sum[1]]; ok && covers(d) {
				return true
			}
		}
		if s.count[2] > 0 {
			if d, ok := s.m[sum[2]]; ok && covers(d) {
				return true
			}
		}
	}
	return false
}

// sumCacheSize bounds the sessions whose digests are remembered: about
// 150 bytes each with one cookie key.
const sumCacheSize = 16384

// sumCache remembers, by session id, the digests that name a session:
// its id, its provider session and its subject, under every key. The same
// session asks on each of its requests, and three HMACs cost ten times
// more than the lookups. An entry is used only for the identity it was
// computed from; when the cache is full an arbitrary entry makes room.
type sumCache struct {
	mu sync.RWMutex
	m  map[[16]byte]cachedSums
}

type cachedSums struct {
	issuer, sid, subject string
	sums                 [][3]digest // per hasher: session, provider, subject
}

func (c *sumCache) get(hashers []*hasher, id Identity) [][3]digest {
	if len(id.ID) != 16 {
		return computeSums(hashers, id)
	}
	k := [16]byte(id.ID)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.issuer == id.Issuer && e.sid == id.SID && e.subject == id.Subject {
		return e.sums
	}
	e = cachedSums{issuer: id.Issuer, sid: id.SID, subject: id.Subject, sums: computeSums(hashers, id)}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[[16]byte]cachedSums)
	}
	for victim := range c.m {
		if len(c.m) < sumCacheSize {
			break
		}
		delete(c.m, victim)
	}
	c.m[k] = e
	c.mu.Unlock()
	return e.sums
}

func computeSums(hashers []*hasher, id Identity) [][3]digest {
	out := make([][3]digest, len(hashers))
	for i, h := range hashers {
		out[i] = [3]digest{
			h.sum(KindSession, string(id.ID), ""),
			h.sum(KindProvider, id.Issuer, id.SID),
			h.sum(KindSubject, id.Issuer, id.Subject),
		}
	}
	return out
}

// sweep forgets the marks expired at now.
func (s *markSet) sweep(now time.Time) {
	t := now.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swept = t
	for d, m := range s.m {
		if m.exp <= t {
			delete(s.m, d)
			s.count[kindIndex(m.kind)]--
		}
	}
	if s.all.exp <= t {
		s.all = dated{}
	}
}

// sweepEvery is how often expired marks are swept.
const sweepEvery = time.Minute

// sweepSometimes sweeps when the last sweep is sweepEvery ago.
func (s *markSet) sweepSometimes(now time.Time) {
	s.mu.RLock()
	due := now.UnixMilli()-s.swept >= sweepEvery.Milliseconds()
	s.mu.RUnlock()
	if due {
		s.sweep(now)
	}
}

// len returns how many marks are held: digests count once per key.
func (s *markSet) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.m) / len(s.hashers)
	if s.all.exp != 0 {
		n++
	}
	return n
}

// entries returns every mark unexpired at now, for writing them back to a
// shared store that lost them. Digests come one per entry: which digests
// belonged together is not kept, and need not be.
func (s *markSet) entries(now time.Time) []entry {
	t := now.UnixMilli()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]entry, 0, len(s.m)+1)
	for d, m := range s.m {
		if m.exp > t {
			out = append(out, entry{kind: m.kind, digests: []digest{d}, at: m.at, exp: m.exp})
		}
	}
	if s.all.exp > t {
		out = append(out, entry{kind: KindAll, at: s.all.at, exp: s.all.exp})
	}
	return out
}

package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// Errors Store.Load wraps; callers branch on them with errors.Is.
var (
	ErrNoSession      = errors.New("session: no session cookie")
	ErrSessionInvalid = errors.New("session: invalid session cookie")
	ErrSessionExpired = errors.New("session: session expired")
	// ErrSessionConflict: the request carries several session cookies of
	// the same name that are valid and name different users; neither is
	// trusted.
	ErrSessionConflict = errors.New("session: several session cookies for different sessions")
)

// A cookie value larger than chunkSize is split over several cookies:
// browsers keep at most about 4096 bytes per cookie, name and attributes
// included. maxChunks bounds the total so a session cannot grow the Cookie
// header past what servers and load balancers accept.
const (
	chunkSize = 3800
	maxChunks = 8
)

// Session is what the proxy remembers about a signed-in user.
type Session struct {
	User, AuthenticationType, Email, PreferredUsername, Issuer, Subject string

	// ID is the session's own random id and IssuedAt the time it began
	// (millisecond precision): a revocation mark names one session by its
	// id, and covers only sessions issued at or before the mark. Save
	// fills both in when they are zero.
	ID       [IDSize]byte
	IssuedAt time.Time

	// SID is the ID token's sid claim, the provider's name for its own
	// session, when the token has one: logout from the provider names
	// sessions by Issuer and SID.
	SID string

	// Site is "" when the session serves every site (single sign-on); else
	// the name of the site it is bound to.
	Site string

	// IDToken is only kept when sign-out at the OpenID provider needs it
	// (id_token_hint).
	IDToken string

	// Expires is when the session ends; Save fills in now+Lifetime when it
	// is zero and never lets it exceed that. Precision is one second.
	Expires time.Time
}

// IDSize is the length of a session id in bytes.
const IDSize = 16

// NewID returns a new random session id.
func NewID() [IDSize]byte {
	var id [IDSize]byte
	rand.Read(id[:]) // never fails: crypto/rand crashes the program rather than return weak bytes
	return id
}

// StoreOptions configure a Store. The zero value fails closed: Load and Save
// return an error until Name, Lifetime and Codec are set.
type StoreOptions struct {
	Name     string        // cookie name, e.g. "oidcgate"; chunks are Name_1, Name_2, …
	Lifetime time.Duration // longest a session lasts
	Secure   bool          // Secure cookies (HTTPS only)
	Codec    *Codec

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store reads and writes the session cookie.
type Store struct {
	o      StoreOptions
	codecs []securecookie.Codec
	maxAge int64 // the codecs' age bound, seconds
	cache  decoded
	err    error
}

// NewStore returns a Store for o.
func NewStore(o StoreOptions) *Store {
	s := &Store{o: o}
	switch {
	case !validName(o.Name):
		s.err = fmt.Errorf("session: invalid cookie name %q", o.Name)
	case o.Lifetime < time.Second:
		s.err = fmt.Errorf("session: lifetime %s is too short", o.Lifetime)
	case o.Codec == nil:
		s.err = errors.New("session: no cookie keys")
	default:
		s.codecs = o.Codec.codecs(o.Lifetime, chunkSize*maxChunks)
		s.maxAge = ageBound(o.Lifetime)
	}
	return s
}

func (s *Store) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// Load returns the session the request's cookies carry. It returns
// ErrNoSession when there is no session cookie, and an error wrapping
// ErrSessionInvalid or ErrSessionExpired, with the reason, when there is one
// that cannot be trusted or has ended.
//
// A browser sends several cookies of the session's name when another site
// (a sibling subdomain, a path) planted one beside ours. Then the one that
// decodes wins, whatever the order; when several decode to different
// sessions the result is ErrSessionConflict, so a planted session never
// stands in for the user's own.
func (s *Store) Load(r *http.Request) (*Session, error) {
	if s.err != nil {
		return nil, s.err
	}
	lines := r.Header["Cookie"]
	var buf [2]string
	values := cookieValues(buf[:0], lines, s.o.Name)
	switch len(values) {
	case 0:
		return nil, ErrNoSession
	case 1:
		return s.load(lines, values[0])
	}
	var found *Session
	var firstErr error
	for _, v := range values {
		sess, err := s.load(lines, v)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case found == nil:
			found = sess
		case !sameUser(found, sess):
			return nil, fmt.Errorf("%w: %d cookies %q", ErrSessionConflict, len(values), s.o.Name)
		}
	}
	if found != nil {
		return found, nil
	}
	return nil, firstErr
}

// sameUser: two cookies of one session (the same id) that tell the
// backend the same thing.
func sameUser(a, b *Session) bool {
	return a.ID == b.ID && a.User == b.User && a.AuthenticationType == b.AuthenticationType && a.Email == b.Email &&
		a.PreferredUsername == b.PreferredUsername && a.Issuer == b.Issuer && a.Subject == b.Subject && a.Site == b.Site
}

// load decodes one session cookie value, with its chunks.
func (s *Store) load(lines []string, value string) (*Session, error) {
	// Only a full first chunk has followers; most sessions need one cookie
	// and no further lookups.
	if len(value) >= chunkSize {
		var b strings.Builder
		b.WriteString(value)
		for i := 1; i < maxChunks; i++ {
			c, ok := cookieValue(lines, chunkName(s.o.Name, i))
			if !ok {
				break
			}
			b.WriteString(c)
		}
		value = b.String()
	}
	now := s.now()
	if sess, ok := s.cache.get(value, now, time.Now()); ok {
		return &sess, nil
	}
	plain, why, expired := decodeValue(s.codecs, s.o.Name, value)
	if plain == nil {
		if expired {
			return nil, fmt.Errorf("%w: cookie %q: %s", ErrSessionExpired, s.o.Name, why)
		}
		return nil, fmt.Errorf("%w %q: %s", ErrSessionInvalid, s.o.Name, why)
	}
	sess, err := decodeSession(plain)
	if err != nil {
		return nil, fmt.Errorf("%w %q: malformed value: %w", ErrSessionInvalid, s.o.Name, err)
	}
	if !now.Before(sess.Expires) {
		return nil, fmt.Errorf("%w: cookie %q expired at %s", ErrSessionExpired, s.o.Name, sess.Expires.Format(time.RFC3339))
	}
	s.cache.put(value, sess, s.maxAge)
	return &sess, nil
}

// Save writes sess as the session cookie, split over Name, Name_1, … when
// it is long, and expires chunks of an earlier, longer session that r
// carries. It first gives sess a new random ID and IssuedAt = now when
// they are zero, so the caller learns the id it may later revoke.
func (s *Store) Save(w http.ResponseWriter, r *http.Request, sess *Session) error {
	if s.err != nil {
		return s.err
	}
	now := s.now()
	if sess.ID == ([IDSize]byte{}) {
		sess.ID = NewID()
	}
	if sess.IssuedAt.IsZero() {
		sess.IssuedAt = now
	}
	v := *sess
	limit := now.Add(s.o.Lifetime)
	if v.Expires.IsZero() || v.Expires.After(limit) {
		v.Expires = limit
	}
	v.Expires = v.Expires.Truncate(time.Second)
	maxAge := int(v.Expires.Sub(now) / time.Second)
	if maxAge < 1 {
		return fmt.Errorf("session: cannot save a session that expires at %s", v.Expires.UTC().Format(time.RFC3339))
	}
	plain, err := appendSession(make([]byte, 0, 256), &v)
	if err != nil {
		return err
	}
	// The codecs' length bound, chunkSize*maxChunks, refuses what would
	// not fit in maxChunks cookies.
	value, err := s.codecs[0].Encode(s.o.Name, plain)
	if err != nil {
		return fmt.Errorf("session: encode cookie %q (at most %d cookies of %d bytes): %w", s.o.Name, maxChunks, chunkSize, err)
	}
	n := (len(value) + chunkSize - 1) / chunkSize
	for i := range n {
		part := value[i*chunkSize : min((i+1)*chunkSize, len(value))]
		http.SetCookie(w, s.cookie(chunkName(s.o.Name, i), part, maxAge))
	}
	for _, c := range r.Cookies() {
		if i, ok := chunkIndex(s.o.Name, c.Name); ok && i >= n {
			http.SetCookie(w, s.cookie(c.Name, "", -1))
		}
	}
	return nil
}

// Clear expires the session cookie and every chunk r carries.
func (s *Store) Clear(w http.ResponseWriter, r *http.Request) {
	if !validName(s.o.Name) {
		return
	}
	http.SetCookie(w, s.cookie(s.o.Name, "", -1))
	for _, c := range r.Cookies() {
		if i, ok := chunkIndex(s.o.Name, c.Name); ok && i > 0 {
			http.SetCookie(w, s.cookie(c.Name, "", -1))
		}
	}
}

// Owns reports whether cookieName is one this package may set with the
// Store's name as prefix: the session cookie, its chunks, and the login
// cookies of Logins configured with the same Name. The proxy strips them
// from the Cookie header it forwards.
func (s *Store) Owns(cookieName string) bool { return Owns(s.o.Name, cookieName) }

// Owns reports whether cookieName is one a Store or Logins named name sets:
// name itself, its chunks name_1, name_2, …, and the login cookies
// name_login_….
func Owns(name, cookieName string) bool {
	if name == "" {
		return false
	}
	if _, ok := chunkIndex(name, cookieName); ok {
		return true
	}
	id, ok := strings.CutPrefix(cookieName, name+loginInfix)
	return ok && id != ""
}

func (s *Store) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   s.o.Secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// chunkName names chunk i of the session cookie name.
func chunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "_" + strconv.Itoa(i)
}

// chunkIndex reports which chunk of the session cookie name cookieName is.
// It accepts any short decimal suffix, not only those below maxChunks, so that
// Owns and Clear also cover chunks this code would never write.
func chunkIndex(name, cookieName string) (int, bool) {
	if cookieName == name {
		return 0, true
	}
	digits, ok := strings.CutPrefix(cookieName, name+"_")
	if !ok || digits == "" || len(digits) > 4 {
		return 0, false
	}
	i := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, true
}

func validName(name string) bool {
	return name != "" && (&http.Cookie{Name: name}).Valid() == nil
}

package session

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// Errors Logins.Take wraps; the proxy turns each into its own error page.
var (
	ErrLoginMissing = errors.New("session: no login state for this sign-in (expired, or started in another browser)")
	ErrLoginInvalid = errors.New("session: invalid login state")
	ErrLoginExpired = errors.New("session: login state expired")
)

// loginInfix separates the cookie name prefix from the attempt's id.
const loginInfix = "_login_"

// LoginState is what a sign-in attempt must remember between the
// authorization request and the provider's response.
type LoginState struct {
	State, Nonce, Verifier, ReturnURL, Site string

	// Created is when the attempt began; Begin fills in now when it is
	// zero. Precision is one millisecond.
	Created time.Time
}

// LoginOptions configure Logins. The zero value fails closed: Begin and Take
// return an error until Name, TTL, Max and Codec are set.
type LoginOptions struct {
	Name string        // cookie name prefix, e.g. "oidcgate" → "oidcgate_login_<id>"
	TTL  time.Duration // how long an attempt may take
	Max  int           // most attempt cookies a browser keeps at once
	// Secure marks the cookies Secure (HTTPS only).
	Secure bool
	// CrossSitePost makes the cookies SameSite=None (and so always Secure),
	// for a response_mode=form_post callback, which arrives as a cross-site
	// POST that would not carry SameSite=Lax cookies.
	CrossSitePost bool
	Codec         *Codec

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Logins keeps the state of sign-in attempts in cookies, one per attempt,
// so that attempts in parallel tabs never overwrite each other.
type Logins struct {
	o      LoginOptions
	codecs []securecookie.Codec
	err    error
}

// NewLogins returns Logins for o.
func NewLogins(o LoginOptions) *Logins {
	l := &Logins{o: o}
	switch {
	case !validName(o.Name):
		l.err = fmt.Errorf("session: invalid login cookie name prefix %q", o.Name)
	case o.TTL < time.Second:
		l.err = fmt.Errorf("session: login TTL %s is too short", o.TTL)
	case o.Max < 1:
		l.err = fmt.Errorf("session: at most %d login attempts allowed; want at least 1", o.Max)
	case o.Codec == nil:
		l.err = errors.New("session: no cookie keys")
	default:
		l.codecs = o.Codec.codecs(o.TTL, chunkSize)
	}
	return l
}

func (l *Logins) now() time.Time {
	if l.o.Now != nil {
		return l.o.Now()
	}
	return time.Now()
}

// cookieName derives the attempt's cookie name from its state, so the
// response, which carries only the state, finds its cookie.
func (l *Logins) cookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	var id [16]byte
	hex.Encode(id[:], sum[:8])
	return l.o.Name + loginInfix + string(id[:])
}

// Begin stores st in a new login cookie. When r already carries Max or more
// login cookies, it expires the oldest of them (those it cannot decode
// first), so the browser keeps at most Max.
func (l *Logins) Begin(w http.ResponseWriter, r *http.Request, st LoginState) error {
	if l.err != nil {
		return l.err
	}
	if st.State == "" {
		return errors.New("session: login state has no state")
	}
	if st.Created.IsZero() {
		st.Created = l.now()
	}
	plain, err := appendLogin(make([]byte, 0, 256), &st)
	if err != nil {
		return err
	}
	name := l.cookieName(st.State)
	value, err := l.codecs[0].Encode(name, plain)
	if err != nil {
		return fmt.Errorf("session: encode cookie %q: %w", name, err)
	}
	l.evict(w, r, name)
	http.SetCookie(w, l.cookie(name, value, int((l.o.TTL+time.Second-1)/time.Second)))
	return nil
}

// evict expires the oldest login cookies r carries so that, with the new
// one named keep, at most Max remain.
func (l *Logins) evict(w http.ResponseWriter, r *http.Request, keep string) {
	type attempt struct {
		name, value string
		created     int64 // unix milliseconds; 0 when undecodable
	}
	var present []attempt
	prefix := l.o.Name + loginInfix
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) || c.Name == keep ||
			slices.ContainsFunc(present, func(a attempt) bool { return a.name == c.Name }) {
			continue
		}
		present = append(present, attempt{name: c.Name, value: c.Value})
	}
	excess := len(present) - (l.o.Max - 1)
	if excess <= 0 {
		return
	}
	for i, a := range present {
		if plain, _, _ := decodeValue(l.codecs, a.name, a.value); plain != nil {
			if st, err := decodeLogin(plain); err == nil {
				present[i].created = st.Created.UnixMilli()
			}
		}
	}
	slices.SortStableFunc(present, func(a, b attempt) int {
		return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.name, b.name))
	})
	for _, a := range present[:excess] {
		http.SetCookie(w, l.cookie(a.name, "", -1))
	}
}

// Take returns the login state stored for state and expires its cookie, so
// each state is accepted at most once by this browser. The error wraps
// ErrLoginMissing, ErrLoginInvalid or ErrLoginExpired.
func (l *Logins) Take(w http.ResponseWriter, r *http.Request, state string) (LoginState, error) {
	if l.err != nil {
		return LoginState{}, l.err
	}
	if state == "" {
		return LoginState{}, fmt.Errorf("%w: the response has no state", ErrLoginMissing)
	}
	name := l.cookieName(state)
	var buf [2]string
	values := cookieValues(buf[:0], r.Header["Cookie"], name)
	if len(values) == 0 {
		return LoginState{}, fmt.Errorf("%w: no cookie %q", ErrLoginMissing, name)
	}
	// Expire first: whatever the outcome, the attempt is spent.
	http.SetCookie(w, l.cookie(name, "", -1))

	// Several cookies of the name: one was planted beside ours. The one
	// that decodes and holds this state wins, whatever the order.
	var firstErr error
	for _, v := range values {
		st, err := l.take(name, v, state)
		if err == nil {
			return st, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return LoginState{}, firstErr
}

func (l *Logins) take(name, value, state string) (LoginState, error) {
	plain, why, expired := decodeValue(l.codecs, name, value)
	if plain == nil {
		if expired {
			return LoginState{}, fmt.Errorf("%w: cookie %q: %s", ErrLoginExpired, name, why)
		}
		return LoginState{}, fmt.Errorf("%w: cookie %q: %s", ErrLoginInvalid, name, why)
	}
	st, err := decodeLogin(plain)
	if err != nil {
		return LoginState{}, fmt.Errorf("%w: cookie %q: malformed value: %w", ErrLoginInvalid, name, err)
	}
	if subtle.ConstantTimeCompare([]byte(st.State), []byte(state)) != 1 {
		return LoginState{}, fmt.Errorf("%w: cookie %q: state does not match", ErrLoginInvalid, name)
	}
	if end := st.Created.Add(l.o.TTL); !l.now().Before(end) {
		return LoginState{}, fmt.Errorf("%w: cookie %q: sign-in began at %s and had until %s",
			ErrLoginExpired, name, st.Created.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return st, nil
}

func (l *Logins) cookie(name, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   l.o.Secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if l.o.CrossSitePost {
		// Browsers drop SameSite=None cookies that are not Secure.
		c.SameSite = http.SameSiteNoneMode
		c.Secure = true
	}
	return c
}

package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Cookie values are a compact binary encoding rather than gob or JSON: a
// session cookie travels with every request, and securecookie's encryption
// and two rounds of base64 already grow a value by 16/9.
//
//	session: version, flags, expires (uvarint unix seconds),
//	         issued at (uvarint unix milliseconds), id (16 bytes),
//	         authentication type, email, [preferred username], [user],
//	         issuer, subject, sid, site, ID token
//	login:   version, created (uvarint unix milliseconds),
//	         state, nonce, verifier, return URL, site
//
// Strings are a uvarint length followed by the bytes. The flags say which
// identity strings repeat another one and are left out: the user is most
// often the email or preferred_username claim itself.
//
// Version 1 had no id, issue time or sid. Such a cookie is refused (the
// user signs in again) rather than read with an empty id: a session that
// no mark can name could not be ended by signing out.

const (
	sessionVersion byte = 2
	loginVersion   byte = 1
)

const (
	userIsEmail              = 1 << 0
	userIsPreferredUsername  = 1 << 1
	preferredUsernameIsEmail = 1 << 2
	knownFlags               = userIsEmail | userIsPreferredUsername | preferredUsernameIsEmail
)

// maxUnix is 9999-12-31T23:59:59Z: later times are not plausible expiries
// and would not survive the round trip through time.Time arithmetic.
const maxUnix = 253402300799

func appendSession(b []byte, s *Session) ([]byte, error) {
	exp := s.Expires.Unix()
	if exp <= 0 || exp > maxUnix {
		return nil, fmt.Errorf("session: expiry %s out of range", s.Expires.UTC().Format(time.RFC3339))
	}
	iat := s.IssuedAt.UnixMilli()
	if iat <= 0 || iat > maxUnix*1000 {
		return nil, fmt.Errorf("session: issue time %s out of range", s.IssuedAt.UTC().Format(time.RFC3339))
	}
	var flags byte
	switch s.User {
	case s.Email:
		flags |= userIsEmail
	case s.PreferredUsername:
		flags |= userIsPreferredUsername
	}
	if s.PreferredUsername == s.Email {
		flags |= preferredUsernameIsEmail
	}
	b = append(b, sessionVersion, flags)
	b = binary.AppendUvarint(b, uint64(exp))
	b = binary.AppendUvarint(b, uint64(iat))
	b = append(b, s.ID[:]...)
	b = appendString(b, s.AuthenticationType)
	b = appendString(b, s.Email)
	if flags&preferredUsernameIsEmail == 0 {
		b = appendString(b, s.PreferredUsername)
	}
	if flags&(userIsEmail|userIsPreferredUsername) == 0 {
		b = appendString(b, s.User)
	}
	b = appendString(b, s.Issuer)
	b = appendString(b, s.Subject)
	b = appendString(b, s.SID)
	b = appendString(b, s.Site)
	b = appendString(b, s.IDToken)
	return b, nil
}

func decodeSession(b []byte) (Session, error) {
	var s Session
	r := reader{s: string(b)} // one allocation; every field is a substring
	switch v := r.byte(); {
	case r.err != nil, v == sessionVersion:
	case v == 1:
		return s, errors.New("session encoding version 1 has no session id; sign in again")
	default:
		return s, fmt.Errorf("unknown session encoding version %d", v)
	}
	flags := r.byte()
	if r.err == nil && (flags&^knownFlags != 0 || flags&userIsEmail != 0 && flags&userIsPreferredUsername != 0) {
		return s, fmt.Errorf("invalid session flags %#x", flags)
	}
	exp := r.uvarint()
	iat := r.uvarint()
	copy(s.ID[:], r.bytes(IDSize))
	s.AuthenticationType = r.string()
	s.Email = r.string()
	if flags&preferredUsernameIsEmail != 0 {
		s.PreferredUsername = s.Email
	} else {
		s.PreferredUsername = r.string()
	}
	switch {
	case flags&userIsEmail != 0:
		s.User = s.Email
	case flags&userIsPreferredUsername != 0:
		s.User = s.PreferredUsername
	default:
		s.User = r.string()
	}
	s.Issuer = r.string()
	s.Subject = r.string()
	s.SID = r.string()
	s.Site = r.string()
	s.IDToken = r.string()
	if err := r.end(); err != nil {
		return Session{}, err
	}
	if exp == 0 || exp > maxUnix {
		return Session{}, fmt.Errorf("session expiry %d out of range", exp)
	}
	if iat == 0 || iat > maxUnix*1000 {
		return Session{}, fmt.Errorf("session issue time %d out of range", iat)
	}
	s.Expires = time.Unix(int64(exp), 0).UTC()
	s.IssuedAt = time.UnixMilli(int64(iat)).UTC()
	return s, nil
}

func appendLogin(b []byte, st *LoginState) ([]byte, error) {
	ms := st.Created.UnixMilli()
	if ms <= 0 || ms > maxUnix*1000 {
		return nil, fmt.Errorf("session: login creation time %s out of range", st.Created.UTC().Format(time.RFC3339))
	}
	b = append(b, loginVersion)
	b = binary.AppendUvarint(b, uint64(ms))
	b = appendString(b, st.State)
	b = appendString(b, st.Nonce)
	b = appendString(b, st.Verifier)
	b = appendString(b, st.ReturnURL)
	b = appendString(b, st.Site)
	return b, nil
}

func decodeLogin(b []byte) (LoginState, error) {
	var st LoginState
	r := reader{s: string(b)}
	if v := r.byte(); r.err == nil && v != loginVersion {
		return st, fmt.Errorf("unknown login encoding version %d", v)
	}
	ms := r.uvarint()
	st.State = r.string()
	st.Nonce = r.string()
	st.Verifier = r.string()
	st.ReturnURL = r.string()
	st.Site = r.string()
	if err := r.end(); err != nil {
		return LoginState{}, err
	}
	if ms == 0 || ms > maxUnix*1000 {
		return LoginState{}, fmt.Errorf("login creation time %d out of range", ms)
	}
	st.Created = time.UnixMilli(int64(ms)).UTC()
	return st, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errTruncated = errors.New("truncated")

// reader reads the encoding; after the first error every read returns a
// zero value and end reports that error.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at byte %d", err, r.off)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.s) {
		r.fail(errTruncated)
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

// uvarint is binary.Uvarint over a string, so decoding needs no copies.
func (r *reader) uvarint() uint64 {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.err != nil {
			return 0
		}
		if r.off >= len(r.s) {
			r.fail(errTruncated)
			return 0
		}
		c := r.s[r.off]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			r.fail(errors.New("varint overflows 64 bits"))
			return 0
		}
		r.off++
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x
		}
	}
	r.fail(errors.New("varint overflows 64 bits"))
	return 0
}

// bytes returns the next n bytes.
func (r *reader) bytes(n int) string {
	if r.err != nil {
		return ""
	}
	if n > len(r.s)-r.off {
		r.fail(fmt.Errorf("%d bytes %w", n, errTruncated))
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.fail(fmt.Errorf("string of %d bytes %w", n, errTruncated))
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) end() error {
	if r.err == nil && r.off != len(r.s) {
		r.fail(fmt.Errorf("%d trailing bytes", len(r.s)-r.off))
	}
	return r.err
}

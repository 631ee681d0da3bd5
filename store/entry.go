package store

import (
	"fmt"
	"strconv"
)

// A mark travels through the shared store as a stream entry with these
// fields, all strings:
//
//	v  format version, "1"
//	k  kind: one letter (see Kind)
//	h  digests, 16 bytes each, one per cookie key of the writer (none for "a")
//	t  the mark's date, unix milliseconds
//	x  its expiry, unix milliseconds
//	w  when it was written, unix milliseconds
//
// Entries come from whoever can write to the store, so decoding checks
// every field and refuses what it does not understand.

const entryVersion = "1"

// maxDigests bounds the digests of one entry: one per cookie key.
const maxDigests = 16

func (e entry) values() []any {
	h := make([]byte, 0, len(e.digests)*digestSize)
	for _, d := range e.digests {
		h = append(h, d[:]...)
	}
	return []any{
		"v", entryVersion,
		"k", string(rune(e.kind)),
		"h", string(h),
		"t", strconv.FormatInt(e.at, 10),
		"x", strconv.FormatInt(e.exp, 10),
		"w", strconv.FormatInt(e.written, 10),
	}
}

// parseEntry decodes the fields of a stream entry.
func parseEntry(fields map[string]any) (entry, error) {
	str := func(name string) (string, error) {
		v, ok := fields[name]
		if !ok {
			return "", fmt.Errorf("no field %q", name)
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("field %q is a %T, not a string", name, v)
		}
		return s, nil
	}
	var vals [6]string
	for i, name := range []string{"v", "k", "h", "t", "x", "w"} {
		s, err := str(name)
		if err != nil {
			return entry{}, err
		}
		vals[i] = s
	}
	return decodeEntry(vals[0], vals[1], vals[2], vals[3], vals[4], vals[5])
}

func decodeEntry(v, k, h, t, x, w string) (entry, error) {
	if v != entryVersion {
		return entry{}, fmt.Errorf("unknown entry version %q", v)
	}
	if len(k) != 1 || kindIndex(Kind(k[0])) < 0 && Kind(k[0]) != KindAll {
		return entry{}, fmt.Errorf("unknown kind %q", k)
	}
	e := entry{kind: Kind(k[0])}
	switch {
	case e.kind == KindAll && h != "":
		return entry{}, fmt.Errorf("a mark for all sessions with %d bytes of digests", len(h))
	case e.kind != KindAll && (h == "" || len(h)%digestSize != 0 || len(h)/digestSize > maxDigests):
		return entry{}, fmt.Errorf("digests of %d bytes; want 1 to %d of %d bytes", len(h), maxDigests, digestSize)
	}
	for i := 0; i < len(h); i += digestSize {
		e.digests = append(e.digests, digest([]byte(h[i:i+digestSize])))
	}
	var err error
	for _, f := range []struct {
		name string
		s    string
		to   *int64
	}{{"t", t, &e.at}, {"x", x, &e.exp}, {"w", w, &e.written}} {
		*f.to, err = strconv.ParseInt(f.s, 10, 64)
		if err != nil || *f.to <= 0 || *f.to > maxMillis {
			return entry{}, fmt.Errorf("field %q: %q is not a time in unix milliseconds", f.name, f.s)
		}
	}
	if e.exp <= e.at {
		return entry{}, fmt.Errorf("expires (%d) before its date (%d)", e.exp, e.at)
	}
	return e, nil
}

// maxMillis is 9999-12-31T23:59:59Z in unix milliseconds.
const maxMillis = 253402300799999

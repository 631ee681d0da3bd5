package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Error is one problem with the configuration. Its text is
// "FILE:LINE:COL: KEY: problem", leaving out what is unknown: syntax errors
// have a line and column and no key, the others a key path and no line. It never holds a
// secret value.
type Error struct {
	File string // the name given to Parse; "" for a Config built in code
	Line int    // 0 when unknown
	Col  int    // 0 when unknown
	Key  string // key path, such as "sites[1].upstream"; "" for syntax errors
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Col > 0 {
				b.WriteString(":" + strconv.Itoa(e.Col))
			}
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// errorf makes an Error for key.
func (c *Config) errorf(key, format string, args ...any) *Error {
	return &Error{File: c.file, Key: key, Err: fmt.Errorf(format, args...)}
}

// decodeError gives toml's errors the same shape as the others. A syntax
// error (toml.ParseError) has its line and column; the source lines toml
// can quote (ParseError.ErrorWithPosition) are left out: they may hold
// secrets. toml reports a value of the wrong type in words only, so that
// value is found again by decoding the file into plain maps and comparing
// them with Config's fields: its key path, what it is and what was wanted.
func decodeError(name string, data []byte, err error) error {
	// A file that decodes into plain maps has no syntax error: the value of
	// the wrong type is named by its key. (A Scopes value's own complaint
	// comes as a ParseError, so this goes first.)
	var raw map[string]any
	if _, rawErr := toml.Decode(string(data), &raw); rawErr == nil {
		if key, got, want, ok := mismatch(reflect.TypeFor[Config](), raw, ""); ok {
			return &Error{File: name, Key: key, Err: fmt.Errorf("is %s; want %s", got, want)}
		}
	}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Position.Line, Col: pe.Position.Col, Err: errors.New(pe.Message)}
	}
	return &Error{File: name, Err: err}
}

// unknownKeys reports keys the file sets that oidcgate does not know, each
// with the closest known key at its place. A table's own keys are not
// reported again when the table is unknown. meant lists the key paths the
// hints point to: a misspelt key need not be reported missing as well.
// raw is the file decoded into plain maps and slices.
func (c *Config) unknownKeys(undecoded []toml.Key, raw map[string]any) (errs []error, meant []string) {
	var unknownTables []string
	// Undecoded lists the same unknown key once per array element, in file
	// order: the nth time is the nth occurrence in the file.
	seen := map[string]int{}
	for _, k := range undecoded {
		plain := strings.Join(k, ".")
		if slices.ContainsFunc(unknownTables, func(t string) bool { return strings.HasPrefix(plain, t+".") }) {
			continue
		}
		unknownTables = append(unknownTables, plain)

		path := plain
		if at := occurrences(raw, k, ""); seen[plain] < len(at) {
			path = at[seen[plain]]
		}
		seen[plain]++
		msg := "unknown key"
		if piece, hint, sibling := suggestKey(k); hint != "" {
			msg = fmt.Sprintf("unknown key (did you mean %s?)", hint)
			switch {
			case piece != k[len(k)-1]:
				msg = fmt.Sprintf("unknown key %s (did you mean %s?)", piece, hint)
			case sibling:
				meant = append(meant, join(parentKey(path), hint))
			default:
				msg = fmt.Sprintf("unknown key here (%s belongs in [%s])", piece, parentKey(hint))
				if parentKey(hint) == "" {
					msg = fmt.Sprintf("unknown key here (%s is a top-level key: write it before the first [table])", piece)
				}
			}
		}
		errs = append(errs, &Error{File: c.file, Key: path, Err: errors.New(msg)})
	}
	return errs, meant
}

// suggestKey finds the first piece of k that Config does not know and the
// known key closest to it at the same place. Failing that, a key of that
// exact name elsewhere is suggested by its full name ("session.lifetime"):
// a key written below the wrong table header is a common slip.
func suggestKey(k toml.Key) (piece, hint string, sibling bool) {
	t := reflect.TypeFor[Config]()
	for _, p := range k {
		t = elem(t)
		if t.Kind() != reflect.Struct {
			return p, "", false
		}
		var known []string
		var next reflect.Type
		for i := range t.NumField() {
			f := t.Field(i)
			name := tomlName(f)
			if name == "" {
				continue
			}
			known = append(known, name)
			if name == p {
				next = f.Type
			}
		}
		if next == nil {
			if hint := closest(p, known); hint != "" {
				return p, hint, true
			}
			return p, keyElsewhere(reflect.TypeFor[Config](), "", p), false
		}
		t = next
	}
	return "", "", false
}

// keyElsewhere returns the full name of the first key called name.
func keyElsewhere(t reflect.Type, prefix, name string) string {
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := tomlName(f); tag == name {
			return join(prefix, tag)
		} else if tag != "" && elem(f.Type).Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			if found := keyElsewhere(f.Type, join(prefix, tag), name); found != "" {
				return found
			}
		}
	}
	return ""
}

func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// tomlName is the key a struct field is decoded from, "" for none.
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// closest returns the candidate most like s, or "" when none is close.
// Case is ignored, and the camelCase spellings of Cora SeQuence's web.config
// settings are also tried as snake_case.
func closest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	forms := []string{strings.ToLower(s), strings.ToLower(snakeCase(s))}
	limit := max(2, len(s)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		for _, f := range forms {
			d := editDistance(f, lc)
			if len(f) >= 4 && strings.HasPrefix(lc, f) {
				d = min(d, limit)
			}
			if d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// snakeCase turns "clientSecretFile" into "client_secret_file".
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && s[i-1] != '_' && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

package config

import (
	"encoding"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The file's keys by path with array indexes ("sites[1].upstream"), found
// in the file as toml decoded it into plain maps and slices. toml's own
// errors and MetaData name keys without indexes, so every [[sites]] would
// look the same.

// occurrences returns the indexed paths of the dotted key k in v, in file
// order.
func occurrences(v any, k toml.Key, prefix string) []string {
	if len(k) == 0 {
		return []string{prefix}
	}
	switch t := v.(type) {
	case map[string]any:
		if child, ok := t[k[0]]; ok {
			return occurrences(child, k[1:], join(prefix, k[0]))
		}
	case []map[string]any:
		var out []string
		for i, m := range t {
			out = append(out, occurrences(m, k, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case []any:
		var out []string
		for i, e := range t {
			out = append(out, occurrences(e, k, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// mismatch finds the first value in v (the file decoded into plain maps and
// slices) that cannot be decoded into a Go value of type t, and says what
// it is and what was wanted.
func mismatch(t reflect.Type, v any, path string) (key, got, want string, found bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[Scopes]() { // a list, or one space-delimited string
		switch v := v.(type) {
		case string:
			return "", "", "", false
		case []any:
			for i, e := range v {
				if _, ok := e.(string); !ok {
					return path + "[" + strconv.Itoa(i) + "]", tomlKind(e), "a string", true
				}
			}
			return "", "", "", false
		}
		return path, tomlKind(v), "a string or an array of strings", true
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if _, ok := v.(string); !ok {
			return path, tomlKind(v), "a string", true
		}
		return "", "", "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return path, tomlKind(v), "a table", true
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name := tomlName(f)
			if child, ok := m[name]; ok && name != "" {
				if key, got, want, found := mismatch(f.Type, child, join(path, name)); found {
					return key, got, want, true
				}
			}
		}
	case reflect.Slice:
		var elems []any
		switch s := v.(type) {
		case []any:
			elems = s
		case []map[string]any:
			for _, m := range s {
				elems = append(elems, m)
			}
		default:
			return path, tomlKind(v), "an array", true
		}
		for i, e := range elems {
			if key, got, want, found := mismatch(t.Elem(), e, path+"["+strconv.Itoa(i)+"]"); found {
				return key, got, want, true
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return path, tomlKind(v), "a string", true
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return path, tomlKind(v), "true or false", true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := v.(int64); !ok {
			return path, tomlKind(v), "an integer", true
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case float64, int64:
		default:
			return path, tomlKind(v), "a number", true
		}
	}
	return "", "", "", false
}

// tomlKind names the type of a decoded TOML value as the file's reader
// knows it.
func tomlKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "true or false"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// label matches the " (name)" that messages add after an array element.
var label = regexp.MustCompile(` \([^)]*\)`)

// normalizeKey drops the labels: "credentials[0] (mail).client_id" is
// "credentials[0].client_id".
func normalizeKey(key string) string { return label.ReplaceAllString(key, "") }

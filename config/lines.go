package config

import (
	"regexp"
	"strconv"
	"strings"
)

// keyLines knows the line each key and table header was written on, by key
// path with array indexes ("sites[1].upstream"). toml's MetaData keeps one
// position per dotted name, so every [[sites]] would share the last one;
// this small scanner reads the file again instead. It understands the TOML
// a person writes (headers, keys, strings, multi-line arrays and strings)
// and on anything stranger only knows fewer lines.
type keyLines struct {
	line    map[string]int     // path → line
	byPlain map[string][]keyAt // dotted name → every occurrence, in file order
}

type keyAt struct {
	path string // "sites[1].upstream"
	line int
}

func scanKeys(src []byte) *keyLines {
	kl := &keyLines{line: map[string]int{}, byPlain: map[string][]keyAt{}}
	counts := map[string]int{} // array-of-tables path → elements seen
	var table, tablePlain string
	var v valueScanner
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		if v.open() {
			v.scan(line)
			continue
		}
		s := strings.TrimLeft(line, " \t")
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			if parts, _, ok := parseKey(s[2:]); ok {
				table, tablePlain = tablePath(counts, parts, true)
				kl.add(tablePlain, table, n)
			}
		case s[0] == '[':
			if parts, _, ok := parseKey(s[1:]); ok {
				table, tablePlain = tablePath(counts, parts, false)
				kl.add(tablePlain, table, n)
			}
		default:
			parts, rest, ok := parseKey(s)
			if !ok {
				continue
			}
			rest = strings.TrimLeft(rest, " \t")
			if !strings.HasPrefix(rest, "=") {
				continue
			}
			key := strings.Join(parts, ".")
			kl.add(join(tablePlain, key), join(table, key), n)
			v.scan(rest[1:])
		}
	}
	return kl
}

func (kl *keyLines) add(plain, path string, line int) {
	kl.byPlain[plain] = append(kl.byPlain[plain], keyAt{path: path, line: line})
	if _, ok := kl.line[path]; !ok {
		kl.line[path] = line
	}
}

// tablePath gives a header's key path: an array of tables gets its next
// index, and a table inside an array of tables belongs to the last element.
func tablePath(counts map[string]int, parts []string, arrayTable bool) (path, plain string) {
	for i, p := range parts {
		path, plain = join(path, p), join(plain, p)
		n := counts[path]
		switch {
		case arrayTable && i == len(parts)-1:
			counts[path] = n + 1
			path += "[" + strconv.Itoa(n) + "]"
		case n > 0:
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return path, plain
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// lineOf returns the line of key or, failing that, of the nearest table
// that holds it: a missing key is reported where its table begins.
func (kl *keyLines) lineOf(key string) int {
	if kl == nil {
		return 0
	}
	for key = normalizeKey(key); key != ""; key = parentKey(key) {
		if n, ok := kl.line[key]; ok {
			return n
		}
	}
	return 0
}

// nth returns occurrence n (from 0) of the dotted name plain.
func (kl *keyLines) nth(plain string, n int) (keyAt, bool) {
	if kl == nil || n >= len(kl.byPlain[plain]) {
		return keyAt{}, false
	}
	return kl.byPlain[plain][n], true
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

// parseKey reads a possibly dotted and quoted key from the start of s.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var p string
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			p, s = s[1:end], s[end+1:]
			if u, err := strconv.Unquote(`"` + p + `"`); err == nil {
				p = u
			}
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			p, s = s[1:end+1], s[end+2:]
		default:
			end := 0
			for end < len(s) && isBareKeyChar(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			p, s = s[:end], s[end:]
		}
		parts = append(parts, p)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// valueScanner follows a value over lines: whether a multi-line string or
// an array or inline table is still open.
type valueScanner struct {
	str   string // the closing `"""` or `'''` of an open multi-line string
	depth int    // open [ and {
}

func (v *valueScanner) open() bool { return v.str != "" || v.depth > 0 }

func (v *valueScanner) scan(s string) {
	for i := 0; i < len(s); {
		if v.str != "" {
			switch {
			case v.str == `"""` && s[i] == '\\':
				i += 2
			case strings.HasPrefix(s[i:], v.str):
				i += 3
				v.str = ""
			default:
				i++
			}
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '"', '\'':
			if q := strings.Repeat(string(c), 3); strings.HasPrefix(s[i:], q) {
				v.str = q
				i += 3
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if c == '"' && s[i] == '\\' {
					i++
				}
			}
			i++
		case '[', '{':
			v.depth++
			i++
		case ']', '}':
			v.depth = max(0, v.depth-1)
			i++
		default:
			i++
		}
	}
}

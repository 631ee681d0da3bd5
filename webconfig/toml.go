package webconfig

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// writer builds the TOML text. Every value it writes is quoted by
// quote, and every comment is one line, so nothing read from the
// web.config can end a comment or a string early.
type writer struct {
	b     strings.Builder
	todos int
	// literalDollar is called for a value copied from the web.config that
	// oidcgate would read as a ${NAME} reference.
	literalDollar func(key string)
}

func (w *writer) line(s string) { w.b.WriteString(s); w.b.WriteByte('\n') }

func (w *writer) blank() { w.b.WriteByte('\n') }

func (w *writer) comment(format string, args ...any) {
	w.line("# " + oneLine(fmt.Sprintf(format, args...)))
}

// set writes key = "value", with an optional comment after it.
func (w *writer) set(key, value, note string) {
	if strings.Contains(value, "${") && !strings.HasPrefix(note, "the web.config's ") && w.literalDollar != nil {
		w.literalDollar(key)
	}
	w.setRaw(key, quote(value), note)
}

func (w *writer) setRaw(key, value, note string) {
	s := key + " = " + value
	if note != "" {
		s += "  # " + oneLine(note)
	}
	w.line(s)
}

// todo writes key = "" with a TODO: a value the operator must supply, so
// that `oidcgate check` fails until it is filled in.
func (w *writer) todo(key, why string) {
	w.todos++
	w.line(key + ` = ""  # TODO: ` + oneLine(why))
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// oneLine keeps a comment on its line: control characters (a newline in
// an attribute value) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

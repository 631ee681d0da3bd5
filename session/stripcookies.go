package session

import (
	"net/http"
	"strings"
)

// StripCookies removes from the Cookie header(s) of h every cookie for which
// own reports true, so the proxy's session never reaches the backend. The
// cookies kept are joined with "; " into a single Cookie header, in their
// order and with their text as received, apart from surrounding spaces; when
// none are left the header is removed. Several Cookie lines (HTTP/2 sends one
// per cookie) are treated as one list.
//
// A cookie's name is the text before its first '=', without surrounding
// spaces; a piece with no '=' is passed whole. Values are never decoded or
// re-quoted, unlike http.Request.Cookies, which drops what it cannot parse.
//
// It does not allocate when no cookie is the proxy's, and copies no cookie
// text when the ones kept are already side by side, as browsers send them.
// own must not be nil.
func StripCookies(h http.Header, own func(name string) bool) {
	lines := h["Cookie"]
	if !anyOwn(lines, own) {
		return
	}
	if len(lines) == 1 {
		if kept, ok := keptSpan(lines[0], own); ok {
			h["Cookie"] = []string{kept}
			return
		}
	}
	var b strings.Builder
	size := 0
	for _, line := range lines {
		size += len(line) + 2
	}
	b.Grow(size)
	for _, line := range lines {
		for line != "" {
			var piece string
			piece, line, _ = strings.Cut(line, ";")
			piece = trimSpace(piece)
			if piece == "" || own(cookieName(piece)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(piece)
		}
	}
	if b.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{b.String()}
}

// keptSpan is the common case without copying: when the cookies kept are
// next to each other in line and already separated by "; ", what
// StripCookies would build is a piece of line itself. It reports false
// otherwise, and when nothing would be kept.
func keptSpan(line string, own func(string) bool) (string, bool) {
	start, end := -1, -1
	for off := 0; off < len(line); {
		piece, _, _ := strings.Cut(line[off:], ";")
		at := off
		off += len(piece) + 1
		trimmed := trimSpace(piece)
		if trimmed == "" || own(cookieName(trimmed)) {
			continue
		}
		at += len(piece) - len(trimLeftSpace(piece))
		if start < 0 {
			start = at
		} else if line[end:at] != "; " {
			return "", false
		}
		end = at + len(trimmed)
	}
	if start < 0 {
		return "", false
	}
	return line[start:end], true
}

func anyOwn(lines []string, own func(string) bool) bool {
	for _, line := range lines {
		for line != "" {
			var piece string
			piece, line, _ = strings.Cut(line, ";")
			if piece = trimSpace(piece); piece != "" && own(cookieName(piece)) {
				return true
			}
		}
	}
	return false
}

func cookieName(piece string) string {
	name, _, _ := strings.Cut(piece, "=")
	return trimSpace(name)
}

// trimSpace trims the optional whitespace of HTTP (space and tab) only.
func trimSpace(s string) string {
	s = trimLeftSpace(s)
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeftSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// Package logfmt makes oidcgate's log handler: slog's JSON or text handler,
// with a fast path for the one line the proxy writes for every request.
//
// slog's handlers are general: they take any attribute of any kind, so
// they walk a record's attributes and switch on each value's kind, which
// costs the proxy about two microseconds a request. The request line always
// has the same attributes, so Handler.LogRequest writes it directly, byte
// for byte as slog would (the tests compare the two).
package logfmt

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Handler is a slog.Handler that can also write request lines quickly.
// Handlers derived with WithAttrs or WithGroup are slog's own, without the
// fast path: their lines would carry more than a request line has.
type Handler struct {
	slog.Handler
	w     io.Writer
	json  bool
	level slog.Leveler
	mu    sync.Mutex // one Write per line, never interleaved
}

// New returns a handler writing lines to w in format "json" or "text",
// from level up.
func New(w io.Writer, format string, level slog.Level) (*Handler, error) {
	opts := &slog.HandlerOptions{Level: level}
	h := &Handler{w: w, level: level}
	switch strings.ToLower(format) {
	case "json":
		h.Handler, h.json = slog.NewJSONHandler(w, opts), true
	case "text":
		h.Handler = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return h, nil
}

// Request is one request line: the record "request" at info level with
// these attributes, in this order; Outcome only when it is not empty.
type Request struct {
	Time      time.Time
	Site      string
	Method    string
	Path      string
	Status    int
	Duration  time.Duration
	User      string
	RequestID string
	Outcome   string
}

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// LogRequest writes r if the info level is enabled.
func (h *Handler) LogRequest(r Request) {
	if h.level.Level() > slog.LevelInfo {
		return
	}
	bp := lines.Get().(*[]byte)
	b := (*bp)[:0]
	if h.json {
		b = appendJSON(b, r)
	} else {
		b = appendText(b, r)
	}
	h.mu.Lock()
	h.w.Write(b)
	h.mu.Unlock()
	if cap(b) <= 4096 {
		*bp = b
		lines.Put(bp)
	}
}

var _ slog.Handler = (*Handler)(nil) // Enabled, Handle, WithAttrs and WithGroup are slog's

func appendJSON(b []byte, r Request) []byte {
	b = append(b, `{"time":"`...)
	b = r.Time.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","site":"`...)
	b = appendJSONString(b, r.Site)
	b = append(b, `","method":"`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `","path":"`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(r.Duration), 10)
	b = append(b, `,"user":"`...)
	b = appendJSONString(b, r.User)
	b = append(b, `","request_id":"`...)
	b = appendJSONString(b, r.RequestID)
	b = append(b, '"')
	if r.Outcome != "" {
		b = append(b, `,"outcome":"`...)
		b = appendJSONString(b, r.Outcome)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

func appendText(b []byte, r Request) []byte {
	b = append(b, "time="...)
	b = appendMillis(b, r.Time.Round(0))
	b = append(b, " level=INFO msg=request site="...)
	b = appendTextString(b, r.Site)
	b = append(b, " method="...)
	b = appendTextString(b, r.Method)
	b = append(b, " path="...)
	b = appendTextString(b, r.Path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, " duration="...)
	b = append(b, r.Duration.String()...)
	b = append(b, " user="...)
	b = appendTextString(b, r.User)
	b = append(b, " request_id="...)
	b = appendTextString(b, r.RequestID)
	if r.Outcome != "" {
		b = append(b, " outcome="...)
		b = appendTextString(b, r.Outcome)
	}
	return append(b, '\n')
}

// appendMillis writes t as RFC 3339 with exactly three decimals, the text
// handler's time format.
func appendMillis(b []byte, t time.Time) []byte {
	// RFC3339Nano drops trailing zeros; a tenth of a millisecond added to
	// the truncated time keeps four decimals, and the fourth is cut.
	const head = len("2006-01-02T15:04:05.000")
	n := len(b)
	b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+head], b[n+head+1:]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s escaped for a JSON string as slog does: quote,
// backslash and control characters escaped (\n, \r and \t by name),
// invalid UTF-8 as U+FFFD, and U+2028 and U+2029 escaped for JavaScript;
// '<', '>' and '&' are left as they are.
func appendJSONString(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendTextString writes s bare when the text handler would, and quoted
// (Go syntax) when it is empty or has a space, '=', '"', a control
// character, a non-printing or space character, or invalid UTF-8.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuotes(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func textNeedsQuotes(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

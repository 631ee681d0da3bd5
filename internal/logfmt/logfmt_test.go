package logfmt

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// slogLine is what slog itself writes for r: the reference LogRequest must
// match byte for byte, so that a log pipeline sees one format.
func slogLine(t testing.TB, format string, r Request) string {
	t.Helper()
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewJSONHandler(&buf, opts)
	if format == "text" {
		h = slog.NewTextHandler(&buf, opts)
	}
	rec := slog.NewRecord(r.Time, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("site", r.Site),
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.Int("status", r.Status),
		slog.Duration("duration", r.Duration),
		slog.String("user", r.User),
		slog.String("request_id", r.RequestID),
	)
	if r.Outcome != "" {
		rec.AddAttrs(slog.String("outcome", r.Outcome))
	}
	if err := h.Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func fastLine(t testing.TB, format string, r Request) string {
	t.Helper()
	var buf bytes.Buffer
	h, err := New(&buf, format, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	h.LogRequest(r)
	return buf.String()
}

var when = time.Date(2026, 11, 23, 7, 5, 9, 120_450_000, time.FixedZone("CET", 3600))

func TestLogRequestMatchesSlog(t *testing.T) {
	base := Request{Time: when, Site: "Administration", Method: "GET", Path: "/Administration/reports/list.aspx", Status: 200,
		Duration: 1234567 * time.Nanosecond, User: "AdeleV@contoso.onmicrosoft.com", RequestID: "5PHRMLQCAPBOEVOQH3DENDHZ32"}
	variants := []func(r *Request){
		func(r *Request) {},
		func(r *Request) { r.Outcome = "aborted" },
		func(r *Request) { r.User, r.Site = "", "" },
		func(r *Request) { r.Path = `/a b/"q"\x=y` },
		func(r *Request) { r.Path = "/ctl\x00\x01\x1f\x7f\t\r\n" },
		func(r *Request) { r.User = "caf\xc3\xa9 \xe2\x80\xa8 \xe2\x80\xa9 \xff\xfe bad" },
		func(r *Request) { r.User = "Ünïcødé-名前" },
		func(r *Request) { r.User = "non\u00a0breaking\u200bzero" },
		func(r *Request) { r.Path = "<script>&amp;</script>" },
		func(r *Request) { r.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		func(r *Request) { r.Time = time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC) },
		func(r *Request) { r.Time = time.Now() }, // with a monotonic reading
		func(r *Request) { r.Duration, r.Status = 0, 0 },
		func(r *Request) { r.Duration, r.Status = -time.Second, -1 },
		func(r *Request) { r.Duration = 90 * time.Minute },
	}
	for i, v := range variants {
		r := base
		v(&r)
		for _, format := range []string{"json", "text"} {
			if got, want := fastLine(t, format, r), slogLine(t, format, r); got != want {
				t.Errorf("variant %d, %s:\n got %q\nwant %q", i, format, got, want)
			}
		}
	}
}

func FuzzLogRequest(f *testing.F) {
	f.Add("Administration", "GET", "/Administration/", 200, int64(1234567), "alice@example.com", "id", "", int64(0))
	f.Add("", "PO ST", "/a=b \"c\"", 502, int64(-5), "\xff\u2028\x7f", "\x00", "aborted", int64(1795500865_123456789))
	f.Fuzz(func(t *testing.T, site, method, path string, status int, dur int64, user, id, outcome string, unixNano int64) {
		r := Request{Time: time.Unix(0, unixNano).UTC(), Site: site, Method: method, Path: path, Status: status,
			Duration: time.Duration(dur), User: user, RequestID: id, Outcome: outcome}
		if y := r.Time.Year(); y < 0 || y >= 10000 {
			return // slog writes an error there instead of a time
		}
		for _, format := range []string{"json", "text"} {
			if got, want := fastLine(t, format, r), slogLine(t, format, r); got != want {
				t.Fatalf("%s:\n got %q\nwant %q", format, got, want)
			}
		}
	})
}

func TestLevelAboveInfoWritesNoRequestLines(t *testing.T) {
	var buf bytes.Buffer
	h, err := New(&buf, "json", slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}
	h.LogRequest(Request{Time: when, Status: 200})
	if buf.Len() != 0 {
		t.Errorf("at level warn a request line was written: %q", buf.String())
	}
	slog.New(h).Warn("still logged")
	if !strings.Contains(buf.String(), "still logged") {
		t.Errorf("warnings are lost: %q", buf.String())
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error(`New(format "xml") succeeded; want an error`)
	}
}

func BenchmarkLogRequest(b *testing.B) {
	r := Request{Time: when, Site: "Administration", Method: "GET", Path: "/Administration/reports/list.aspx", Status: 200,
		Duration: 1234567, User: "AdeleV@contoso.onmicrosoft.com", RequestID: "5PHRMLQCAPBOEVOQH3DENDHZ32"}
	for _, format := range []string{"json", "text"} {
		h, _ := New(discard{}, format, slog.LevelInfo)
		b.Run(format+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.LogRequest(r)
			}
		})
		b.Run(format+"/slog", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := slog.NewRecord(r.Time, slog.LevelInfo, "request", 0)
				rec.AddAttrs(slog.String("site", r.Site), slog.String("method", r.Method), slog.String("path", r.Path),
					slog.Int("status", r.Status), slog.Duration("duration", r.Duration), slog.String("user", r.User),
					slog.String("request_id", r.RequestID))
				h.Handle(context.Background(), rec)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

package store

import (
	"context"
	"encoding/binary"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/redistest"
)

// fill adds n marks to s: session marks mostly, as sign-outs make them,
// and some for providers' sessions and subjects.
func fill(b testing.TB, s Store, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		var m Mark
		id := binary.BigEndian.AppendUint64(make([]byte, 8, 16), uint64(i))
		switch i % 10 {
		case 8:
			m = ProviderMark("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "sid-"+strconv.Itoa(i))
		case 9:
			m = SubjectMark("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "sub-"+strconv.Itoa(i))
		default:
			m = SessionMark(id)
		}
		if err := s.Revoke(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevoked is the check every authenticated request makes: a
// session that no mark covers, so every lookup is made.
func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run("marks="+strconv.Itoa(n), func(b *testing.B) {
			s, err := NewMemory(Options{CookieKeys: [][]byte{key(1)}, Lifetime: 8 * time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			fill(b, s, n)
			id := alice(time.Now().Add(-time.Minute))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.Revoked(id) {
						b.Fatal("revoked")
					}
				}
			})
		})
	}
}

// BenchmarkRevokedFirstRequest is a session's first request, whose
// digests are not cached yet.
func BenchmarkRevokedFirstRequest(b *testing.B) {
	s, err := NewMemory(Options{CookieKeys: [][]byte{key(1)}, Lifetime: 8 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, 100_000)
	id := alice(time.Now().Add(-time.Minute))
	id.ID = make([]byte, 16)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		i++
		binary.BigEndian.PutUint64(id.ID, i)
		if s.Revoked(id) {
			b.Fatal("revoked")
		}
	}
}

// BenchmarkMarkMemory reports the heap each mark takes, held in memory.
func BenchmarkMarkMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := NewMemory(Options{CookieKeys: [][]byte{key(1)}, Lifetime: 8 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, s, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/mark")
		runtime.KeepAlive(s)
	}
}

// BenchmarkStartupLoad is a replica starting while Redis holds 100,000
// marks: from Start until Ready.
func BenchmarkStartupLoad(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	w := newReplica(b, srv, RedisOptions{})
	ctx := context.Background()
	// Written as a replica writes them back, in pipelines.
	mem, err := NewMemory(w.o.Options)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, mem, 100_000)
	w.marks = mem.marks
	used := func() float64 {
		v, err := rawClient(b, srv).InfoMap(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		n, _ := strconv.ParseFloat(v["Memory"]["used_memory"], 64)
		return n
	}
	before := used()
	if err := w.writeBack(ctx); err != nil {
		b.Fatal(err)
	}
	perMark := (used() - before) / 100_000
	for b.Loop() {
		r := newReplica(b, srv, RedisOptions{})
		start := time.Now()
		r.Start()
		for r.Ready() != nil {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/start")
		b.ReportMetric(perMark, "redis-bytes/mark")
		if n := r.Marks(); n != 100_000 {
			b.Fatalf("Marks() = %d; want 100000", n)
		}
		r.Close()
	}
}

// BenchmarkPropagation: how long a mark written at one replica takes to
// be known at another, through a real Redis on this machine.
func BenchmarkPropagation(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	a, r := newReplica(b, srv, RedisOptions{}), newReplica(b, srv, RedisOptions{})
	a.start(b)
	r.start(b)
	ctx := context.Background()
	var delays []time.Duration
	i := 0
	for b.Loop() {
		i++
		id := binary.BigEndian.AppendUint64(nil, uint64(i))
		start := time.Now()
		if err := a.Revoke(ctx, SessionMark(id)); err != nil {
			b.Fatal(err)
		}
		select {
		case <-r.learned:
		case <-time.After(5 * time.Second):
			b.Fatal("mark not learned")
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "µs-p50")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "µs-p99")
}

package logbuffer

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testkit"
)

// recorder is an io.Writer that remembers what it got, and can be made to
// block until released, like a pipe whose reader has stalled.
type recorder struct {
	mu     sync.Mutex
	b      strings.Builder
	writes int
	gate   chan struct{} // when not nil, each Write waits for it to close
	// stuck, when not nil, gets a value each time a Write starts waiting
	// at the gate.
	stuck chan struct{}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	if gate != nil {
		if r.stuck != nil {
			select {
			case r.stuck <- struct{}{}:
			default:
			}
		}
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	return r.b.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

func (r *recorder) waitFor(t *testing.T, ok func(string) bool) string {
	t.Helper()
	err := testkit.Until(5*time.Second, func() error {
		if !ok(r.String()) {
			return fmt.Errorf("timed out; output so far: %d bytes", len(r.String()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

func TestBatchesAndFlushes(t *testing.T) {
	var out recorder
	b := New(&out)
	for range 100 {
		b.Write([]byte("request\n"))
	}
	if out.String() != "" {
		t.Fatalf("lines reached the writer before the flush interval")
	}
	out.waitFor(t, func(s string) bool { return s != "" })
	if got := strings.Count(out.String(), "request\n"); got != 100 {
		t.Fatalf("after the flush interval, %d lines were written; want 100", got)
	}
	if out.writes > 2 {
		t.Errorf("100 lines took %d writes; want them batched", out.writes)
	}
	b.Write([]byte("stopping\n"))
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if !strings.HasSuffix(out.String(), "stopping\n") {
		t.Errorf("Close did not write out the last line; output ends %q", out.String()[max(0, len(out.String())-20):])
	}
	b.Write([]byte("after close\n"))
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Errorf("a line written after Close was held back")
	}
}

func TestSoftLimitWritesOutEarly(t *testing.T) {
	var out recorder
	b := New(&out)
	defer b.Close()
	line := strings.Repeat("x", 1023) + "\n"
	start := time.Now()
	for range SoftLimit / len(line) {
		b.Write([]byte(line))
	}
	out.waitFor(t, func(s string) bool { return len(s) >= SoftLimit })
	if d := time.Since(start); d >= FlushInterval {
		t.Errorf("a full buffer waited %s for the interval; want it written at once", d)
	}
}

// A stalled reader must not hold up the callers of Write (the requests)
// until HardLimit is waiting; then they wait, and nothing is lost.
func TestStalledWriterDoesNotBlockUntilHardLimit(t *testing.T) {
	out := recorder{gate: make(chan struct{}), stuck: make(chan struct{}, 1)}
	b := New(&out)
	line := strings.Repeat("y", 99) + "\n"
	b.Write([]byte(line))
	<-out.stuck // the writer is now stuck in out.Write

	wrote := make(chan int)
	go func() {
		n := 0
		for ; n < (HardLimit/len(line))/2; n++ {
			b.Write([]byte(line))
		}
		wrote <- n
	}()
	select {
	case <-wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("Write blocked behind a stalled writer below the hard limit")
	}

	blocked := make(chan struct{})
	go func() {
		for range HardLimit / len(line) {
			b.Write([]byte(line))
		}
		close(blocked)
	}()
	select {
	case <-blocked:
		t.Fatal("Write went on past the hard limit while the writer was stalled")
	case <-time.After(200 * time.Millisecond):
	}

	out.mu.Lock()
	close(out.gate)
	out.gate = nil
	out.mu.Unlock()
	<-blocked
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want := 1 + (HardLimit/len(line))/2 + HardLimit/len(line)
	if got := strings.Count(out.String(), line); got != want {
		t.Errorf("%d lines written out; want all %d", got, want)
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	var out recorder
	b := New(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				fmt.Fprintf(b, "g%d line %d %s\n", g, i, strings.Repeat("z", i%200))
			}
		})
	}
	wg.Wait()
	b.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*2000 {
		t.Fatalf("%d lines; want %d", len(lines), 8*2000)
	}
	last := map[string]int{}
	for _, l := range lines {
		var g string
		var i int
		var rest string
		if n, _ := fmt.Sscanf(l, "%s line %d %s", &g, &i, &rest); n < 2 || len(rest) != i%200 {
			t.Fatalf("torn line %q", l)
		}
		if prev, ok := last[g]; ok && i != prev+1 {
			t.Fatalf("%s: line %d after %d; want each writer's lines in order", g, i, prev)
		}
		last[g] = i
	}
}

// interleaver records each write-out, but first lets a caller write a line,
// as a request would while a batch is on its way out.
type interleaver struct {
	b      *Buffer
	during []byte
	got    []string
}

func (w *interleaver) Write(p []byte) (int, error) {
	if w.during != nil {
		line := w.during
		w.during = nil
		w.b.Write(line)
	}
	w.got = append(w.got, string(p))
	return len(p), nil
}

// TestEmptyWriteOutKeepsBatchesApart drives the write-out by hand through
// a flush that finds nothing waiting: the batch after it must not share
// memory with the lines written while it is on its way out.
func TestEmptyWriteOutKeepsBatchesApart(t *testing.T) {
	w := &interleaver{}
	b := &Buffer{out: w}
	b.drained.L = &b.mu
	w.b = b

	b.Write([]byte("one\n"))
	b.writeOut()
	b.Write([]byte("two\n"))
	b.writeOut()
	b.writeOut() // nothing waiting
	b.Write([]byte("three\n"))
	w.during = []byte("four\n")
	b.writeOut()
	b.writeOut()

	want := []string{"one\n", "two\n", "three\n", "four\n"}
	if strings.Join(w.got, "|") != strings.Join(want, "|") {
		t.Errorf("write-outs = %q; want %q", w.got, want)
	}
}

package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuilder is a strings.Builder safe for the flushing goroutine.
type lockedBuilder struct {
	mu     sync.Mutex
	b      strings.Builder
	writes int
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogBufferBatchesAndFlushes(t *testing.T) {
	var out lockedBuilder
	b := newLogBuffer(&out)
	for range 100 {
		b.Write([]byte("request\n"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
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
		t.Errorf("Close did not flush the last line; output ends %q", out.String()[max(0, out.Len()-20):])
	}
	b.Write([]byte("after close\n"))
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Errorf("a line written after Close was held back")
	}
}

func (l *lockedBuilder) Len() int { return len(l.String()) }

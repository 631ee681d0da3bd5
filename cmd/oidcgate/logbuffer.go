package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval bounds how long a log line may wait in the buffer.
const logFlushInterval = 100 * time.Millisecond

// logBuffer batches log lines into few writes: the proxy logs one line per
// request, and a write to stderr (a pipe to the journal or the container
// runtime) for each would cost a system call per request. Lines reach the
// underlying writer when the buffer fills, every logFlushInterval, and on
// Close; after Close they go straight through.
type logBuffer struct {
	mu     sync.Mutex
	out    io.Writer
	buf    *bufio.Writer
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newLogBuffer(w io.Writer) *logBuffer {
	b := &logBuffer{out: w, buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(logFlushInterval)
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	return b.buf.Write(p)
}

func (b *logBuffer) flushEvery(d time.Duration) {
	defer close(b.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			b.buf.Flush()
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

// Close stops the periodic flush and writes out what is buffered.
func (b *logBuffer) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.buf.Flush()
}

// Package logbuffer batches log lines into few writes.
//
// The proxy logs one line per request, and a write to stderr (a pipe to the
// journal or the container runtime) for each would cost a system call per
// request. Worse, a reader that falls behind would stall every request in
// its write. A Buffer takes lines into memory and a goroutine of its own
// writes them out: every FlushInterval, or at once when SoftLimit bytes are
// waiting. Requests never wait for the writer unless HardLimit bytes are
// waiting, and then they wait rather than lose lines.
package logbuffer

import (
	"io"
	"sync"
	"time"
)

// FlushInterval bounds how long a line may wait in the buffer.
const FlushInterval = 100 * time.Millisecond

// SoftLimit and HardLimit are the bytes waiting at which the buffer is
// written out early, and at which writers wait for it.
const (
	SoftLimit = 64 << 10
	HardLimit = 4 << 20
)

// Buffer is an io.Writer safe for concurrent use. Each Write is kept
// whole: lines from different callers never interleave.
type Buffer struct {
	out io.Writer

	mu      sync.Mutex
	drained sync.Cond // a write-out finished
	pending []byte    // lines waiting to be written out
	spare   []byte    // the previous batch's memory, for the next
	closed  bool

	kick chan struct{} // SoftLimit reached
	stop chan struct{}
	done chan struct{}
}

// New starts a Buffer writing to w. Close it to write out what is waiting.
func New(w io.Writer) *Buffer {
	b := &Buffer{out: w, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	b.drained.L = &b.mu
	go b.run()
	return b
}

// Write keeps a copy of p for the next write-out. After Close, it writes
// straight through.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	for !b.closed && len(b.pending) > 0 && len(b.pending)+len(p) > HardLimit {
		b.drained.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return b.out.Write(p)
	}
	b.pending = append(b.pending, p...)
	full := len(b.pending) >= SoftLimit
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (b *Buffer) run() {
	defer close(b.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.kick:
		case <-b.stop:
			return
		}
		b.writeOut()
	}
}

// writeOut takes the waiting lines and writes them without holding the
// lock, so callers of Write go on while the reader catches up. Only run
// calls it. A failed write cannot be logged; the lines are dropped.
func (b *Buffer) writeOut() {
	b.mu.Lock()
	if len(b.pending) == 0 {
		// Nothing to swap. Swapping anyway would leave pending and spare
		// on the same memory, and the next batch would then be written
		// out while callers append into it.
		b.mu.Unlock()
		return
	}
	batch := b.pending
	b.pending = b.spare[:0]
	b.mu.Unlock()
	b.out.Write(batch)
	b.mu.Lock()
	if cap(batch) <= SoftLimit*2 {
		b.spare = batch[:0] // keep ordinary batches' memory, not a burst's
	} else {
		b.spare = nil
	}
	b.drained.Broadcast()
	b.mu.Unlock()
}

// Close stops the periodic write-out and writes what is waiting; later
// writes go straight through.
func (b *Buffer) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	// Under the lock, so that no line written meanwhile overtakes these.
	batch := b.pending
	b.pending, b.spare = nil, nil
	b.closed = true
	b.drained.Broadcast()
	if len(batch) == 0 {
		return nil
	}
	_, err := b.out.Write(batch)
	return err
}

// Package testkit holds what the tests of several packages share: a buffer
// that collects log output from concurrent writers, a wait for conditions
// reached in the background, and an HTTP client that acts as a browser.
// Only tests import it.
package testkit

import (
	"bytes"
	"sync"
	"time"
)

// SyncBuffer collects log output from concurrent handlers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// pollEvery is how often Until asks again.
const pollEvery = 5 * time.Millisecond

// Until calls cond until it returns nil and returns nil, or returns cond's
// last error once timeout has passed. It is for state that a server reaches
// in the background and announces nowhere else (the provider's keys loaded,
// /readyz answering): where the code under test can signal on a channel,
// tests wait on the channel instead.
func Until(timeout time.Duration, cond func() error) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-deadline.C:
			return err
		case <-tick.C:
		}
	}
}

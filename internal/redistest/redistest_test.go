package redistest

import (
	"bufio"
	"net"
	"runtime"
	"strings"
	"testing"
)

// outcome records whether a test would have been skipped or failed.
type outcome struct {
	testing.TB
	skipped, failed bool
}

// Binary calls only these.
func (o *outcome) Helper()               {}
func (o *outcome) Skipf(string, ...any)  { o.skipped = true; runtime.Goexit() }
func (o *outcome) Fatalf(string, ...any) { o.failed = true; runtime.Goexit() }

func binaryOutcome() *outcome {
	o := &outcome{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Binary(o)
	}()
	<-done
	return o
}

// TestMissingRedisServer: without redis-server a test skips on a
// developer's machine and fails in CI.
func TestMissingRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	if o := binaryOutcome(); !o.skipped || o.failed {
		t.Errorf("without redis-server and CI: skipped %v, failed %v; want a skip", o.skipped, o.failed)
	}
	t.Setenv("CI", "true")
	if o := binaryOutcome(); !o.failed || o.skipped {
		t.Errorf("without redis-server under CI=true: skipped %v, failed %v; want a failure", o.skipped, o.failed)
	}
}

func TestRestartEmpties(t *testing.T) {
	s := Start(t, Options{})
	c := dialRaw(t, s)
	send(t, c, "SET k v")
	s.Restart()
	c = dialRaw(t, s)
	if got := send(t, c, "EXISTS k"); got != ":0" {
		t.Errorf("EXISTS k after Restart = %q; want :0 (empty)", got)
	}
}

func dialRaw(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "redis://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send sends an inline command and returns the first line of the answer.
func send(t *testing.T, c net.Conn, cmd string) string {
	t.Helper()
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

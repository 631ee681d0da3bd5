// Package redistest runs throwaway redis-server instances for tests: on a
// free port of 127.0.0.1, on a unix socket, or with TLS; with no
// persistence, so a restart starts empty. Without redis-server a test
// skips, except under CI=true, where it fails.
package redistest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

// Options choose how the server listens and whom it lets in.
type Options struct {
	Unix     bool   // listen on a unix socket only
	TLS      bool   // listen with TLS only (a self-signed certificate for 127.0.0.1)
	Password string // requirepass
}

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	o    Options
	dir  string
	port int
	cmd  *exec.Cmd
	// URL reaches the server: redis://127.0.0.1:PORT, rediss://… or
	// unix://PATH (without the password).
	URL string
	// CAFile is the server's certificate, which clients trust, with TLS.
	CAFile string
}

// Binary returns the path of redis-server, or skips t when there is none
// (fails it under CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is needed (apt-get install redis-server): %v", err)
		}
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	return path
}

// Start starts a server and stops it when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Binary(t)
	s := &Server{t: t, o: o, dir: t.TempDir()}
	if o.TLS {
		cert, _, err := testcert.Write(s.dir, time.Hour, "127.0.0.1", "localhost")
		if err != nil {
			t.Fatal(err)
		}
		s.CAFile = cert
	}
	switch {
	case o.Unix:
		s.URL = "unix://" + filepath.Join(s.dir, "redis.sock")
	default:
		s.port = freePort(t)
		scheme := "redis"
		if o.TLS {
			scheme = "rediss"
		}
		s.URL = fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.port)
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool}
}

// Stop stops the server; its data is gone.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server if it runs and starts it again, empty, at the
// same address, and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	args := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no", "--loglevel", "warning"}
	sock := filepath.Join(s.dir, "redis.sock")
	switch {
	case s.o.Unix:
		args = append(args, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700")
	case s.o.TLS:
		key := filepath.Join(s.dir, "key.pem")
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.port),
			"--tls-cert-file", s.CAFile, "--tls-key-file", key, "--tls-ca-cert-file", s.CAFile, "--tls-auth-clients", "no")
	default:
		args = append(args, "--port", strconv.Itoa(s.port))
	}
	if s.o.Password != "" {
		args = append(args, "--requirepass", s.o.Password)
	}
	cmd := exec.Command(Binary(s.t), args...)
	logPath := filepath.Join(s.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.ping(sock)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			s.t.Fatalf("redis-server at %s does not answer: %v\n%s", s.URL, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING and accepts any answer: +PONG, or -NOAUTH with a
// password.
func (s *Server) ping(sock string) error {
	var c net.Conn
	var err error
	switch {
	case s.o.Unix:
		c, err = net.DialTimeout("unix", sock, time.Second)
	case s.o.TLS:
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", s.port), s.TLSConfig())
	default:
		c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

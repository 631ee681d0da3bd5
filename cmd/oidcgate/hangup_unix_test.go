//go:build unix

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testkit"
)

// TestServeSurvivesSIGHUP sends this test process a real SIGHUP while
// serve runs: without serve's handler the process would end here.
func TestServeSurvivesSIGHUP(t *testing.T) {
	op := plainOP(t)
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", path, "-log-format", "text"}, io.Discard, &stderr)
	}()
	addrRe := regexp.MustCompile(`listen=(127\.0\.0\.1:\d+)`)
	var addr string
	wait := func(what string, ok func() bool) {
		t.Helper()
		if err := testkit.Until(5*time.Second, func() error {
			if !ok() {
				return errors.New(what)
			}
			return nil
		}); err != nil {
			t.Fatalf("%v:\n%s", err, stderr.String())
		}
	}
	wait("serve did not start", func() bool {
		m := addrRe.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait("SIGHUP was not logged", func() bool { return strings.Contains(stderr.String(), "SIGHUP received") })

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/Administration/api")
	if err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API call after SIGHUP = %d; want 401", resp.StatusCode)
	}
	select {
	case code := <-done:
		t.Fatalf("serve exited %d after SIGHUP:\n%s", code, stderr.String())
	default:
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after a stop signal; want 0\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

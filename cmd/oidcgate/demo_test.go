package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

func TestDemoFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "unknown flag", args: []string{"-config", "x.toml"}, code: 2, want: "flag provided but not defined: -config"},
		{name: "extra argument", args: []string{"now"}, code: 2, want: `unexpected arguments ["now"]`},
		{name: "log level", args: []string{"-log-level", "loud"}, code: 2, want: `-log-level "loud"`},
		{name: "log format", args: []string{"-log-format", "xml"}, code: 2, want: `-log-format "xml"`},
		{name: "listen", args: []string{"-listen", "localhost"}, code: 1, want: "want host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"demo"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("demo %q = %d, %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestDemoRunsUntilStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "-listen", "127.0.0.1:0"}, &stdout, &stderr)
	}()

	err := testkit.Until(20*time.Second, func() error {
		if !strings.Contains(stdout.String(), "Ctrl-C") {
			return errors.New("no instructions")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no instructions after 20s:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "level=INFO msg=\"oidcgate serving\"") {
		t.Errorf("stderr lacks a text log line from the proxy:\n%s", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d after a stop signal; want 0\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop")
	}
}

func TestDemoStoppedWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"demo", "-listen", "127.0.0.1:0"}, &stdout, &stderr); code != 0 {
		t.Errorf("demo with its context already ended = %d; want 0\n%s", code, stderr.String())
	}
}

// TestDemoWriteConfig: -write-config writes a file that check accepts and
// exits, without waiting for a stop signal.
func TestDemoWriteConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "demo.toml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"demo", "-listen", "127.0.0.1:0", "-write-config", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("demo -write-config = %d\n%s", code, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatal("demo -write-config ran until its context ended; want it to exit by itself")
	}
	if !strings.Contains(stdout.String(), "Wrote "+file) {
		t.Errorf("stdout = %q; want it to name the file", stdout.String())
	}
	if _, err := config.Load(file); err != nil {
		t.Errorf("config.Load(%q) = %v; want the written file to load", file, err)
	}
	if code, out, _ := runCmd(t, "check", "-config", file); code != 0 {
		t.Errorf("check -config %s = %d:\n%s", file, code, out)
	}
}

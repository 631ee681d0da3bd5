package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/internal/testkit"
	"github.com/oidcgate/oidcgate/session"
)

// checkConfig writes a configuration whose [tls] names cert and key ("" for
// none) and a site with sign_out_from_sts.
func checkConfig(t *testing.T, cert, key string) string {
	t.Helper()
	toml := testconfig.Options{
		Listen:   "127.0.0.1:0",
		CertFile: cert, KeyFile: key,
		DiscoveryURL: "https://op.example.com/.well-known/openid-configuration",
		ClientID:     "cora", ClientSecret: "the-client-secret-value",
		Keys:  []string{session.GenerateKey()},
		Sites: []testconfig.Site{{Name: "Flowtime", BaseURL: "https://cora.example.com/Flowtime/", Upstream: "http://127.0.0.1:1/Flowtime/"}},
	}.TOML()
	toml = strings.Replace(toml, "[authentication]\n", "[authentication]\nsign_out_from_sts = true\n", 1)
	if cert == "" {
		toml = strings.Replace(toml, "[tls]\n", "", 1)
	}
	path := filepath.Join(t.TempDir(), "oidcgate.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckLoadsTLS: check fails, as serve would, on a TLS pair that does
// not load, naming the key; a good pair passes and the URIs to
// register at the provider are printed.
func TestCheckLoadsTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := testcert.Write(dir, time.Hour, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key string
		code      int
		want      []string
	}{
		{"good pair", cert, key, 0, []string{
			"configuration is valid",
			"redirect URI:                https://cora.example.com/Flowtime/oidcServices/signinresponse",
			"post-logout redirect URI:    https://cora.example.com/Flowtime/\n",
			"back-channel logout URI:     https://cora.example.com/Flowtime/oidcServices/backchannellogout",
			"front-channel logout URL:    https://cora.example.com/Flowtime/oidcServices/frontchannellogout",
		}},
		{"missing key", cert, filepath.Join(dir, "nope.key"), 1, []string{"1 problem(s)", "oidcgate.toml: tls.key_file: " + filepath.Join(dir, "nope.key") + ": no such file or directory"}},
		{"swapped", key, cert, 1, []string{"the two are swapped"}},
		{"unreadable key", cert, dir, 1, []string{"oidcgate.toml: tls.key_file: " + dir + ": is a directory"}},
		{"no [tls]", "", "", 0, []string{"warning: no [tls]: 127.0.0.1:0 speaks plain HTTP, so TLS must end at the load balancer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(t, "check", "-config", checkConfig(t, tt.cert, tt.key))
			if code != tt.code {
				t.Errorf("check = %d; want %d\n%s%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("check printed:\n%s\nwant it to contain %q", out, w)
				}
			}
		})
	}
}

// TestDefaultConfigPath: without -config, the commands read the file where
// the systemd unit and the container put it.
func TestDefaultConfigPath(t *testing.T) {
	if _, err := os.Stat(defaultConfig); err == nil {
		t.Skipf("%s exists on this machine; the test needs it absent", defaultConfig)
	}
	for _, args := range [][]string{{"check"}, {"serve"}, {"credentials", "validate", "mail"}} {
		code, out, stderr := runCmd(t, args...)
		if code == 0 || !strings.Contains(out+stderr, "/etc/oidcgate/config.toml") {
			t.Errorf("%v = %d, %q %q; want an error naming /etc/oidcgate/config.toml", args, code, out, stderr)
		}
	}
}

// TestVersionAgrees: the version `oidcgate version` prints is the one
// serve reports in oidcgate_build_info.
func TestVersionAgrees(t *testing.T) {
	saved := version
	version = "v1.2.3-test" // as -ldflags "-X main.version=v1.2.3-test" sets it
	t.Cleanup(func() { version = saved })

	_, out, _ := runCmd(t, "version")
	if !strings.HasPrefix(out, "oidcgate v1.2.3-test (") {
		t.Fatalf("version = %q; want it to start with the stamped version", out)
	}

	op := plainOP(t)
	path := writeConfig(t, op.Issuer(), "127.0.0.1:0", "")
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append([]byte("admin_listen = \"localhost:0\"\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", path, "-log-format", "text"}, &bytes.Buffer{}, &stderr)
	}()
	adminRe := regexp.MustCompile(`admin_listen=(127\.0\.0\.1:\d+)`)
	var admin string
	testkit.Until(20*time.Second, func() error {
		m := adminRe.FindStringSubmatch(stderr.String())
		if m == nil {
			return errors.New("not listening yet")
		}
		admin = m[1]
		return nil
	})
	if admin == "" {
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `oidcgate_build_info{goversion="` + runtime.Version() + `",version="v1.2.3-test"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %q", want)
	}
	cancel()
	<-done
}

package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
	"github.com/oidcgate/oidcgate/internal/testkit"
)

// TestCAFile: a provider and a token endpoint behind a private CA are
// refused with an error that names ca_file, and trusted once ca_file
// names the CA.
func TestCAFile(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: "cora", ClientSecret: "the-client-secret-value", TokenAuthMethod: "client_secret_post",
		Users: []fakeop.User{{Name: "alice", Password: "pw", Claims: map[string]any{"email": "alice@example.com"}}}})
	tokens := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"at-123456789","token_type":"Bearer","expires_in":3600}`)
	}))
	tokens.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tokens.StartTLS()
	t.Cleanup(tokens.Close)

	dir := t.TempDir()
	writeCA := func(name string, srv *httptest.Server) string {
		p := filepath.Join(dir, name)
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opCA, tokenCA := writeCA("op-ca.pem", op.Server()), writeCA("token-ca.pem", tokens)

	config := func(opCAFile, tokenCAFile string) string {
		cred := fmt.Sprintf("\n[[credentials]]\nname = \"mail\"\nclient_id = \"app\"\nclient_secret = \"cred-secret\"\ntoken_endpoint = %q\nscopes = [\"api.read\", \"api.write\"]\n", tokens.URL+"/token")
		if tokenCAFile != "" {
			cred += fmt.Sprintf("ca_file = %q\n", tokenCAFile)
		}
		path := writeConfig(t, op.Issuer(), "127.0.0.1:0", cred)
		if opCAFile != "" {
			data, _ := os.ReadFile(path)
			data = []byte(strings.Replace(string(data), "client_id = \"cora\"\n", fmt.Sprintf("client_id = \"cora\"\nca_file = %q\n", opCAFile), 1))
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}

	code, out, _ := runCmd(t, "check", "-online", "-config", config("", ""))
	if code == 0 || !strings.Contains(out, "signed by a CA oidcgate does not trust: set ca_file in [openid_connect]") {
		t.Errorf("check -online without ca_file = %d:\n%s\nwant a failure naming ca_file", code, out)
	}

	code, out, _ = runCmd(t, "check", "-online", "-config", config(opCA, ""))
	if code != 0 || !strings.Contains(out, "issuer:         "+op.Issuer()) {
		t.Errorf("check -online with the provider's ca_file = %d:\n%s", code, out)
	}
	if !strings.Contains(out, `warning: credential "mail"`) || !strings.Contains(out, "set ca_file in this [[credentials]] entry") {
		t.Errorf("credential behind a private CA: want a warning naming ca_file:\n%s", out)
	}

	code, out, _ = runCmd(t, "check", "-online", "-config", config(opCA, tokenCA))
	if code != 0 || !strings.Contains(out, `credential "mail": OK`) {
		t.Errorf("check -online with both ca_files = %d:\n%s", code, out)
	}
}

// TestServeTrustsCAFile: serve's own calls to the provider trust ca_file,
// so it becomes ready; without it the log names the fix.
func TestServeTrustsCAFile(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: "cora", ClientSecret: "the-client-secret-value", TokenAuthMethod: "client_secret_post",
		Users: []fakeop.User{{Name: "alice", Password: "pw", Claims: map[string]any{"email": "alice@example.com"}}}})
	ca := filepath.Join(t.TempDir(), "op-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: op.Server().Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		caFile string
		ready  bool
	}{
		{"with ca_file", ca, true},
		{"without", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, op.Issuer(), "127.0.0.1:0", "")
			data, _ := os.ReadFile(path)
			top := "admin_listen = \"localhost:0\"\n"
			body := string(data)
			if tt.caFile != "" {
				body = strings.Replace(body, "client_id = \"cora\"\n", fmt.Sprintf("client_id = \"cora\"\nca_file = %q\n", tt.caFile), 1)
			}
			if err := os.WriteFile(path, []byte(top+body), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var stderr testkit.SyncBuffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, []string{"serve", "-config", path}, &bytes.Buffer{}, &stderr) }()
			defer func() { cancel(); <-done }()

			adminRe := regexp.MustCompile(`"admin_listen":"(127\.0\.0\.1:\d+)"`)
			// Wait until serve is ready, or (without ca_file) has logged
			// its failed fetch.
			var ready bool
			testkit.Until(10*time.Second, func() error {
				m := adminRe.FindStringSubmatch(stderr.String())
				if m == nil {
					return errors.New("not listening yet")
				}
				resp, err := http.Get("http://" + m[1] + "/readyz")
				if err != nil {
					return err
				}
				resp.Body.Close()
				if ready = resp.StatusCode == http.StatusOK; ready || strings.Contains(stderr.String(), "set ca_file in [openid_connect]") {
					return nil
				}
				return errors.New("not ready")
			})
			if ready != tt.ready {
				t.Errorf("ready = %v; want %v\n%s", ready, tt.ready, stderr.String())
			}
			if !tt.ready && !strings.Contains(stderr.String(), "set ca_file in [openid_connect]") {
				t.Errorf("the log does not name ca_file:\n%s", stderr.String())
			}
		})
	}
}

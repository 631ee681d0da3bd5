package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
	"github.com/oidcgate/oidcgate/internal/testconfig"
	"github.com/oidcgate/oidcgate/session"
)

// TestSystemdCredentials follows deploy/oidcgate.service: the files its
// LoadCredential= lines name, copied under their credential names into a
// credentials directory, make a configuration check accepts when it names
// them through ${CREDENTIALS_DIRECTORY}.
func TestSystemdCredentials(t *testing.T) {
	f, err := os.Open("../../deploy/oidcgate.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var creds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "LoadCredential="); ok {
			name, _, _ := strings.Cut(v, ":")
			creds = append(creds, name)
		}
	}
	for _, want := range []string{"config.toml", "tls.crt", "tls.key", "oidc-client-secret"} {
		if !strings.Contains(strings.Join(creds, " "), want) {
			t.Fatalf("the unit loads credentials %q; want one called %q", creds, want)
		}
	}

	dir := t.TempDir() // stands for $CREDENTIALS_DIRECTORY
	cert, key, err := testcert.Write(t.TempDir(), time.Hour, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{cert: "tls.crt", key: "tls.key"} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "oidc-client-secret"), []byte("the-client-secret-value\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	toml := testconfig.Options{
		Listen:   ":8443",
		CertFile: "${CREDENTIALS_DIRECTORY}/tls.crt", KeyFile: "${CREDENTIALS_DIRECTORY}/tls.key",
		DiscoveryURL: "https://op.example.com/.well-known/openid-configuration",
		ClientID:     "cora",
		Keys:         []string{session.GenerateKey()},
		Sites:        []testconfig.Site{{Name: "Administration", BaseURL: "https://cora.example.com/Administration/", Upstream: "http://10.0.0.5:8080/Administration/"}},
	}.TOML()
	toml = strings.Replace(toml, "client_id = \"cora\"\n", "client_id = \"cora\"\nclient_secret_file = \"${CREDENTIALS_DIRECTORY}/oidc-client-secret\"\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(toml), 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if code, out, stderr := runCmd(t, "check", "-config", filepath.Join(dir, "config.toml")); code != 0 {
		t.Errorf("check = %d\n%s%s", code, out, stderr)
	}
}

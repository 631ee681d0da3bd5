package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/testcert"
)

// TestCheckTLS: each way a TLS pair keeps serve from starting is reported
// with the key path and line, naming the file.
func TestCheckTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := testcert.Write(dir, time.Hour, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	_, otherKey, err := testcert.Write(other, time.Hour, "other.example.com")
	if err != nil {
		t.Fatal(err)
	}
	expired := t.TempDir()
	oldCert, oldKey, err := testcert.Write(expired, -time.Minute, "cora.example.com")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPEM, _ := os.ReadFile(key)
	encrypted := write("encrypted.key", strings.Replace(string(keyPEM), "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", 2))
	garbage := write("garbage.key", "not a key\n")
	missing := filepath.Join(dir, "missing.crt")

	tests := []struct {
		name      string
		cert, key string
		deny      string // a path the fake reader refuses with "permission denied"
		want      string // "" for no error
	}{
		{"a good pair", cert, key, "", ""},
		{"missing certificate", missing, key, "", "tls.cert_file: " + missing + ": no such file or directory"},
		{"key and certificate swapped", key, cert, "", "tls: cert_file " + key + " holds a private key and key_file " + cert + " a certificate: the two are swapped"},
		{"key unreadable", cert, key, key, "tls.key_file: " + key + ": permission denied to user"},
		{"key a folder", cert, dir, "", "tls.key_file: " + dir + ": is a directory"},
		{"key not PEM", cert, garbage, "", "tls.key_file: " + garbage + " holds no PEM private key"},
		{"key encrypted", cert, encrypted, "", "tls.key_file: " + encrypted + " is encrypted with a passphrase"},
		{"key of another certificate", cert, otherKey, "", "tls.key_file: " + otherKey + " does not go with the certificate in " + cert},
		{"certificate expired", oldCert, oldKey, "", "tls.cert_file: " + oldCert + " expired on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.NewReplacer(`"a.crt"`, quoteTOML(tt.cert), `"a.key"`, quoteTOML(tt.key)).Replace(minimal)
			src = strings.Replace(src, `client_id = "cora"`, "client_id = \"cora\"\nclient_secret = \"x\"", 1)
			c, err := Parse([]byte(src), "tls.toml")
			if err != nil {
				t.Fatal(err)
			}
			read := func(p string) ([]byte, error) {
				if p == tt.deny {
					return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
				}
				return os.ReadFile(p)
			}
			_, err = c.checkTLS(read)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckTLS() = %v; want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckTLS() = %v; want %q", err, tt.want)
			case tt.want != "" && !placed.MatchString(err.Error()):
				t.Errorf("CheckTLS() = %v; want it to start with the file and the tls key", err)
			}
		})
	}
}

var placed = regexp.MustCompile(`^tls\.toml: tls`)

func quoteTOML(s string) string { return `'` + s + `'` }

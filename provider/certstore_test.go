package provider

import (
	"context"
	"github.com/oidcgate/oidcgate/clientauth"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spaced writes a thumbprint as Windows' certificate dialog shows it: upper
// case, in pairs, after an invisible left-to-right mark.
func spaced(hex string) string {
	var pairs []string
	for i := 0; i < len(hex); i += 2 {
		pairs = append(pairs, strings.ToUpper(hex[i:i+2]))
	}
	return "\u200e" + strings.Join(pairs, " ")
}

func fixtureCert(t *testing.T, file string) (thumb, subject string) {
	t.Helper()
	certs, err := parseCertificates(readFile(t, fixtures+file))
	if err != nil || len(certs) == 0 {
		t.Fatalf("parseCertificates(%q) = %v, %v", file, certs, err)
	}
	return thumbprint(certs[0]), certs[0].Subject.String()
}

func TestFindCertificates(t *testing.T) {
	signing1, _ := fixtureCert(t, "signing1.pem")
	signing2, _ := fixtureCert(t, "store/signing2.cer")
	expired, _ := fixtureCert(t, "expired.pem")
	now := time.Now()

	tests := []struct {
		name    string
		c       Certificate
		found   int    // certificates found; 0 with an error
		warn    bool   // a warning expected
		wantErr string // in the error
	}{
		{"thumbprint, PEM file", Certificate{FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "signing1.pem"}, 1, true, ""},
		{"thumbprint, spaces and upper case", Certificate{FindType: "FindByThumbprint", FindValue: spaced(signing1), Location: fixtures + "signing1.pem"}, 1, true, ""},
		{"thumbprint, DER in a folder", Certificate{FindType: "FindByThumbprint", FindValue: signing2, Location: fixtures + "store"}, 1, true, ""},
		{"thumbprint, PEM in a folder", Certificate{FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "store"}, 1, true, ""},
		{"thumbprint, PEM bundle", Certificate{FindType: "FindByThumbprint", FindValue: signing2, Location: fixtures + "bundle.pem"}, 1, true, ""},
		{"subject name, any case", Certificate{FindType: "FindBySubjectName", FindValue: "OIDCGATE TEST SIGNING", Location: fixtures + "bundle.pem"}, 2, true, ""},
		{"subject name, one", Certificate{FindType: "FindBySubjectName", FindValue: "test signing 2", Location: fixtures + "store"}, 1, true, ""},
		{"expired, valid = false", Certificate{FindType: "FindByThumbprint", FindValue: expired, Location: fixtures + "expired.pem"}, 1, true, ""},
		{"expired, valid = true", Certificate{FindType: "FindByThumbprint", FindValue: expired, Location: fixtures + "expired.pem", Valid: true}, 0, false, "expired on 2001-01-01"},
		{"self-signed, valid = true", Certificate{FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "signing1.pem", Valid: true}, 0, false, "unknown authority"},
		{"chain to a root that is not a system root, valid = true", Certificate{FindType: "FindBySubjectName", FindValue: "chained signing", Location: fixtures + "chain/bundle.pem", Valid: true}, 0, false, "unknown authority"},
		{"wrong thumbprint", Certificate{FindType: "FindByThumbprint", FindValue: "0aaf6ec6b0a8550a6e6e4c85eb4123888cbec941", Location: fixtures + "store"}, 0, false, `no certificate with thumbprint "0aaf6ec6b0a8550a6e6e4c85eb4123888cbec941" among the 2 certificates in ../testdata/provider/store`},
		{"thumbprint too short", Certificate{FindType: "FindByThumbprint", FindValue: "0aaf6e", Location: fixtures + "store"}, 0, false, `thumbprint "0aaf6e" is not a SHA-1 thumbprint`},
		{"no such subject", Certificate{FindType: "FindBySubjectName", FindValue: "CN=nobody", Location: fixtures + "store"}, 0, false, `no certificate whose subject contains "CN=nobody"`},
		{"unknown find type", Certificate{FindType: "FindByIssuerName", FindValue: "x", Location: fixtures + "store"}, 0, false, `unknown find type "FindByIssuerName"`},
		{"missing location", Certificate{FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "nowhere"}, 0, false, "no such file"},
		{"not a certificate", Certificate{FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "store/README.txt"}, 0, false, "neither PEM nor DER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Name = "first"
			certs, warnings, err := findCertificates(tt.c, now)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"first"`) {
					t.Errorf("findCertificates(%q) = %v; want an error naming \"first\" and containing %q", tt.c.FindValue, err, tt.wantErr)
				}
			case err != nil || len(certs) != tt.found:
				t.Errorf("findCertificates(%q) = %d certificates, %v; want %d", tt.c.FindValue, len(certs), err, tt.found)
			}
			if (len(warnings) > 0) != tt.warn {
				t.Errorf("findCertificates(%q) warnings = %q; want warnings: %v", tt.c.FindValue, warnings, tt.warn)
			}
		})
	}
}

func TestStoreNew(t *testing.T) {
	signing1, _ := fixtureCert(t, "signing1.pem")
	o := Options{
		Kind: Store, ClientID: "client-1", ClientSecret: "secret-1", TokenAuth: clientauth.SecretBasic,
		Issuer: "https://op.example.com", AuthorizationURL: "https://op.example.com/authorize", TokenURL: "https://op.example.com/token",
		Certificates: []Certificate{
			{Name: "first", FindType: "FindByThumbprint", FindValue: signing1, Location: fixtures + "store"},
			{Name: "second", FindType: "FindByThumbprint", FindValue: "d92e120951acf1283d2d2e80a8b22ae83a56fa0f", Location: fixtures + "store"},
		},
	}
	_, err := New(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), `"second"`) || !strings.Contains(err.Error(), "d92e120951acf1283d2d2e80a8b22ae83a56fa0f") {
		t.Errorf("New(wrong thumbprint) = %v; want an error naming the entry and the thumbprint", err)
	}

	o.Certificates = o.Certificates[:1]
	p, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if err := p.Ready(); err != nil {
		t.Errorf("Ready() = %v; want nil at once for Store", err)
	}
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "valid = false") {
		t.Errorf("Warnings() = %q; want one about valid = false", w)
	}
	if e, err := p.Endpoints(); err != nil || e.Issuer != o.Issuer || e.Keys != "" {
		t.Errorf("Endpoints() = %+v, %v; want the configured ones", e, err)
	}
}

// valid = true follows the system roots, which SSL_CERT_FILE replaces. The
// system pool is read once per process, so the check runs in a child process
// started with SSL_CERT_FILE naming the test CA.
func TestStoreChainVerifiesAgainstSystemRoots(t *testing.T) {
	entry := Certificate{Name: "chained", FindType: "FindBySubjectName", FindValue: "chained signing", Location: fixtures + "chain/bundle.pem", Valid: true}
	if os.Getenv("OIDCGATE_TEST_CHILD") == "chain" {
		certs, _, err := findCertificates(entry, time.Now())
		if err != nil || len(certs) != 1 {
			t.Fatalf("findCertificates(%q) with SSL_CERT_FILE=%s = %d, %v; want 1 certificate", entry.FindValue, os.Getenv("SSL_CERT_FILE"), len(certs), err)
		}
		return
	}
	ca, err := filepath.Abs(fixtures + "ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreChainVerifiesAgainstSystemRoots$", "-test.v")
	cmd.Env = append(os.Environ(), "OIDCGATE_TEST_CHILD=chain", "SSL_CERT_FILE="+ca, "SSL_CERT_DIR=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestStoreChainVerifiesAgainstSystemRoots") {
		t.Errorf("child with SSL_CERT_FILE=%s: %v\n%s", ca, err, out)
	}
}

func FuzzCertificateStore(f *testing.F) {
	for _, name := range []string{"signing1.pem", "bundle.pem", "store/signing2.cer", "chain/bundle.pem", "keys/leaf.key"} {
		f.Add(readFile(f, fixtures+name))
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAo=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01})
	now := time.Now()
	// One file per fuzzing process, rewritten for each input: a fresh
	// TempDir per input makes minimizing new inputs crawl.
	file := filepath.Join(f.TempDir(), "cert")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []Certificate{
			{Name: "f", FindType: "FindBySubjectName", FindValue: "o", Location: file, Valid: true},
			{Name: "f", FindType: "FindByThumbprint", FindValue: strings.Repeat("0", 40), Location: filepath.Dir(file)},
		} {
			certs, _, err := findCertificates(c, now)
			if err == nil && len(certs) == 0 {
				t.Errorf("findCertificates(%+v) = no certificates and no error", c)
			}
		}
	})
}

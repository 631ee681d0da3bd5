package main

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/clientauth"
)

const gencertUsage = `usage: oidcgate gencert [-subject "CN=oidcgate"] [-days 730] [-ec] -out DIR

Makes a private key (RSA-2048, or P-256 with -ec) and a self-signed
certificate for client authentication by signed assertion (private_key_jwt):
DIR/client.key (mode 0600) and DIR/client.crt. Register the certificate at
the provider (Entra ID, AD FS: upload client.crt; Okta, Keycloak: paste the
JWK printed below), then point client_assertion_key_file and
client_assertion_certificate_file at the files. Existing files are never
overwritten.
`

func gencertCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("gencert", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, gencertUsage+"\nflags:\n")
		fset.PrintDefaults()
	}
	subject := fset.String("subject", "CN=oidcgate", "the certificate's subject, such as `\"CN=oidcgate, O=Example\"`")
	days := fset.Int("days", 730, "the certificate's lifetime in `days`")
	ec := fset.Bool("ec", false, "make a P-256 key (ES256) instead of RSA-2048 (RS256)")
	out := fset.String("out", "", "the `directory` to write client.key and client.crt in")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fset.NArg() > 0 {
		fset.Usage()
		return 2
	}
	name, err := parseSubject(*subject)
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate gencert: -subject: %v\n", err)
		return 2
	}
	if *days < 1 || *days > 36500 {
		fmt.Fprintf(stderr, "oidcgate gencert: -days must be between 1 and 36500\n")
		return 2
	}

	now := time.Now()
	keyPEM, certPEM, err := clientauth.Generate(clientauth.GenerateOptions{
		Subject:   name,
		NotBefore: now.Add(-5 * time.Minute), // a provider's clock a little behind still takes it
		Lifetime:  time.Duration(*days) * 24 * time.Hour,
		EC:        *ec,
	})
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate gencert: %v\n", err)
		return 1
	}
	k, err := clientauth.ParseKey(keyPEM, certPEM, "", now)
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate gencert: %v\n", err)
		return 1
	}
	keyFile, certFile := filepath.Join(*out, "client.key"), filepath.Join(*out, "client.crt")
	if err := writeNew(*out, keyFile, keyPEM, 0o600); err != nil {
		fmt.Fprintf(stderr, "oidcgate gencert: %v\n", err)
		return 1
	}
	if err := writeNew(*out, certFile, certPEM, 0o644); err != nil {
		os.Remove(keyFile) // a key without its certificate is of no use
		fmt.Fprintf(stderr, "oidcgate gencert: %v\n", err)
		return 1
	}

	jwk, err := json.MarshalIndent(k.PublicJWK(), "  ", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "oidcgate gencert: %v\n", err)
		return 1
	}
	c := k.Certificate()
	fmt.Fprintf(stdout, "wrote %s (the private key: keep it on this machine, readable by oidcgate only)\n", keyFile)
	fmt.Fprintf(stdout, "wrote %s (%s, %s key, valid until %s)\n\n", certFile, c.Subject, k.Algorithm(), c.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "certificate thumbprint (SHA-1, as Entra ID and AD FS show it): %s\n", k.Thumbprint())
	fmt.Fprintf(stdout, "x5t (the same, base64url, in each assertion's header):        %s\n", k.X5T())
	fmt.Fprintf(stdout, "kid (RFC 7638 thumbprint of the public key):                  %s\n\n", k.KeyID())
	fmt.Fprintf(stdout, "public key as a JWK (for providers that take one, such as Okta and Keycloak):\n  %s\n\n", jwk)
	fmt.Fprintf(stdout, "in the configuration:\n  token_request_authorization_method = \"private_key_jwt\"\n  client_assertion_key_file         = %q\n  client_assertion_certificate_file = %q\n", keyFile, certFile)
	return 0
}

// writeNew writes a file that must not exist yet: a key in service is
// never overwritten by mistake.
func writeNew(dir, name string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; move it away or choose another -out", name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}

// parseSubject reads a distinguished name such as "CN=oidcgate, O=Example".
func parseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("%q is not ATTRIBUTE=value (CN, O, OU, L, ST or C)", strings.TrimSpace(part))
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "C":
			n.Country = append(n.Country, v)
		default:
			return n, fmt.Errorf("unknown attribute %q (want CN, O, OU, L, ST or C)", k)
		}
	}
	if n.CommonName == "" {
		return n, errors.New(`a CN is required, such as "CN=oidcgate"`)
	}
	return n, nil
}

package main

import (
	"strings"
	"testing"
)

func TestImportWebconfig(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // a substring, "" for none expected
		stderr   string
		noStdout bool
	}{
		{"a site", []string{"import-webconfig", "../../webconfig/testdata/flowtime-jwks-legacy-keys.config"}, 0,
			`discovery_kind = "JsonWebKeySet"`, "warning: ../../webconfig/testdata/flowtime-jwks-legacy-keys.config:7: <openIdConnect> attribute responseType", false},
		{"no <openIdConnect>", []string{"import-webconfig", "../../webconfig/testdata/forms-only.config"}, 1,
			"", "no <openIdConnect> node", true},
		{"no such file", []string{"import-webconfig", "../../webconfig/testdata/nope.config"}, 1,
			"", "no such file", true},
		{"no file named", []string{"import-webconfig"}, 2, "", "usage: oidcgate import-webconfig FILE", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("%v = %d\nstdout %q\nstderr %q\nwant %d, %q, %q", tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("%v printed %q on stdout; want nothing", tt.args, stdout)
			}
			if strings.Contains(stdout+stderr, "okta-flowtime-secret") {
				t.Error("the client secret was printed")
			}
		})
	}
}

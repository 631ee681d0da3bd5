package webconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzConvert: whatever the file, Convert does not panic, and what it
// prints is TOML in which no value of the file has escaped its string.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.config")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<openIdConnect clientId="a&#10;b" discoveryKind="store"><identityProviderCertificates><add name="x" certificateFindType="FindByThumbprint"/></identityProviderCertificates></openIdConnect>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Convert(data, "web.config")
		if err != nil {
			return
		}
		var v map[string]any
		if _, err := toml.Decode(res.TOML, &v); err != nil {
			t.Fatalf("output is not TOML: %v\n%s", err, res.TOML)
		}
		if v["listen"] != ":8443" {
			t.Fatalf("listen = %v", v["listen"])
		}
		if strings.Count(res.TOML, "# TODO") != res.TODOs {
			t.Fatalf("%d TODO lines; Result says %d", strings.Count(res.TOML, "# TODO"), res.TODOs)
		}
	})
}

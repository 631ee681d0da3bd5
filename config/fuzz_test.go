package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that what Parse
// accepts, Validate accepts too.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/config/*.toml")
	seeds = append(seeds, "../config.example.toml")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[[sites]]\n[[sites.inject]]\n[[sites]]\n[[sites.inject]]\nhedaer = 1\n"))
	f.Add([]byte("a.b.c = \"\"\"\n[x]\n\"\"\"\n'q.k' = [\n{ y = 1 },\n]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.toml")
		if err != nil {
			if cfg != nil {
				t.Errorf("Parse() = %v with a Config; want nil", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Errorf("Parse() = %q; want it to name the file", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Parse() accepted what Validate() refuses: %v", err)
		}
		_ = cfg.LogValue().Resolve().String()
	})
}

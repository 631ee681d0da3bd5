package credentials

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in      string
		want    Method
		wantErr bool
	}{
		{"basic", Basic, false},
		{"Basic", Basic, false},
		{"BODY", Body, false},
		{"body", Body, false},
		{"", 0, true},
		{"post", 0, true},
		{"client_secret_basic", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMethod(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseMethod(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && got.String() != strings.ToLower(tt.in) {
				t.Errorf("ParseMethod(%q).String() = %q; want %q", tt.in, got.String(), strings.ToLower(tt.in))
			}
		})
	}
}

func TestCredentialRedaction(t *testing.T) {
	c := Credential{Name: "mail", ClientID: "app", ClientSecret: testSecret, TokenEndpoint: "https://login.example.com/token", Scopes: "api", Method: Body}
	wrapped := struct{ C Credential }{c}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		outputs["fmt "+verb] = fmt.Sprintf(verb, c)
		outputs["fmt pointer "+verb] = fmt.Sprintf(verb, &c)
		outputs["fmt in struct "+verb] = fmt.Sprintf(verb, wrapped)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "credential", c, "pointer", &c)
	outputs["slog json"] = buf.String()
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "credential", c, "pointer", &c)
	outputs["slog text"] = buf.String()

	for name, out := range outputs {
		if strings.Contains(out, testSecret) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") || !strings.Contains(out, "login.example.com") {
			t.Errorf("%s = %s; want the redacted description", name, out)
		}
	}
	if got, want := outputs["slog text"], `credential.client_secret=REDACTED`; !strings.Contains(got, want) {
		t.Errorf("slog text = %s; want it to contain %s", got, want)
	}
}

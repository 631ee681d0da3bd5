package demo

import (
	"fmt"
	"io"
	"text/template"
)

type introValues struct {
	URL, Issuer, AdminURL string
	Sites                 []Site
	Users                 []User
	ConfigFile            string
}

// introText is what a newcomer reads first: what to open, who to be, and
// how to get out again.
var introText = template.Must(template.New("intro").Parse(`
oidcgate demo — for trial only
==============================

This process runs a development OpenID provider ({{.Issuer}}),
two demo sites ({{range $i, $s := .Sites}}{{if $i}} and {{end}}{{$s.Name}}{{end}}) and oidcgate in front of them.

1. Open in your browser
{{range .Sites}}     {{.URL}}
{{end}}
   It will warn that the connection is not private: the demo made a
   self-signed certificate. Accept it to go on (Chrome: Advanced, then
   Proceed; Firefox: Advanced, then Accept the Risk). The provider's
   sign-in page has the same certificate; accept it there too if asked.

2. Sign in on the provider's page as
{{range .Users}}     {{printf "%-24s" (print .Name " / " .Password)}} sees {{.Sees}}
{{end}}
   The demo admits users by their "upn" claim, which only accounts of the
   organisation have; bob's is a partner account.

3. Open the other site: no second sign-in (sso_enabled).

4. Sign out with the "Sign out" link at the top of a site's page, or open
     {{(index .Sites 0).URL}}oidcServices/signoutinitiation
   It ends the session at oidcgate and at the provider (sign_out_from_sts),
   so the next visit asks for the password again. Sign out to switch users.

Health and metrics: {{.AdminURL}}/readyz and /metrics
{{if .ConfigFile}}Configuration written, a starting point for a real deployment (its
comments say what to change): {{.ConfigFile}}
{{else}}To write a configuration like this one as a starting point for a real
deployment (it writes the file and exits):
  oidcgate demo -write-config oidcgate.toml
{{end}}Logs follow on stderr. Press Ctrl-C to stop.

`))

func printIntro(w io.Writer, v introValues) error {
	if err := introText.Execute(w, v); err != nil {
		return fmt.Errorf("demo: print instructions: %w", err)
	}
	return nil
}

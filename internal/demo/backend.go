package demo

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// identityHeaders are what a site behind oidcgate relies on, in the order
// the page shows them.
var identityHeaders = []struct{ Name, Meaning string }{
	{"X-Forwarded-User", "who the user is (the claim the rule names)"},
	{"X-Forwarded-Authentication-Type", "the rule's authentication type"},
	{"X-Forwarded-Email", "the email claim"},
	{"X-Forwarded-Preferred-Username", "the preferred_username claim"},
	{"X-Forwarded-Issuer", "the provider that signed the user in"},
	{"X-Forwarded-For", "the browser's address"},
	{"X-Forwarded-Host", "the host the browser asked for"},
	{"X-Forwarded-Proto", "the browser's scheme"},
	{"X-Request-Id", "the id in oidcgate's log line"},
}

// backend is a demo site: it shows what it received, as the real sites
// (which trust these headers) would see it.
type backend struct {
	name, other string // this site and the one to link to
}

type headerRow struct{ Name, Meaning, Value string }

type backendPage struct {
	Site, Other      string
	User             string
	Headers          []headerRow
	Method, Path     string
	Cookies          string
	SignOut, OtherTo string
}

func (b backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := backendPage{
		Site:    b.name,
		Other:   b.other,
		User:    r.Header.Get("X-Forwarded-User"),
		Method:  r.Method,
		Path:    r.URL.RequestURI(),
		SignOut: "/" + b.name + "/oidcServices/signoutinitiation",
		OtherTo: "/" + b.other + "/",
	}
	for _, h := range identityHeaders {
		p.Headers = append(p.Headers, headerRow{Name: h.Name, Meaning: h.Meaning, Value: strings.Join(r.Header.Values(h.Name), ", ")})
	}
	// Names only: values would be secrets on a real site.
	var names []string
	for _, c := range r.Cookies() {
		names = append(names, c.Name)
	}
	p.Cookies = strings.Join(names, ", ")

	var buf bytes.Buffer
	if err := backendTemplate.Execute(&buf, p); err != nil {
		http.Error(w, "demo site: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(buf.Bytes())
}

var backendTemplate = template.Must(template.New("site").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Site}} · oidcgate demo</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f1f3f6;color:#1f2430}
header{background:#1e3a5f;color:#fff;padding:.9rem 1.5rem;display:flex;align-items:center;gap:1rem;flex-wrap:wrap}
header h1{font-size:1.3rem;margin:0;flex:1}
header .tag{font-size:.8rem;background:#9a3412;padding:.15rem .55rem;border-radius:1rem;font-weight:600}
nav a{color:#fff;margin-left:1rem;font-weight:600;text-decoration:none;border-bottom:2px solid transparent}
nav a:hover{border-bottom-color:#fff}
main{max-width:58rem;margin:1.5rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #e2e5ea;border-radius:.75rem;box-shadow:0 2px 10px rgba(20,30,50,.06);padding:1.25rem 1.5rem;margin-bottom:1.25rem}
.who{font-size:1.2rem;margin:0}
.who strong{color:#1e3a5f}
.warn{background:#fdf0f0;border-color:#f3c4c4;color:#8f1d1d}
h2{font-size:1rem;margin:0 0 .6rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.45rem .5rem;border-top:1px solid #eceef2;vertical-align:top}
th{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:600;font-size:.85rem}
td.value{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
td.meaning{color:#5b6372;font-size:.85rem;width:15rem}
.none{color:#9aa1ad;font-style:italic}
p.note{color:#5b6372;font-size:.9rem;margin:.75rem 0 0}
footer{text-align:center;color:#7a8291;font-size:.8rem;margin:0 0 2rem}
</style>
</head>
<body>
<header>
<h1>{{.Site}}</h1>
<span class="tag">oidcgate demo site</span>
<nav><a href="{{.OtherTo}}">Go to {{.Other}} →</a><a href="{{.SignOut}}">Sign out</a></nav>
</header>
<main>
{{if .User}}<section class="card">
<p class="who">Signed in as <strong>{{.User}}</strong></p>
<p class="note">This site has no sign-in code of its own: oidcgate signed you in with OpenID Connect and told the site who you are in the headers below.</p>
</section>
{{else}}<section class="card warn">
<p class="who">No identity</p>
<p class="note">This request did not come through oidcgate, so it carries no identity headers. In a real deployment only oidcgate can reach the site.</p>
</section>
{{end}}<section class="card">
<h2>Headers the site received from oidcgate</h2>
<table>
{{range .Headers}}<tr><th>{{.Name}}</th><td class="value">{{if .Value}}{{.Value}}{{else}}<span class="none">not sent</span>{{end}}</td><td class="meaning">{{.Meaning}}</td></tr>
{{end}}</table>
<p class="note">oidcgate removes these headers from every request before setting them, so no browser can forge them.</p>
</section>
<section class="card">
<h2>Request</h2>
<table>
<tr><th>Method</th><td class="value">{{.Method}}</td></tr>
<tr><th>Path</th><td class="value">{{.Path}}</td></tr>
<tr><th>Cookies</th><td class="value">{{if .Cookies}}{{.Cookies}}{{else}}<span class="none">none: oidcgate keeps its own cookies to itself</span>{{end}}</td></tr>
</table>
</section>
</main>
<footer>oidcgate demo — for trial only</footer>
</body>
</html>
`))

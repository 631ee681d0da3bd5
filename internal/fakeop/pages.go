package fakeop

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// Banner marks every page of the OP, so nobody mistakes it for a real one.
const Banner = "Development OpenID provider — for trial only, not for production"

type signInPage struct {
	Banner, Issuer, ClientID, Action string
	RequestID, UserName, Error       string
}

type formField struct{ Name, Value string }

type formPostPage struct {
	Action string
	Fields []formField
}

type messagePage struct {
	Banner, Title, Message string
}

// Everything goes through html/template, which escapes by context; the CSS
// is inline so that the pages load nothing from anywhere.
var pages = template.Must(template.New("").Parse(`
{{define "style"}}<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f1f3f6;color:#1f2430}
.banner{background:#9a3412;color:#fff;text-align:center;padding:.55rem 1rem;font-size:.9rem;font-weight:600;letter-spacing:.01em}
main{max-width:25rem;margin:3.5rem auto 1.5rem;background:#fff;border:1px solid #e2e5ea;border-radius:.75rem;box-shadow:0 2px 10px rgba(20,30,50,.06);padding:2rem 2rem 1.75rem}
h1{font-size:1.35rem;margin:0 0 .2rem}
.sub{margin:0 0 1.25rem;color:#5b6372;font-size:.95rem}
label{display:block;font-weight:600;font-size:.9rem;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #c9ced6;border-radius:.4rem;font:inherit;background:#fff}
input:focus{outline:2px solid #2b6cb0;outline-offset:1px;border-color:#2b6cb0}
button{margin-top:1.5rem;width:100%;padding:.65rem;border:0;border-radius:.4rem;background:#2b6cb0;color:#fff;font:inherit;font-weight:600;cursor:pointer}
button:hover{background:#245a93}
.error{background:#fdf0f0;color:#8f1d1d;border:1px solid #f3c4c4;border-radius:.4rem;padding:.55rem .75rem;margin:0 0 .5rem;font-size:.95rem}
footer{max-width:25rem;margin:0 auto 2rem;text-align:center;color:#7a8291;font-size:.8rem;word-break:break-all}
</style>{{end}}

{{define "signin"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in · Development OpenID provider</title>
{{template "style"}}
</head>
<body>
<div class="banner" role="note">{{.Banner}}</div>
<main>
<h1>Sign in</h1>
<p class="sub">to continue to <strong>{{.ClientID}}</strong></p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.RequestID}}">
<label for="username">User name</label>
<input id="username" name="username" type="text" value="{{.UserName}}" autocomplete="username" autocapitalize="none" spellcheck="false" required{{if not .UserName}} autofocus{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .UserName}} autofocus{{end}}>
<button id="signin" type="submit">Sign in</button>
</form>
</main>
<footer>Issuer {{.Issuer}}</footer>
</body>
</html>
{{end}}

{{define "formpost"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Continuing…</title>
{{template "style"}}
</head>
<body>
<main>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p class="sub">Returning to the application…</p>
<noscript><p class="sub">Scripts are off: press the button to continue.</p></noscript>
<button type="submit">Continue</button>
</form>
</main>
<script>document.forms[0].submit();</script>
</body>
</html>
{{end}}

{{define "message"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · Development OpenID provider</title>
{{template "style"}}
</head>
<body>
<div class="banner" role="note">{{.Banner}}</div>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
</main>
</body>
</html>
{{end}}
`))

func (op *OP) renderSignIn(w http.ResponseWriter, p signInPage) {
	e := op.Endpoints()
	p.Banner, p.Issuer, p.ClientID = Banner, e.Issuer, op.opts.ClientID
	p.Action = strings.TrimSuffix(e.Issuer, "/") + SignInPath
	render(w, http.StatusOK, "signin", p, "")
}

// renderFormPost answers the auto-submitting page of response_mode=form_post.
func (op *OP) renderFormPost(w http.ResponseWriter, p formPostPage) {
	render(w, http.StatusOK, "formpost", p, " script-src 'unsafe-inline';")
}

func (op *OP) renderMessage(w http.ResponseWriter, status int, title, message string) {
	render(w, status, "message", messagePage{Banner: Banner, Title: title, Message: message}, "")
}

// render writes a whole page or, should the template fail, a plain error;
// the CSP forbids everything the pages do not use.
func render(w http.ResponseWriter, status int, name string, data any, extraCSP string) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "fakeop: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline';"+extraCSP+" frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

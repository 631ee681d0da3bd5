package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// page is what every page oidcgate renders itself shows: error pages,
// access denied, signed out.
type page struct {
	Title    string
	Message  string
	Status   int
	Link     string // optional: where the button goes
	LinkText string
	// PostTo, instead of Link: the button sends an empty POST there, so
	// the request comes from this page, same-origin.
	PostTo string
	// With a Status, the request id and the time (UTC) are shown too, for
	// the user to quote and the administrator to find the log line.
	RequestID string
	Time      string
}

const pageCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:36rem;margin:12vh auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem 2.5rem}
h1{font-size:1.35rem;margin:0 0 1rem}p{line-height:1.5}.status{color:#656d76;font-size:.85rem}
a.button,button{display:inline-block;background:#0969da;color:#fff;border:0;border-radius:6px;padding:.55rem 1.1rem;font-size:1rem;text-decoration:none;cursor:pointer}`

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><style>` + pageCSS + `</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .PostTo}}<form method="post" action="{{.PostTo}}"><p><button type="submit">{{.LinkText}}</button></p></form>
{{else if .Link}}<p><a class="button" href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
{{if .Status}}<p class="status">HTTP {{.Status}}{{if .RequestID}}<br>Request id: <code>{{.RequestID}}</code>{{end}}<br>Time: {{.Time}}</p>{{end}}</main></body></html>
`))

// autoPost is the authorization request sent as a form POST: a script
// submits it at once, the button does it when scripts are off.
type autoPost struct {
	Action string
	Fields []field
}

type field struct{ Name, Value string }

const autoPostScript = `document.forms[0].submit();`

var autoPostTemplate = template.Must(template.New("autopost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signing in…</title><style>` + pageCSS + `</style></head>
<body><main><h1>Signing in…</h1>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p>You are being sent to the sign-in page. If nothing happens, press the button.</p>
<button type="submit">Continue to sign-in</button>
</form></main><script>` + autoPostScript + `</script></body></html>
`))

// autoPostScriptHash lets the page's Content-Security-Policy allow exactly
// the one inline script it carries.
var autoPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(autoPostScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// renderPage writes p; a page with a status shows the request id the edge
// put on the response and the time.
func renderPage(w http.ResponseWriter, status int, p page) {
	if p.Status != 0 {
		if p.RequestID == "" {
			p.RequestID = w.Header().Get("X-Request-Id")
		}
		p.Time = time.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		http.Error(w, p.Title, status)
		return
	}
	writeHTML(w, status, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'", buf.Bytes())
}

// The auto-post page sets no form-action: browsers apply it to the whole
// redirect chain after the POST, and a provider may redirect anywhere
// (its own sign-in pages, a federated provider, back to us).
func renderAutoPost(w http.ResponseWriter, p autoPost) {
	var buf bytes.Buffer
	if err := autoPostTemplate.Execute(&buf, p); err != nil {
		http.Error(w, "sign-in page could not be rendered", http.StatusInternalServerError)
		return
	}
	writeHTML(w, http.StatusOK, "default-src 'none'; style-src 'unsafe-inline'; script-src "+autoPostScriptHash+"; frame-ancestors 'none'", buf.Bytes())
}

// writeHTML sets every header before WriteHeader: pages are never cached
// and never framed.
func writeHTML(w http.ResponseWriter, status int, csp string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(body)
}
